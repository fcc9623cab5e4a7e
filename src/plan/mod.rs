//! The diff of desired and observed state, as ordered actions. Plan output
//! and apply both consume this one value; renderers live in `cli`.

mod ports;
pub mod saved;
mod steps;
mod vanish;

pub use steps::{Half, Step};
pub use vanish::VanishCx;

use crate::graph::{creation_order, Cycle};
use crate::kinds::{Id, Res, State, Target};
use crate::model::Change;
use crate::observe::Observed;
use serde::Serialize;
use std::borrow::Cow;
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

/// One step of a plan: an object of one kind, what the kernel has and
/// what the file wants, and what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(into = "ActionDoc", try_from = "ActionDoc")]
pub struct Action {
    pub op: Op,
    pub target: Target,
    pub changes: Vec<Change>,
    /// Why a replace is needed, or which of the plan's own deletes take
    /// the object away first.
    pub reason: Option<String>,
    /// The file did not change here since the last apply: the kernel did,
    /// by hand or by other software.
    pub drift: bool,
}

impl Action {
    fn new(op: Op, target: Target) -> Action {
        Action {
            op,
            target,
            changes: vec![],
            reason: None,
            drift: false,
        }
    }

    pub fn id(&self) -> Id {
        self.target.id()
    }

    /// The object as observed; `None` for a create.
    pub fn before(&self) -> Option<Res> {
        self.target.before()
    }

    /// The object as the file wants it; `None` for a delete.
    pub fn after(&self) -> Option<Res> {
        self.target.after()
    }
}

/// An action as saved plans write it: identity and attributes tagged
/// with their kind.
#[derive(Serialize, serde::Deserialize)]
struct ActionDoc {
    op: Op,
    id: Id,
    before: Option<Res>,
    after: Option<Res>,
    changes: Vec<Change>,
    reason: Option<String>,
    #[serde(default)]
    drift: bool,
}

impl From<Action> for ActionDoc {
    fn from(a: Action) -> ActionDoc {
        ActionDoc {
            op: a.op,
            id: a.id(),
            before: a.before(),
            after: a.after(),
            changes: a.changes,
            reason: a.reason,
            drift: a.drift,
        }
    }
}

impl TryFrom<ActionDoc> for Action {
    type Error = String;
    fn try_from(d: ActionDoc) -> Result<Action, String> {
        Ok(Action {
            op: d.op,
            target: Target::from_parts(d.id, d.before, d.after)?,
            changes: d.changes,
            reason: d.reason,
            drift: d.drift,
        })
    }
}

/// Ordered actions that take the kernel from observed to desired.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
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
    #[error("the lab clashes with objects that are not the lab's: {}", .0.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join("; "))]
    Foreign(Vec<(Id, String)>),
    #[error("the machine cannot give what the file asks: {}", .0.iter().map(|r| r.message.as_str()).collect::<Vec<_>>().join("; "))]
    Refused(Vec<crate::observe::Refusal>),
    #[error(transparent)]
    Cycle(#[from] Cycle),
}

/// Why an object left half-made by a killed run is re-created.
const INTERRUPTED: &str = "an earlier run was interrupted while creating it";

