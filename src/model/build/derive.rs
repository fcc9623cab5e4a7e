//! Derived static routes (`routing: { static: auto }`): every router gets
//! a route to every subnet of the lab that a router is on, and to every
//! node's loopback, via the next router on a shortest path (counted in
//! routers), so any node reaches any other. A loopback of a node that is
//! no router is reached through the routers beside it, via the node.
//!
//! Two routers are neighbours when they have addresses in one subnet on
//! one segment (a management network, `default_route: false`, joins none).
//! A subnet's distance from a router is the fewest hops to a router on it.
//! Of the neighbours one hop closer, the next hop is the one whose name
//! sorts first (in natural order: r2 before r10), at its lowest address on
//! the shared subnet. A route the file writes for the prefix (any metric)
//! wins, and the derived one is left out.

use super::*;
use crate::spec::{Role, StaticRouting};
use std::collections::VecDeque;

/// One router's address on a subnet, as a neighbour sees it.
#[derive(Clone)]
struct Hop {
    router: usize,
    addr: IpAddr,
}

impl Builder<'_> {
    pub(super) fn derive_static_routes(&mut self, spec: &LabSpec) {
        let Some(auto) = spec
            .routing
            .as_ref()
            .and_then(|r| r.value.static_routes.as_ref())
            .filter(|s| s.value == StaticRouting::Auto)
        else {
            return;
        };
        let pos = Pos::of(auto);
        let mut routers: Vec<String> = self
            .roles
            .iter()
            .filter(|(_, (r, _))| *r == Role::Router)
            .map(|(n, _)| n.clone())
            .collect();
        routers.sort_by(|a, b| names::Natural(a).cmp(&names::Natural(b)));
        let number: BTreeMap<&str, usize> = routers
            .iter()
            .enumerate()
            .map(|(i, r)| (r.as_str(), i))
            .collect();
        let segs = self.segments();
        // Subnet → the routers on it; (segment, subnet) → their addresses.
        let mut on: BTreeMap<IpNet, BTreeSet<usize>> = BTreeMap::new();
        let mut shared: BTreeMap<(usize, IpNet), Vec<Hop>> = BTreeMap::new();
        for (link, seg) in &segs.of {
            let Ns::Node(n) = &link.ns else { continue };
            let Some(&r) = number.get(n.as_str()) else {
                continue;
            };
            if self.ifaces[link].master.is_some() {
                continue;
            }
            for a in self.routable(link) {
                let net = a.trunc();
                on.entry(net).or_default().insert(r);
                if !self.no_route.contains(&net) {
                    let hop = Hop {
                        router: r,
                        addr: a.addr(),
                    };
                    shared.entry((*seg, net)).or_default().push(hop);
                }
            }
        }
        // A loopback is on its router; another node's is reached through
        // the routers beside it, each with a route via the node.
        let mut direct: BTreeMap<(IpNet, usize), IpAddr> = BTreeMap::new();
        for (n, (lo, _)) in &self.loopbacks {
            if let Some(&r) = number.get(n.as_str()) {
                on.entry(*lo).or_default().insert(r);
                continue;
            }
            for (link, iface) in self.in_ns(&Ns::node(n)) {
                let Some(seg) = segs.of.get(link).filter(|_| iface.master.is_none()) else {
                    continue;
                };
                for a in self.routable(link) {
                    let beside = shared.get(&(*seg, a.trunc())).into_iter().flatten();
                    for h in beside.filter(|h| lo.addr().is_ipv4() == h.addr.is_ipv4()) {
                        direct.entry((*lo, h.router)).or_insert(a.addr());
                        on.entry(*lo).or_default().insert(h.router);
                    }
                }
            }
        }
        // Each router's neighbours: (neighbour, its address), per family.
        let mut next: Vec<Vec<Hop>> = vec![Vec::new(); routers.len()];
        for hops in shared.values() {
            for a in hops {
                for b in hops.iter().filter(|b| b.router != a.router) {
                    next[a.router].push(b.clone());
                }
            }
        }
        for n in &mut next {
            n.sort_by(|x, y| {
                let key = |h: &Hop| (names::Natural(&routers[h.router]), h.addr);
                key(x).cmp(&key(y))
            });
        }
        let mut derived = Vec::new();
        for (net, targets) in &on {
            let net = *net;
            let v4 = net.addr().is_ipv4();
            let dist = distances(&next, targets, v4);
            for (r, d) in dist.iter().enumerate() {
                if let Some(via) = direct.get(&(net, r)) {
                    derived.push((routers[r].clone(), net, *via));
                }
                let Some(d) = d.filter(|d| *d > 0) else {
                    continue;
                };
                let via = next[r]
                    .iter()
                    .filter(|h| h.addr.is_ipv4() == v4)
                    .find(|h| dist[h.router] == Some(d - 1))
                    .map(|h| h.addr);
                if let Some(via) = via {
                    derived.push((routers[r].clone(), net, via));
                }
            }
        }
        for (router, net, via) in derived {
            let ns = Ns::Node(router.into());
            let routes = self.routes.entry(ns.clone()).or_default();
            if routes.keys().any(|k| k.to == net) {
                continue;
            }
            let key = RouteKey::new(net, 0);
            let route = Route {
                via: Some(via),
                dev: None,
                scope: Scope::Global,
                derived: true,
            };
            routes.insert(key.clone(), (route, pos));
            self.origins.insert(Id::Route(RouteId { ns, key }), pos);
        }
    }
}

/// Hops from each router to the nearest of `targets`, over neighbours of
/// one family; `None` where no path leads.
fn distances(next: &[Vec<Hop>], targets: &BTreeSet<usize>, v4: bool) -> Vec<Option<usize>> {
    let mut dist = vec![None; next.len()];
    let mut queue = VecDeque::new();
    for t in targets {
        dist[*t] = Some(0);
        queue.push_back(*t);
    }
    while let Some(r) = queue.pop_front() {
        let d = dist[r].expect("queued with a distance");
        for h in next[r].iter().filter(|h| h.addr.is_ipv4() == v4) {
            if dist[h.router].is_none() {
                dist[h.router] = Some(d + 1);
                queue.push_back(h.router);
            }
        }
    }
    dist
}
