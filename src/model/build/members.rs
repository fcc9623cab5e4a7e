//! Network members: each node's interface on the network's bridge, its
//! address (fixed, kept from the kernel, or the lowest free one) and its
//! default route via the gateway.

use super::*;

impl Builder<'_> {
    pub(super) fn attach_members(
        &mut self,
        seg: &Segment,
        members: &[S<NetworkMember>],
        dhcp: Option<&super::dhcp::Taken>,
    ) {
        let Segment {
            net,
            subnet,
            gw,
            bridge,
            mtu,
            mtu_at,
            routes,
        } = *seg;
        let bridge_ns = self.bridges[bridge].clone();
        let mut reserved: BTreeSet<IpAddr> = self
            .declared
            .iter()
            .copied()
            .filter(|a| subnet.contains(a))
            .collect();
        reserved.extend(gw);
        // What the DHCP server hands out is never allocated.
        reserved.extend(dhcp.into_iter().flat_map(|d| d.addresses()));
        let mut fixed_by: BTreeMap<IpAddr, String> = BTreeMap::new();
        let mut resolved: Vec<(IfRef, Pos, Request)> = Vec::new();
        for m in members {
            let pos = Pos::of(m);
            let (node, fixed, ifname) = match &m.value {
                NetworkMember::Name(n) => (n.clone(), None, "eth0".to_string()),
                NetworkMember::Detailed(d) => (
                    d.node.clone(),
                    d.address.clone(),
                    d.interface.clone().unwrap_or_else(|| "eth0".into()),
                ),
            };
            if node == "host" {
                self.err(
                    pos,
                    "a network member must be a node, not `host`",
                    format!("the host reaches network `{net}` through its bridge `{bridge}`"),
                );
                continue;
            }
            if let Some(p) = ifname_problem(&ifname) {
                self.err(
                    pos,
                    format!("interface of `{node}` in network `{net}`: {p}"),
                    "write a shorter `interface:`",
                );
                continue;
            }
            let fixed = match fixed.map(|f| (f.parse::<IpAddr>(), f)) {
                None => None,
                Some((Ok(a), _)) if !ipam::usable(subnet, a) => {
                    let first = subnet
                        .hosts()
                        .find(|h| Some(*h) != gw)
                        .map(|h| h.to_string())
                        .unwrap_or_default();
                    self.err(
                        pos,
                        format!("address {a} of `{node}` is not a usable address of {subnet}"),
                        format!("pick an address inside {subnet}, e.g. `address: {first}`"),
                    );
                    continue;
                }
                Some((Ok(a), _)) if Some(a) == gw => {
                    self.err(
                        pos,
                        format!("address {a} of `{node}` is the gateway of network `{net}`"),
                        "pick another address, or leave `address:` out to have one allocated",
                    );
                    continue;
                }
                Some((Ok(a), _)) if dhcp.is_some_and(|d| d.in_range(a)) => {
                    let d = dhcp.expect("checked");
                    self.err(
                        pos,
                        format!("address {a} of `{node}` is inside the DHCP range {}-{} of network `{net}`", d.first, d.last),
                        "pick an address outside the range, or leave `address:` out to have one allocated",
                    );
                    continue;
                }
                Some((Ok(a), _))
                    if dhcp.is_some_and(|d| d.hosts.iter().any(|(h, _)| IpAddr::V4(*h) == a)) =>
                {
                    self.err(
                        pos,
                        format!(
                            "address {a} of `{node}` is a fixed DHCP host's in network `{net}`"
                        ),
                        "pick another address: each is used once per subnet",
                    );
                    continue;
                }
                Some((Ok(a), _)) if reserved.contains(&a) => {
                    self.err(
                        pos,
                        format!(
                            "address {a} of `{node}` is already written in an `addresses:` list"
                        ),
                        "pick another address: each is used once per subnet",
                    );
                    continue;
                }
                Some((Ok(a), _)) => match fixed_by.insert(a, node.clone()) {
                    Some(other) => {
                        self.err(pos, format!("address {a} of `{node}` is already given to `{other}` in network `{net}`"), "give each member its own address");
                        continue;
                    }
                    None => Some(a),
                },
                Some((Err(_), f)) => {
                    self.err(
                        pos,
                        format!("`{f}` is not an IP address"),
                        "write the address without prefix length, e.g. `address: 12.0.6.50`",
                    );
                    continue;
                }
            };
            let link = IfRef::new(Ns::node(&node), &ifname);
            if resolved.iter().any(|(l, _, _)| *l == link) {
                self.err(
                    pos,
                    format!("`{node}` is listed twice in network `{net}`"),
                    "list each node once, or give the second entry another `interface:`",
                );
                continue;
            }
            let current = self
                .prior
                .get(&link)
                .and_then(|v| v.iter().copied().find(|a| subnet.contains(a)));
            resolved.push((link, pos, Request { fixed, current }));
        }
        let reqs: Vec<Request> = resolved
            .iter()
            .map(|(_, _, r)| Request {
                fixed: r.fixed,
                current: r.current,
            })
            .collect();
        let addrs = match ipam::allocate(subnet, &reserved, &reqs) {
            Ok(a) => a,
            Err(ipam::IpamError::Exhausted(i)) => {
                self.err(
                    resolved[i].1,
                    format!("network `{net}` has no free address left in {subnet}"),
                    "use a larger subnet or fewer members",
                );
                return;
            }
        };
        for ((link, pos, _), addr) in resolved.into_iter().zip(addrs) {
            let port = IfRef::new(
                bridge_ns.clone(),
                port_name(&self.lab, link.ns.label(), &link.name),
            );
            if !self.add_veth(
                link.clone(),
                port.clone(),
                Some(bridge.to_string()),
                pos,
                mtu,
            ) {
                continue;
            }
            if let Some(at) = mtu_at {
                self.mtu_from.insert(link.clone(), (at, true));
                self.mtu_from.insert(port.clone(), (at, true));
            }
            let a = IpNet::new(addr, subnet.prefix_len()).expect("prefix from a parsed subnet");
            self.ifaces
                .get_mut(&link)
                .expect("just added")
                .addrs
                .push((a, pos));
            self.allocated.insert(link.clone());
            let id = AddressId {
                link: link.clone(),
                address: a,
            };
            self.address_from.insert(id, format!("network {net}"));
            let Some(gw) = gw.filter(|_| routes) else {
                continue;
            };
            let family = (link.ns.label().to_string(), gw.is_ipv4());
            if !self.explicit_default.contains(&family) && self.has_default.insert(family) {
                let to = default_for(gw);
                let res = Route {
                    via: Some(gw),
                    dev: Some(link.name),
                    scope: Scope::of_route(&to, Some(gw)),
                    derived: false,
                };
                let key = RouteKey::new(to, 0);
                self.routes
                    .entry(link.ns.clone())
                    .or_default()
                    .insert(key, (res, pos));
            }
        }
    }
}

/// A network's segment, as its members join it.
#[derive(Clone, Copy)]
pub(super) struct Segment<'a> {
    pub net: &'a str,
    pub subnet: IpNet,
    pub gw: Option<IpAddr>,
    pub bridge: &'a str,
    pub mtu: Option<u32>,
    /// Where the network's `mtu:` is written, for errors about it.
    pub mtu_at: Option<Pos>,
    /// Members take their default route from the gateway (not with
    /// `default_route: false`).
    pub routes: bool,
}
