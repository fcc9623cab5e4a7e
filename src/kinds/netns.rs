//! A node: a named network namespace (/run/netns/NAME). Its `lo` carries
//! the lab's mark. It starts with IPv4 forwarding off, whatever the host
//! has. Deleting it takes everything inside along, and the far end of each
//! of its veths a little later.
//!
//! An attached node (`attach:`) stands for a namespace topo did not create:
//! topo never creates, marks or deletes it. The namespace's inode, recorded
//! when the lab first attaches it, tells whether the one found now is the
//! same: a restarted container's new namespace is a new one, with nothing
//! of the lab's in it yet. Deleting an attached node removes only what the
//! lab put there, one object at a time, and forgets the record.

use super::{Id, Journal, Kind, Stored, VethId};
use crate::apply::Exec;
use crate::graph::Index;
use crate::machine::{AttachedRecord, KernelError, LinkSettings, Machine};
use crate::model::{opt, Attach, Change, IfRef, Name, Ns};
use crate::observe::{ObserveNs, Observed};
use crate::plan::{Op, VanishCx};
use serde::{Deserialize, Serialize};

/// IPv4 forwarding of a namespace (`net.ipv4.ip_forward` is another name
/// for it); writing it sets `default` and every interface's too.
const FORWARDING: &str = "net.ipv4.conf.all.forwarding";

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NetnsId {
    pub name: Name,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Netns {
    /// Where the namespace is when topo did not create it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<Attach>,
}

impl Kind for Netns {
    type Id = NetnsId;
    const NAME: &'static str = "netns";
    // Between creating the name and mounting the namespace, and between
    // unmounting and unlinking, it is the lab's without its mark.
    const JOURNAL: Journal = Journal::Always;

    fn ns(id: &NetnsId) -> Ns {
        Ns::node(&id.name)
    }

    fn label(id: &NetnsId) -> String {
        format!("netns {}", id.name)
    }

    fn describe(&self) -> String {
        self.attach
            .as_ref()
            .map(|a| format!("attached to {a}"))
            .unwrap_or_default()
    }

    fn deps(_: &NetnsId, _: &Netns, _: &Index) -> Vec<Id> {
        Vec::new()
    }

    fn changes(&self, live: &Netns) -> Vec<Change> {
        let mut out = Vec::new();
        Change::push(&mut out, "attach", opt(&live.attach), opt(&self.attach));
        out
    }

    /// Deleting a namespace deletes every interface in it, the lab's or
    /// not: those that are not are named (an attached namespace stays).
    fn note(id: &NetnsId, op: Op, obs: &Observed) -> Option<String> {
        let inmates = obs
            .inmates
            .get(&Netns::ns(id))
            .filter(|_| op != Op::Create && op != Op::Update)?;
        Some(format!(
            "deletes {}, which the lab does not own",
            inmates.join(", ")
        ))
    }

    fn takes_along(id: &NetnsId, me: &Netns, cx: &mut VanishCx<'_>) {
        // An attached namespace stays: what the lab put there goes one
        // object at a time.
        if me.attach.is_some() {
            return;
        }
        let ns = Netns::ns(id);
        cx.namespaces.insert(ns.clone());
        let inside = cx.by_ns.get(&ns).cloned().unwrap_or_default();
        for other in inside.into_iter().filter(|o| !matches!(o, Id::Netns(_))) {
            // A file or a process outlives the namespace: unless it is made
            // again, it is deleted by its own action.
            if other.goes_with_namespace() || cx.desired.contains(&other) {
                cx.take(other, format!("namespace {ns} is made anew"));
            }
        }
        let veths: Vec<VethId> = cx.ix.veths_at.get(&ns).cloned().unwrap_or_default();
        for v in veths {
            let cause = format!("it goes with a deleted namespace ({})", v.link.ns);
            cx.take(Id::Veth(v), cause);
        }
    }

    fn observe(cx: &mut ObserveNs<'_>) {
        let Ns::Node(name) = cx.ns else { return };
        let attach = match cx.obs.attached_now.get(name.as_str()) {
            None => None,
            // Attached before, to this very namespace: the lab's.
            Some(inode) => match cx.obs.lab_state.attached.get(name.as_str()) {
                Some(r) if r.inode == *inode => Some(r.at.clone()),
                _ => return,
            },
        };
        let id = NetnsId { name: name.clone() };
        cx.obs.state.insert::<Netns>(id, Netns { attach });
    }

    async fn create<M: Machine>(
        id: &NetnsId,
        me: &Netns,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        x.forget_sysctls(&id.name)?;
        if let Some(at) = &me.attach {
            return attach(id, at, x).await;
        }
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

    /// The same namespace, found another way (another pid of it).
    async fn update<M: Machine>(
        id: &NetnsId,
        want: &Netns,
        _: &Netns,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        match &want.attach {
            Some(at) => attach(id, at, x).await,
            None => Ok(()),
        }
    }

    async fn delete<M: Machine>(
        id: &NetnsId,
        have: Option<&Netns>,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        let recorded = x.lab_state.attached.contains_key(id.name.as_str());
        if recorded || have.is_some_and(|h| h.attach.is_some()) {
            x.lab_state.attached.remove(id.name.as_str());
            x.lab_state.forget_namespace(&Netns::ns(id));
            return x.save_state();
        }
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
        <Netns as Stored>::id(NetnsId { name: name.into() })
    }
}

/// Makes the node stand for the namespace `at` names, and records which
/// namespace that is.
async fn attach<M: Machine>(
    id: &NetnsId,
    at: &Attach,
    x: &mut Exec<'_, M>,
) -> Result<(), KernelError> {
    let inode = x.m.attach_namespace(&id.name, at)?;
    let rec = AttachedRecord {
        at: at.clone(),
        inode,
    };
    if x.lab_state.attached.get(id.name.as_str()) != Some(&rec) {
        x.lab_state.attached.insert(id.name.to_string(), rec);
        x.save_state()?;
    }
    Ok(())
}
