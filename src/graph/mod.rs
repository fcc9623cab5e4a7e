//! The dependency graph of a state: what must exist before what. Creation
//! follows its topological order; deletion follows the reverse. Each kind
//! says what it needs (`Kind::deps`); this file only orders.

use crate::kinds::{self, Id, RouteId, State, VethId};
use crate::model::{IfRef, Ns};
use ipnet::IpNet;
use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::BTreeMap;

#[cfg(test)]
mod tests;

/// A dependency cycle, named by the objects on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dependency cycle through {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join(" → "))]
pub struct Cycle(pub Vec<Id>);

/// Lookups over one state that kinds fill (`Kind::index`) and use, built
/// once so ordering and the side-effect analysis stay linear.
#[derive(Debug, Default)]
pub struct Index {
    /// The objects that create an interface (a bridge, a veth pair).
    pub creators: BTreeMap<IfRef, Vec<Id>>,
    /// Links and addresses per namespace.
    pub in_ns: BTreeMap<Ns, Vec<Id>>,
    /// Routes straight onto a device (no gateway) per namespace.
    pub on_link: BTreeMap<Ns, Vec<RouteId>>,
    /// Routes through each device.
    pub routes_via: BTreeMap<IfRef, Vec<RouteId>>,
    /// The addresses of each interface.
    pub addresses: BTreeMap<IfRef, Vec<IpNet>>,
    /// The ports of each bridge.
    pub ports: BTreeMap<IfRef, Vec<IfRef>>,
    /// The uplinks of each bridge.
    pub uplinks: BTreeMap<IfRef, Vec<crate::kinds::UplinkId>>,
    /// Each veth end's other end.
    pub peers: BTreeMap<IfRef, IfRef>,
    /// Veths with an end in each namespace.
    pub veths_at: BTreeMap<Ns, Vec<VethId>>,
    /// VXLAN devices on each underlay interface.
    pub over: BTreeMap<IfRef, Vec<crate::kinds::VxlanId>>,
    /// Per-interface sysctls of each interface.
    pub sysctls_of: BTreeMap<IfRef, Vec<crate::kinds::SysctlId>>,
}

impl Index {
    pub fn new(st: &State) -> Index {
        let mut ix = Index::default();
        kinds::index_all(st, &mut ix);
        ix
    }

    pub fn creator(&mut self, l: &IfRef, id: Id) {
        self.creators.entry(l.clone()).or_default().push(id);
    }

    pub fn in_ns(&mut self, ns: &Ns, id: Id) {
        self.in_ns.entry(ns.clone()).or_default().push(id);
    }

    /// The node an interface is grouped with: its own, or for a host end
    /// of a veth the node at the other end.
    pub fn home_of_interface(&self, l: &IfRef) -> Option<String> {
        let node = |ns: &Ns| match ns {
            Ns::Node(n) => Some(n.clone()),
            Ns::Host => None,
        };
        node(&l.ns)
            .or_else(|| self.peers.get(l).and_then(|p| node(&p.ns)))
            .map(String::from)
    }
}

/// Every id of `st`, dependencies first. Ties keep the ids' sort order, so
/// the same state always gives the same order.
pub fn creation_order(st: &State) -> Result<Vec<Id>, Cycle> {
    let (g, ix) = graph(st)?;
    let order = grouped(&g, st, &ix);
    drop(ix);
    // Each id moves out once, in order: no second copy of every name.
    let mut slots: Vec<Option<Id>> = g.ids.into_iter().map(Some).collect();
    Ok(order
        .into_iter()
        .filter_map(|n| slots[n.index()].take())
        .collect())
}

/// Whether an order exists: what validate needs, without making it.
pub fn check_order(st: &State) -> Result<(), Cycle> {
    graph(st).map(|_| ())
}

/// The ids of a state, in their sort order (the order `State::ids` gives),
/// and the edges between them: node `i` is `ids[i]`, so comparing nodes
/// compares ids.
struct Graph {
    ids: Vec<Id>,
    g: DiGraph<(), ()>,
}

/// The dependency graph of `st`, checked to have no cycle.
fn graph(st: &State) -> Result<(Graph, Index), Cycle> {
    let ids: Vec<Id> = st.ids().collect();
    debug_assert!(ids.windows(2).all(|w| w[0] < w[1]), "State::ids is sorted");
    let mut g: DiGraph<(), ()> = DiGraph::with_capacity(ids.len(), ids.len());
    // Hashed: a tree of 8000 ids compared their strings a dozen times a lookup.
    let idx: std::collections::HashMap<&Id, NodeIndex> =
        ids.iter().map(|id| (id, g.add_node(()))).collect();
    let ix = Index::new(st);
    // Edges in id order: the cycle a file error names is always the same.
    for (i, id) in ids.iter().enumerate() {
        let n = NodeIndex::new(i);
        for dep in kinds::deps_of(id, st, &ix) {
            if let Some(d) = idx.get(&dep).filter(|d| **d != n) {
                g.add_edge(*d, n, ());
            }
        }
    }
    drop(idx);
    let g = Graph { ids, g };
    if let Err(c) = toposort(&g.g, None) {
        return Err(Cycle(cycle_through(&g, c.node_id())));
    }
    Ok((g, ix))
}

/// A topological order that keeps each node's objects together (host
/// objects first when ready, then node by node), ties broken by id: the
/// same state always gives the same order, and apply can finish one
/// namespace and let go of it before the next.
fn grouped(gr: &Graph, st: &State, ix: &Index) -> Vec<NodeIndex> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let g = &gr.g;
    // (home namespace, node): what the order prefers among ready objects;
    // nodes sort as their ids do.
    type Key = (Option<String>, NodeIndex);
    let key = |n: NodeIndex| -> Key { (kinds::home_of(&gr.ids[n.index()], st, ix), n) };
    let mut waiting: Vec<usize> = g
        .node_indices()
        .map(|n| {
            g.neighbors_directed(n, petgraph::Direction::Incoming)
                .count()
        })
        .collect();
    let mut ready: BinaryHeap<Reverse<Key>> = g
        .node_indices()
        .filter(|n| waiting[n.index()] == 0)
        .map(|n| Reverse(key(n)))
        .collect();
    let mut out = Vec::with_capacity(g.node_count());
    while let Some(Reverse((_, n))) = ready.pop() {
        out.push(n);
        for m in g.neighbors_directed(n, petgraph::Direction::Outgoing) {
            waiting[m.index()] -= 1;
            if waiting[m.index()] == 0 {
                ready.push(Reverse(key(m)));
            }
        }
    }
    out
}

/// The objects on a cycle that passes through `start`.
fn cycle_through(g: &Graph, start: NodeIndex) -> Vec<Id> {
    let sccs = petgraph::algo::kosaraju_scc(&g.g);
    let scc = sccs
        .into_iter()
        .find(|s| s.contains(&start))
        .unwrap_or_else(|| vec![start]);
    let mut ids: Vec<Id> = scc.into_iter().map(|n| g.ids[n.index()].clone()).collect();
    ids.sort();
    ids
}
