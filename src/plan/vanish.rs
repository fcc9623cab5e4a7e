//! What the kernel removes by itself as a consequence of a plan's deletes
//! and replaces: those objects need no delete of their own, and the ones
//! the file still wants are made again after. Each kind says what goes
//! along with one of its objects (`Kind::takes_along`); this file follows
//! that to the end.

use crate::graph::Index;
use crate::kinds::{self, AddressId, Id, LinkId, State};
use crate::model::{IfRef, Ns};
use crate::observe::Observed;
use std::collections::{BTreeMap, BTreeSet};

/// What the kinds see and fill while the consequences are worked out.
pub struct VanishCx<'a> {
    pub live: &'a State,
    pub desired: &'a State,
    pub obs: &'a Observed,
    /// Lookups over the live state.
    pub ix: Index,
    /// Every live object, by namespace (what goes with a namespace; the
    /// order needs none of it, so it is not in `ix`).
    pub by_ns: BTreeMap<Ns, Vec<Id>>,
    /// Namespaces the plan deletes.
    pub namespaces: BTreeSet<Ns>,
    /// Devices the plan deletes or makes anew.
    pub links: BTreeSet<IfRef>,
    gone: BTreeMap<Id, String>,
    queue: Vec<Id>,
}

impl VanishCx<'_> {
    /// `id` (if live) goes with something else, for `cause`.
    pub fn take(&mut self, id: Id, cause: String) {
        if self.live.contains(&id) && !self.gone.contains_key(&id) {
            self.gone.insert(id.clone(), cause);
            self.queue.push(id);
        }
    }

    /// Whether `id` goes with something else.
    pub fn going(&self, id: &Id) -> bool {
        self.gone.contains_key(id)
    }

    /// A device goes (or is made anew): its settings, addresses and
    /// per-interface sysctls go with it, and the routes and VXLAN devices
    /// over it.
    pub fn device_goes(&mut self, l: &IfRef) {
        self.links.insert(l.clone());
        let anew = format!("{l} is made anew");
        self.take(Id::Link(LinkId { link: l.clone() }), anew.clone());
        for address in self.ix.addresses.get(l).cloned().unwrap_or_default() {
            let id = AddressId {
                link: l.clone(),
                address,
            };
            self.take(Id::Address(id), anew.clone());
        }
        // A per-interface sysctl the file still wants is set again on the
        // new interface; one it no longer wants is deleted by its own
        // action (before the device), which forgets the recorded value.
        for s in self.ix.sysctls_of.get(l).cloned().unwrap_or_default() {
            let id = Id::Sysctl(s);
            if self.desired.contains(&id) {
                self.take(id, anew.clone());
            }
        }
        for v in self.ix.over.get(l).cloned().unwrap_or_default() {
            let cause = format!("the kernel removes it with its underlay {l}");
            self.take(Id::Vxlan(v), cause);
        }
        for r in self.ix.routes_via.get(l).cloned().unwrap_or_default() {
            self.take(Id::Route(r), format!("the kernel removes it with {l}"));
        }
        // A DHCP server outlives its interface, serving nothing: started
        // again when the file keeps it, else stopped by its own action.
        let dhcp = Id::Dhcp(crate::kinds::DhcpId { link: l.clone() });
        if self.desired.contains(&dhcp) {
            self.take(dhcp, anew.clone());
        }
    }
}

/// Every live object that goes as a side effect of deleting what the file
/// no longer wants and making anew what is `replaced`, with the cause.
pub(super) fn vanishing(
    desired: &State,
    obs: &Observed,
    replaced: &BTreeSet<Id>,
) -> BTreeMap<Id, String> {
    let live = &obs.state;
    // Popped from the end: containers (namespaces, devices) first, so what
    // goes with them is told by them.
    let mut seeds: Vec<Id> = live
        .ids()
        .filter(|id| !desired.contains(id) || replaced.contains(id))
        .collect();
    // Nothing leaves: the lookups over the live state (a few MiB at 1000
    // nodes) are not worth building.
    if seeds.is_empty() {
        return BTreeMap::new();
    }
    seeds.reverse();
    let mut cx = VanishCx {
        live,
        desired,
        obs,
        ix: Index::new(live),
        by_ns: live
            .ids()
            .fold(BTreeMap::new(), |mut m: BTreeMap<Ns, Vec<Id>>, id| {
                m.entry(id.ns()).or_default().push(id);
                m
            }),
        namespaces: BTreeSet::new(),
        links: BTreeSet::new(),
        gone: BTreeMap::new(),
        queue: seeds,
    };
    while let Some(id) = cx.queue.pop() {
        kinds::takes_along(&id, &mut cx);
    }
    cx.gone
}
