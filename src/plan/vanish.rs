//! What the kernel removes by itself as a consequence of a plan's deletes:
//! those objects need no delete of their own, and the ones the file still
//! wants are created again after it.

use crate::model::{Id, IfRef, Ns, Res, State};
use crate::observe::Observed;
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};

/// Objects that disappear with their container or their cause: everything
/// in a deleted namespace (veths with an end there too), the settings and
/// addresses of deleted or replaced interfaces, routes through a deleted
/// device, IPv4 secondaries deleted with their primary address, and IPv4
/// routes of a device that loses its last IPv4 address.
pub(super) struct Vanishing {
    namespaces: BTreeSet<Ns>,
    links: BTreeSet<IfRef>,
    /// veth pairs the kernel removes with a deleted namespace.
    veths: BTreeSet<Id>,
    /// Routes and addresses that go as a side effect, with the cause.
    others: BTreeMap<Id, String>,
}

impl Vanishing {
    pub(super) fn new(desired: &State, obs: &Observed, replaced: &BTreeSet<&Id>) -> Self {
        let live = &obs.state;
        let mut v = Vanishing {
            namespaces: BTreeSet::new(),
            links: BTreeSet::new(),
            veths: BTreeSet::new(),
            others: BTreeMap::new(),
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
        // A port of a deleted bridge stays, detached: configured afresh.
        for (id, res) in live {
            if let (
                Id::Link { link },
                Res::Link {
                    master: Some(m), ..
                },
            ) = (id, res)
            {
                let bridge = IfRef::new(link.ns.clone(), m);
                if v.links.contains(&bridge) && !v.links.contains(link) {
                    v.others
                        .insert(id.clone(), format!("it leaves {bridge}, which is deleted"));
                }
            }
        }
        v.addresses(desired, obs);
        for (id, res) in live {
            if let (Id::Route { ns, .. }, Res::Route { dev: Some(d), .. }) = (id, res) {
                let dev = IfRef::new(ns.clone(), d);
                if v.links.contains(&dev) {
                    v.others
                        .insert(id.clone(), format!("the kernel removes it with {dev}"));
                }
            }
        }
        v
    }

    /// IPv4 addresses the kernel deletes with their primary, and IPv4 routes
    /// of an interface left without an IPv4 address.
    fn addresses(&mut self, desired: &State, obs: &Observed) {
        let mut v4: BTreeMap<&IfRef, Vec<&IpNet>> = BTreeMap::new();
        for id in obs.state.keys() {
            if let Id::Address { link, address } = id {
                if address.addr().is_ipv4() && !self.links.contains(link) {
                    v4.entry(link).or_default().push(address);
                }
            }
        }
        for (link, addrs) in v4 {
            let id = |a: &IpNet| Id::Address {
                link: link.clone(),
                address: *a,
            };
            let deleted: Vec<&IpNet> = addrs
                .iter()
                .copied()
                .filter(|a| !desired.contains_key(&id(a)))
                .collect();
            if deleted.is_empty() {
                continue;
            }
            // Without promote_secondaries (which topo sets on what it makes)
            // a deleted primary takes the secondaries of its subnet along.
            if !obs.promoting.contains(link) {
                for p in deleted.iter().filter(|a| !obs.secondary.contains(&id(a))) {
                    for s in addrs.iter().filter(|s| {
                        *s != p && p.contains(&s.addr()) && obs.secondary.contains(&id(s))
                    }) {
                        self.others
                            .entry(id(s))
                            .or_insert_with(|| format!("the kernel removes it with {p}"));
                    }
                }
            }
            let left = addrs
                .iter()
                .any(|a| !deleted.contains(a) && !self.others.contains_key(&id(a)));
            if left {
                continue;
            }
            for (rid, res) in &obs.state {
                let Id::Route { ns, key } = rid else { continue };
                let on_link = matches!(res, Res::Route { dev: Some(d), .. } if *d == link.name);
                if *ns == link.ns && key.to.addr().is_ipv4() && on_link {
                    self.others.entry(rid.clone()).or_insert_with(|| {
                        format!("the kernel removes it when {link} loses its last IPv4 address")
                    });
                }
            }
        }
    }

    /// Why `id` goes away as a side effect of another action, if it does.
    pub(super) fn cause(&self, id: &Id) -> Option<String> {
        if let Some(c) = self.others.get(id) {
            return Some(c.clone());
        }
        let ns = id.ns();
        match id {
            Id::Netns { .. } => None,
            Id::Veth { link } if self.veths.contains(id) => {
                Some(format!("it goes with a deleted namespace ({})", link.ns))
            }
            Id::Veth { .. } => None,
            Id::Link { link } | Id::Address { link, .. } if self.links.contains(link) => {
                Some(format!("{link} is made anew"))
            }
            _ if self.namespaces.contains(&ns) => Some(format!("namespace {ns} is made anew")),
            _ => None,
        }
    }

    pub(super) fn vanishes(&self, id: &Id) -> bool {
        self.cause(id).is_some()
    }

    /// Whether a live object absent from the file needs no delete of its own.
    pub(super) fn implied(&self, id: &Id) -> bool {
        // Link settings are not objects: they go with the device.
        matches!(id, Id::Link { .. }) || self.vanishes(id)
    }
}
