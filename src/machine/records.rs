//! The lab's records: what the kernel cannot hold (host routes the lab
//! added, values sysctls had before it, where it keeps nft tables, the
//! object a killed run was making, what the file wanted at the last
//! apply), and the host sysctls several labs share. Plain data: each
//! machine keeps them its own way.

use crate::model::{Attach, Id, IfRef, Ns, RouteKey};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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
    pub pending: BTreeSet<Id>,
    /// Per namespace, a fingerprint of what the file wanted at the last
    /// successful apply: where it still matches, a plan's changes are drift.
    #[serde(default)]
    pub applied: BTreeMap<String, u64>,
    /// Namespace → interface the lab made an uplink of → how it was before.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    uplinks: BTreeMap<String, BTreeMap<String, UplinkRecord>>,
    /// Nodes the lab writes /etc/netns/NODE files for, and whether it made
    /// that directory (then it removes it once empty).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub netns_etc: BTreeMap<String, EtcRecord>,
    /// The lab made /etc/netns itself (then it removes it once empty).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub etc_root_made: bool,
    /// Nodes standing for namespaces topo did not create: where each is,
    /// and the inode of the namespace the lab configured there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attached: BTreeMap<String, AttachedRecord>,
}

/// A namespace the lab attached a node to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedRecord {
    pub at: Attach,
    pub inode: u64,
}

/// The /etc/netns/NODE directory of a node the lab writes files for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EtcRecord {
    pub made_dir: bool,
}

/// An interface the lab made an uplink of, as it was before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UplinkRecord {
    pub up: bool,
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

    pub fn uplink(&self, l: &IfRef) -> Option<UplinkRecord> {
        self.uplinks
            .get(l.ns.label())?
            .get(l.name.as_str())
            .copied()
    }

    pub fn record_uplink(&mut self, l: &IfRef, was: UplinkRecord) {
        self.uplinks
            .entry(l.ns.label().to_string())
            .or_default()
            .insert(l.name.to_string(), was);
    }

    pub fn forget_uplink(&mut self, l: &IfRef) {
        if let Some(m) = self.uplinks.get_mut(l.ns.label()) {
            m.remove(l.name.as_str());
            if m.is_empty() {
                self.uplinks.remove(l.ns.label());
            }
        }
    }

    /// The interfaces of `ns` the lab made uplinks of.
    pub fn uplinks_in(&self, ns: &Ns) -> impl Iterator<Item = &String> {
        self.uplinks
            .get(ns.label())
            .into_iter()
            .flat_map(|m| m.keys())
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
            && self.uplinks.is_empty()
            && self.netns_etc.is_empty()
            && !self.etc_root_made
            && self.attached.is_empty()
    }
}

/// One shared host sysctl: its value before any lab, and each lab's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shared {
    pub original: String,
    pub holders: BTreeMap<String, String>,
}

/// Every shared host sysctl, by key.
pub type Registry = BTreeMap<String, Shared>;
