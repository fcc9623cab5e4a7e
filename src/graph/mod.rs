//! The dependency graph of a state: what must exist before what. Creation
//! follows its topological order; deletion follows the reverse.

use crate::model::{Id, IfRef, Ns, Res, State};
use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::BTreeMap;

/// A dependency cycle, named by the objects on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dependency cycle through {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join(" → "))]
pub struct Cycle(pub Vec<Id>);

/// Lookups that `dependencies` needs, built once per state so ordering
/// stays linear in the number of objects.
struct Index<'a> {
    /// The bridge or veth pair that creates an interface.
    creators: BTreeMap<&'a IfRef, Vec<&'a Id>>,
    /// Links and addresses per namespace.
    in_ns: BTreeMap<&'a Ns, Vec<&'a Id>>,
    /// Routes straight onto a device (no gateway) per namespace: gateways
    /// inside them are reachable only once they exist.
    on_link: BTreeMap<&'a Ns, Vec<&'a Id>>,
}

impl<'a> Index<'a> {
    fn new(st: &'a State) -> Self {
        let mut ix = Index {
            creators: BTreeMap::new(),
            in_ns: BTreeMap::new(),
            on_link: BTreeMap::new(),
        };
        for (id, res) in st {
            match (id, res) {
                (Id::Bridge { link }, _) => ix.creators.entry(link).or_default().push(id),
                (Id::Veth { link }, Res::Veth { peer }) => {
                    ix.creators.entry(link).or_default().push(id);
                    ix.creators.entry(peer).or_default().push(id);
                }
                (Id::Link { link } | Id::Address { link, .. }, _) => {
                    ix.in_ns.entry(&link.ns).or_default().push(id)
                }
                (Id::Route { ns, .. }, Res::Route { via: None, .. }) => {
                    ix.on_link.entry(ns).or_default().push(id)
                }
                _ => {}
            }
        }
        ix
    }
}

/// What `id` needs to exist first, among the objects of `st`.
fn dependencies(id: &Id, res: &Res, st: &State, ix: &Index<'_>) -> Vec<Id> {
    let mut deps = Vec::new();
    if let Ns::Node(n) = id.ns() {
        if !matches!(id, Id::Netns { .. }) {
            deps.push(Id::Netns { name: n });
        }
    }
    match (id, res) {
        (Id::Veth { link }, Res::Veth { peer }) => {
            for ns in [&link.ns, &peer.ns] {
                if let Ns::Node(n) = ns {
                    deps.push(Id::Netns { name: n.clone() });
                }
            }
        }
        (Id::Link { link }, Res::Link { master, .. }) => {
            deps.extend(
                ix.creators
                    .get(link)
                    .into_iter()
                    .flatten()
                    .map(|i| (*i).clone()),
            );
            if let Some(m) = master {
                deps.push(Id::Link {
                    link: IfRef::new(link.ns.clone(), m),
                });
            }
        }
        (Id::Address { link, .. }, _) => deps.push(Id::Link { link: link.clone() }),
        (Id::Rule { ns, chain, .. }, _) => deps.push(Id::Chain {
            ns: ns.clone(),
            chain: chain.clone(),
        }),
        (Id::Route { ns, .. }, Res::Route { via: Some(v), .. }) => {
            deps.extend(ix.in_ns.get(ns).into_iter().flatten().map(|i| (*i).clone()));
            deps.extend(
                ix.on_link
                    .get(ns)
                    .into_iter()
                    .flatten()
                    .filter(|r| matches!(r, Id::Route { key, .. } if key.to.contains(v)))
                    .map(|i| (*i).clone()),
            );
        }
        (Id::Route { ns, .. }, _) | (Id::Sysctl { ns, .. }, _) => {
            // Routes need their interfaces up and addressed; per-interface
            // sysctls need the interface.
            deps.extend(ix.in_ns.get(ns).into_iter().flatten().map(|i| (*i).clone()));
        }
        _ => {}
    }
    deps.retain(|d| st.contains_key(d) && d != id);
    deps
}

/// Every id of `st`, dependencies first. Ties keep the ids' sort order, so
/// the same state always gives the same order.
pub fn creation_order(st: &State) -> Result<Vec<Id>, Cycle> {
    let mut g: DiGraph<Id, ()> = DiGraph::new();
    let idx: BTreeMap<&Id, NodeIndex> = st.keys().map(|id| (id, g.add_node(id.clone()))).collect();
    let ix = Index::new(st);
    for (id, res) in st {
        for dep in dependencies(id, res, st, &ix) {
            g.add_edge(idx[&dep], idx[id], ());
        }
    }
    if let Err(c) = toposort(&g, None) {
        return Err(Cycle(cycle_through(&g, c.node_id())));
    }
    Ok(grouped(&g, st, &ix))
}

/// The node namespace an object belongs to, for grouping: a node's own
/// objects, and the host end of a veth into it. Host objects belong to none.
fn home<'a>(id: &'a Id, st: &'a State, ix: &Index<'a>) -> Option<&'a str> {
    let node = |ns: &'a Ns| match ns {
        Ns::Node(n) => Some(n.as_str()),
        Ns::Host => None,
    };
    match id {
        Id::Netns { name } => Some(name),
        Id::Veth { link } => match st.get(id) {
            Some(Res::Veth { peer }) => node(&link.ns).or(node(&peer.ns)),
            _ => node(&link.ns),
        },
        Id::Link { link } | Id::Address { link, .. } => node(&link.ns).or_else(|| {
            ix.creators
                .get(link)
                .into_iter()
                .flatten()
                .find_map(|c| match st.get(*c) {
                    Some(Res::Veth { peer }) if peer != link => node(&peer.ns),
                    Some(Res::Veth { .. }) => match c {
                        Id::Veth { link: a } => node(&a.ns),
                        _ => None,
                    },
                    _ => None,
                })
        }),
        Id::Bridge { link } => node(&link.ns),
        Id::Route { ns, .. }
        | Id::Sysctl { ns, .. }
        | Id::Chain { ns, .. }
        | Id::Rule { ns, .. } => node(ns),
    }
}

