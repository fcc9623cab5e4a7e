//! Runs of deletions that can go to the machine as one request: interface
//! deletions in one namespace, one after another in the steps, with
//! nothing else to do for them (no journal, no test hook among them).

use crate::model::{IfRef, Ns};
use crate::plan::{Half, Op, Plan, Step};

/// Fewer than this go one by one: one request each costs no more.
const AT_LEAST: usize = 2;

/// The run of interface deletions starting at step `i`, if it is long
/// enough: its namespace and interfaces, one per step.
pub fn links(
    plan: &Plan,
    steps: &[Step],
    i: usize,
    hooks: &[Option<usize>],
) -> Option<(Ns, Vec<IfRef>)> {
    let link = |s: &Step| {
        let a = &plan.actions[s.action];
        (s.half == Half::Remove && a.op == Op::Delete)
            .then(|| a.id().deleted_link().cloned())
            .flatten()
    };
    let first = link(steps.get(i)?)?;
    let ns = first.ns.clone();
    let mut run = vec![first];
    for (j, s) in steps.iter().enumerate().skip(i + 1) {
        match link(s) {
            Some(l) if l.ns == ns && !hooks.contains(&Some(j)) => run.push(l),
            _ => break,
        }
    }
    (run.len() >= AT_LEAST && !hooks.contains(&Some(i))).then_some((ns, run))
}
