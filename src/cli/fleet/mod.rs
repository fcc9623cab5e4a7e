//! `--all-hosts`: every host's share of a lab across machines, driven from
//! here over one ssh connection per host, all hosts at once. The file is
//! checked here, share by share, before any host is asked (the
//! connections come up meanwhile); each host then runs the same topo on
//! its own share (`topo VERB - --host NAME`) once, the file on its
//! standard input.

mod apply;
mod exec;

pub(super) use exec::{exec_host, exec_remote};

use super::render::plan_doc;
use super::{color, exit, plan_markdown, plan_text, HostArgs, Output, PlanFormat, Verb};
use crate::model::hosts::{place, share};
use crate::plan::saved::SavedPlan;
use crate::remote::hold::HostPlan;
use crate::remote::{saved::SavedPlans, targets, Fleet, RemoteError, Reply, Target};
use crate::{Error, Loaded};
use std::collections::BTreeMap;
use std::path::Path;

/// A lab file across machines, checked.
pub(super) struct Lab {
    pub l: Loaded,
    pub targets: Vec<Target>,
}

/// Reads the file and checks every host's share of it, here, while every
/// host's ssh master comes up: connected only if the file is good.
pub(super) fn lab(file: &str, config: Option<&Path>) -> Result<(Lab, Fleet), Error> {
    lab_of(crate::load(file)?, config)
}

pub(super) fn lab_of(l: Loaded, config: Option<&Path>) -> Result<(Lab, Fleet), Error> {
    if l.spec.hosts.is_empty() {
        return Err(Error::Hosts(format!(
            "`--all-hosts`: {} has no `hosts:`, so it runs on one machine\nhelp: leave out `--all-hosts`",
            l.file
        )));
    }
    let p = place(&l.spec).map_err(|d| Error::Invalid(l.report(d)))?;
    let targets = targets(&p);
    let connecting = Fleet::start(&targets, config)?;
    let t = std::time::Instant::now();
    for h in p.hosts.keys() {
        let part = Loaded {
            file: l.file.clone(),
            text: l.text.clone(),
            spec: share(&l.spec, &p, h),
        };
        // A mistake wins over an unreachable host: `connecting` is dropped,
        // stopping every master.
        crate::validate(&part, &Default::default())?;
    }
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "every share checked");
    let fleet = connecting.finish()?;
    Ok((Lab { l, targets }, fleet))
}

/// The remote words of `verb` with the file on standard input, for `host`.
fn words(verb: &[&str], host: &str, tail: &[&str]) -> Vec<String> {
    let mut w: Vec<String> = verb.iter().map(|s| s.to_string()).collect();
    w.extend(["-", "--host", host].map(String::from));
    w.extend(tail.iter().map(|s| s.to_string()));
    w
}

/// Runs `verb` on every host.
pub(super) fn run(verb: Verb, hosts: &HostArgs, out: Output) -> Result<i32, Error> {
    let config = hosts.ssh_config.as_deref();
    match verb {
        Verb::Validate {
            file,
            show_addresses,
        } => super::validate::run(&file, show_addresses, out),
        Verb::Plan {
            file,
            json,
            format,
            detailed_exitcode,
            out_file,
        } => {
            let (lab, mut fleet) = lab(&file, config)?;
            let plans = plan_all(&mut fleet, &lab.l.text)?;
            if let Some(path) = &out_file {
                save(&lab, &plans, path)?;
            }
            let format = if json { PlanFormat::Json } else { format };
            print!("{}", render_plans(&plain(&plans), format));
            let changes = plans.values().any(|p| !p.plan.is_empty());
            Ok(if detailed_exitcode && changes {
                exit::CHANGES
            } else {
                exit::OK
            })
        }
        Verb::Apply {
            file,
            json,
            no_rollback,
            test,
            ..
        } => {
            if test {
                return Err(Error::Hosts(
                    "`--test` with `--all-hosts`: run the tests after the apply\nhelp: topo apply FILE --all-hosts && topo test FILE --all-hosts".into(),
                ));
            }
            apply::run(&file, json, no_rollback, config, out)
        }
        Verb::Destroy { file: None, .. } | Verb::Show { file: None, .. } => Err(Error::Hosts(
            "`--all-hosts` needs the lab file, which says the hosts\nhelp: topo destroy FILE --all-hosts, or `--lab NAME --host HOST` on one host".into(),
        )),
        Verb::Destroy {
            file: Some(file),
            json,
            ..
        } => apply::destroy(&file, json, config, out),
        Verb::Show {
            file: Some(file),
            json,
            ..
        } => each_verb(&file, "show", json, config),
        Verb::Test { file, json, .. } => each_verb(&file, "test", json, config),
        _ => Err(Error::Hosts(
            "`--all-hosts` works with validate, plan, apply, destroy, show, test and exec".into(),
        )),
    }
}

