//! Edits of a lab, as a user makes them between two applies: nodes added,
//! removed and renamed, links rewired, addresses, routes, MTUs, MACs and
//! sysctls changed, bridges added and removed, network subnets and
//! members changed, NAT and filter rules changed. An edit is four random
//! numbers read against the lab it is applied to, so it always applies
//! and shrinks well; every edit keeps the lab valid.

use super::lab::{Bridge, End, Lab, Link, Network, Node, Route};
use proptest::prelude::*;

const NODES: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];
const MTUS: [Option<u32>; 4] = [None, Some(1400), Some(1500), Some(9000)];

#[derive(Clone, Debug)]
pub struct Edit {
    pub op: u8,
    pub a: u8,
    pub b: u8,
    pub c: u8,
}

pub fn edit() -> impl Strategy<Value = Edit> {
    (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(op, a, b, c)| Edit {
        op,
        a,
        b,
        c,
    })
}

/// A lab made by `n` random edits of an empty one (nodes come first).
pub fn lab(n: std::ops::Range<usize>) -> impl Strategy<Value = Lab> {
    prop::collection::vec(edit(), n).prop_map(|edits| {
        let mut lab = Lab::default();
        lab.edit(&Edit {
            op: 13,
            a: 0,
            b: 0,
            c: 0,
        });
        for (a, b) in [(0, 0), (1, 2), (2, 3)] {
            lab.edit(&Edit { op: 0, a, b, c: 0 });
        }
        for e in &edits {
            lab.edit(e);
        }
        lab
    })
}

fn pick<T: Clone>(v: &[T], i: u8) -> Option<T> {
    (!v.is_empty()).then(|| v[i as usize % v.len()].clone())
}

impl Lab {
    pub fn edit(&mut self, e: &Edit) {
        let (a, b, c) = (e.a, e.b, e.c);
        let nodes: Vec<String> = self.nodes.keys().cloned().collect();
        let node = pick(&nodes, a);
        match e.op % 22 {
            0 => self.add_node(a, b),
            1 => node.into_iter().for_each(|n| self.add_link(&n, a, b)),
            2 => node.into_iter().for_each(|n| self.remove_node(&n)),
            3 => node.into_iter().for_each(|n| self.rename_node(&n, b)),
            4 => self.rewire(a, b),
            5 => {
                if let Some(i) = self.link_index(a) {
                    self.links[i].host = 0;
                    self.links[i].host = self.free_host(b);
                }
            }
            6 => self
                .link_mut(a)
                .into_iter()
                .for_each(|l| l.extra = !l.extra),
            7 => {
                let r = Route {
                    to: (b % 4 != 0).then_some(b % 5),
                    metric: [0, 100][c as usize % 2],
                    via: c / 2,
                    dev_only: b % 3 == 1,
                    v6: self.ipv6 && c % 3 == 0,
                };
                if let Some(n) = node.and_then(|n| self.nodes.get_mut(&n)) {
                    match (n.routes.len(), b % 2) {
                        (0, _) | (_, 0) => n.routes.push(r),
                        (k, _) => n.routes[c as usize % k] = r,
                    }
                }
            }
            8 => {
                if let Some(n) = node.and_then(|n| self.nodes.get_mut(&n)) {
                    if !n.routes.is_empty() {
                        n.routes.remove(b as usize % n.routes.len());
                    }
                }
            }
            9 => {
                if let Some(l) = self.link_mut(a) {
                    let m = MTUS[b as usize % 4];
                    (l.mtu, l.iface_mtu) = if c % 2 == 0 { (m, None) } else { (None, m) };
                }
            }
            10 => self.link_mut(a).into_iter().for_each(|l| l.mac = !l.mac),
            11 => {
                if let Some(n) = node.and_then(|n| self.nodes.get_mut(&n)) {
                    n.sysctls.insert(b % 4, c);
                }
            }
            12 => {
                if let Some(n) = node.and_then(|n| self.nodes.get_mut(&n)) {
                    n.sysctls.remove(&(b % 4));
                }
            }
            13 => self.add_bridge(b, c),
            14 => self.remove_bridge(a),
            15 => {
                let names: Vec<String> = self.bridges.keys().cloned().collect();
                let subnet = self.free_subnet(c);
                if let Some(br) = pick(&names, a).and_then(|n| self.bridges.get_mut(&n)) {
                    match b % 3 {
                        0 => br.subnet = subnet,
                        1 => br.stp = !br.stp,
                        _ => br.mtu = [None, Some(1400), Some(9000)][c as usize % 3],
                    }
                }
            }
            16 => self.network(a, b, c),
            17 => {
                let nets: Vec<String> = self.networks.keys().cloned().collect();
                if let (Some(net), Some(n)) = (pick(&nets, a), node) {
                    let members = &mut self.networks.get_mut(&net).expect("picked").members;
                    match members.iter().position(|m| *m == n) {
                        Some(i) => drop(members.remove(i)),
                        None => members.push(n),
                    }
                }
            }
            18 => match b % 3 {
                0 => {
                    let names: Vec<String> = self.bridges.keys().cloned().collect();
                    self.masquerade = match self.masquerade {
                        Some(_) => None,
                        None => pick(&names, c),
                    };
                }
                1 => self.dnat = node.map(|n| (8000 + c as u16, n)),
                _ => self.dnat = None,
            },
            20 | 21 => {
                let targets = self.service_targets();
                self.services.edit(&targets, a, b, c);
            }
            _ => match b % 4 {
                0 => self.host_forward = self.host_forward.map_or(Some(c), |_| None),
                1 => self.host_routes = (0..c % 3).collect(),
                2 => self.ipv6 = !self.ipv6,
                _ => {
                    if let Some(n) = node.and_then(|n| self.nodes.get_mut(&n)) {
                        n.firewall = !n.firewall;
                    }
                }
            },
        }
        if !self.ipv6 {
            for n in self.nodes.values_mut() {
                n.routes.retain(|r| !r.v6);
            }
        }
    }

