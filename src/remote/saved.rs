//! `topo plan --all-hosts -o plan.json`: every host's saved plan in one
//! document, for `topo apply plan.json --all-hosts` to apply exactly.

use crate::plan::saved::SavedPlan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Marks the document, so `apply` tells it from a one-machine saved plan.
pub const KIND: &str = "topo-saved-plans";
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlans {
    pub kind: String,
    pub format_version: u32,
    pub lab: String,
    /// The lab file the plans were made from, for messages.
    pub file: String,
    /// How to reach each host, as the file said when the plans were made.
    pub targets: Vec<super::Target>,
    /// Each host's saved plan, by host name.
    pub hosts: BTreeMap<String, SavedPlan>,
}

impl SavedPlans {
    pub fn new(
        lab: &str,
        file: &str,
        targets: Vec<super::Target>,
        hosts: BTreeMap<String, SavedPlan>,
    ) -> SavedPlans {
        SavedPlans {
            kind: KIND.to_string(),
            format_version: VERSION,
            lab: lab.to_string(),
            file: file.to_string(),
            targets,
            hosts,
        }
    }

    /// None when `text` is not such a document at all.
    pub fn parse(text: &str) -> Option<Result<SavedPlans, String>> {
        if !text.trim_start().starts_with('{') || !text.contains(KIND) {
            return None;
        }
        let doc: serde_json::Value = match serde_json::from_str(text) {
            Ok(d) => d,
            Err(e) => return Some(Err(format!("not a saved plan: {e}"))),
        };
        if doc.get("kind").and_then(|k| k.as_str()) != Some(KIND) {
            return None;
        }
        if doc.get("format_version").and_then(|v| v.as_u64()) != Some(VERSION.into()) {
            return Some(Err(
                "not a saved plan of this topo version; make it again with `topo plan --all-hosts -o`".into(),
            ));
        }
        Some(serde_json::from_value(doc).map_err(|e| format!("not a saved plan: {e}")))
    }
}