/// What the hosts whose topo failed said, as one error.
pub(super) fn failures(replies: &[Reply]) -> Option<Error> {
    let failed: Vec<(String, String)> = replies
        .iter()
        .filter(|r| r.code != Some(0))
        .map(|r| (r.host.clone(), r.stderr.trim().to_string()))
        .collect();
    (!failed.is_empty()).then_some(Error::Remote(RemoteError::Failed(failed)))
}

/// Warnings a host printed while it succeeded, passed on.
pub(super) fn pass_on_stderr(r: &Reply) {
    for line in r.stderr.lines().filter(|l| !l.trim().is_empty()) {
        eprintln!("{}: {line}", r.host);
    }
}

/// Every host's plan, as a saved plan: what `apply` then applies exactly.
pub(super) fn plan_all(
    fleet: &mut Fleet,
    text: &str,
) -> Result<BTreeMap<String, SavedPlan>, Error> {
    let args = |h: &str| words(&["plan"], h, &["-o", "-"]);
    let replies = fleet.call_all(&args, text.as_bytes())?;
    if let Some(e) = failures(&replies) {
        return Err(e);
    }
    // Each host's plan is read on a thread of its own: they are large.
    let parsed = crate::remote::at_once(replies, |r| {
        let p = SavedPlan::parse(&r.stdout);
        (r, p)
    });
    let mut plans = BTreeMap::new();
    for (r, p) in parsed {
        pass_on_stderr(&r);
        match p {
            Some(Ok(p)) => {
                plans.insert(r.host, p);
            }
            _ => {
                let msg = format!("its topo printed no plan: {}", r.stdout.trim());
                return Err(Error::Remote(RemoteError::Failed(vec![(r.host, msg)])));
            }
        }
    }
    Ok(plans)
}

/// The plans of saved plans, by host.
pub(super) fn plain(plans: &BTreeMap<String, SavedPlan>) -> Vec<HostPlan> {
    plans
        .iter()
        .map(|(h, p)| (h.clone(), p.plan.clone()))
        .collect()
}

fn save(lab: &Lab, plans: &BTreeMap<String, SavedPlan>, path: &str) -> Result<(), Error> {
    let doc = SavedPlans::new(
        &lab.l.spec.name.value,
        &lab.l.file,
        lab.targets.clone(),
        plans.clone(),
    );
    let text = serde_json::to_string_pretty(&doc).expect("saved plans serialize") + "\n";
    std::fs::write(path, text).map_err(|source| Error::Write {
        path: path.to_string(),
        source,
    })?;
    eprintln!("Saved every host's plan to {path}: `topo apply {path} --all-hosts` applies exactly these actions, or refuses if a host has changed.");
    Ok(())
}

/// The hosts' plans, grouped by host, in `format`.
pub(super) fn render_plans(plans: &[HostPlan], format: PlanFormat) -> String {
    match format {
        PlanFormat::Json => {
            let hosts: serde_json::Map<String, serde_json::Value> = plans
                .iter()
                .map(|(h, p)| (h.clone(), plan_doc(p)))
                .collect();
            let lab = plans.first().map_or("", |(_, p)| p.lab.as_str());
            let doc = serde_json::json!({ "lab": lab, "hosts": hosts });
            serde_json::to_string_pretty(&doc).expect("plans serialize") + "\n"
        }
        PlanFormat::Markdown => plans
            .iter()
            .map(|(h, p)| format!("### Host `{h}`\n\n{}\n", plan_markdown(p)))
            .collect(),
        PlanFormat::Text => {
            let mut out = String::new();
            let (mut add, mut change, mut destroy) = (0, 0, 0);
            for (h, p) in plans {
                out += &format!("Host {h}:\n{}\n", plan_text(p, color()));
                let s = p.summary();
                (add, change, destroy) = (add + s.add, change + s.change, destroy + s.destroy);
            }
            out += &format!(
                "All {} hosts: {add} to add, {change} to change, {destroy} to destroy.\n",
                plans.len()
            );
            out
        }
    }
}

/// `show` or `test` on every host; their outputs by host (one JSON
/// document with `--json`), exit 1 when one of them failed.
fn each_verb(file: &str, verb: &str, json: bool, config: Option<&Path>) -> Result<i32, Error> {
    let (lab, mut fleet) = lab(file, config)?;
    let tail: &[&str] = if json { &["--json"] } else { &[] };
    let args = |h: &str| words(&[verb], h, tail);
    let replies = fleet.call_all(&args, lab.l.text.as_bytes())?;
    let ok = replies.iter().all(|r| r.code == Some(0));
    if json {
        let hosts: serde_json::Map<String, serde_json::Value> = replies
            .iter()
            .map(|r| {
                let doc = serde_json::from_str(&r.stdout).unwrap_or(serde_json::json!({
                    "error": r.stderr.trim()
                }));
                (r.host.clone(), doc)
            })
            .collect();
        let doc = serde_json::json!({ "lab": lab.l.spec.name.value, "hosts": hosts });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("serializes")
        );
    } else {
        for r in &replies {
            println!("Host {}:", r.host);
            print!("{}", r.stdout);
            pass_on_stderr(r);
        }
    }
    Ok(if ok { exit::OK } else { exit::ERROR })
}
