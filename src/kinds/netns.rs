//! A node: a named network namespace (/run/netns/NAME). Its `lo` carries
//! the lab's mark. It starts with IPv4 forwarding off, whatever the host
//! has. Deleting it takes everything inside along, and the far end of each
//! of its veths a little later.

use super::{Id, Journal, Kind, Stored, VethId};
use crate::apply::Exec;
use crate::graph::Index;
use crate::machine::{KernelError, LinkSettings, Machine};
use crate::model::{Change, IfRef, Ns};
use crate::observe::ObserveNs;
use crate::plan::VanishCx;
use serde::{Deserialize, Serialize};

/// IPv4 forwarding of a namespace (`net.ipv4.ip_forward` is another name
/// for it); writing it sets `default` and every interface's too.
const FORWARDING: &str = "net.ipv4.conf.all.forwarding";

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NetnsId {
    pub name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Netns {}

impl Kind for Netns {
    type Id = NetnsId;
    const NAME: &'static str = "netns";
    // Between creating the name and mounting the namespace, and between
    // unmounting and unlinking, it is the lab's without its mark.
    const JOURNAL: Journal = Journal::Always;

    fn ns(id: &NetnsId) -> Ns {
        Ns::Node(id.name.clone())
    }

    fn label(id: &NetnsId) -> String {
        format!("netns {}", id.name)
    }

    fn describe(&self) -> String {
        String::new()
    }

    fn deps(_: &NetnsId, _: &Netns, _: &Index) -> Vec<Id> {
        Vec::new()
    }

    fn changes(&self, _: &Netns) -> Vec<Change> {
        Vec::new()
    }

    fn takes_along(id: &NetnsId, _: &Netns, cx: &mut VanishCx<'_>) {
        let ns = Netns::ns(id);
        cx.namespaces.insert(ns.clone());
        let inside = cx.ix.by_ns.get(&ns).cloned().unwrap_or_default();
        for other in inside.into_iter().filter(|o| !matches!(o, Id::Netns(_))) {
            cx.take(other, format!("namespace {ns} is made anew"));
        }
        let veths: Vec<VethId> = cx.ix.veths_at.get(&ns).cloned().unwrap_or_default();
        for v in veths {
            let cause = format!("it goes with a deleted namespace ({})", v.link.ns);
            cx.take(Id::Veth(v), cause);
        }
    }

    fn observe(cx: &mut ObserveNs<'_>) {
        if let Ns::Node(name) = cx.ns {
            let id = NetnsId { name: name.clone() };
            cx.obs.state.insert::<Netns>(id, Netns {});
        }
    }

    async fn create<M: Machine>(
        id: &NetnsId,
        _: &Netns,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        x.forget_sysctls(&id.name)?;
        x.m.create_namespace(&id.name)?;
        // A new namespace copies the host's IPv4 forwarding: a node made
        // while the host forwards (a Docker host, another lab's setting,
        // a rollback after the lab's own) would forward too. A node
        // forwards only when its lab says so.
        let ns = Netns::ns(id);
        if x.m.read_sysctl(&ns, FORWARDING)?.is_some_and(|v| v != "0") {
            x.m.write_sysctl(&ns, FORWARDING, "0")?;
        }
        let lo = IfRef::new(ns, "lo");
        let s = LinkSettings {
            alias: Some(x.mark()),
            up: Some(true),
            ..Default::default()
        };
        x.m.set_link(&lo, &s).await
    }

    async fn update<M: Machine>(
        _: &NetnsId,
        _: &Netns,
        _: &Netns,
        _: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        Ok(())
    }

    async fn delete<M: Machine>(
        id: &NetnsId,
        _: Option<&Netns>,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        x.keep_nft_of(&Netns::ns(id))?;
        x.m.delete_namespace(&id.name)?;
        // Only a namespace really deleted leaves ends to wait for: after a
        // failed delete they are the live ends of a live namespace.
        x.note_lingering(&id.name);
        x.forget_sysctls(&id.name)
    }
}

impl Netns {
    /// The identity of node `name`'s namespace, as a general `Id`.
    pub fn of(name: &str) -> Id {
        <Netns as Stored>::id(NetnsId {
            name: name.to_string(),
        })
    }
}
