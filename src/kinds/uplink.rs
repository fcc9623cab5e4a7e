//! An interface topo did not create (the machine's NIC) made a port of a
//! lab bridge (`bridges.B.uplinks`). The interface is never the lab's:
//! topo records whether it was up before attaching it (the kernel cannot
//! hold that), and on delete detaches it and leaves it up or down as it
//! was. Its addresses are never touched. Observed from the records: a
//! recorded uplink is the lab's attachment, whatever its master is now.

use super::{Id, Kind, LinkId};
use crate::apply::Exec;
use crate::graph::Index;
use crate::machine::{KernelError, LinkSettings, Machine, Master, UplinkRecord};
use crate::model::{opt, Change, IfRef, Ns};
use crate::observe::{ObserveNs, Refusal};
use crate::plan::{Op, VanishCx};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UplinkId {
    /// The interface made a port.
    pub link: IfRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uplink {
    /// The bridge it is a port of (as observed: its master now, if any).
    pub bridge: Option<String>,
    pub up: bool,
    /// The file allows it to carry the machine's default route (desired
    /// state only; not compared).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default_route_allowed: bool,
}

impl Kind for Uplink {
    type Id = UplinkId;
    const NAME: &'static str = "uplink";

    fn ns(id: &UplinkId) -> Ns {
        id.link.ns.clone()
    }

    fn label(id: &UplinkId) -> String {
        format!("uplink {}", id.link)
    }

    fn describe(&self) -> String {
        match &self.bridge {
            Some(b) => format!("port of {b}"),
            None => "detached".to_string(),
        }
    }

    fn index(id: &UplinkId, me: &Uplink, ix: &mut Index) {
        if let Some(b) = &me.bridge {
            let bridge = IfRef::new(id.link.ns.clone(), b);
            ix.uplinks.entry(bridge).or_default().push(id.clone());
        }
    }

    fn deps(id: &UplinkId, me: &Uplink, _: &Index) -> Vec<Id> {
        let mut deps = super::ns_dep(&id.link.ns);
        if let Some(b) = &me.bridge {
            let link = IfRef::new(id.link.ns.clone(), b);
            deps.push(Id::Link(LinkId { link }));
        }
        deps
    }

    fn changes(&self, live: &Uplink) -> Vec<Change> {
        let mut out = Vec::new();
        Change::push(&mut out, "bridge", opt(&live.bridge), opt(&self.bridge));
        Change::push(&mut out, "up", live.up.to_string(), self.up.to_string());
        out
    }

    fn note(id: &UplinkId, op: Op, obs: &crate::observe::Observed) -> Option<String> {
        let was = obs.lab_state.uplink(&id.link)?;
        (op == Op::Delete).then(|| {
            let state = if was.up { "up" } else { "down" };
            format!("it is left {state}, as it was")
        })
    }

    fn observe(cx: &mut ObserveNs<'_>) {
        let recorded: Vec<String> = cx.obs.lab_state.uplinks_in(cx.ns).cloned().collect();
        for name in recorded {
            let link = cx.dump.links.iter().find(|l| l.name == name).cloned();
            let me = Uplink {
                bridge: link
                    .as_ref()
                    .and_then(|l| l.master)
                    .and_then(|m| cx.name_of(m))
                    .map(String::from),
                up: link.as_ref().is_some_and(|l| l.up),
                default_route_allowed: false,
            };
            let link_ref = IfRef::new(cx.ns.clone(), &name);
            // The bridge opens the port a little after carrier comes up:
            // apply waits for it as for its own ports.
            if link
                .as_ref()
                .is_some_and(|l| l.up && (!l.running || l.port_settling))
            {
                cx.obs.settling.insert(link_ref.clone());
            }
            cx.obs
                .state
                .insert::<Uplink>(UplinkId { link: link_ref }, me);
        }
        refusals(cx);
    }

    async fn create<M: Machine>(
        id: &UplinkId,
        me: &Uplink,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        // What it was comes first into the records: a run killed after
        // attaching it still knows how to leave it.
        if x.lab_state.uplink(&id.link).is_none() {
            let live = x.m.link(&id.link).await?.ok_or_else(|| {
                KernelError::new(Uplink::label(id), "the interface does not exist")
            })?;
            x.lab_state
                .record_uplink(&id.link, UplinkRecord { up: live.up });
            x.save_state()?;
        }
        attach(id, me, x).await
    }

    async fn update<M: Machine>(
        id: &UplinkId,
        want: &Uplink,
        _: &Uplink,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        attach(id, want, x).await
    }

    async fn delete<M: Machine>(
        id: &UplinkId,
        _: Option<&Uplink>,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        let was = x.lab_state.uplink(&id.link);
        if x.m.link(&id.link).await?.is_some() {
            let s = LinkSettings {
                master: Master::Detach,
                up: Some(was.as_ref().is_none_or(|w| w.up)),
                ..Default::default()
            };
            super::gone_ok(x.m.set_link(&id.link, &s).await)?;
        }
        if was.is_some() {
            x.lab_state.forget_uplink(&id.link);
            x.save_state()?;
        }
        Ok(())
    }
}

async fn attach<M: Machine>(
    id: &UplinkId,
    me: &Uplink,
    x: &mut Exec<'_, M>,
) -> Result<(), KernelError> {
    let s = LinkSettings {
        master: me.bridge.clone().map_or(Master::Detach, Master::Attach),
        up: Some(me.up),
        ..Default::default()
    };
    x.m.set_link(&id.link, &s).await
}

/// Uplinks the file wants here that the machine refuses: missing, a port
/// of something that is not the lab's, or carrying the default route.
fn refusals(cx: &mut ObserveNs<'_>) {
    let Some(desired) = cx.desired else { return };
    let from = UplinkId {
        link: IfRef::new(cx.ns.clone(), ""),
    };
    let wanted: Vec<(UplinkId, Uplink)> = desired
        .uplink
        .range(from..)
        .take_while(|(id, _)| id.link.ns == *cx.ns)
        .map(|(i, u)| (i.clone(), u.clone()))
        .collect();
    for (id, want) in wanted {
        let bridge = want.bridge.clone().unwrap_or_default();
        let refuse = |message: String, help: &str| Refusal {
            id: Id::Uplink(id.clone()),
            message,
            help: help.to_string(),
        };
        let Some(l) = cx
            .dump
            .links
            .iter()
            .find(|l| l.name == id.link.name)
            .cloned()
        else {
            let msg = format!("uplink {} of bridge {bridge} does not exist", id.link);
            let help =
                "uplinks are interfaces the machine already has; check the name with `ip link`";
            cx.obs.refused.push(refuse(msg, help));
            continue;
        };
        let master = l.master.and_then(|m| cx.link_by_index(m));
        if let Some(m) = master.filter(|m| !cx.owned(m)) {
            let msg = format!("uplink {} is already a port of {}", id.link, m.name);
            let help = "topo does not take an interface from another bridge: detach it first (`ip link set IF nomaster`)";
            cx.obs.refused.push(refuse(msg, help));
            continue;
        }
        let default = cx
            .dump
            .routes
            .iter()
            .any(|r| r.to.prefix_len() == 0 && r.oif == Some(l.index));
        if default && !want.default_route_allowed {
            let msg = format!(
                "uplink {} carries the machine's default route: made a port, it would stop routing until its addresses move to {bridge}",
                id.link
            );
            let help = "pick another interface, or write `allow_default_route_uplink: true` on the bridge if you mean it";
            cx.obs.refused.push(refuse(msg, help));
        }
    }
}

/// Uplinks of a bridge that goes stay recorded (they are left as they
/// were by their own delete); those the file keeps are attached again.
pub(super) fn detached_with(bridge: &IfRef, cx: &mut VanishCx<'_>) {
    let ups = cx.ix.uplinks.get(bridge).cloned().unwrap_or_default();
    for u in ups {
        let id = Id::Uplink(u);
        if cx.desired.contains(&id) {
            cx.take(id, format!("it leaves {bridge}, which is deleted"));
        }
    }
}
