//! `apply --all-hosts` (everywhere or nowhere, `remote::hold`) and
//! `destroy --all-hosts` (every host, each keeping going on its own).

use super::{failures, lab_of, pass_on_stderr, plain, render_plans, words, Lab};
use crate::cli::{exit, Output, PlanFormat};
use crate::remote::hold::{apply_all, Ending, HostPlan};
use crate::remote::{saved::SavedPlans, Fleet, Reply};
use crate::Error;
use serde_json::{json, Value};
use std::path::Path;

/// What to apply on each host: the lab file (each host plans its share in
/// the session that applies it), or the saved plans of
/// `plan --all-hosts -o`.
enum What {
    Lab(Box<Lab>),
    Saved(SavedPlans),
}

fn what(file: &str, config: Option<&Path>) -> Result<(What, Fleet), Error> {
    let (name, text) = crate::read_input(file)?;
    match SavedPlans::parse(&text) {
        Some(Ok(saved)) => {
            let fleet = Fleet::connect(&saved.targets, config)?;
            Ok((What::Saved(saved), fleet))
        }
        Some(Err(why)) => Err(Error::Read {
            path: name,
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, why),
        }),
        None => {
            let (lab, fleet) = lab_of(crate::load_text(name, text)?, config)?;
            Ok((What::Lab(Box::new(lab)), fleet))
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
    let (what, mut fleet) = what(file, config)?;
    let hosts: Vec<String> = fleet.conns.iter().map(|c| c.host.clone()).collect();
    let show_plans = !json && !out.quiet;
    let (lab, inputs): (String, Vec<Vec<u8>>) = match &what {
        What::Saved(saved) => {
            if let Some(h) = hosts.iter().find(|h| !saved.hosts.contains_key(*h)) {
                return Err(Error::Hosts(format!(
                    "the saved plans have none for host `{h}`\nhelp: make them again with `topo plan FILE --all-hosts -o`"
                )));
            }
            if show_plans {
                print!("{}", render_plans(&plain(&saved.hosts), PlanFormat::Text));
            }
            let inputs = hosts
                .iter()
                // Every host has a plan (checked above), and a plan read
                // from JSON serializes again.
                .map(|h| serde_json::to_vec(&saved.hosts[h]).expect("saved plan serializes"))
                .collect();
            (saved.lab.clone(), inputs)
        }
        What::Lab(lab) => {
            let text = lab.l.text.as_bytes().to_vec();
            (lab.l.spec.name.value.clone(), vec![text; hosts.len()])
        }
    };
    let args = |host: &str| {
        let mut tail = vec!["--json", "--hold", "--framed"];
        if no_rollback {
            tail.push("--no-rollback");
        }
        words(&["apply"], host, &tail)
    };
    let sessions = fleet.sessions(&args)?;
    // A lab file's plans are shown once every host has made its own.
    let show = |plans: &[HostPlan]| {
        if show_plans && matches!(what, What::Lab(_)) {
            print!("{}", render_plans(plans, PlanFormat::Text));
        }
    };
    let inputs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
    let endings = apply_all(sessions, &inputs, &show);
    let applied = endings.iter().all(|e| matches!(e, Ending::Applied(_)));
    if json {
        let each: serde_json::Map<String, Value> = hosts
            .iter()
            .zip(&endings)
            .map(|(h, e)| (h.clone(), ending_json(e)))
            .collect();
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
    let (lab, mut fleet) = super::lab(file, config)?;
    let args = |h: &str| words(&["destroy"], h, &["--json"]);
    let replies = fleet.call_all(&args, lab.l.text.as_bytes())?;
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
