//! `topo test FILE` (and `topo apply --test`): runs the checks of the
//! file's `tests:` inside the live lab and reports them like a test runner.

mod junit;
mod report;

use super::{color, exit, prepare_with_warnings, Output};
use crate::model::{checks, Model};
use crate::{Error, Loaded};
use std::time::{Instant, SystemTime};

/// How to report a run.
#[derive(Debug, Clone, Default)]
pub struct Args {
    /// Print a JSON document instead of lines.
    pub json: bool,
    /// Also write JUnit XML here.
    pub junit: Option<String>,
    /// Checks in flight at once.
    pub jobs: usize,
    /// Also every node pinging every other (`--pingall`).
    pub pingall: bool,
}

/// `topo test FILE`: the lab as it is live, tested against its file.
pub(super) async fn run(file: &str, args: &Args, out: Output) -> Result<i32, Error> {
    let l = out.load(file)?;
    let s = prepare_with_warnings(&l, out).await?;
    if crate::is_absent(&s.observed) {
        drop(s);
        eprintln!(
            "error: lab `{}` is not on this machine, so there is nothing to test\nhelp: create it first: topo apply {file}  (or both at once: topo apply --test {file})",
            l.spec.name.value
        );
        return Ok(exit::ERROR);
    }
    if !s.plan.is_empty() && !out.quiet {
        eprintln!(
            "warning: the lab differs from the file in {} place(s) (`topo plan {file}` lists them); testing it as it is",
            s.plan.actions.len()
        );
    }
    // The live model (its allocated addresses); the lock is not needed to
    // send packets.
    let model = s.model.clone();
    drop(s);
    checks_of(&l, &model, args, out).await
}

/// After a successful `topo apply --test`.
pub(super) async fn after_apply(
    l: &Loaded,
    model: &Model,
    args: &Args,
    out: Output,
) -> Result<i32, Error> {
    if !args.json && !out.quiet {
        println!();
    }
    checks_of(l, model, args, out).await
}

async fn checks_of(l: &Loaded, model: &Model, args: &Args, out: Output) -> Result<i32, Error> {
    let mut list = checks::resolve(&l.spec, model).map_err(|d| Error::Invalid(l.report(d)))?;
    if args.pingall {
        list.extend(checks::pingall(&l.spec, model));
    }
    let lab = &model.lab;
    if list.is_empty() {
        if args.json {
            println!(
                "{}",
                pretty(report::json(lab, &l.file, &[], &[], Default::default()))
            );
        } else {
            println!(
                "Lab `{lab}` declares no tests: add a `tests:` list to {} (docs/format.md#tests).",
                l.file
            );
        }
        let doc = junit::document(
            lab,
            &l.file,
            &[],
            &[],
            Default::default(),
            SystemTime::now(),
        );
        return Ok(write_junit(args, doc).unwrap_or(exit::OK));
    }
    let attached = model
        .state
        .netns
        .iter()
        .filter_map(|(id, n)| Some((id.name.to_string(), n.attach.clone()?)))
        .collect();
    let namespaces = match crate::probe::Namespaces::open(&list, &attached) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::ERROR);
        }
    };
    let started = SystemTime::now();
    let t = Instant::now();
    let color = color();
    let lines = !args.json;
    if lines && !out.quiet {
        println!(
            "running {} check{} of lab `{lab}`",
            list.len(),
            if list.len() == 1 { "" } else { "s" }
        );
    }
    let outcomes = crate::probe::run(&list, &namespaces, args.jobs, |i, o| {
        if lines && (!out.quiet || !o.passed) {
            println!("{}", report::line(&l.file, &list[i], o, color));
        }
    })
    .await;
    let took = t.elapsed();
    if args.json {
        println!(
            "{}",
            pretty(report::json(lab, &l.file, &list, &outcomes, took))
        );
    } else {
        println!("{}", report::summary(lab, &outcomes, took));
    }
    let doc = junit::document(lab, &l.file, &list, &outcomes, took, started);
    if let Some(code) = write_junit(args, doc) {
        return Ok(code);
    }
    Ok(if outcomes.iter().all(|o| o.passed) {
        exit::OK
    } else {
        exit::ERROR
    })
}

fn pretty(v: serde_json::Value) -> String {
    serde_json::to_string_pretty(&v).expect("JSON serializes")
}

/// Writes the JUnit document where `--junit` says; an exit code when that fails.
fn write_junit(args: &Args, doc: String) -> Option<i32> {
    let path = args.junit.as_ref()?;
    if let Err(e) = std::fs::write(path, doc) {
        eprintln!("error: cannot write the JUnit XML to {path}: {e}");
        return Some(exit::ERROR);
    }
    None
}
