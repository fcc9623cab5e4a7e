//! The diff of desired and observed state, as ordered actions. Plan output
//! and apply both consume this one value; renderers live in `cli`.

pub mod saved;
mod steps;
mod vanish;

pub use steps::{Half, Step};
use vanish::Vanishing;

use crate::graph::{creation_order, Cycle};
use crate::model::{Change, Id, Res, State};
use crate::observe::Observed;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Create,
    Update,
    /// Delete then create: the attribute cannot change in place.
    Replace,
    Delete,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Action {
    pub op: Op,
    pub id: Id,
    pub before: Option<Res>,
    pub after: Option<Res>,
    pub changes: Vec<Change>,
    /// Why a replace is needed.
    pub reason: Option<String>,
    /// The file did not change here since the last apply: the kernel did,
    /// by hand or by other software.
    #[serde(default)]
    pub drift: bool,
}

/// Ordered actions that take the kernel from observed to desired.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Plan {
    pub lab: String,
    pub actions: Vec<Action>,
}

/// Counts for the closing line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for a in &self.actions {
            match a.op {
                Op::Create => s.add += 1,
                Op::Update => s.change += 1,
                Op::Delete => s.destroy += 1,
                Op::Replace => {
                    s.add += 1;
                    s.destroy += 1;
                }
            }
        }
        s
    }
}

/// Why no plan could be made.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PlanError {
    #[error("objects with the lab's names exist and are not the lab's: {}", .0.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join("; "))]
    Foreign(Vec<(Id, String)>),
    #[error(transparent)]
    Cycle(#[from] Cycle),
}

/// Why an object left half-made by a killed run is re-created.
const INTERRUPTED: &str = "an earlier run was interrupted while creating it";

/// The actions that make `obs` into `desired`. Deletes come first (reverse
/// dependency order), then creates and changes (dependency order).
pub fn diff(lab: &str, desired: &State, obs: &Observed) -> Result<Plan, PlanError> {
    if !obs.foreign.is_empty() {
        return Err(PlanError::Foreign(
            obs.foreign
                .iter()
                .map(|(i, m)| (i.clone(), m.clone()))
                .collect(),
        ));
    }
    let live = &obs.state;
    let replaced: BTreeSet<&Id> = desired
        .iter()
        .filter(|(id, want)| {
            live.get(*id)
                .is_some_and(|have| want.replace_reason(&want.changes_from(have)).is_some())
        })
        .map(|(id, _)| id)
        .collect();
    let gone = Vanishing::new(desired, obs, &replaced);

    let mut actions = Vec::new();
    for id in obs
        .interrupted
        .iter()
        .filter(|id| !desired.contains_key(*id))
    {
        actions.push(Action {
            op: Op::Delete,
            id: id.clone(),
            before: None,
            after: None,
            changes: vec![],
            reason: Some(INTERRUPTED.into()),
            drift: false,
        });
    }
    for id in creation_order(live)?.into_iter().rev() {
        if desired.contains_key(&id) || gone.implied(&id) {
            continue;
        }
        actions.push(Action {
            op: Op::Delete,
            id: id.clone(),
            before: live.get(&id).cloned(),
            after: None,
            changes: vec![],
            reason: None,
            drift: false,
        });
    }
    for id in creation_order(desired)? {
        let want = &desired[&id];
        let cause = gone.cause(&id).filter(|_| live.contains_key(&id));
        let have = live.get(&id).filter(|_| cause.is_none());
        if obs.interrupted.contains(&id) {
            actions.push(Action {
                op: Op::Replace,
                id: id.clone(),
                before: None,
                after: Some(want.clone()),
                changes: vec![],
                reason: Some(INTERRUPTED.into()),
                drift: false,
            });
            continue;
        }
        let action = match have {
            None => Action {
                op: Op::Create,
                id: id.clone(),
                before: None,
                after: Some(want.clone()),
                changes: vec![],
                // Made again because this plan's own deletes take it away.
                reason: cause,
                drift: false,
            },
            Some(have) => {
                let changes = want.changes_from(have);
                if changes.is_empty() {
                    continue;
                }
                let reason = want.replace_reason(&changes);
                let op = if reason.is_some() {
                    Op::Replace
                } else {
                    Op::Update
                };
                Action {
                    op,
                    id: id.clone(),
                    before: Some(have.clone()),
                    after: Some(want.clone()),
                    changes,
                    reason,
                    drift: false,
                }
            }
        };
        actions.push(action);
    }
    // Where the file is as it was at the last apply, any difference was
    // made outside topo, except what this plan's own deletes take along.
    let now = crate::model::digests(desired);
    for a in &mut actions {
        let ns = a.id.ns();
        let label = ns.label();
        let side_effect = a.op == Op::Create && gone.vanishes(&a.id);
        a.drift = !side_effect
            && obs
                .lab_state
                .applied
                .get(label)
                .is_some_and(|d| now.get(label) == Some(d));
    }
    Ok(Plan {
        lab: lab.to_string(),
        actions,
    })
}
