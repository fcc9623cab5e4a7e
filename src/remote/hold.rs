//! Apply across hosts: applied everywhere or nowhere.
//!
//! Each host runs `topo apply - --host NAME --json --hold --framed`, the
//! lab file (or its saved plan) in a frame on standard input, in the one
//! session of the run that said its version first (`Fleet::sessions`),
//! and then talks over the same pipe:
//!
//! 1. it locks the lab and plans (or checks its saved plan still holds),
//!    prints the plan on a line, then `READY`, and waits: `go` applies,
//!    anything else (or the pipe closing) ends the run with nothing
//!    changed;
//! 2. once applied and verified it prints `HELD` and waits: `commit` keeps
//!    the lab, anything else (or the pipe closing) rolls it back.
//!
//! The coordinator says `go` only when every host has planned and is
//! ready, and `commit` only when every host holds; otherwise the hosts
//! that got that far roll back. A coordinator that dies closes every
//! pipe: nothing stays half applied. Planning in the session that applies
//! keeps each host's lab locked from its plan to its apply, so no second
//! session has to plan it again.

use super::{at_once, frame, read_line, Reply, Session};
use crate::plan::Plan;
use std::io::Write;

/// Printed by a held apply when its plan holds and the lab is locked.
pub const READY: &str = r#"{"hold":"ready"}"#;
/// Printed by a held apply when it applied and verified.
pub const HELD: &str = r#"{"hold":"held"}"#;

/// The remote side: says `line`, and whether the coordinator said `word`.
pub fn ask(line: &str, word: &str) -> bool {
    println!("{line}");
    let _ = std::io::stdout().flush();
    matches!(read_line(), Ok(Some(l)) if l.trim() == word)
}

/// A host's name and its plan.
pub type HostPlan = (String, Plan);

/// The line of a held apply's plan, before `READY`.
#[derive(serde::Deserialize)]
struct Planned {
    hold: String,
    plan: Plan,
}

/// The remote side: its plan, on one line, for the coordinator to show.
pub fn announce(plan: &Plan) {
    println!("{}", planned_line(plan));
}

fn planned_line(plan: &Plan) -> String {
    // A plan's maps have string keys: it always serializes.
    let plan = serde_json::to_string(plan).expect("plan serializes");
    format!(r#"{{"hold":"planned","plan":{plan}}}"#)
}

/// How one host's apply ended.
#[derive(Debug, Clone)]
pub enum Ending {
    /// Applied, verified and kept.
    Applied(Reply),
    /// Stopped before changing anything (its plan did not hold, or another
    /// host's did not).
    Untouched(Reply),
    /// Changed, then put back (its own failure, or another host's).
    RolledBack(Reply),
    /// ssh could not run it.
    Unreachable(String),
}

impl Session {
    /// Waits for the next word of the conversation; false when the remote
    /// finished instead (what it printed is then the start of its result).
    fn reached(&mut self, word: &str) -> bool {
        match self.line() {
            Some(l) if l.trim() == word => true,
            l => {
                self.kept = l.map(|l| l + "\n").unwrap_or_default();
                false
            }
        }
    }

    /// Its plan, then `READY`; None when it finished instead.
    fn planned(&mut self) -> Option<Plan> {
        let line = self.line()?;
        match serde_json::from_str::<Planned>(&line) {
            Ok(p) if p.hold == "planned" => self.reached(READY).then_some(p.plan),
            _ => {
                self.kept = line + "\n";
                None
            }
        }
    }

    fn say(&mut self, word: &str) {
        self.send(format!("{word}\n").as_bytes());
    }
}

/// Waits on every remote at once for `word`; which of them said it.
fn all_reach(remotes: &mut [Session], word: &str) -> Vec<bool> {
    at_once(remotes.iter_mut().collect(), |r| r.reached(word))
}

/// Applies `inputs` (a lab file or a saved plan for each session, in the
/// same order) everywhere or nowhere; how it ended on each host, in that
/// order. `show` is given every host's plan once all are ready, before
/// any is told to go.
pub fn apply_all(
    mut remotes: Vec<Session>,
    inputs: &[&[u8]],
    show: &dyn Fn(&[HostPlan]),
) -> Vec<Ending> {
    for (r, input) in remotes.iter_mut().zip(inputs) {
        r.send(&frame(input));
    }
    let t = std::time::Instant::now();
    let plans = at_once(remotes.iter_mut().collect(), |r| r.planned());
    let ready: Vec<bool> = plans.iter().map(Option::is_some).collect();
    let go = ready.iter().all(|r| *r);
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        go,
        "every host planned"
    );
    let mut held = vec![false; remotes.len()];
    if go {
        let hosts = remotes.iter().map(|r| r.host.clone());
        let plans: Vec<HostPlan> = hosts.zip(plans.into_iter().flatten()).collect();
        show(&plans);
        for r in &mut remotes {
            r.say("go");
        }
        held = all_reach(&mut remotes, HELD);
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "every host applied");
    }
    let commit = go && held.iter().all(|h| *h);
    // Every host is told first, then all are waited for at once.
    for (k, r) in remotes.iter_mut().enumerate() {
        if held[k] {
            r.say(if commit { "commit" } else { "rollback" });
        } else if ready[k] && !go {
            r.say("cancel");
        }
    }
    let replies = at_once(remotes, Session::finish);
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "every host finished");
    replies
        .into_iter()
        .map(|reply| {
            if reply.ssh_failed() {
                Ending::Unreachable(reply.stderr.trim().to_string())
            } else if commit {
                Ending::Applied(reply)
            } else if go {
                // It applied (or failed part-way, and rolled back itself).
                Ending::RolledBack(reply)
            } else {
                Ending::Untouched(reply)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_line_is_one_line_that_reads_back_as_the_plan() {
        let plan = Plan {
            lab: "two\nlines".into(),
            actions: vec![],
        };
        let line = planned_line(&plan);
        assert!(!line.contains('\n'), "{line}");
        let back: Planned = serde_json::from_str(&line).unwrap();
        assert_eq!((back.hold.as_str(), back.plan), ("planned", plan));
    }
}
