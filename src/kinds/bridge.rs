//! A Linux bridge in the host or in a node. Its own options (spanning tree,
//! forward delay) live in the kernel's link info and change in place.
//! Deleting it takes its settings, addresses and routes along and leaves
//! its ports detached.

use super::{Id, Journal, Kind, LinkId};
use crate::apply::Exec;
use crate::graph::Index;
use crate::machine::{BridgeOptions, KernelError, Machine};
use crate::model::{opt, Change, IfRef, Ns};
use crate::observe::{ObserveNs, Observed};
use crate::plan::{Op, VanishCx};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BridgeId {
    pub link: IfRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bridge {
    pub stp: bool,
    /// Seconds; `None` in desired state leaves the kernel's.
    pub forward_delay: Option<u32>,
}

impl Bridge {
    fn options(&self) -> BridgeOptions {
        BridgeOptions {
            stp: self.stp,
            forward_delay: self.forward_delay,
        }
    }
}

impl Kind for Bridge {
    type Id = BridgeId;
    const NAME: &'static str = "bridge";
    const JOURNAL: Journal = Journal::Making;

    fn deleted_link(id: &BridgeId) -> Option<&IfRef> {
        Some(&id.link)
    }

    fn ns(id: &BridgeId) -> Ns {
        id.link.ns.clone()
    }

    fn label(id: &BridgeId) -> String {
        format!("bridge {}", id.link)
    }

    /// The forward delay matters only with spanning tree on.
    fn describe(&self) -> String {
        match self.forward_delay {
            Some(d) if self.stp => format!("stp: {}, forward_delay: {d}", self.stp),
            _ => format!("stp: {}", self.stp),
        }
    }

    fn makes(id: &BridgeId, _: Option<&super::State>) -> Vec<IfRef> {
        vec![id.link.clone()]
    }

    fn index(id: &BridgeId, _: &Bridge, ix: &mut Index) {
        ix.creator(&id.link, Id::Bridge(id.clone()));
    }

    fn deps(id: &BridgeId, _: &Bridge, _: &Index) -> Vec<Id> {
        super::ns_dep(&id.link.ns)
    }

    fn changes(&self, live: &Bridge) -> Vec<Change> {
        let mut out = Vec::new();
        Change::push(&mut out, "stp", live.stp.to_string(), self.stp.to_string());
        if self.forward_delay.is_some() {
            Change::push(
                &mut out,
                "forward_delay",
                opt(&live.forward_delay),
                opt(&self.forward_delay),
            );
        }
        out
    }

    fn takes_along(id: &BridgeId, _: &Bridge, cx: &mut VanishCx<'_>) {
        cx.device_goes(&id.link);
        super::uplink::detached_with(&id.link, cx);
        // Its ports stay, detached: their settings are made afresh.
        let ports = cx.ix.ports.get(&id.link).cloned().unwrap_or_default();
        for port in ports {
            let cause = format!("it leaves {}, which is deleted", id.link);
            cx.take(Id::Link(LinkId { link: port }), cause);
        }
    }

    fn note(id: &BridgeId, op: Op, obs: &Observed) -> Option<String> {
        let guests = obs
            .guests
            .get(&id.link)
            .filter(|_| op != Op::Create && op != Op::Update)?;
        Some(format!(
            "detaches {}, which the lab does not own",
            guests.join(", ")
        ))
    }

    fn observe(cx: &mut ObserveNs<'_>) {
        for l in cx.owned_links() {
            if l.kind.as_deref() == Some("bridge") {
                let id = BridgeId {
                    link: IfRef::new(cx.ns.clone(), &l.name),
                };
                let me = Bridge {
                    stp: l.stp.unwrap_or(false),
                    forward_delay: l.forward_delay,
                };
                cx.obs.state.insert::<Bridge>(id, me);
            }
        }
    }

    async fn create<M: Machine>(
        id: &BridgeId,
        me: &Bridge,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        x.settle_names(&[&id.link]).await?;
        let new = x.new_link(&id.link, x.mark());
        x.m.create_bridge(&id.link, &me.options(), &new).await
    }

    async fn update<M: Machine>(
        id: &BridgeId,
        want: &Bridge,
        _: &Bridge,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        x.m.change_bridge(&id.link, &want.options()).await
    }

    async fn delete<M: Machine>(
        id: &BridgeId,
        _: Option<&Bridge>,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        super::gone_ok(x.m.delete_link(&id.link).await)
    }
}
