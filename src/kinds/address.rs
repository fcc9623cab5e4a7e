//! An address on an interface the lab created. Deleting an interface's
//! first IPv4 address of a subnet takes that subnet's others along (unless
//! the interface promotes them), and deleting its last IPv4 address takes
//! its IPv4 routes: the kernel does both by itself.

use super::{Id, Kind, LinkId, RouteId};
use crate::apply::Exec;
use crate::graph::Index;
use crate::machine::{KernelError, Machine};
use crate::model::{Change, IfRef, Ns};
use crate::observe::ObserveNs;
use crate::plan::VanishCx;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AddressId {
    pub link: IfRef,
    pub address: IpNet,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {}

impl Kind for Address {
    type Id = AddressId;
    const NAME: &'static str = "address";

    fn ns(id: &AddressId) -> Ns {
        id.link.ns.clone()
    }

    fn label(id: &AddressId) -> String {
        format!("address {} on {}", id.address, id.link)
    }

    fn describe(&self) -> String {
        String::new()
    }

    fn index(id: &AddressId, _: &Address, ix: &mut Index) {
        ix.in_ns(&id.link.ns, Id::Address(id.clone()));
        ix.addresses
            .entry(id.link.clone())
            .or_default()
            .push(id.address);
    }

    fn deps(id: &AddressId, _: &Address, _: &Index) -> Vec<Id> {
        let mut deps = super::ns_dep(&id.link.ns);
        deps.push(Id::Link(LinkId {
            link: id.link.clone(),
        }));
        deps
    }

    fn home(id: &AddressId, _: &Address, ix: &Index) -> Option<String> {
        ix.home_of_interface(&id.link)
    }

    fn changes(&self, _: &Address) -> Vec<Change> {
        Vec::new()
    }

    fn takes_along(id: &AddressId, _: &Address, cx: &mut VanishCx<'_>) {
        if !id.address.addr().is_ipv4() || cx.links.contains(&id.link) {
            return;
        }
        let link = &id.link;
        let on_link: Vec<IpNet> = cx
            .ix
            .addresses
            .get(link)
            .into_iter()
            .flatten()
            .copied()
            .filter(|a| a.addr().is_ipv4())
            .collect();
        let aid = |a: &IpNet| AddressId {
            link: link.clone(),
            address: *a,
        };
        // Without promote_secondaries (which topo sets on what it makes) a
        // deleted primary takes the secondaries of its subnet along.
        let primary = !cx.obs.secondary.contains(&Id::Address(id.clone()));
        if primary && !cx.obs.promoting.contains(link) {
            for s in &on_link {
                let sid = Id::Address(aid(s));
                if *s != id.address
                    && id.address.contains(&s.addr())
                    && cx.obs.secondary.contains(&sid)
                {
                    cx.take(sid, format!("the kernel removes it with {}", id.address));
                }
            }
        }
        let left = on_link.iter().any(|a| {
            let other = Id::Address(aid(a));
            cx.desired.contains(&other) && !cx.going(&other)
        });
        if left {
            return;
        }
        let routes: Vec<RouteId> = cx.ix.routes_via.get(link).cloned().unwrap_or_default();
        for r in routes.into_iter().filter(|r| r.key.to.addr().is_ipv4()) {
            let cause = format!("the kernel removes it when {link} loses its last IPv4 address");
            cx.take(Id::Route(r), cause);
        }
    }

    fn observe(cx: &mut ObserveNs<'_>) {
        let addrs = cx.dump.addrs.clone();
        for a in &addrs {
            let Some(l) = cx.link_by_index(a.index) else {
                continue;
            };
            let r = IfRef::new(cx.ns.clone(), &l.name);
            cx.obs
                .prior
                .entry(r.clone())
                .or_default()
                .push(a.net.addr());
            if a.tentative {
                cx.obs.settling.insert(r.clone());
            }
            // A node's lo carries the lab's mark; its own 127.0.0.1 and
            // ::1 are the kernel's, a loopback pool's address the lab's.
            if cx.owned(&l) && (l.name != "lo" || !a.net.addr().is_loopback()) {
                let id = AddressId {
                    link: r,
                    address: a.net,
                };
                if a.secondary {
                    cx.obs.secondary.insert(Id::Address(id.clone()));
                }
                cx.obs.state.insert::<Address>(id, Address {});
            }
        }
        if *cx.ns == Ns::Host {
            cx.subnet_clashes();
        }
    }

    async fn create<M: Machine>(
        id: &AddressId,
        _: &Address,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        let nodad = !x.model.dad;
        match x.m.add_address(&id.link, id.address, nodad).await {
            // IPv6 is off on the interface: new devices inherit it where
            // the machine turns IPv6 off by default (a hardening step,
            // `net.ipv6.conf.default.disable_ipv6 = 1`). The interface is
            // the lab's own, and the file gives it an IPv6 address: on.
            Err(e) if id.address.addr().is_ipv6() && e.errno() == Some(libc::EACCES) => {
                let key = format!("net/ipv6/conf/{}/disable_ipv6", id.link.name);
                x.m.write_sysctl(&id.link.ns, &key, "0")?;
                x.m.add_address(&id.link, id.address, nodad).await
            }
            r => r,
        }
    }

    async fn update<M: Machine>(
        _: &AddressId,
        _: &Address,
        _: &Address,
        _: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        Ok(())
    }

    async fn delete<M: Machine>(
        id: &AddressId,
        _: Option<&Address>,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        super::gone_ok(x.m.delete_address(&id.link, id.address).await)
    }
}
