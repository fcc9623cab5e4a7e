//! `topo watch FILE`: apply, then keep the lab as the file says. Every
//! change in the lab's namespaces (or of the file) wakes it; it waits for
//! quiet, plans from a fresh observe, and repairs, logging each repair as
//! a plan. Idle, it holds no lab lock and uses no CPU, so `plan` and
//! `show` run beside it, and a person's `topo apply` simply waits its
//! turn. It never fights a person: an object repaired more than
//! `--max-repairs` times in a minute is left alone, and said so.

use super::{color, exit, plan_text, Output};
use crate::kinds::Id;
use crate::machine::local::LocalKernel;
use crate::machine::{Machine, Wake, Watch};
use crate::model::Ns;
use crate::Error;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub(super) struct Args {
    pub file: String,
    pub debounce: Duration,
    pub max_repairs: usize,
}

/// The reason the first run gives.
const FIRST: &str = "apply";

/// How long an object's repairs are remembered for `--max-repairs`.
const WINDOW: Duration = Duration::from_secs(60);

/// What the watch remembers between repairs.
struct Keeper {
    /// When each object was repaired, within the window.
    repairs: BTreeMap<Id, Vec<Instant>>,
    max: usize,
}

pub(super) async fn run(args: Args, out: Output) -> Result<i32, Error> {
    if args.file == crate::STDIN_ARG {
        return Err(Error::Hosts(
            "`topo watch` follows the lab file, so it needs one: standard input cannot be read again\nhelp: topo watch lab.yaml".into(),
        ));
    }
    let mut l = out.load(&args.file)?;
    let mut w = LocalKernel::new().watch(Some(std::path::Path::new(&args.file)))?;
    let mut k = Keeper {
        repairs: BTreeMap::new(),
        max: args.max_repairs,
    };
    let nodes = k.repair(&l, out, FIRST).await?;
    w.follow(&namespaces(&nodes))?;
    say(
        out,
        &format!(
            "watching lab `{}` ({} nodes); Ctrl-C stops, leaving it applied",
            l.spec.name.value,
            nodes.len()
        ),
    );
    loop {
        let mut reload = false;
        let mut why = match w.wait().await? {
            Wake::Stop(sig) => return stopped(out, sig),
            Wake::File => {
                reload = true;
                "the file changed"
            }
            Wake::Lost => "notifications were lost",
            Wake::Kernel => "the kernel changed",
        };
        // Wait for quiet: a burst (a namespace deleted with all in it, a
        // script) is one repair.
        while let Ok(wake) = tokio::time::timeout(args.debounce, w.wait()).await {
            match wake? {
                Wake::Stop(sig) => return stopped(out, sig),
                Wake::File => {
                    reload = true;
                    why = "the file changed";
                }
                _ => {}
            }
        }
        if reload {
            match out.load(&args.file) {
                Ok(n) => l = n,
                Err(e) => {
                    super::report_error(&e);
                    say(
                        out,
                        "the file is not valid: keeping the lab as the previous version said",
                    );
                    continue;
                }
            }
        }
        match k.repair(&l, out, why).await {
            Ok(nodes) => w.follow(&namespaces(&nodes))?,
            // The next change tries again; a watch outlives one failure.
            Err(e) => super::report_error(&e),
        }
    }
}

fn namespaces(nodes: &[String]) -> Vec<Ns> {
    std::iter::once(Ns::Host)
        .chain(nodes.iter().map(|n| Ns::Node(n.clone())))
        .collect()
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

impl Keeper {
    /// Plans from a fresh observe and applies what differs, except objects
    /// repaired too often of late. Returns the lab's nodes.
    async fn repair(
        &mut self,
        l: &crate::Loaded,
        out: Output,
        why: &str,
    ) -> Result<Vec<String>, Error> {
        let mut s = crate::prepare(l, &|m| say(out, m)).await?;
        let nodes: Vec<String> = s.model.nodes.iter().cloned().collect();
        if s.plan.is_empty() {
            return Ok(nodes);
        }
        let now = Instant::now();
        let mut left_alone = Vec::new();
        for a in &s.plan.actions {
            let times = self.repairs.entry(a.id()).or_default();
            times.retain(|t| now.duration_since(*t) < WINDOW);
            if times.len() >= self.max {
                left_alone.push(a.id());
            }
        }
        if !left_alone.is_empty() {
            // As the kernel has them: the plan leaves them be.
            for id in &left_alone {
                match s.observed.state.get(id) {
                    Some(live) => {
                        let _ = s.model.state.put(id.clone(), live);
                    }
                    None => {
                        s.model.state.remove(id);
                    }
                }
            }
            let names: Vec<String> = left_alone.iter().map(ToString::to_string).collect();
            say(out, &format!("left alone, changed back more than {} times in a minute (someone else is changing them): {}", self.max, names.join(", ")));
            s.plan = crate::plan::diff(&s.model.lab, &s.model.state, &s.observed)?;
            if s.plan.is_empty() {
                return Ok(nodes);
            }
        }
        say(out, &format!("{why}: {} to do", s.plan.actions.len()));
        if !out.quiet {
            print!("{}", plan_text(&s.plan, color()));
        }
        // The first apply makes the lab; only what comes after is a repair.
        if why != FIRST {
            for a in &s.plan.actions {
                self.repairs.entry(a.id()).or_default().push(now);
            }
        }
        let options = crate::apply::Options {
            rollback: true,
            verify: true,
            ..Default::default()
        };
        let report = crate::apply(s, options).await?;
        let sum = report.plan.summary();
        say(
            out,
            &format!(
                "done: {} added, {} changed, {} destroyed",
                sum.add, sum.change, sum.destroy
            ),
        );
        Ok(nodes)
    }
}
