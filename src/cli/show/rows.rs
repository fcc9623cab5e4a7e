//! The rows of `topo show`, from the observed state and, with a file, the
//! desired state and the plan.

use super::{ns_order, InterfaceRow, NamespaceRow, RuleRow, Shown, Status};
use crate::kinds::{BridgeId, Id, Kind, LinkId, NetnsId, State, TapId, VethId, VxlanId};
use crate::model::{IfRef, Ns};
use crate::plan::{Op, Plan};
use std::collections::{BTreeMap, BTreeSet};

/// What the plan does to each object.
struct Ops<'a> {
    by_id: BTreeMap<Id, Op>,
    /// `None`: no file, everything is `present`.
    desired: Option<&'a State>,
}

impl Ops<'_> {
    /// The status of one object that the plan may touch.
    fn status(&self, id: &Id) -> Status {
        if self.desired.is_none() {
            return Status::Present;
        }
        match self.by_id.get(id) {
            None => Status::Ok,
            Some(Op::Create) => Status::Missing,
            Some(Op::Update | Op::Replace) => Status::Drifted,
            Some(Op::Delete) => Status::Extra,
        }
    }

    /// The status of a group: `missing`/`extra` by its head object, else
    /// `drifted` when any member differs.
    fn group(&self, head: Status, members: impl IntoIterator<Item = Status>) -> Status {
        if matches!(head, Status::Missing | Status::Extra | Status::Present) {
            return head;
        }
        if members.into_iter().any(|s| s != Status::Ok) {
            Status::Drifted
        } else {
            head
        }
    }
}

/// Builds the rows from the observed state and, with a file, its desired
/// state and plan.
pub fn build(
    lab: &str,
    file: Option<&str>,
    live: &State,
    desired: Option<&State>,
    plan: Option<&Plan>,
) -> Shown {
    let ops = Ops {
        by_id: plan
            .map(|p| p.actions.iter().map(|a| (a.id(), a.op)).collect())
            .unwrap_or_default(),
        desired,
    };
    let empty = State::new();
    let want = desired.unwrap_or(&empty);
    let namespaces = namespaces(&ops, live, want);
    let interfaces = interfaces(&ops, live, want);
    let rules = rules(&ops, live, want);
    Shown {
        lab: lab.to_string(),
        file: file.map(str::to_string),
        namespaces,
        interfaces,
        rules,
        plan: plan.cloned(),
    }
}

/// The host, then every node wanted or found, with its routes and sysctls.
fn namespaces(ops: &Ops<'_>, live: &State, want: &State) -> Vec<NamespaceRow> {
    let mut names: BTreeSet<Ns> = BTreeSet::new();
    names.insert(Ns::Host);
    for id in live.netns.keys().chain(want.netns.keys()) {
        names.insert(Ns::node(&id.name));
    }
    names
        .into_iter()
        .map(|ns| {
            let route_ids: BTreeSet<_> = live
                .route
                .keys()
                .chain(want.route.keys())
                .filter(|r| r.ns == ns)
                .collect();
            let sysctl_ids: BTreeSet<_> = live
                .sysctl
                .keys()
                .chain(want.sysctl.keys())
                .filter(|s| s.ns == ns)
                .collect();
            let routes = route_ids
                .iter()
                .filter_map(|id| live.route.get(id).map(|r| (id, r)))
                .map(|(id, r)| {
                    let mut s = if id.key.to.prefix_len() == 0 {
                        "default".to_string()
                    } else {
                        id.key.to.to_string()
                    };
                    if let Some(v) = r.via {
                        s += &format!(" via {v}");
                    }
                    if let Some(d) = &r.dev {
                        s += &format!(" dev {d}");
                    }
                    if id.key.metric != crate::model::RouteKey::default_metric(&id.key.to) {
                        s += &format!(" metric {}", id.key.metric);
                    }
                    s
                })
                .collect();
            let sysctls = sysctl_ids
                .iter()
                .filter_map(|id| {
                    live.sysctl
                        .get(id)
                        .map(|v| format!("{}={}", id.key, v.value))
                })
                .collect();
            let head = match &ns {
                Ns::Host if ops.desired.is_none() => Status::Present,
                Ns::Host => Status::Ok,
                Ns::Node(n) => ops.status(&Id::Netns(NetnsId { name: n.clone() })),
            };
            let members = route_ids
                .iter()
                .map(|r| ops.status(&Id::Route((*r).clone())))
                .chain(
                    sysctl_ids
                        .iter()
                        .map(|s| ops.status(&Id::Sysctl((*s).clone()))),
                );
            let status = ops.group(head, members.collect::<Vec<_>>());
            NamespaceRow {
                name: ns.label().to_string(),
                kind: if ns == Ns::Host { "host" } else { "node" },
                routes,
                sysctls,
                status,
            }
        })
        .collect()
}

