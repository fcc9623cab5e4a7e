//! Saved plans (`topo plan -o plan.json`, `topo apply plan.json`): the
//! actions together with what they were planned against, so an apply can
//! refuse, changing nothing, when the kernel has moved on since.

use super::{Op, Plan};
use crate::model::{Id, Res, State};
use crate::observe::Observed;
use serde::{Deserialize, Serialize};

/// Marks the document so `apply` can tell it from a lab file.
pub const SAVED_PLAN_KIND: &str = "topo-saved-plan";
pub const SAVED_PLAN_VERSION: u32 = 1;

/// A plan with everything needed to apply it later.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    pub kind: String,
    pub format_version: u32,
    /// The lab file the plan was made from, for messages.
    pub file: String,
    pub ipv6: bool,
    pub nodes: Vec<String>,
    /// The desired state (as pairs: JSON keys must be strings).
    pub desired: Vec<(Id, Res)>,
    /// Each action's `before` is what the plan observed for that object.
    pub plan: Plan,
}

impl SavedPlan {
    pub fn new(file: &str, ipv6: bool, nodes: Vec<String>, desired: &State, plan: &Plan) -> Self {
        SavedPlan {
            kind: SAVED_PLAN_KIND.to_string(),
            format_version: SAVED_PLAN_VERSION,
            file: file.to_string(),
            ipv6,
            nodes,
            desired: desired
                .iter()
                .map(|(i, r)| (i.clone(), r.clone()))
                .collect(),
            plan: plan.clone(),
        }
    }

    pub fn desired_state(&self) -> State {
        self.desired.iter().cloned().collect()
    }

    /// The objects whose live state differs from what the plan observed,
    /// each with a reason. Empty: the plan still applies as it is.
    pub fn stale(&self, now: &Observed) -> Vec<String> {
        let mut out: Vec<String> = now.foreign.values().cloned().collect();
        for a in &self.plan.actions {
            let live = now.state.get(&a.id);
            let interrupted = now.interrupted.contains(&a.id);
            let fine = match (&a.before, live) {
                // Rules are compared by their comment: present is all we know.
                (Some(Res::Rule { .. }), Some(Res::Rule { .. })) => true,
                (before, live) => before.as_ref() == live || (interrupted && a.op != Op::Update),
            };
            if !fine {
                let was = a
                    .before
                    .as_ref()
                    .map_or("absent".to_string(), |r| format!("{r:?}"));
                let is = live.map_or("absent".to_string(), |r| format!("{r:?}"));
                out.push(format!("{}: planned against {was}, now {is}", a.id));
            }
        }
        out
    }
}
