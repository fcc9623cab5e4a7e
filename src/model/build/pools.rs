//! Address pools (`addressing:`): a subnet for every link between two
//! nodes that has no address, one for every segment of bridges that no
//! network or bridge address gives a subnet, and an address on every
//! node's `lo`. Allocation follows the rule of networks (`ipam`): what an
//! interface has in the kernel now stays, newcomers take the lowest free
//! subnet, so adding or removing a link never renumbers another.

use super::*;
use crate::spec::{AddressingSpec, Role};

/// One pool as the file gives it.
#[derive(Clone, Copy)]
struct Pool {
    net: IpNet,
    prefix: u8,
    pos: Pos,
}

impl Builder<'_> {
    pub(super) fn allocate_pools(&mut self, spec: &LabSpec) {
        let Some(a) = &spec.addressing else { return };
        let (p2p, lan, lo) = self.pools(&a.value);
        let mut reserved: Vec<IpNet> = self
            .ifaces
            .values()
            .flat_map(|i| i.addrs.iter().map(|(a, _)| a.trunc()))
            .chain(self.bridge_subnets.values().flatten().copied())
            .chain(self.declared.iter().map(|a| IpNet::from(*a)))
            .collect();
        if let Some(p) = p2p {
            self.p2p_links(p, &mut reserved);
        }
        if let Some(p) = lan {
            self.lan_segments(p, &mut reserved);
        }
        if let Some(p) = lo {
            self.loopbacks(p, &reserved);
        }
    }

    /// The pools, checked: each a subnet, each prefix in range, no two
    /// overlapping.
    fn pools(&mut self, a: &AddressingSpec) -> (Option<Pool>, Option<Pool>, Option<Pool>) {
        let p2p = a
            .p2p
            .as_ref()
            .and_then(|s| self.subnet(s).map(|n| (n, Pos::of(s))));
        let lan = a
            .lan
            .as_ref()
            .and_then(|s| self.subnet(s).map(|n| (n, Pos::of(s))));
        let lo = a
            .loopback
            .as_ref()
            .and_then(|s| self.subnet(s).map(|n| (n, Pos::of(s))));
        for (len, pool, word) in [(&a.prefix, &a.p2p, "p2p"), (&a.lan_prefix, &a.lan, "lan")] {
            if let (Some(l), None) = (len, pool) {
                self.err(
                    Pos::of(l),
                    format!("this prefix length is for the `{word}` pool, and there is none"),
                    format!("add `{word}: SUBNET`, or remove the prefix length"),
                );
            }
        }
        let p2p = p2p.and_then(|(n, pos)| {
            let (v4, v6) = ((30, 31, 31), (64, 127, 127));
            self.prefix(
                n,
                pos,
                a.prefix.as_ref(),
                "p2p",
                if n.addr().is_ipv4() { v4 } else { v6 },
            )
        });
        let lan = lan.and_then(|(n, pos)| {
            let (v4, v6) = ((n.prefix_len(), 30, 24), (n.prefix_len(), 126, 64));
            let range = if n.addr().is_ipv4() { v4 } else { v6 };
            let range = (range.0, range.1, range.2.max(n.prefix_len()));
            self.prefix(n, pos, a.lan_prefix.as_ref(), "lan", range)
        });
        let lo = lo.map(|(net, pos)| Pool {
            net,
            prefix: if net.addr().is_ipv4() { 32 } else { 128 },
            pos,
        });
        let mut seen: Vec<(&str, IpNet)> = Vec::new();
        for (word, p) in [("p2p", p2p), ("lan", lan), ("loopback", lo)] {
            let Some(p) = p else { continue };
            if let Some((other, n)) = seen
                .iter()
                .find(|(_, n)| n.contains(&p.net) || p.net.contains(n))
            {
                self.err(
                    p.pos,
                    format!(
                        "the `{word}` pool {} overlaps the `{other}` pool {n}",
                        p.net
                    ),
                    "give each pool its own subnet",
                );
            }
            seen.push((word, p.net));
        }
        (p2p, lan, lo)
    }

    /// A pool's prefix length: the file's, inside `(least, most)`, else
    /// the default; never shorter than the pool's own.
    fn prefix(
        &mut self,
        net: IpNet,
        pos: Pos,
        given: Option<&S<u8>>,
        word: &str,
        (least, most, default): (u8, u8, u8),
    ) -> Option<Pool> {
        let least = least.max(net.prefix_len());
        let Some(g) = given else {
            if default < least || default > most {
                self.err(
                    pos,
                    format!("the `{word}` pool {net} is too small for a subnet of /{default}"),
                    format!("use a pool of /{most} or larger"),
                );
                return None;
            }
            return Some(Pool {
                net,
                prefix: default,
                pos,
            });
        };
        if g.value < least || g.value > most {
            self.err(
                Pos::of(g),
                format!(
                    "a `{word}` subnet of /{} does not fit: from {net} it can be /{least} to /{most}",
                    g.value
                ),
                format!("write a prefix length from {least} to {most}"),
            );
            return None;
        }
        Some(Pool {
            net,
            prefix: g.value,
            pos,
        })
    }

    /// Every link between two nodes whose ends have no address of the
    /// pool's family gets a subnet: the first endpoint the lower address.
    fn p2p_links(&mut self, pool: Pool, reserved: &mut Vec<IpNet>) {
        let v4 = pool.net.addr().is_ipv4();
        let bare = |b: &Self, l: &IfRef| {
            b.ifaces.get(l).is_some_and(|i| {
                i.master.is_none()
                    && matches!(i.kind, IfKind::Veth { .. })
                    && !b.routable(l).iter().any(|a| a.addr().is_ipv4() == v4)
            })
        };
        let links: Vec<(IfRef, IfRef)> = self
            .node_links
            .iter()
            .filter(|(a, b)| bare(self, a) && bare(self, b))
            .cloned()
            .collect();
        let current: Vec<Option<IpNet>> = links
            .iter()
            .map(|(a, b)| {
                let now = self
                    .prior_in(a, pool.net)
                    .or_else(|| self.prior_in(b, pool.net))?;
                IpNet::new(now, pool.prefix).ok().map(|n| n.trunc())
            })
            .collect();
        let Some(subnets) = self.take_from_pool(pool, "p2p", reserved, &current, |b, i| {
            b.ifaces[&links[i].0].pos
        }) else {
            return;
        };
        for ((a, b), net) in links.into_iter().zip(subnets) {
            let mut hosts = net.hosts().filter(|h| ipam::usable(net, *h));
            for end in [a, b] {
                let addr = hosts.next().expect("a p2p subnet holds two addresses");
                self.pooled(
                    &end,
                    IpNet::new(addr, pool.prefix).expect("pool prefix"),
                    "p2p pool",
                );
            }
        }
    }

    /// Every segment of bridges without a subnet of the pool's family gets
    /// one, and each node interface on it an address: routers first (a
    /// new LAN's router gets its first address), then by name.
    fn lan_segments(&mut self, pool: Pool, reserved: &mut Vec<IpNet>) {
        let v4 = pool.net.addr().is_ipv4();
        let segs = self.segments();
        let mut lans: Vec<(Vec<IfRef>, Vec<IfRef>)> = Vec::new();
        for (ends, bridges) in segs.ends.iter().zip(&segs.bridges) {
            let known = bridges
                .iter()
                .flat_map(|b| self.bridge_subnets.get(b).into_iter().flatten())
                .copied()
                .chain(ends.iter().flat_map(|e| self.routable(e)))
                .any(|n| n.addr().is_ipv4() == v4);
            if bridges.is_empty() || known {
                continue;
            }
            let mut members: Vec<&IfRef> = ends
                .iter()
                .filter(|e| match (&e.ns, &self.ifaces[*e].kind) {
                    (Ns::Host, _) => false,
                    (Ns::Node(_), IfKind::Veth { .. }) => true,
                    (Ns::Node(n), IfKind::Bridge { .. }) => self.role(n) == Some(Role::Router),
                    _ => false,
                })
                .collect();
            members.sort_by(|a, b| {
                let router = |l: &IfRef| self.role(l.ns.label()) != Some(Role::Router);
                (router(a), names::Natural(&a.to_string()))
                    .cmp(&(router(b), names::Natural(&b.to_string())))
            });
            if !members.is_empty() {
                lans.push((members.into_iter().cloned().collect(), bridges.clone()));
            }
        }
        lans.sort_by_key(|(m, _)| {
            let p = m
                .iter()
                .map(|l| self.ifaces[l].pos)
                .min_by_key(|p| (p.line, p.col));
            p.map(|p| (p.line, p.col))
        });
        let current: Vec<Option<IpNet>> = lans
            .iter()
            .map(|(m, _)| {
                let now = m.iter().find_map(|l| self.prior_in(l, pool.net))?;
                IpNet::new(now, pool.prefix).ok().map(|n| n.trunc())
            })
            .collect();
        let Some(subnets) = self.take_from_pool(pool, "lan", reserved, &current, |b, i| {
            b.ifaces[&lans[i].0[0]].pos
        }) else {
            return;
        };
        for ((members, bridges), net) in lans.into_iter().zip(subnets) {
            for b in bridges {
                self.bridge_subnets.entry(b).or_default().push(net);
            }
            let taken: BTreeSet<IpAddr> = self
                .declared
                .iter()
                .copied()
                .filter(|a| net.contains(a))
                .collect();
            let reqs: Vec<Request> = members
                .iter()
                .map(|l| Request {
                    fixed: None,
                    current: self.prior_in(l, net),
                })
                .collect();
            let Ok(addrs) = ipam::allocate(net, &taken, &reqs) else {
                let pos = self.ifaces[&members[0]].pos;
                self.err(pos, format!("the LAN {net} from the `lan` pool has no free address left for its {} interfaces", members.len()), "write a longer `lan_prefix:` (a larger LAN), or split the segment");
                continue;
            };
            for (l, a) in members.iter().zip(addrs) {
                self.pooled(
                    l,
                    IpNet::new(a, pool.prefix).expect("pool prefix"),
                    "lan pool",
                );
            }
        }
    }

    /// One address of the pool on each node's `lo` (not attached nodes':
    /// topo does not own their `lo`).
    fn loopbacks(&mut self, pool: Pool, reserved: &[IpNet]) {
        let mut nodes: Vec<String> = self
            .nodes
            .keys()
            .filter(|n| !self.attached.contains_key(*n))
            .cloned()
            .collect();
        nodes.sort_by(|a, b| names::Natural(a).cmp(&names::Natural(b)));
        let mut reserved = reserved.to_vec();
        if let IpNet::V4(n) = pool.net {
            if n.prefix_len() < 31 {
                reserved.extend([
                    IpNet::from(IpAddr::V4(n.network())),
                    IpNet::from(IpAddr::V4(n.broadcast())),
                ]);
            }
        } else if pool.net.prefix_len() < 127 {
            reserved.push(IpNet::from(pool.net.network()));
        }
        let current: Vec<Option<IpNet>> = nodes
            .iter()
            .map(|n| {
                self.prior_in(&IfRef::new(Ns::node(n), "lo"), pool.net)
                    .map(IpNet::from)
            })
            .collect();
        let Some(addrs) = self.take_from_pool(pool, "loopback", &mut reserved, &current, |b, i| {
            b.nodes[&nodes[i]]
        }) else {
            return;
        };
        for (n, a) in nodes.into_iter().zip(addrs) {
            let link = IfRef::new(Ns::node(&n), "lo");
            let pos = self.nodes[&n];
            self.origins.insert(
                Id::Address(AddressId {
                    link: link.clone(),
                    address: a,
                }),
                pos,
            );
            self.address_from.insert(
                AddressId {
                    link: link.clone(),
                    address: a,
                },
                "loopback pool".into(),
            );
            self.allocated.insert(link);
            self.loopbacks.insert(n, (a, pos));
        }
    }

    /// Subnets from the pool, one per request, added to `reserved`; none
    /// (and an error at the request that found the pool full) when it is.
    fn take_from_pool(
        &mut self,
        pool: Pool,
        word: &str,
        reserved: &mut Vec<IpNet>,
        current: &[Option<IpNet>],
        at: impl Fn(&Self, usize) -> Pos,
    ) -> Option<Vec<IpNet>> {
        match ipam::allocate_subnets(pool.net, pool.prefix, reserved, current) {
            Ok(nets) => {
                reserved.extend(nets.iter().copied());
                Some(nets)
            }
            Err(ipam::IpamError::Exhausted(i)) => {
                let pos = at(self, i);
                self.err(
                    pos,
                    format!(
                        "the `{word}` pool {} has no free /{} left for this",
                        pool.net, pool.prefix
                    ),
                    "use a larger pool",
                );
                None
            }
        }
    }

    /// An interface's address in the kernel now that lies in `net`.
    fn prior_in(&self, link: &IfRef, net: IpNet) -> Option<IpAddr> {
        self.prior
            .get(link)?
            .iter()
            .copied()
            .find(|a| net.contains(a))
    }

    /// Gives `link` an address from a pool.
    fn pooled(&mut self, link: &IfRef, address: IpNet, from: &str) {
        let pos = self.ifaces[link].pos;
        let id = AddressId {
            link: link.clone(),
            address,
        };
        self.origins.insert(Id::Address(id.clone()), pos);
        self.address_from.insert(id, from.to_string());
        self.ifaces
            .get_mut(link)
            .expect("pooled interface")
            .addrs
            .push((address, pos));
        self.allocated.insert(link.clone());
    }
}