/// Every bridge, veth end or link wanted or found.
fn interfaces(ops: &Ops<'_>, live: &State, want: &State) -> Vec<InterfaceRow> {
    let mut peers: BTreeMap<IfRef, IfRef> = BTreeMap::new();
    let mut ifaces: BTreeMap<IfRef, &'static str> = BTreeMap::new();
    // What a device is beyond its kind, as the kernel has it, else as
    // the file wants it.
    let mut details: BTreeMap<IfRef, String> = BTreeMap::new();
    for st in [want, live] {
        for id in st.bridge.keys() {
            ifaces.insert(id.link.clone(), "bridge");
        }
        for (id, t) in &st.tap {
            ifaces.insert(id.link.clone(), "tap");
            details.insert(id.link.clone(), t.describe());
        }
        for (id, v) in &st.vxlan {
            ifaces.insert(id.link.clone(), "vxlan");
            let remotes: Vec<String> = st
                .fdb
                .keys()
                .filter(|f| f.link == id.link)
                .map(|f| f.dst.to_string())
                .collect();
            let mut d = v.describe();
            if !remotes.is_empty() {
                d += &format!(", remotes {}", remotes.join(" "));
            }
            details.insert(id.link.clone(), d);
        }
        for (id, v) in &st.veth {
            ifaces.insert(id.link.clone(), "veth");
            ifaces.insert(v.peer.clone(), "veth");
            peers.insert(id.link.clone(), v.peer.clone());
            peers.insert(v.peer.clone(), id.link.clone());
        }
        for id in st.link.keys() {
            ifaces.entry(id.link.clone()).or_insert("interface");
        }
    }
    ifaces
        .into_iter()
        .map(|(r, kind)| {
            let link_id = LinkId { link: r.clone() };
            let pair_id = match (kind, peers.get(&r)) {
                ("veth", Some(p)) => Some(Id::Veth(VethId {
                    link: if &r < p { r.clone() } else { p.clone() },
                })),
                ("bridge", _) => Some(Id::Bridge(BridgeId { link: r.clone() })),
                ("tap", _) => Some(Id::Tap(TapId { link: r.clone() })),
                ("vxlan", _) => Some(Id::Vxlan(VxlanId { link: r.clone() })),
                _ => None,
            };
            let addr_ids: BTreeSet<_> = live
                .address
                .keys()
                .chain(want.address.keys())
                .filter(|a| a.link == r)
                .collect();
            let addresses = addr_ids
                .iter()
                .filter(|id| live.address.contains_key(id))
                .map(|id| id.address)
                .collect();
            let head = if ops.desired.is_none() {
                Status::Present
            } else if !live.link.contains_key(&link_id) {
                Status::Missing
            } else if !want.link.contains_key(&link_id) {
                Status::Extra
            } else {
                Status::Ok
            };
            // A VXLAN device's remotes count with it.
            let remotes: BTreeSet<Id> = live
                .fdb
                .keys()
                .chain(want.fdb.keys())
                .filter(|f| f.link == r)
                .map(|f| Id::Fdb(f.clone()))
                .collect();
            let members: Vec<Status> = std::iter::once(ops.status(&Id::Link(link_id.clone())))
                .chain(pair_id.iter().map(|id| ops.status(id)))
                .chain(remotes.iter().map(|id| ops.status(id)))
                .chain(
                    addr_ids
                        .iter()
                        .map(|id| ops.status(&Id::Address((*id).clone()))),
                )
                .collect();
            let status = ops.group(head, members);
            let l = live.link.get(&link_id);
            InterfaceRow {
                namespace: r.ns.label().to_string(),
                name: r.name.to_string(),
                kind,
                addresses,
                peer: peers.get(&r).map(IfRef::to_string),
                master: l.and_then(|l| l.master.clone()).map(String::from),
                mtu: l.and_then(|l| l.mtu),
                mac: l.and_then(|l| l.mac).map(|m| m.to_string()),
                up: l.map(|l| l.up),
                detail: details.get(&r).cloned(),
                status,
            }
        })
        .collect()
}

/// Every rule wanted or found, and the policies of filter chains.
fn rules(ops: &Ops<'_>, live: &State, want: &State) -> Vec<RuleRow> {
    let mut rules = Vec::new();
    let rule_ids: BTreeSet<_> = live.rule.keys().chain(want.rule.keys()).collect();
    for id in rule_ids {
        rules.push(RuleRow {
            namespace: id.ns.label().to_string(),
            chain: id.chain.to_string(),
            rule: id.rule.clone(),
            status: ops.status(&Id::Rule(id.clone())),
        });
    }
    let chain_ids: BTreeSet<_> = live.chain.keys().chain(want.chain.keys()).collect();
    for id in chain_ids {
        let chain = live.chain.get(id).or_else(|| want.chain.get(id));
        let Some(policy) = chain.and_then(|c| c.policy.clone()) else {
            continue;
        };
        rules.push(RuleRow {
            namespace: id.ns.label().to_string(),
            chain: id.chain.to_string(),
            rule: format!("(policy {policy})"),
            status: ops.status(&Id::Chain(id.clone())),
        });
    }
    rules.sort_by(|a, b| {
        (ns_order(&a.namespace), &a.chain, &a.rule).cmp(&(
            ns_order(&b.namespace),
            &b.chain,
            &b.rule,
        ))
    });
    rules
}
