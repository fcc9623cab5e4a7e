//! A route in a namespace's main table, marked by protocol 157. In the
//! host, topo also records the key before adding it: the host has routes
//! of other software with that protocol. A route without a gateway is on
//! the link (scope link), as `ip route add PREFIX dev X` makes it.

use super::{Id, Kind};
use crate::apply::Exec;
use crate::graph::Index;
use crate::machine::{KernelError, Machine, RouteSpec, RTPROT_KERNEL, RTPROT_TOPO};
use crate::model::{opt, Change, IfRef, Name, Ns, RouteKey, Scope};
use crate::observe::ObserveNs;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Whether `rt` is the kernel's connected route of an address on one of
/// the lab's interfaces that the file no longer gives it there (or of an
/// interface the file no longer wants): the plan deletes that address, and
/// the route goes with it, so a route the file wants to the same prefix
/// (a renumbered link whose old subnet is now reached through a gateway)
/// takes its place instead of clashing with it.
fn goes_with_its_address(cx: &ObserveNs<'_>, rt: &crate::machine::Route) -> bool {
    if rt.protocol != RTPROT_KERNEL || rt.via.is_some() {
        return false;
    }
    let Some(link) = rt.oif.and_then(|i| cx.link_by_index(i)) else {
        return false;
    };
    if !cx.owned(&link) {
        return false;
    }
    let here = IfRef::new(cx.ns.clone(), &link.name);
    let kept = cx.desired.is_some_and(|d| {
        d.address
            .keys()
            .any(|a| a.link == here && a.address.trunc() == rt.to)
    });
    !kept
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RouteId {
    pub ns: Ns,
    pub key: RouteKey,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub via: Option<IpAddr>,
    pub dev: Option<Name>,
    pub scope: Scope,
    /// Made by topo from the lab's shape (`routing: { static: auto }`, a
    /// `role: host`'s default route), not written in the file: the plan
    /// says `(derived)`. Desired state only; never compared.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub derived: bool,
}

impl Kind for Route {
    type Id = RouteId;
    const NAME: &'static str = "route";

    fn ns(id: &RouteId) -> Ns {
        id.ns.clone()
    }

    fn label(id: &RouteId) -> String {
        let to = if id.key.to.prefix_len() == 0 {
            "default".to_string()
        } else {
            id.key.to.to_string()
        };
        let mut s = format!("route {to} in {}", id.ns);
        if id.key.metric != RouteKey::default_metric(&id.key.to) {
            s += &format!(" metric {}", id.key.metric);
        }
        s
    }

    fn describe(&self) -> String {
        let mut s = Vec::new();
        if let Some(v) = self.via {
            s.push(format!("via {v}"));
        }
        if let Some(d) = &self.dev {
            s.push(format!("dev {d}"));
        }
        if self.scope != Scope::Global {
            s.push(format!("scope {}", self.scope));
        }
        if self.derived {
            s.push("(derived)".to_string());
        }
        s.join(" ")
    }

    fn index(id: &RouteId, me: &Route, ix: &mut Index) {
        if me.via.is_none() {
            ix.on_link
                .entry(id.ns.clone())
                .or_default()
                .push(id.clone());
        }
        if let Some(d) = &me.dev {
            let dev = IfRef::new(id.ns.clone(), d);
            ix.routes_via.entry(dev).or_default().push(id.clone());
        }
    }

    /// Routes need their interfaces up and addressed, and a gateway behind
    /// a route onto a device needs that route first.
    fn deps(id: &RouteId, me: &Route, ix: &Index) -> Vec<Id> {
        let mut deps = super::ns_dep(&id.ns);
        deps.extend(ix.in_ns.get(&id.ns).into_iter().flatten().cloned());
        if let Some(v) = me.via {
            let onto = ix.on_link.get(&id.ns).into_iter().flatten();
            deps.extend(
                onto.filter(|r| r.key.to.contains(&v))
                    .cloned()
                    .map(Id::Route),
            );
        }
        deps
    }

    fn changes(&self, live: &Route) -> Vec<Change> {
        let mut out = Vec::new();
        Change::push(&mut out, "via", opt(&live.via), opt(&self.via));
        if self.dev.is_some() {
            Change::push(&mut out, "dev", opt(&live.dev), opt(&self.dev));
        }
        Change::push(
            &mut out,
            "scope",
            live.scope.to_string(),
            self.scope.to_string(),
        );
        out
    }

    fn observe(cx: &mut ObserveNs<'_>) {
        let routes = cx.dump.routes.clone();
        for rt in &routes {
            let key = RouteKey::new(rt.to, rt.metric);
            let id = RouteId {
                ns: cx.ns.clone(),
                key: key.clone(),
            };
            let ours = rt.protocol == RTPROT_TOPO
                && (*cx.ns != Ns::Host || cx.obs.lab_state.host_routes.contains(&key));
            if ours {
                let me = Route {
                    via: rt.via,
                    dev: rt.oif.and_then(|o| cx.name_of(o)),
                    scope: Scope::from(rt.scope),
                    derived: false,
                };
                cx.obs.state.insert::<Route>(id, me);
            } else if cx.wants(&Id::Route(id.clone())) && !goes_with_its_address(cx, rt) {
                let msg = format!(
                    "a route to {} with metric {} exists in {} and is not owned by lab {}",
                    rt.to, rt.metric, cx.ns, cx.lab
                );
                cx.obs.foreign.insert(Id::Route(id), msg);
            }
        }
    }

    async fn create<M: Machine>(
        id: &RouteId,
        me: &Route,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        let spec = spec(id, me);
        x.settle_in(&id.ns).await?;
        let recorded = id.ns == Ns::Host && x.lab_state.host_routes.insert(id.key.clone());
        if recorded {
            // Record first: a crash after the kernel added it must still
            // leave the route recognisable as the lab's.
            x.save_state()?;
        }
        let added = x.m.put_route(&id.ns, &spec).await;
        if added.is_err() && recorded {
            x.lab_state.host_routes.remove(&id.key);
            x.save_state()?;
        }
        added
    }

    async fn update<M: Machine>(
        id: &RouteId,
        want: &Route,
        _: &Route,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        x.settle_in(&id.ns).await?;
        x.m.put_route(&id.ns, &spec(id, want)).await
    }

    async fn delete<M: Machine>(
        id: &RouteId,
        have: Option<&Route>,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        let spec = RouteSpec {
            to: id.key.to,
            metric: id.key.metric,
            via: have.and_then(|r| r.via),
            dev: None,
        };
        super::gone_ok(x.m.delete_route(&id.ns, &spec).await)?;
        if id.ns == Ns::Host && x.lab_state.host_routes.remove(&id.key) {
            x.save_state()?;
        }
        Ok(())
    }
}

fn spec(id: &RouteId, me: &Route) -> RouteSpec {
    RouteSpec {
        to: id.key.to,
        metric: id.key.metric,
        via: me.via,
        dev: me.dev.clone().map(String::from),
    }
}