    fn link_index(&self, i: u8) -> Option<usize> {
        (!self.links.is_empty()).then(|| i as usize % self.links.len())
    }

    fn link_mut(&mut self, i: u8) -> Option<&mut Link> {
        let i = self.link_index(i)?;
        self.links.get_mut(i)
    }

    fn free_subnet(&self, c: u8) -> u8 {
        let used = |s: u8| self.bridges.values().any(|b| b.subnet == s);
        (0..50)
            .map(|k| (c.wrapping_add(k) % 50) + 1)
            .find(|s| !used(*s))
            .expect("50 subnets")
    }

    /// A host number on a bridge (2..120) no link uses yet.
    fn free_host(&self, c: u8) -> u8 {
        let used = |h: u8| self.links.iter().any(|l| l.host == h);
        (0..118)
            .map(|k| (c.wrapping_add(k) % 118) + 2)
            .find(|h| !used(*h))
            .expect("hosts")
    }

    /// A segment id (1..=200) no link uses yet.
    fn free_seg(&self) -> u8 {
        (1..=200)
            .find(|s| !self.links.iter().any(|l| l.seg == *s))
            .expect("segments")
    }

    fn free_ifname(&self, node: &str) -> String {
        let used = |i: &str| {
            self.links.iter().any(|l| {
                (l.node == node && l.ifname == i) || l.to == End::Node(node.into(), i.into())
            })
        };
        (0..)
            .map(|k| format!("eth{k}"))
            .find(|i| !used(i))
            .expect("names")
    }

    /// The far end chosen by `b`: a bridge, another node or the host.
    fn end_for(&self, node: &str, b: u8, seg: u8) -> End {
        let bridges: Vec<String> = self.bridges.keys().cloned().collect();
        let others: Vec<String> = self.nodes.keys().filter(|n| *n != node).cloned().collect();
        match b % 4 {
            0 | 1 if !bridges.is_empty() => End::Bridge(pick(&bridges, b / 4).expect("some")),
            2 if !others.is_empty() => {
                let n = pick(&others, b / 4).expect("some");
                let i = self.free_ifname(&n);
                End::Node(n, i)
            }
            _ => End::Host(format!("h{seg}")),
        }
    }

    fn add_node(&mut self, a: u8, b: u8) {
        let Some(name) = (0..8)
            .map(|k| NODES[(a as usize + k) % 8])
            .find(|n| !self.nodes.contains_key(*n))
        else {
            return;
        };
        // Most nodes route somewhere through their first link.
        let mut node = Node::default();
        if !a.is_multiple_of(3) {
            node.routes.push(Route {
                to: (a % 3 == 2).then_some(b % 5),
                metric: 0,
                via: 0,
                dev_only: false,
                v6: false,
            });
        }
        self.nodes.insert(name.to_string(), node);
        self.add_link(name, a, b);
    }

