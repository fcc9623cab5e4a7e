//! A persistent tap device, in the host or in a node, for a VM to open
//! without root (QEMU: `-netdev tap,id=n1,ifname=vif1,script=no,
//! downscript=no`). Made by ioctls on /dev/net/tun inside its namespace,
//! marked like a bridge (alias `topo:LAB`); its settings (up, bridge, MTU,
//! MAC) are an interface's, as for any device the lab makes. Owner and
//! group change in place while no process has the tap open; unsetting one,
//! or another queue mode, needs a new tap. A tap has no carrier until a
//! reader opens it: apply does not wait for it.

use super::{Id, Journal, Kind};
use crate::apply::Exec;
use crate::graph::Index;
use crate::machine::{KernelError, Machine, TapOptions};
use crate::model::{opt, Change, IfRef, Ns};
use crate::observe::ObserveNs;
use crate::plan::VanishCx;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TapId {
    pub link: IfRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tap {
    /// The user that may open it (a uid); `None`: only processes with
    /// CAP_NET_ADMIN.
    pub owner: Option<u32>,
    /// The group that may open it (a gid).
    pub group: Option<u32>,
    /// Several queues (QEMU's `queues=N`).
    pub multi_queue: bool,
    /// Stays when its last reader closes it; topo's taps always do.
    pub persist: bool,
}

impl Tap {
    pub fn options(&self) -> TapOptions {
        TapOptions {
            owner: self.owner,
            group: self.group,
            multi_queue: self.multi_queue,
        }
    }
}

impl Kind for Tap {
    type Id = TapId;
    const NAME: &'static str = "tap";
    const JOURNAL: Journal = Journal::Making;

    fn deleted_link(id: &TapId) -> Option<&IfRef> {
        Some(&id.link)
    }

    fn ns(id: &TapId) -> Ns {
        id.link.ns.clone()
    }

    fn label(id: &TapId) -> String {
        format!("tap {}", id.link)
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(u) = self.owner {
            parts.push(format!("owner {u}"));
        }
        if let Some(g) = self.group {
            parts.push(format!("group {g}"));
        }
        if self.multi_queue {
            parts.push("multi_queue".to_string());
        }
        if parts.is_empty() {
            parts.push("root only".to_string());
        }
        parts.join(", ")
    }

    fn makes(id: &TapId, _: Option<&super::State>) -> Vec<IfRef> {
        vec![id.link.clone()]
    }

    fn index(id: &TapId, _: &Tap, ix: &mut Index) {
        ix.creator(&id.link, Id::Tap(id.clone()));
    }

    fn deps(id: &TapId, _: &Tap, _: &Index) -> Vec<Id> {
        super::ns_dep(&id.link.ns)
    }

    fn changes(&self, live: &Tap) -> Vec<Change> {
        let mut out = Vec::new();
        Change::push(&mut out, "owner", opt(&live.owner), opt(&self.owner));
        Change::push(&mut out, "group", opt(&live.group), opt(&self.group));
        Change::push(
            &mut out,
            "multi_queue",
            live.multi_queue.to_string(),
            self.multi_queue.to_string(),
        );
        Change::push(
            &mut out,
            "persist",
            live.persist.to_string(),
            self.persist.to_string(),
        );
        out
    }

    /// The kernel sets an owner or group but never clears one (TUNSETOWNER
    /// takes no "nobody"), and the queue mode is fixed at creation.
    fn replace_reason(&self, changes: &[Change]) -> Option<String> {
        let none = "(none)";
        let unset = changes
            .iter()
            .find(|c| (c.attr == "owner" || c.attr == "group") && c.after == none);
        if let Some(c) = unset {
            return Some(format!("a tap's {} cannot be unset in place", c.attr));
        }
        changes
            .iter()
            .any(|c| c.attr == "multi_queue")
            .then(|| "a tap's queue mode is fixed when it is made".to_string())
    }

    fn takes_along(id: &TapId, _: &Tap, cx: &mut VanishCx<'_>) {
        cx.device_goes(&id.link);
    }

    fn observe(cx: &mut ObserveNs<'_>) {
        for l in cx.owned_links() {
            let Some(t) = l.tun.filter(|t| t.tap) else {
                continue;
            };
            let id = TapId {
                link: IfRef::new(cx.ns.clone(), &l.name),
            };
            let me = Tap {
                owner: t.owner,
                group: t.group,
                multi_queue: t.multi_queue,
                persist: t.persist,
            };
            cx.obs.state.insert::<Tap>(id, me);
        }
    }

    async fn create<M: Machine>(
        id: &TapId,
        me: &Tap,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        x.settle_names(&[&id.link]).await?;
        let new = x.new_link(&id.link, x.mark());
        x.m.create_tap(&id.link, &me.options(), &new).await
    }

    async fn update<M: Machine>(
        id: &TapId,
        want: &Tap,
        _: &Tap,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        x.m.change_tap(&id.link, &want.options()).await
    }

    async fn delete<M: Machine>(
        id: &TapId,
        _: Option<&Tap>,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        super::gone_ok(x.m.delete_link(&id.link).await)
    }
}
