//! What a kind sees when it reads its objects out of one namespace: the
//! namespace's dump, the sysctls and nft table read for the lab, the file's
//! objects, and the observation it adds to.

use super::Observed;
use crate::kinds::{Id, LinkId, State};
use crate::machine::{Dump, Link, Registry, Table};
use crate::model::{IfRef, Ns};
use std::collections::BTreeMap;

pub struct ObserveNs<'a> {
    pub lab: &'a str,
    /// `topo:LAB`, the lab's mark.
    pub mark: &'a str,
    pub ns: &'a Ns,
    pub dump: &'a Dump,
    /// The file's objects; `None` for destroy without a file.
    pub desired: Option<&'a State>,
    pub obs: &'a mut Observed,
    /// Values of the sysctls the lab sets or once set here.
    pub sysctls: BTreeMap<String, String>,
    /// The lab's nft table here, when it was read.
    pub nft: Option<Table>,
    /// Host sysctls several labs hold.
    pub registry: &'a Registry,
    by_index: BTreeMap<u32, usize>,
}

impl<'a> ObserveNs<'a> {
    pub fn new(
        lab: &'a str,
        mark: &'a str,
        ns: &'a Ns,
        dump: &'a Dump,
        desired: Option<&'a State>,
        obs: &'a mut Observed,
    ) -> Self {
        static EMPTY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
        let by_index = dump
            .links
            .iter()
            .enumerate()
            .map(|(i, l)| (l.index, i))
            .collect();
        ObserveNs {
            lab,
            mark,
            ns,
            dump,
            desired,
            obs,
            sysctls: BTreeMap::new(),
            nft: None,
            registry: EMPTY.get_or_init(Registry::new),
            by_index,
        }
    }

    /// Whether the lab owns `l` (its mark, or a veth end's mark).
    pub fn owned(&self, l: &Link) -> bool {
        l.alias
            .as_deref()
            .is_some_and(|a| a == self.mark || a.starts_with(&format!("{}:", self.mark)))
    }

    /// The interfaces of this namespace the lab owns (not a node's lo).
    pub fn owned_links(&self) -> Vec<Link> {
        let dump: &'a Dump = self.dump;
        dump.links
            .iter()
            .filter(|l| l.name != "lo" && self.owned(l))
            .cloned()
            .collect()
    }

    pub fn link_by_index(&self, index: u32) -> Option<Link> {
        let dump: &'a Dump = self.dump;
        self.by_index.get(&index).map(|i| dump.links[*i].clone())
    }

    pub fn name_of(&self, index: u32) -> Option<crate::model::Name> {
        self.by_index
            .get(&index)
            .map(|i| self.dump.links[*i].name.as_str().into())
    }

    /// Whether the file wants `id`.
    pub fn wants(&self, id: &Id) -> bool {
        self.desired.is_some_and(|s| s.contains(id))
    }

    /// An interface here the lab does not own: the half-made device of a
    /// killed run, a wanted name someone else took, or a guest on one of
    /// the lab's bridges.
    pub fn unowned_interface(&mut self, l: &Link, r: &IfRef) {
        let pending = self.pending_ends();
        let lab_namespace =
            matches!(self.ns, Ns::Node(n) if !self.obs.attached_now.contains_key(n.as_str()));
        if lab_namespace && !pending.contains_key(r) {
            let what = match l.kind.as_deref() {
                Some("veth") => format!("{} (a veth, and so its other end)", l.name),
                _ => l.name.to_string(),
            };
            self.obs
                .inmates
                .entry(self.ns.clone())
                .or_default()
                .push(what);
        }
        if let Some(id) = pending.get(r) {
            self.obs.interrupted.insert(id.clone());
        } else if self.wants(&Id::Link(LinkId { link: r.clone() })) {
            let what = l.kind.as_deref().unwrap_or("interface");
            let msg = format!(
                "{what} {r} exists and is not owned by lab {}{}",
                self.lab,
                crate::model::other_owner(l.alias.as_deref())
            );
            self.obs
                .foreign
                .insert(Id::Link(LinkId { link: r.clone() }), msg);
        }
        let master = l.master.and_then(|m| self.link_by_index(m));
        let uplink = self.obs.lab_state.uplink(r).is_some();
        if let Some(m) = master.filter(|m| self.owned(m) && !uplink) {
            self.obs
                .guests
                .entry(IfRef::new(self.ns.clone(), &m.name))
                .or_default()
                .push(l.name.clone());
        }
    }

    /// The device an interrupted run was creating, by either of its names.
    fn pending_ends(&self) -> BTreeMap<IfRef, Id> {
        let mut ends = BTreeMap::new();
        for id in &self.obs.lab_state.pending {
            for name in id.makes(self.desired) {
                ends.insert(name, id.clone());
            }
        }
        ends
    }

    /// Addresses on the host that overlap subnets the host routes to
    /// another lab or to the machine.
    pub fn subnet_clashes(&mut self) {
        if let Some(desired) = self.desired {
            super::clash::subnet_clashes(self.lab, self.dump, desired, self.obs);
        }
    }
}

/// What a kind sees when it reads its objects outside the namespaces'
/// dumps, once per lab: files and processes the machine read for the lab.
pub struct ObserveLab<'a> {
    pub lab: &'a str,
    /// `topo:LAB`, the lab's mark.
    pub mark: &'a str,
    /// The file's objects; `None` for destroy without a file.
    pub desired: Option<&'a State>,
    pub obs: &'a mut Observed,
    /// /etc/netns/NODE/NAME files read: (node, name) → text.
    pub netns_files: BTreeMap<(String, String), String>,
    /// The lab's DHCP servers, by their files.
    pub dhcp: Vec<crate::machine::DhcpFound>,
    /// Why no DHCP server can run here, when the file wants one.
    pub dhcp_unavailable: Option<String>,
}
