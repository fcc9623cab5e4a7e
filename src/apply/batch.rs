//! Runs of deletions that can go to the machine as one request: interface
//! deletions in one namespace, one after another in the steps, with
//! nothing else to do for them (no journal, no test hook among them).

use crate::kinds::{Id, Res, State};
use crate::model::{IfRef, Ns};
use crate::plan::{Half, Op, Plan, Step};
use std::collections::BTreeSet;

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

/// Whether step `s` deletes a namespace.
pub fn deletes_namespace(plan: &Plan, s: &Step) -> bool {
    let a = &plan.actions[s.action];
    matches!(
        (s.half, a.op, a.id()),
        (Half::Remove, Op::Delete, Id::Netns(_))
    )
}

/// At the start of a run of namespace deletions: the host ends of the
/// lab's veths into those namespaces. Deleted together (while the
/// namespaces go), they are one request; left to the namespaces, the
/// kernel tears each pair down with its namespace, one at a time.
pub fn veths_into(
    plan: &Plan,
    steps: &[Step],
    i: usize,
    live: &State,
    hooks: &[Option<usize>],
) -> Vec<IfRef> {
    let netns = |s: &Step| {
        let a = &plan.actions[s.action];
        match (s.half, a.op, a.id()) {
            (Half::Remove, Op::Delete, Id::Netns(n)) => Some(n.name),
            _ => None,
        }
    };
    let starts =
        steps.get(i).and_then(netns).is_some() && (i == 0 || netns(&steps[i - 1]).is_none());
    if !starts {
        return Vec::new();
    }
    let mut gone = BTreeSet::new();
    for (j, s) in steps.iter().enumerate().skip(i) {
        if hooks.contains(&Some(j)) {
            return Vec::new();
        }
        match netns(s) {
            Some(n) => gone.insert(Ns::Node(n)),
            None => break,
        };
    }
    let ends: Vec<IfRef> = live
        .veth
        .iter()
        .filter_map(|(id, v)| match (&id.link.ns, &v.peer.ns) {
            (Ns::Host, far) if gone.contains(far) => Some(id.link.clone()),
            (near, Ns::Host) if gone.contains(near) => Some(v.peer.clone()),
            _ => None,
        })
        .collect();
    if ends.len() >= AT_LEAST {
        ends
    } else {
        Vec::new()
    }
}

/// The namespaces steps `steps` create, in order (attached ones are not
/// created), when the first of them is a creation.
pub fn namespaces_made(plan: &Plan, steps: &[Step]) -> Vec<String> {
    let made = |s: &Step| {
        let a = &plan.actions[s.action];
        match (s.half, a.op, a.after()) {
            (Half::Make, Op::Create | Op::Replace, Some(Res::Netns(n))) if n.attach.is_none() => {
                match a.id() {
                    Id::Netns(id) => Some(id.name.to_string()),
                    _ => None,
                }
            }
            _ => None,
        }
    };
    if steps.first().and_then(made).is_none() {
        return Vec::new();
    }
    steps.iter().filter_map(made).collect()
}
