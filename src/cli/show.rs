//! `topo show`: the lab as it is live in the kernel, with a status per row.
//!
//! With a file, statuses come from the plan `topo::prepare` makes: an object
//! the plan creates is `missing`, one it updates or replaces is `drifted`,
//! one it deletes (the lab owns it, the file no longer has it) is `extra`,
//! and the rest is `ok`. With `--lab NAME` there is no file to compare with:
//! everything found is `present`. Only what the lab owns is shown.

use super::render::action_json;
use super::{exit, plan_text, prepare_with_warnings, Output};
use crate::model::{Id, IfRef, Ns, Res, State};
use crate::plan::{Op, Plan};
use crate::Error;
use ipnet::IpNet;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// A row's state compared with the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// The file wants it otherwise (update or replace).
    Drifted,
    /// The file wants it and the kernel lacks it.
    Missing,
    /// The lab owns it and the file no longer has it.
    Extra,
    /// Found by the lab's marks, without a file to compare with.
    Present,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Drifted => "drifted",
            Status::Missing => "missing",
            Status::Extra => "extra",
            Status::Present => "present",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct NamespaceRow {
    pub name: String,
    pub kind: &'static str,
    pub routes: Vec<String>,
    pub sysctls: Vec<String>,
    pub status: Status,
}

#[derive(Debug, Serialize)]
pub struct InterfaceRow {
    pub namespace: String,
    pub name: String,
    pub kind: &'static str,
    pub addresses: Vec<IpNet>,
    pub peer: Option<String>,
    pub master: Option<String>,
    pub mtu: Option<u32>,
    pub mac: Option<String>,
    pub up: Option<bool>,
    pub status: Status,
}

#[derive(Debug, Serialize)]
pub struct RuleRow {
    pub namespace: String,
    pub chain: String,
    pub rule: String,
    pub status: Status,
}

/// Everything `show` prints.
#[derive(Debug)]
pub struct Shown {
    pub lab: String,
    pub file: Option<String>,
    pub namespaces: Vec<NamespaceRow>,
    pub interfaces: Vec<InterfaceRow>,
    pub rules: Vec<RuleRow>,
    pub plan: Option<Plan>,
}

/// What the plan does to each object.
struct Ops<'a> {
    by_id: BTreeMap<&'a Id, Op>,
    /// `None`: no file, everything is `present`.
    desired: Option<&'a State>,
}

