//! The settings of an interface the lab created (bridge or veth end): up,
//! MTU, MAC, the bridge it is a port of. They go with their device, so a
//! link is never deleted on its own. Reading them also finds the clashes
//! of interfaces: a wanted name taken by an interface the lab does not own,
//! a device a killed run left half-made, someone else's port on a lab
//! bridge.

use super::{Id, Kind};
use crate::apply::Exec;
use crate::graph::Index;
use crate::machine::{KernelError, LinkSettings, Machine, Master};
use crate::model::{opt, Change, IfRef, Mac, Name, Ns};
use crate::observe::ObserveNs;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LinkId {
    pub link: IfRef,
}

/// `None` in desired state means "whatever the kernel chooses".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub up: bool,
    pub mtu: Option<u32>,
    pub mac: Option<Mac>,
    pub master: Option<Name>,
}

impl Kind for Link {
    type Id = LinkId;
    const NAME: &'static str = "link";
    const DELETED_ALONE: bool = false;

    fn ns(id: &LinkId) -> Ns {
        id.link.ns.clone()
    }

    fn label(id: &LinkId) -> String {
        format!("link {}", id.link)
    }

    fn describe(&self) -> String {
        let mut parts = vec![if self.up { "up" } else { "down" }.to_string()];
        if let Some(m) = &self.master {
            parts.push(format!("master {m}"));
        }
        if let Some(m) = self.mtu {
            parts.push(format!("mtu {m}"));
        }
        if let Some(m) = self.mac {
            parts.push(format!("mac {m}"));
        }
        parts.join(", ")
    }

    fn index(id: &LinkId, me: &Link, ix: &mut Index) {
        ix.in_ns(&id.link.ns, Id::Link(id.clone()));
        if let Some(m) = &me.master {
            let bridge = IfRef::new(id.link.ns.clone(), m);
            ix.ports.entry(bridge).or_default().push(id.link.clone());
        }
    }

    fn deps(id: &LinkId, me: &Link, ix: &Index) -> Vec<Id> {
        let mut deps = super::ns_dep(&id.link.ns);
        deps.extend(ix.creators.get(&id.link).into_iter().flatten().cloned());
        if let Some(m) = &me.master {
            let master = IfRef::new(id.link.ns.clone(), m);
            deps.push(Id::Link(LinkId { link: master }));
        }
        deps
    }

    /// A host end of a veth is grouped with the node at its other end.
    fn home(id: &LinkId, _: &Link, ix: &Index) -> Option<String> {
        ix.home_of_interface(&id.link)
    }

    fn changes(&self, live: &Link) -> Vec<Change> {
        let mut out = Vec::new();
        Change::push(&mut out, "up", live.up.to_string(), self.up.to_string());
        if self.mtu.is_some() {
            Change::push(&mut out, "mtu", opt(&live.mtu), opt(&self.mtu));
        }
        if self.mac.is_some() {
            Change::push(&mut out, "mac", opt(&live.mac), opt(&self.mac));
        }
        Change::push(&mut out, "master", opt(&live.master), opt(&self.master));
        out
    }

    fn observe(cx: &mut ObserveNs<'_>) {
        let links: Vec<crate::machine::Link> = cx.dump.links.clone();
        for l in &links {
            let r = IfRef::new(cx.ns.clone(), &l.name);
            // A node's lo carries the namespace's mark; it is no lab interface.
            if l.name == "lo" {
                continue;
            }
            if !cx.owned(l) {
                cx.unowned_interface(l, &r);
                continue;
            }
            if l.promote {
                cx.obs.promoting.insert(r.clone());
            }
            // A bridge has no carrier until a port has, a tap none until
            // a reader (a VM) opens it: neither is waited for.
            if l.coming_up() {
                cx.obs.settling.insert(r.clone());
            }
            let me = Link {
                up: l.up,
                mtu: Some(l.mtu),
                mac: l.mac.map(Mac),
                master: l.master.and_then(|m| cx.name_of(m)),
            };
            cx.obs.state.insert::<Link>(LinkId { link: r }, me);
        }
    }

    async fn create<M: Machine>(
        id: &LinkId,
        me: &Link,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        configure(id, me, None, x).await
    }

    async fn update<M: Machine>(
        id: &LinkId,
        want: &Link,
        have: &Link,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        configure(id, want, Some(have), x).await
    }

    async fn delete<M: Machine>(
        _: &LinkId,
        _: Option<&Link>,
        _: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        Ok(())
    }
}

async fn configure<M: Machine>(
    id: &LinkId,
    me: &Link,
    before: Option<&Link>,
    x: &mut Exec<'_, M>,
) -> Result<(), KernelError> {
    let master = match (&me.master, before.and_then(|b| b.master.as_ref())) {
        (Some(m), _) => Master::Attach(m.to_string()),
        (None, Some(_)) => Master::Detach,
        (None, None) => Master::Keep,
    };
    let s = LinkSettings {
        up: Some(me.up),
        mtu: me.mtu,
        mac: me.mac.map(|m| m.0),
        master,
        ..Default::default()
    };
    x.m.set_link(&id.link, &s).await
}
