//! `apply --all-hosts` (everywhere or nowhere, `remote::hold`) and
//! `destroy --all-hosts` (every host, each keeping going on its own).

use super::{failures, lab_of, pass_on_stderr, plan_all, render_plans, Lab};
use crate::cli::{exit, Output, PlanFormat};
use crate::plan::saved::SavedPlan;
use crate::remote::hold::{apply_all, Ending};
use crate::remote::{saved::SavedPlans, Fleet, RemoteError, Reply, Target};
use crate::Error;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Every host's saved plan, by host.
type Plans = BTreeMap<String, SavedPlan>;

/// What to apply: every host's saved plan, made now from the file or read
/// from `plan --all-hosts -o`.
fn plans(file: &str, config: Option<&Path>) -> Result<(Vec<Target>, Fleet, Plans), Error> {
    let (name, text) = crate::read_input(file)?;
    match SavedPlans::parse(&text) {
        Some(Ok(saved)) => {
            let fleet = Fleet::open(&saved.targets, config)?;
            Ok((saved.targets, fleet, saved.hosts))
        }
        Some(Err(why)) => Err(Error::Read {
            path: name,
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, why),
        }),
        None => {
            let Lab { l, targets } = lab_of(crate::load_text(name, text)?)?;
            let mut fleet = Fleet::open(&targets, config)?;
            let plans = plan_all(&mut fleet, &l.text)?;
            Ok((targets, fleet, plans))
        }
    }
}

pub(super) fn run(
    file: &str,
    json: bool,
    no_rollback: bool,
    config: Option<&Path>,
    out: Output,
) -> Result<i32, Error> {
    let (targets, mut fleet, plans) = plans(file, config)?;
    if let Some(t) = targets.iter().find(|t| !plans.contains_key(&t.host)) {
        return Err(Error::Hosts(format!(
            "the saved plans have none for host `{}`\nhelp: make them again with `topo plan FILE --all-hosts -o`",
            t.host
        )));
    }
    if !json && !out.quiet {
        print!("{}", render_plans(&plans, PlanFormat::Text));
    }
    let inputs: Vec<Vec<u8>> = fleet
        .conns
        .iter()
        .map(|c| serde_json::to_vec(&plans[&c.host]).expect("saved plan serializes"))
        .collect();
    let args = |host: &str| {
        let mut a: Vec<String> = ["apply", "-", "--host", host, "--json", "--hold", "--framed"]
            .map(String::from)
            .to_vec();
        if no_rollback {
            a.push("--no-rollback".into());
        }
        a
    };
    let hosts: Vec<String> = fleet.conns.iter().map(|c| c.host.clone()).collect();
    let endings = apply_all(&mut fleet, &args, &inputs);
    let applied = endings.iter().all(|e| matches!(e, Ending::Applied(_)));
    if json {
        let each: serde_json::Map<String, Value> = hosts
            .iter()
            .zip(&endings)
            .map(|(h, e)| (h.clone(), ending_json(e)))
            .collect();
        let lab = plans.values().next().map_or("", |p| p.plan.lab.as_str());
        let doc = json!({ "lab": lab, "applied": applied, "hosts": each });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("serializes")
        );
    } else {
        for (h, e) in hosts.iter().zip(&endings) {
            println!("{h}: {}", ending_text(e));
        }
        if applied {
            let (a, c, d) = totals(&endings);
            println!(
                "Apply complete on all {} hosts: {a} added, {c} changed, {d} destroyed.",
                hosts.len()
            );
        } else {
            eprintln!("error: the apply did not succeed on every host, so it was undone on every host it reached (details above)");
        }
    }
    Ok(if applied { exit::OK } else { exit::ERROR })
}

/// The JSON a remote printed, when it printed some.
fn report(r: &Reply) -> Value {
    serde_json::from_str(&r.stdout).unwrap_or(Value::Null)
}

fn summary(r: &Reply) -> (u64, u64, u64) {
    let s = &report(r)["summary"];
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    (n("add"), n("change"), n("destroy"))
}

fn totals(endings: &[Ending]) -> (u64, u64, u64) {
    endings.iter().fold((0, 0, 0), |t, e| match e {
        Ending::Applied(r) => {
            let (a, c, d) = summary(r);
            (t.0 + a, t.1 + c, t.2 + d)
        }
        _ => t,
    })
}

/// The first line of what a host said went wrong.
fn why(r: &Reply) -> String {
    r.stderr
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no reason given")
        .trim_start_matches("error: ")
        .to_string()
}

fn ending_text(e: &Ending) -> String {
    match e {
        Ending::Applied(r) => {
            pass_on_stderr(r);
            let (a, c, d) = summary(r);
            format!("applied ({a} added, {c} changed, {d} destroyed)")
        }
        Ending::RolledBack(r) => {
            let left = report(r)["not_undone"].as_array().map_or(0, Vec::len);
            let tail = if left > 0 {
                format!("; {left} step(s) could NOT be undone (`topo plan FILE --host HOST` there shows them)")
            } else {
                String::new()
            };
            format!("rolled back: {}{tail}", why(r))
        }
        Ending::Untouched(r) => format!("not applied, nothing changed: {}", why(r)),
        Ending::Unreachable(m) => format!("unreachable, nothing known of it: {m}"),
    }
}

fn ending_json(e: &Ending) -> Value {
    let (result, r) = match e {
        Ending::Applied(r) => ("applied", r),
        Ending::RolledBack(r) => ("rolled_back", r),
        Ending::Untouched(r) => ("untouched", r),
        Ending::Unreachable(m) => return json!({ "result": "unreachable", "error": m }),
    };
    json!({ "result": result, "report": report(r), "error": r.stderr.trim() })
}

/// `destroy --all-hosts`: each host destroys its share, all at once.
pub(super) fn destroy(
    file: &str,
    json: bool,
    config: Option<&Path>,
    out: Output,
) -> Result<i32, Error> {
    let lab = super::lab(file)?;
    let mut fleet = Fleet::open(&lab.targets, config)?;
    let text = lab.l.text.as_bytes();
    let replies = fleet.each(|c| {
        let host = c.host.clone();
        c.call(&["destroy", "-", "--host", &host, "--json"], text)
    });
    let replies: Vec<Reply> = replies
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| Error::Remote(RemoteError::Unreachable(vec![e])))?;
    let failed = failures(&replies);
    if json {
        let each: serde_json::Map<String, Value> = replies
            .iter()
            .map(|r| (r.host.clone(), json!({ "ok": r.code == Some(0), "report": report(r), "error": r.stderr.trim() })))
            .collect();
        let doc = json!({ "lab": lab.l.spec.name.value, "hosts": each });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("serializes")
        );
    } else if !out.quiet || failed.is_some() {
        for r in &replies {
            let (_, _, d) = summary(r);
            if r.code == Some(0) {
                println!("{}: destroyed ({d} removed)", r.host);
            } else {
                println!("{}: FAILED: {}", r.host, why(r));
            }
        }
    }
    match failed {
        Some(e) => Err(e),
        None => {
            if !json {
                println!("Destroy complete on all {} hosts.", replies.len());
            }
            Ok(exit::OK)
        }
    }
}