impl Ops<'_> {
    fn of(&self, id: &Id) -> Option<Op> {
        self.by_id.get(id).copied()
    }

    /// The status of one object that the plan may touch.
    fn status(&self, id: &Id) -> Status {
        if self.desired.is_none() {
            return Status::Present;
        }
        match self.of(id) {
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

fn route_text(id: &Id, res: Option<&Res>) -> String {
    let Id::Route { key, .. } = id else {
        return String::new();
    };
    let mut s = if key.to.prefix_len() == 0 {
        "default".to_string()
    } else {
        key.to.to_string()
    };
    if let Some(Res::Route { via, dev, .. }) = res {
        if let Some(v) = via {
            s += &format!(" via {v}");
        }
        if let Some(d) = dev {
            s += &format!(" dev {d}");
        }
    }
    if key.metric != 0 {
        s += &format!(" metric {}", key.metric);
    }
    s
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
            .map(|p| p.actions.iter().map(|a| (&a.id, a.op)).collect())
            .unwrap_or_default(),
        desired,
    };
    let empty = State::new();
    let want = desired.unwrap_or(&empty);
    let both = || live.iter().chain(want.iter());

    // Namespaces: the host, then every node wanted or found.
    let mut names: BTreeSet<Ns> = BTreeSet::new();
    names.insert(Ns::Host);
    for (id, _) in both() {
        if let Id::Netns { name } = id {
            names.insert(Ns::Node(name.clone()));
        }
    }
    let namespaces = names
        .into_iter()
        .map(|ns| {
            let in_ns: Vec<&Id> = both()
                .map(|(id, _)| id)
                .filter(|id| matches!(id, Id::Route { .. } | Id::Sysctl { .. }) && id.ns() == ns)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let routes = in_ns
                .iter()
                .filter(|id| matches!(id, Id::Route { .. }) && live.contains_key(id))
                .map(|id| route_text(id, live.get(id)))
                .collect();
            let sysctls = in_ns
                .iter()
                .filter_map(|id| match (id, live.get(id)) {
                    (Id::Sysctl { key, .. }, Some(Res::Sysctl { value })) => {
                        Some(format!("{key}={value}"))
                    }
                    _ => None,
                })
                .collect();
            let head = match &ns {
                Ns::Host if desired.is_none() => Status::Present,
                Ns::Host => Status::Ok,
                Ns::Node(n) => ops.status(&Id::Netns { name: n.clone() }),
            };
            let status = ops.group(head, in_ns.iter().map(|id| ops.status(id)));
            NamespaceRow {
                name: ns.label().to_string(),
                kind: if ns == Ns::Host { "host" } else { "node" },
                routes,
                sysctls,
                status,
            }
        })
        .collect();

    // Interfaces: every bridge, veth end or link wanted or found.
    let mut peers: BTreeMap<IfRef, IfRef> = BTreeMap::new();
    let mut ifaces: BTreeMap<IfRef, &'static str> = BTreeMap::new();
    for (id, res) in want.iter().chain(live.iter()) {
        match (id, res) {
            (Id::Bridge { link }, _) => {
                ifaces.insert(link.clone(), "bridge");
            }
            (Id::Veth { link }, Res::Veth { peer }) => {
                ifaces.insert(link.clone(), "veth");
                ifaces.insert(peer.clone(), "veth");
                peers.insert(link.clone(), peer.clone());
                peers.insert(peer.clone(), link.clone());
            }
            (Id::Link { link }, _) => {
                ifaces.entry(link.clone()).or_insert("interface");
            }
            _ => {}
        }
    }
    let interfaces = ifaces
        .into_iter()
        .map(|(r, kind)| {
            let link_id = Id::Link { link: r.clone() };
            let pair_id = match (kind, peers.get(&r)) {
                ("veth", Some(p)) => Some(Id::Veth {
                    link: if &r < p { r.clone() } else { p.clone() },
                }),
                ("bridge", _) => Some(Id::Bridge { link: r.clone() }),
                _ => None,
            };
            let addr_ids: BTreeSet<&Id> = both()
                .map(|(id, _)| id)
                .filter(|id| matches!(id, Id::Address { link, .. } if *link == r))
                .collect();
            let addresses = addr_ids
                .iter()
                .filter(|id| live.contains_key(id))
                .filter_map(|id| match id {
                    Id::Address { address, .. } => Some(*address),
                    _ => None,
                })
                .collect();
            let is_live = live.contains_key(&link_id);
            let head = if desired.is_none() {
                Status::Present
            } else if !is_live {
                Status::Missing
            } else if !want.contains_key(&link_id) {
                Status::Extra
            } else {
                Status::Ok
            };
            let members = std::iter::once(ops.status(&link_id))
                .chain(pair_id.iter().map(|id| ops.status(id)))
                .chain(addr_ids.iter().map(|id| ops.status(id)));
            let status = ops.group(head, members);
            let (up, mtu, mac, master) = match live.get(&link_id) {
                Some(Res::Link {
                    up,
                    mtu,
                    mac,
                    master,
                }) => (Some(*up), *mtu, mac.map(|m| m.to_string()), master.clone()),
                _ => (None, None, None, None),
            };
            InterfaceRow {
                namespace: r.ns.label().to_string(),
                name: r.name.clone(),
                kind,
                addresses,
                peer: peers.get(&r).map(IfRef::to_string),
                master,
                mtu,
                mac,
                up,
                status,
            }
        })
        .collect();

    // Rules: every rule wanted or found, and the policies of filter chains.
    let mut rule_ids: BTreeSet<&Id> = BTreeSet::new();
    for (id, _) in both() {
        if matches!(id, Id::Rule { .. } | Id::Chain { .. }) {
            rule_ids.insert(id);
        }
    }
    let mut rules = Vec::new();
    for id in rule_ids {
        match id {
            Id::Rule { ns, chain, rule } => rules.push(RuleRow {
                namespace: ns.label().to_string(),
                chain: chain.clone(),
                rule: rule.clone(),
                status: ops.status(id),
            }),
            Id::Chain { ns, chain } => {
                let policy = match live.get(id).or_else(|| want.get(id)) {
                    Some(Res::Chain {
                        policy: Some(p), ..
                    }) => p.clone(),
                    _ => continue,
                };
                rules.push(RuleRow {
                    namespace: ns.label().to_string(),
                    chain: chain.clone(),
                    rule: format!("(policy {policy})"),
                    status: ops.status(id),
                });
            }
            _ => {}
        }
    }
    rules.sort_by(|a, b| {
        (ns_order(&a.namespace), &a.chain, &a.rule).cmp(&(
            ns_order(&b.namespace),
            &b.chain,
            &b.rule,
        ))
    });

    Shown {
        lab: lab.to_string(),
        file: file.map(str::to_string),
        namespaces,
        interfaces,
        rules,
        plan: plan.cloned(),
    }
}

/// The host first, then nodes by name.
fn ns_order(label: &str) -> (bool, &str) {
    (label != "host", label)
}

/// The rows as a JSON document.
pub fn to_json(s: &Shown) -> serde_json::Value {
    json!({
        "format_version": super::render::PLAN_FORMAT_VERSION,
        "lab": s.lab,
        "file": s.file,
        "namespaces": s.namespaces,
        "interfaces": s.interfaces,
        "rules": s.rules,
        "differences": s.plan.as_ref().map(|p| p.actions.iter().map(action_json).collect::<Vec<_>>()),
    })
}

/// Left-aligned columns, two spaces apart.
fn table(head: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s += c;
            } else {
                s += &format!("{c:<w$}  ", w = width[i]);
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(head.iter().map(|h| h.to_string()).collect());
    for r in rows {
        out += &line(r);
    }
    out
}

fn dash(s: Option<String>) -> String {
    s.filter(|s| !s.is_empty()).unwrap_or_else(|| "-".into())
}

/// The rows for people.
pub fn to_text(s: &Shown) -> String {
    let mut out = String::new();
    let from = s.file.as_ref().map_or_else(
        || "found by its marks".to_string(),
        |f| format!("compared with {f}"),
    );
    out += &format!("Lab `{}` ({from})\n\n", s.lab);
    out += &table(
        &["NAMESPACE", "ROUTES", "SYSCTLS", "STATUS"],
        s.namespaces
            .iter()
            .map(|n| {
                vec![
                    n.name.clone(),
                    dash(Some(n.routes.join(", "))),
                    dash(Some(n.sysctls.join(", "))),
                    n.status.word().into(),
                ]
            })
            .collect(),
    );
    out += "\n";
    let mut ifaces: Vec<&InterfaceRow> = s.interfaces.iter().collect();
    ifaces
        .sort_by(|a, b| (ns_order(&a.namespace), &a.name).cmp(&(ns_order(&b.namespace), &b.name)));
    out += &table(
        &[
            "NAMESPACE",
            "INTERFACE",
            "KIND",
            "ADDRESSES",
            "PEER",
            "MASTER",
            "MTU",
            "UP",
            "STATUS",
        ],
        ifaces
            .iter()
            .map(|i| {
                vec![
                    i.namespace.clone(),
                    i.name.clone(),
                    i.kind.into(),
                    dash(Some(
                        i.addresses
                            .iter()
                            .map(IpNet::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                    )),
                    dash(i.peer.clone()),
                    dash(i.master.clone()),
                    dash(i.mtu.map(|m| m.to_string())),
                    dash(i.up.map(|u| if u { "yes" } else { "no" }.to_string())),
                    i.status.word().into(),
                ]
            })
            .collect(),
    );
    if !s.rules.is_empty() {
        out += "\n";
        out += &table(
            &["NAMESPACE", "CHAIN", "RULE", "STATUS"],
            s.rules
                .iter()
                .map(|r| {
                    vec![
                        r.namespace.clone(),
                        r.chain.clone(),
                        r.rule.clone(),
                        r.status.word().into(),
                    ]
                })
                .collect(),
        );
    }
    match &s.plan {
        Some(p) if p.is_empty() => out += "\nNo differences: the kernel matches the file.\n",
        Some(p) => {
            out += &format!(
                "\n{} difference(s) from the file; `topo apply` would:\n",
                p.actions.len()
            );
            out += &plan_text(p, false)
                .lines()
                .filter(|l| l.starts_with("    "))
                .map(|l| format!("{l}\n"))
                .collect::<String>();
        }
        None => {}
    }
    out
}

/// The `show` verb.
pub(crate) async fn run(
    file: Option<&str>,
    lab: Option<&str>,
    json: bool,
    out: Output,
) -> Result<i32, Error> {
    let shown = match (file, lab) {
        (_, Some(lab)) => {
            let observed = crate::observe_lab(lab, &|m| out.notify(m)).await?;
            build(lab, None, &observed.state, None, None)
        }
        (Some(file), None) => {
            let l = crate::load(file)?;
            let s = prepare_with_warnings(&l, out).await?;
            build(
                &s.model.lab,
                Some(&l.file),
                &s.observed.state,
                Some(&s.model.state),
                Some(&s.plan),
            )
        }
        (None, None) => unreachable!("clap requires one"),
    };
    tracing::info!(lab = %shown.lab, interfaces = shown.interfaces.len(), "observed");
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&shown)).expect("show serializes")
        );
    } else {
        print!("{}", to_text(&shown));
    }
    Ok(exit::OK)
}