    fn add_link(&mut self, name: &str, a: u8, b: u8) {
        if self.links.len() >= 24 {
            return;
        }
        let seg = self.free_seg();
        let link = Link {
            node: name.to_string(),
            ifname: self.free_ifname(name),
            to: self.end_for(name, b, seg),
            host: self.free_host(a),
            seg,
            extra: false,
            mtu: None,
            iface_mtu: None,
            mac: false,
        };
        self.links.push(link);
    }

    fn remove_node(&mut self, n: &str) {
        self.nodes.remove(n);
        self.links
            .retain(|l| l.node != n && !matches!(&l.to, End::Node(m, _) if m == n));
        for net in self.networks.values_mut() {
            net.members.retain(|m| m != n);
        }
        if self.dnat.as_ref().is_some_and(|(_, d)| d == n) {
            self.dnat = None;
        }
    }

    fn rename_node(&mut self, n: &str, b: u8) {
        let Some(new) = (0..8)
            .map(|k| NODES[(b as usize + k) % 8])
            .find(|m| !self.nodes.contains_key(*m))
        else {
            return;
        };
        let node = self.nodes.remove(n).expect("picked");
        self.nodes.insert(new.to_string(), node);
        for l in &mut self.links {
            if l.node == n {
                l.node = new.to_string();
            }
            if let End::Node(m, _) = &mut l.to {
                if m == n {
                    *m = new.to_string();
                }
            }
        }
        for net in self.networks.values_mut() {
            for m in &mut net.members {
                if m == n {
                    *m = new.to_string();
                }
            }
        }
        if let Some((_, d)) = &mut self.dnat {
            if d == n {
                *d = new.to_string();
            }
        }
    }

    fn rewire(&mut self, a: u8, b: u8) {
        let Some(i) = self.link_index(a) else { return };
        let (node, seg) = (self.links[i].node.clone(), self.links[i].seg);
        // The link's own far-end name must not count as taken.
        let old = std::mem::replace(&mut self.links[i].to, End::Host(format!("h{seg}")));
        let mut to = self.end_for(&node, b, seg);
        if to == old {
            to = old;
        }
        self.links[i].to = to;
    }

    fn add_bridge(&mut self, b: u8, c: u8) {
        let Some(name) = (0..4)
            .map(|k| format!("br{k}"))
            .find(|n| !self.bridges.contains_key(n))
        else {
            return;
        };
        let br = Bridge {
            subnet: self.free_subnet(c),
            stp: b % 5 == 1,
            mtu: [None, None, Some(1400)][b as usize % 3],
        };
        self.bridges.insert(name, br);
    }

    fn remove_bridge(&mut self, a: u8) {
        let names: Vec<String> = self.bridges.keys().cloned().collect();
        let Some(gone) = pick(&names, a) else { return };
        self.bridges.remove(&gone);
        let other = self.bridges.keys().next().cloned();
        let mut i = 0;
        while i < self.links.len() {
            if self.links[i].to == End::Bridge(gone.clone()) {
                match &other {
                    Some(o) => self.links[i].to = End::Bridge(o.clone()),
                    None => {
                        self.links.remove(i);
                        continue;
                    }
                }
            }
            i += 1;
        }
        if self.masquerade.as_ref() == Some(&gone) {
            self.masquerade = None;
        }
    }

    fn network(&mut self, a: u8, b: u8, c: u8) {
        let used = |s: u8, nets: &std::collections::BTreeMap<String, Network>| {
            nets.values().any(|n| n.subnet == s)
        };
        let subnet = (0..20)
            .map(|k| (c.wrapping_add(k)) % 20)
            .find(|s| !used(*s, &self.networks))
            .expect("20 subnets");
        let name = format!("net{}", a % 3);
        match self.networks.get_mut(&name) {
            Some(n) if b.is_multiple_of(3) => n.subnet = subnet,
            Some(n) if b % 3 == 1 => n.masquerade = !n.masquerade,
            Some(_) => drop(self.networks.remove(&name)),
            None => {
                let members = self
                    .nodes
                    .keys()
                    .take(1 + b as usize % 2)
                    .cloned()
                    .collect();
                let n = Network {
                    subnet,
                    members,
                    masquerade: c.is_multiple_of(2),
                };
                self.networks.insert(name, n);
            }
        }
    }
}
