//! Layer-2 segments: the interfaces one Ethernet frame can reach, joined
//! by veth pairs and by bridges (a port and its bridge, bridges linked to
//! each other). Address pools give a segment of bridges one LAN subnet,
//! roles find the router on a host's segment, and derived routes go from
//! router to router across segments.

use super::*;

/// The lab's segments, from the interfaces the builder knows.
pub(super) struct Segments {
    /// Each interface's segment.
    pub of: BTreeMap<IfRef, usize>,
    /// Per segment: the interfaces that carry its addresses (everything
    /// but bridge ports), in order.
    pub ends: Vec<Vec<IfRef>>,
    /// Per segment: its bridges.
    pub bridges: Vec<Vec<IfRef>>,
}

impl Builder<'_> {
    pub(super) fn segments(&self) -> Segments {
        let refs: Vec<&IfRef> = self.ifaces.keys().collect();
        let index: BTreeMap<&IfRef, usize> =
            refs.iter().enumerate().map(|(i, r)| (*r, i)).collect();
        let mut parent: Vec<usize> = (0..refs.len()).collect();
        fn root(p: &mut [usize], mut i: usize) -> usize {
            while p[i] != i {
                p[i] = p[p[i]];
                i = p[i];
            }
            i
        }
        let mut join = |a: usize, b: usize| {
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
            }
        };
        for (i, (link, iface)) in self.ifaces.iter().enumerate() {
            if let IfKind::Veth { peer } = &iface.kind {
                if let Some(j) = index.get(peer) {
                    join(i, *j);
                }
            }
            if let Some(m) = &iface.master {
                if let Some(j) = index.get(&IfRef::new(link.ns.clone(), m)) {
                    join(i, *j);
                }
            }
        }
        let mut number: BTreeMap<usize, usize> = BTreeMap::new();
        let mut seg = Segments {
            of: BTreeMap::new(),
            ends: Vec::new(),
            bridges: Vec::new(),
        };
        for (i, (link, iface)) in self.ifaces.iter().enumerate() {
            let r = root(&mut parent, i);
            let next = number.len();
            let s = *number.entry(r).or_insert(next);
            if s == seg.ends.len() {
                seg.ends.push(Vec::new());
                seg.bridges.push(Vec::new());
            }
            seg.of.insert(link.clone(), s);
            if matches!(iface.kind, IfKind::Bridge { .. }) {
                seg.bridges[s].push(link.clone());
            }
            if iface.master.is_none() {
                seg.ends[s].push(link.clone());
            }
        }
        seg
    }

    /// The addresses an interface holds for routing: its own, not IPv6
    /// link-local ones.
    pub(super) fn routable(&self, link: &IfRef) -> Vec<IpNet> {
        self.ifaces
            .get(link)
            .into_iter()
            .flat_map(|i| &i.addrs)
            .map(|(a, _)| *a)
            .filter(|a| !matches!(a, IpNet::V6(v) if v.addr().is_unicast_link_local()))
            .collect()
    }
}
