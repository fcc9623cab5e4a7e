//! What the kernel cannot hold for a lab: which host routes it added and the
//! values sysctls had before the lab changed them. /run/topo/LAB/state.json.

use crate::model::{Ns, RouteKey};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::PathBuf;

/// Where lab state and locks live; overridable for tests with TOPO_RUN_DIR.
pub fn run_dir() -> PathBuf {
    std::env::var_os("TOPO_RUN_DIR").map_or_else(|| PathBuf::from("/run/topo"), PathBuf::from)
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabState {
    /// Routes this lab added to the host's main table.
    #[serde(default)]
    pub host_routes: BTreeSet<RouteKey>,
    /// Namespace (`host` or a node) → sysctl → the value before the lab
    /// first set it.
    #[serde(default)]
    sysctls: BTreeMap<String, BTreeMap<String, String>>,
    /// Namespaces (`host` or a node) where the lab keeps an nft table: saves
    /// running `nft` in every node to look.
    #[serde(default)]
    pub nft: BTreeSet<String>,
    /// The namespace, bridge or veth being created (or namespace being
    /// deleted) when the last run stopped: it may exist without its
    /// ownership mark, and is the lab's.
    #[serde(default)]
    pub pending: BTreeSet<crate::model::Id>,
    /// Per namespace, a fingerprint of what the file wanted at the last
    /// successful apply: where it still matches, a plan's changes are drift.
    #[serde(default)]
    pub applied: BTreeMap<String, u64>,
}

impl LabState {
    /// The value `key` had before the lab first set it.
    pub fn original(&self, ns: &Ns, key: &str) -> Option<&String> {
        self.sysctls.get(ns.label()).and_then(|m| m.get(key))
    }

    pub fn record(&mut self, ns: &Ns, key: &str, was: String) {
        self.sysctls
            .entry(ns.label().to_string())
            .or_default()
            .insert(key.to_string(), was);
    }

    pub fn forget(&mut self, ns: &Ns, key: &str) {
        if let Some(m) = self.sysctls.get_mut(ns.label()) {
            m.remove(key);
            if m.is_empty() {
                self.sysctls.remove(ns.label());
            }
        }
    }

    /// Drops the records of a namespace that is deleted or created afresh:
    /// its sysctls die with it.
    pub fn forget_namespace(&mut self, ns: &Ns) {
        self.sysctls.remove(ns.label());
        self.nft.remove(ns.label());
    }

    /// Every (namespace, key) the lab has changed.
    pub fn recorded(&self) -> impl Iterator<Item = (Ns, &String)> {
        self.sysctls
            .iter()
            .flat_map(|(ns, m)| m.keys().map(move |k| (Ns::parse(ns), k)))
    }

    pub fn is_empty(&self) -> bool {
        self.host_routes.is_empty()
            && self.sysctls.values().all(BTreeMap::is_empty)
            && self.nft.is_empty()
            && self.pending.is_empty()
            && self.applied.is_empty()
    }
}

fn file(lab: &str) -> PathBuf {
    run_dir().join(lab).join("state.json")
}

pub fn load(lab: &str) -> io::Result<LabState> {
    match std::fs::read(file(lab)) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", file(lab).display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(LabState::default()),
        Err(e) => Err(e),
    }
}

/// Writes atomically (temp file + rename); removes the file when empty.
pub fn save(lab: &str, st: &LabState) -> io::Result<()> {
    let path = file(lab);
    if st.is_empty() {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        // The lab's folder goes with its last record (it may hold other
        // files: then it stays).
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir(dir);
        }
        return Ok(());
    }
    std::fs::create_dir_all(path.parent().expect("state file has a folder"))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(st).expect("state serializes"),
    )?;
    std::fs::rename(tmp, path)
}
