//! A veth pair, named by its first end (the smaller of the two). Each end
//! carries the mark `topo:LAB:NS/NAME` naming the other end, so a moved
//! peer is seen. The peer is made directly in its namespace, in the same
//! request as the pair.

use super::{Id, Journal, Kind, Netns};
use crate::apply::Exec;
use crate::graph::Index;
use crate::machine::{KernelError, Machine};
use crate::model::{Change, IfRef, Ns};
use crate::observe::ObserveNs;
use crate::plan::VanishCx;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VethId {
    pub link: IfRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Veth {
    pub peer: IfRef,
}

impl Kind for Veth {
    type Id = VethId;
    const NAME: &'static str = "veth";
    const JOURNAL: Journal = Journal::Making;

    fn deleted_link(id: &VethId) -> Option<&IfRef> {
        Some(&id.link)
    }

    fn ns(id: &VethId) -> Ns {
        id.link.ns.clone()
    }

    fn label(id: &VethId) -> String {
        format!("veth {}", id.link)
    }

    fn describe(&self) -> String {
        format!("peer {}", self.peer)
    }

    fn makes(id: &VethId, desired: Option<&super::State>) -> Vec<IfRef> {
        let peer = desired.and_then(|s| s.veth.get(id)).map(|v| v.peer.clone());
        std::iter::once(id.link.clone()).chain(peer).collect()
    }

    fn index(id: &VethId, me: &Veth, ix: &mut Index) {
        ix.creator(&id.link, Id::Veth(id.clone()));
        ix.creator(&me.peer, Id::Veth(id.clone()));
        ix.peers.insert(id.link.clone(), me.peer.clone());
        ix.peers.insert(me.peer.clone(), id.link.clone());
        for ns in [&id.link.ns, &me.peer.ns] {
            ix.veths_at.entry(ns.clone()).or_default().push(id.clone());
        }
    }

    fn deps(id: &VethId, me: &Veth, _: &Index) -> Vec<Id> {
        [&id.link.ns, &me.peer.ns]
            .into_iter()
            .filter_map(|ns| match ns {
                Ns::Node(n) => Some(Netns::of(n)),
                Ns::Host => None,
            })
            .collect()
    }

    fn reaches(id: &VethId, me: &Veth) -> Vec<Ns> {
        vec![id.link.ns.clone(), me.peer.ns.clone()]
    }

    /// A veth is grouped with the node it leads into.
    fn home(id: &VethId, me: &Veth, _: &Index) -> Option<String> {
        super::node_of(&id.link.ns).or_else(|| super::node_of(&me.peer.ns))
    }

    fn changes(&self, live: &Veth) -> Vec<Change> {
        let mut out = Vec::new();
        Change::push(
            &mut out,
            "peer",
            live.peer.to_string(),
            self.peer.to_string(),
        );
        out
    }

    fn replace_reason(&self, changes: &[Change]) -> Option<String> {
        changes
            .iter()
            .any(|c| c.attr == "peer")
            .then(|| "veth peer moved".to_string())
    }

    fn takes_along(id: &VethId, me: &Veth, cx: &mut VanishCx<'_>) {
        cx.device_goes(&id.link);
        cx.device_goes(&me.peer);
    }

    fn observe(cx: &mut ObserveNs<'_>) {
        let prefix = format!("{}:", cx.mark);
        let mut found = Vec::new();
        for l in cx.owned_links() {
            if l.kind.as_deref() != Some("veth") {
                continue;
            }
            // The alias names the peer: topo:LAB:NS/NAME.
            let peer = l
                .alias
                .as_deref()
                .and_then(|a| a.strip_prefix(&prefix))
                .and_then(parse_peer);
            if let Some(peer) = peer {
                let here = IfRef::new(cx.ns.clone(), &l.name);
                let (a, b) = if here < peer {
                    (here, peer)
                } else {
                    (peer, here)
                };
                found.push((VethId { link: a }, Veth { peer: b }));
            }
        }
        for (id, me) in found {
            cx.obs.state.insert::<Veth>(id, me);
        }
    }

    async fn create<M: Machine>(
        id: &VethId,
        me: &Veth,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        let (a, b) = (&id.link, &me.peer);
        x.settle_names(&[a, b]).await?;
        let mark = x.mark();
        let ends = [
            x.new_link(a, format!("{mark}:{}/{}", b.ns, b.name)),
            x.new_link(b, format!("{mark}:{}/{}", a.ns, a.name)),
        ];
        x.m.create_veth(a, b, [&ends[0], &ends[1]]).await
    }

    async fn update<M: Machine>(
        id: &VethId,
        want: &Veth,
        _: &Veth,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        // Only the peer can differ, and that is a replace.
        Veth::create(id, want, x).await
    }

    async fn delete<M: Machine>(
        id: &VethId,
        _: Option<&Veth>,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        super::gone_ok(x.m.delete_link(&id.link).await)
    }
}

/// The peer a veth end of the lab names in its alias (`topo:LAB:NS/NAME`).
pub fn peer_in_alias(alias: &str, mark: &str) -> Option<IfRef> {
    alias
        .strip_prefix(mark)?
        .strip_prefix(':')
        .and_then(parse_peer)
}

fn parse_peer(s: &str) -> Option<IfRef> {
    let (ns, name) = s.split_once('/')?;
    Some(IfRef::new(Ns::parse(ns), name))
}
