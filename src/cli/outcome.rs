//! How a verb ends, for the user: the closing line or JSON result of
//! apply and destroy (also after a failure, with `--json`), and every error
//! rendered with what to do next.

use super::{plan_text, render};
use crate::Error;
use std::io::IsTerminal;

/// With `--json`, a run that failed part-way still prints its result on
/// stdout (what was done, what failed, what rollback undid), as programs
/// need it most then; the error goes to stderr as always.
pub(super) fn failed_json(e: &Error, json: bool) {
    let report = match e {
        Error::Apply { report, .. }
        | Error::Verify { report, .. }
        | Error::Interrupted { report, .. }
        | Error::Withdrawn { report } => report,
        _ => return,
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&render::report_json(report)).expect("report serializes")
        );
    }
}

pub(super) fn finish(r: &crate::ApplyReport, json: bool, verb: &str) {
    if !r.not_ready.is_empty() {
        eprintln!(
            "warning: the kernel matches the file, but these interfaces carried no traffic yet when topo stopped waiting: {}",
            r.not_ready.join(", ")
        );
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&render::report_json(r)).expect("report serializes")
        );
    } else {
        let s = r.plan.summary();
        println!(
            "{verb} complete: {} added, {} changed, {} destroyed.",
            s.add, s.change, s.destroy
        );
    }
}

/// The one mapping of errors to exit codes: a signal's own, 1 for the rest.
pub(super) fn exit_code(e: &Error) -> i32 {
    match e {
        Error::Interrupted { signal, .. } => 128 + signal,
        _ => super::exit::ERROR,
    }
}

pub(super) fn report_error(e: &Error) {
    let tty = std::io::stderr().is_terminal();
    match e {
        Error::Invalid(report) => eprint!("{}", report.render(tty)),
        Error::Plan(crate::plan::PlanError::Foreign(items)) => {
            eprintln!(
                "error: the lab clashes with what is already on the machine and not the lab's; nothing was changed:"
            );
            for (_, m) in items {
                eprintln!("  - {m}");
            }
            eprintln!("help: change the file where it clashes (a name, a subnet, a host setting), or remove the other objects if they are leftovers you own");
        }
        Error::Plan(crate::plan::PlanError::Refused(items)) => {
            eprintln!("error: the machine cannot give what the file asks; nothing was changed:");
            for r in items {
                eprintln!("  - {}", r.message);
                eprintln!("    help: {}", r.help);
            }
        }
        Error::Apply {
            failed,
            error,
            report,
        } => {
            eprintln!("error: apply failed at `{failed}`: {error}");
            eprint!("{}", render::outcome_text(report));
        }
        Error::Stale(items) => {
            eprintln!("error: the saved plan is stale: the kernel changed since it was made, so nothing was applied:");
            for i in items {
                eprintln!("  - {i}");
            }
            eprintln!(
                "help: make the plan again with `topo plan -o`, or apply the lab file itself"
            );
        }
        Error::Verify { left, report } => {
            eprintln!("error: {e}");
            eprint!("{}", plan_text(left, false));
            eprint!("{}", render::outcome_text(report));
        }
        Error::Interrupted { report, .. } => {
            eprintln!("error: {e}; the step in flight was finished");
            eprint!("{}", render::outcome_text(report));
        }
        Error::Withdrawn { report } => {
            eprintln!("error: {e}");
            eprint!("{}", render::outcome_text(report));
        }
        Error::NoLab(_) => {
            eprintln!("error: {e}");
            let labs = crate::labs_here();
            if labs.is_empty() {
                eprintln!("help: no lab has been applied here; `topo show FILE` compares a file with the kernel");
            } else {
                eprintln!("help: labs on this machine: {}", labs.join(", "));
            }
        }
        Error::Kernel(_) => {
            eprintln!("error: {e}");
            eprintln!("help: nothing after this request was attempted; `topo plan FILE` shows what the kernel holds now, and TOPO_LOG=topo=debug logs every step");
        }
        _ => eprintln!("error: {e}"),
    }
}
