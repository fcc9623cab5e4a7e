//! `topo show`: the lab as it is live in the kernel, with a status per row.
//!
//! With a file, statuses come from the plan `topo::prepare` makes: an object
//! the plan creates is `missing`, one it updates or replaces is `drifted`,
//! one it deletes (the lab owns it, the file no longer has it) is `extra`,
//! and the rest is `ok`. With `--lab NAME` there is no file to compare with:
//! everything found is `present`. Only what the lab owns is shown.

mod rows;

pub use rows::build;

use super::render::action_json;
use super::{exit, plan_text, prepare_with_warnings, Output};
use crate::plan::Plan;
use crate::Error;
use ipnet::IpNet;
use serde::Serialize;
use serde_json::json;

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
    /// What a tap or VXLAN device is beyond its kind (owner, VNI, remotes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
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

/// The host first, then nodes by name.
pub(super) fn ns_order(label: &str) -> (bool, &str) {
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
    // A DETAIL column only where a device has some (taps, VXLANs).
    let detailed = ifaces.iter().any(|i| i.detail.is_some());
    let mut head = vec![
        "NAMESPACE",
        "INTERFACE",
        "KIND",
        "ADDRESSES",
        "PEER",
        "MASTER",
        "MTU",
        "UP",
    ];
    head.extend(detailed.then_some("DETAIL"));
    head.push("STATUS");
    out += &table(
        &head,
        ifaces
            .iter()
            .map(|i| {
                let mut row = vec![
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
                ];
                if detailed {
                    row.push(dash(i.detail.clone()));
                }
                row.push(i.status.word().into());
                row
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
            let l = out.load(file)?;
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