/// A topological order that keeps each node's objects together (host
/// objects first when ready, then node by node), ties broken by id: the
/// same state always gives the same order, and apply can finish one
/// namespace and let go of it before the next.
fn grouped(g: &DiGraph<Id, ()>, st: &State, ix: &Index<'_>) -> Vec<Id> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    // (home namespace, id): what the order prefers among ready objects.
    type Key = (Option<String>, Id);
    let key = |n: NodeIndex| -> Key { (home(&g[n], st, ix).map(str::to_string), g[n].clone()) };
    let mut waiting: Vec<usize> = g
        .node_indices()
        .map(|n| {
            g.neighbors_directed(n, petgraph::Direction::Incoming)
                .count()
        })
        .collect();
    let mut ready: BinaryHeap<Reverse<(Key, NodeIndex)>> = g
        .node_indices()
        .filter(|n| waiting[n.index()] == 0)
        .map(|n| Reverse((key(n), n)))
        .collect();
    let mut out = Vec::with_capacity(g.node_count());
    while let Some(Reverse((_, n))) = ready.pop() {
        out.push(g[n].clone());
        for m in g.neighbors_directed(n, petgraph::Direction::Outgoing) {
            waiting[m.index()] -= 1;
            if waiting[m.index()] == 0 {
                ready.push(Reverse((key(m), m)));
            }
        }
    }
    out
}

/// The objects on a cycle that passes through `start`.
fn cycle_through(g: &DiGraph<Id, ()>, start: NodeIndex) -> Vec<Id> {
    let sccs = petgraph::algo::kosaraju_scc(g);
    let scc = sccs
        .into_iter()
        .find(|s| s.contains(&start))
        .unwrap_or_else(|| vec![start]);
    let mut ids: Vec<Id> = scc.into_iter().map(|n| g[n].clone()).collect();
    ids.sort();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(ns: &str, name: &str) -> IfRef {
        IfRef::new(Ns::parse(ns), name)
    }

    #[test]
    fn namespaces_before_links_before_addresses_before_routes() {
        let mut st = State::new();
        let eth0 = link("red", "eth0");
        let port = link("host", "red-eth0");
        let up = |master: Option<&str>| Res::Link {
            up: true,
            mtu: None,
            mac: None,
            master: master.map(str::to_string),
        };
        st.insert(
            Id::Route {
                ns: Ns::parse("red"),
                key: crate::model::RouteKey {
                    to: "0.0.0.0/0".parse().unwrap(),
                    metric: 0,
                },
            },
            Res::Route {
                via: Some("10.0.0.1".parse().unwrap()),
                dev: None,
                scope: crate::model::Scope::Global,
            },
        );
        st.insert(
            Id::Address {
                link: eth0.clone(),
                address: "10.0.0.2/24".parse().unwrap(),
            },
            Res::Address,
        );
        st.insert(Id::Link { link: eth0.clone() }, up(None));
        st.insert(Id::Link { link: port.clone() }, up(Some("br0")));
        st.insert(
            Id::Link {
                link: link("host", "br0"),
            },
            up(None),
        );
        st.insert(
            Id::Bridge {
                link: link("host", "br0"),
            },
            Res::Bridge {
                stp: false,
                forward_delay: None,
            },
        );
        st.insert(
            Id::Veth { link: port.clone() },
            Res::Veth { peer: eth0.clone() },
        );
        st.insert(Id::Netns { name: "red".into() }, Res::Netns);
        let order = creation_order(&st).unwrap();
        let pos = |id: &Id| order.iter().position(|x| x == id).unwrap();
        assert!(pos(&Id::Netns { name: "red".into() }) < pos(&Id::Veth { link: port.clone() }));
        assert!(pos(&Id::Veth { link: port.clone() }) < pos(&Id::Link { link: eth0.clone() }));
        assert!(
            pos(&Id::Link {
                link: link("host", "br0")
            }) < pos(&Id::Link { link: port.clone() })
        );
        assert!(
            pos(&Id::Link { link: eth0.clone() })
                < pos(&Id::Address {
                    link: eth0.clone(),
                    address: "10.0.0.2/24".parse().unwrap()
                })
        );
        assert_eq!(order.last().unwrap().kind(), "route");
        assert_eq!(
            order,
            creation_order(&st).unwrap(),
            "order is deterministic"
        );
    }

    #[test]
    fn a_bridge_enslaved_to_itself_is_a_named_cycle() {
        let mut st = State::new();
        let a = link("host", "a");
        let b = link("host", "b");
        st.insert(
            Id::Link { link: a.clone() },
            Res::Link {
                up: true,
                mtu: None,
                mac: None,
                master: Some("b".into()),
            },
        );
        st.insert(
            Id::Link { link: b.clone() },
            Res::Link {
                up: true,
                mtu: None,
                mac: None,
                master: Some("a".into()),
            },
        );
        let err = creation_order(&st).unwrap_err();
        assert_eq!(err.0, vec![Id::Link { link: a }, Id::Link { link: b }]);
        assert!(err
            .to_string()
            .starts_with("dependency cycle through link host:a → link host:b"));
    }
}
