//! The diff of desired and observed state, as ordered actions. Plan output
//! and apply both consume this one value; renderers live in `cli`.

pub mod saved;

use crate::graph::{creation_order, Cycle};
use crate::model::{Change, Id, IfRef, Ns, Res, State};
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
    let gone = Vanishing::new(desired, live, &replaced);

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
        let have = live.get(&id).filter(|_| !gone.vanishes(&id));
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
                reason: None,
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
    // made outside topo.
    let now = crate::model::digests(desired);
    for a in &mut actions {
        let ns = a.id.ns();
        let label = ns.label();
        a.drift = obs
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

/// Objects that disappear with their container: everything in a deleted
/// namespace (veths with an end there too), the settings and addresses of
/// deleted or replaced interfaces.
struct Vanishing {
    namespaces: BTreeSet<Ns>,
    links: BTreeSet<IfRef>,
    /// veth pairs the kernel removes with a deleted namespace.
    veths: BTreeSet<Id>,
    /// Routes the kernel removes with their output interface.
    routes: BTreeSet<Id>,
}

impl Vanishing {
    fn new(desired: &State, live: &State, replaced: &BTreeSet<&Id>) -> Self {
        let mut v = Vanishing {
            namespaces: BTreeSet::new(),
            links: BTreeSet::new(),
            veths: BTreeSet::new(),
            routes: BTreeSet::new(),
        };
        for id in live.keys() {
            if let Id::Netns { name } = id {
                if !desired.contains_key(id) {
                    v.namespaces.insert(Ns::Node(name.clone()));
                }
            }
        }
        for (id, res) in live {
            let dropped = !desired.contains_key(id) || replaced.contains(id);
            match (id, res) {
                (Id::Bridge { link }, _) if dropped => {
                    v.links.insert(link.clone());
                }
                (Id::Veth { link }, Res::Veth { peer }) => {
                    if v.namespaces.contains(&link.ns) || v.namespaces.contains(&peer.ns) {
                        v.veths.insert(id.clone());
                    }
                    if dropped || v.veths.contains(id) {
                        v.links.insert(link.clone());
                        v.links.insert(peer.clone());
                    }
                }
                _ => {}
            }
        }
        for (id, res) in live {
            if let (Id::Route { ns, .. }, Res::Route { dev: Some(d), .. }) = (id, res) {
                if v.links.contains(&IfRef::new(ns.clone(), d)) {
                    v.routes.insert(id.clone());
                }
            }
        }
        v
    }

    /// Whether `id` goes away as a side effect of another action.
    fn vanishes(&self, id: &Id) -> bool {
        match id {
            Id::Netns { .. } => false,
            Id::Veth { .. } => self.veths.contains(id),
            Id::Route { .. } if self.routes.contains(id) => true,
            Id::Link { link } | Id::Address { link, .. } => {
                self.links.contains(link) || self.namespaces.contains(&link.ns)
            }
            _ => self.namespaces.contains(&id.ns()),
        }
    }

    /// Whether a live object absent from the file needs no delete of its own.
    fn implied(&self, id: &Id) -> bool {
        // Link settings are not objects: they go with the device.
        matches!(id, Id::Link { .. }) || self.vanishes(id)
    }
}
