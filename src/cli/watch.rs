//! `topo watch FILE`: apply, then keep the lab as the file says. Every
//! change in the lab's namespaces (or of the file) wakes it; it waits for
//! quiet, plans from a fresh observe, and repairs, logging each repair as
//! a plan. Idle, it holds no lab lock and uses no CPU, so `plan` and
//! `show` run beside it, and a person's `topo apply` simply waits its
//! turn. It never fights a person: an object repaired more than
//! `--max-repairs` times in a minute is left alone, and said so.

use super::{color, exit, plan_text, Output};
use crate::machine::local::LocalKernel;
use crate::machine::Machine;
use crate::watch::{Event, Settings};
use crate::Error;
use std::time::Duration;

pub(super) struct Args {
    pub file: String,
    pub debounce: Duration,
    pub max_repairs: usize,
}

pub(super) async fn run(args: Args, out: Output) -> Result<i32, Error> {
    if args.file == crate::STDIN_ARG {
        return Err(Error::Hosts(
            "`topo watch` follows the lab file, so it needs one: standard input cannot be read again\nhelp: topo watch lab.yaml".into(),
        ));
    }
    let l = out.load(&args.file)?;
    let mut w = LocalKernel::new().watch(Some(std::path::Path::new(&args.file)))?;
    let settings = Settings {
        debounce: args.debounce,
        max_repairs: args.max_repairs,
    };
    let tell = |e: Event<'_>| told(out, e);
    let reload = || out.load(&args.file);
    let sig = crate::watch::run(l, LocalKernel::new, &mut w, reload, &settings, &tell).await?;
    stopped(out, sig)
}

/// What the watch did, in its log (stderr) and, for plans, on stdout.
fn told(out: Output, e: Event<'_>) {
    match e {
        Event::Watching { lab, nodes } => say(
            out,
            &format!("watching lab `{lab}` ({nodes} nodes); Ctrl-C stops, leaving it applied"),
        ),
        Event::Notice(m) => say(out, m),
        Event::LeftAlone { max, ids } => {
            let names: Vec<String> = ids.iter().map(ToString::to_string).collect();
            say(out, &format!("left alone, changed back more than {max} times in a minute (someone else is changing them): {}", names.join(", ")));
        }
        Event::Repairing { why, plan } => {
            say(out, &format!("{why}: {} to do", plan.actions.len()));
            if !out.quiet {
                print!("{}", plan_text(plan, color()));
            }
        }
        Event::Repaired(report) => {
            let sum = report.plan.summary();
            say(
                out,
                &format!(
                    "done: {} added, {} changed, {} destroyed",
                    sum.add, sum.change, sum.destroy
                ),
            );
        }
        Event::Quiet => {}
        Event::Invalid(e) => {
            super::report_error(e);
            say(
                out,
                "the file is not valid: keeping the lab as the previous version said",
            );
        }
        Event::Failed(e) => super::report_error(e),
    }
}

fn say(out: Output, msg: &str) {
    if !out.quiet {
        let now = clock();
        eprintln!("topo watch {now}: {msg}");
    }
}

/// The time of day in UTC, `HH:MM:SS.mmm`, for log lines.
fn clock() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let s = d.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        d.subsec_millis()
    )
}

fn stopped(out: Output, sig: i32) -> Result<i32, Error> {
    let name = if sig == libc::SIGTERM {
        "SIGTERM"
    } else {
        "SIGINT"
    };
    say(out, &format!("stopped by {name}; the lab stays applied"));
    Ok(exit::OK)
}
