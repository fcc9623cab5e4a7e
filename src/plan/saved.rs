//! Saved plans (`topo plan -o plan.json`, `topo apply plan.json`): the
//! actions together with what they were planned against, so an apply can
//! refuse, changing nothing, when the kernel has moved on since.

use super::{Op, Plan};
use crate::kinds::{Id, Res, State, Target};
use crate::observe::Observed;
use serde::{Deserialize, Serialize};

/// Marks the document so `apply` can tell it from a lab file.
pub const SAVED_PLAN_KIND: &str = "topo-saved-plan";
/// 2: MACs are text (`aa:bb:cc:dd:ee:ff`).
pub const SAVED_PLAN_VERSION: u32 = 2;

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
            desired: desired.entries(),
            plan: plan.clone(),
        }
    }

    /// The saved plan `text` holds, if it is one; `None` for anything else
    /// (a lab file, which may be written in JSON too).
    pub fn parse(text: &str) -> Option<Result<SavedPlan, String>> {
        if !text.trim_start().starts_with('{') {
            return None;
        }
        let doc: serde_json::Value = match serde_json::from_str(text) {
            Ok(d) => d,
            // Broken JSON that says it is a saved plan is a broken saved plan.
            Err(e) if text.contains(SAVED_PLAN_KIND) => {
                return Some(Err(format!("not a saved plan: {e}")))
            }
            Err(_) => return None,
        };
        if doc.get("kind").and_then(|k| k.as_str()) != Some(SAVED_PLAN_KIND) {
            return None;
        }
        if doc.get("format_version").and_then(|v| v.as_u64()) != Some(SAVED_PLAN_VERSION.into()) {
            return Some(Err(
                "not a saved plan of this topo version; make it again with `topo plan -o`".into(),
            ));
        }
        Some(serde_json::from_value(doc).map_err(|e| format!("not a saved plan: {e}")))
    }

    /// The desired state the plan was made for; refuses a document whose
    /// identities and attributes disagree.
    pub fn desired_state(&self) -> Result<State, String> {
        let mut st = State::new();
        for (id, res) in &self.desired {
            st.put(id.clone(), res.clone())?;
        }
        Ok(st)
    }

    /// The objects whose live state differs from what the plan observed,
    /// each with a reason. Empty: the plan still applies as it is.
    pub fn stale(&self, now: &Observed) -> Vec<String> {
        let mut out: Vec<String> = now.foreign.values().cloned().collect();
        for a in &self.plan.actions {
            let id = a.id();
            let live = now.state.get(&id);
            let before = a.before();
            let interrupted = now.interrupted.contains(&id);
            let fine = before == live || (interrupted && a.op != Op::Update);
            if !fine {
                out.push(format!("{id}: {}", moved_on(&id, before, live)));
            }
        }
        out
    }
}

/// How an object differs from what a plan saw, in words: `planned as
/// absent, now present (up, mtu 1500)`, or the attributes that changed.
fn moved_on(id: &Id, planned: Option<Res>, now: Option<Res>) -> String {
    let words = |r: &Res| {
        let d = r.describe();
        if d.is_empty() {
            "present".to_string()
        } else {
            format!("present ({d})")
        }
    };
    match (planned, now) {
        (None, None) => "changed since the plan".to_string(),
        (None, Some(r)) => format!("planned as absent, now {}", words(&r)),
        (Some(r), None) => format!("planned as {}, now absent", words(&r)),
        (Some(was), Some(is)) => {
            let (w, i) = (words(&was), words(&is));
            let changes: Vec<String> = Target::from_parts(id.clone(), Some(was), Some(is))
                .map(|t| t.changes())
                .unwrap_or_default()
                .iter()
                .map(|c| format!("{} {} → {}", c.attr, c.before, c.after))
                .collect();
            if changes.is_empty() {
                format!("planned as {w}, now {i}")
            } else {
                format!("changed since the plan: {}", changes.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{Link, LinkId, Netns};
    use crate::model::{IfRef, Mac, Ns};

    fn link(up: bool, mtu: u32) -> Res {
        Res::Link(Link {
            up,
            mtu: Some(mtu),
            mac: Some(Mac([0x46, 0x7f, 0, 0, 0, 1])),
            master: None,
        })
    }

    #[test]
    fn staleness_is_said_in_words() {
        let id = Id::Link(LinkId {
            link: IfRef::new(Ns::parse("red"), "eth0"),
        });
        assert_eq!(
            moved_on(&id, None, Some(link(true, 1500))),
            "planned as absent, now present (up, mtu 1500, mac 46:7f:00:00:00:01)"
        );
        assert_eq!(
            moved_on(&Netns::of("red"), Some(Res::Netns(Netns::default())), None),
            "planned as present, now absent"
        );
        assert_eq!(
            moved_on(&id, Some(link(true, 1500)), Some(link(false, 1300))),
            "changed since the plan: up true → false, mtu 1500 → 1300"
        );
    }
}