/// The actions that make `obs` into `desired`. Deletes come first (reverse
/// dependency order), then creates and changes (dependency order).
pub fn diff(lab: &str, desired: &State, obs: &Observed) -> Result<Plan, PlanError> {
    if !obs.refused.is_empty() {
        return Err(PlanError::Refused(obs.refused.clone()));
    }
    if !obs.foreign.is_empty() {
        return Err(PlanError::Foreign(
            obs.foreign
                .iter()
                .map(|(i, m)| (i.clone(), m.clone()))
                .collect(),
        ));
    }
    let live = &obs.state;
    let replaced: BTreeSet<Id> = desired
        .ids()
        .filter(|id| live.contains(id) && !live.same(desired, id))
        .filter(|id| {
            let t = Target::of(id, Some(live), Some(desired));
            t.replace_reason(&t.changes()).is_some()
        })
        .collect();
    let gone = vanish::vanishing(desired, obs, &replaced);
    // Nothing to do (the common case of plan, apply and watch): said
    // without ordering either state, which costs a graph of each.
    if obs.interrupted.is_empty()
        && gone.is_empty()
        && replaced.is_empty()
        && in_step(desired, live)
    {
        let mut actions = Vec::new();
        ports::bridge_mtus(desired, live, &gone, &mut actions);
        if actions.is_empty() {
            return Ok(Plan {
                lab: lab.to_string(),
                actions,
            });
        }
    }

    let mut actions = Vec::new();
    for id in obs.interrupted.iter().filter(|id| !desired.contains(id)) {
        let mut a = Action::new(Op::Delete, Target::of(id, None, None));
        a.reason = Some(INTERRUPTED.into());
        actions.push(a);
    }
    // Only what changes is ordered: an object no action touches and that
    // does not go with another is there before and after, so it orders
    // nothing. What goes along with a delete (`gone`) gets no action but
    // stays in the order, as deletes may depend on each other through it
    // (an interface's sysctl is set back before the namespace holding the
    // veth to it goes). Ordering both states whole was most of a small
    // plan's time at 1000 nodes.
    let deleted = only(live, |id| {
        gone.contains_key(id) || !desired.contains(id) && id.deleted_alone()
    });
    for id in creation_order(&deleted)?.into_iter().rev() {
        if gone.contains_key(&id) {
            continue;
        }
        actions.push(Action::new(Op::Delete, Target::of(&id, Some(live), None)));
    }
    let made = only(desired, |id| {
        obs.interrupted.contains(id)
            || gone.contains_key(id)
            || !live.contains(id)
            || !live.same(desired, id)
    });
    for id in creation_order(&made)? {
        if obs.interrupted.contains(&id) {
            let mut a = Action::new(Op::Replace, Target::of(&id, None, Some(desired)));
            a.reason = Some(INTERRUPTED.into());
            actions.push(a);
            continue;
        }
        if !live.contains(&id) || gone.contains_key(&id) {
            let mut a = Action::new(Op::Create, Target::of(&id, None, Some(desired)));
            // Made again because this plan's own deletes take it away.
            a.reason = gone.get(&id).cloned();
            actions.push(a);
            continue;
        }
        let target = Target::of(&id, Some(live), Some(desired));
        let changes = target.changes();
        if changes.is_empty() {
            continue;
        }
        let reason = target.replace_reason(&changes);
        let op = if reason.is_some() {
            Op::Replace
        } else {
            Op::Update
        };
        actions.push(Action {
            op,
            target,
            changes,
            reason,
            drift: false,
        });
    }
    ports::bridge_mtus(desired, live, &gone, &mut actions);
    notes(&mut actions, obs);
    // Where the file is as it was at the last apply, any difference was
    // made outside topo, except what this plan's own deletes take along.
    let now = crate::kinds::digests(desired);
    for a in &mut actions {
        let id = a.id();
        let label = id.ns().label().to_string();
        let side_effect = a.op == Op::Create && gone.contains_key(&id);
        a.drift = !side_effect
            && obs
                .lab_state
                .applied
                .get(&label)
                .is_some_and(|d| now.get(&label) == Some(d));
    }
    Ok(Plan {
        lab: lab.to_string(),
        actions,
    })
}

/// The objects of `st` that `keep` accepts; `st` itself when that is all.
fn only(st: &State, keep: impl Fn(&Id) -> bool) -> Cow<'_, State> {
    if st.ids().all(|id| keep(&id)) {
        Cow::Borrowed(st)
    } else {
        Cow::Owned(st.filtered(keep))
    }
}

/// Whether the loops below would find nothing: every live object the
/// file does not want goes with another, and every wanted one is there as
/// wanted.
fn in_step(desired: &State, live: &State) -> bool {
    live.ids()
        .all(|id| desired.contains(&id) || !id.deleted_alone())
        && desired.ids().all(|id| {
            live.same(desired, &id)
                || live.contains(&id)
                    && Target::of(&id, Some(live), Some(desired))
                        .changes()
                        .is_empty()
        })
}

/// What the plan should say about other owners (someone else's ports on a
/// bridge it deletes, other labs that hold a host sysctl it touches), as
/// each kind words it.
fn notes(actions: &mut [Action], obs: &Observed) {
    for a in actions {
        if let Some(note) = a.target.note(a.op, obs) {
            a.reason = Some(match a.reason.take() {
                Some(r) => format!("{r}; {note}"),
                None => note,
            });
        }
    }
}
