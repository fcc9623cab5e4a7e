//! Networks: a bridge with the gateway, members attached with allocated
//! addresses, and a default route per address family.

use super::*;
use crate::spec::{GatewayAt, GatewaySpec, NetworkSpec};

impl Builder<'_> {
    pub(super) fn collect_networks(&mut self, spec: &LabSpec) {
        let mut nets: Vec<_> = spec.networks.iter().collect();
        nets.sort_by_key(|(_, n)| Pos::of(n).line);
        let mut seen: Vec<(IpNet, String, Pos)> = Vec::new();
        for (name, net) in nets {
            let pos = Pos::of(net);
            let Some(subnet) = self.subnet(&net.value.subnet) else {
                continue;
            };
            if let Some((_, other, _)) = seen
                .iter()
                .find(|(s, _, _)| s.contains(&subnet) || subnet.contains(s))
            {
                let msg = format!("network `{name}` ({subnet}) overlaps network `{other}`");
                self.err(
                    Pos::of(&net.value.subnet),
                    msg,
                    "give each network its own subnet",
                );
                continue;
            }
            seen.push((subnet, name.clone(), pos));
            let gateway = match self.gateway(name, net, subnet) {
                Ok(g) => g,
                Err(()) => continue,
            };
            let bridge = net
                .value
                .bridge
                .as_ref()
                .map_or(name.as_str(), |b| b.value.as_str())
                .to_string();
            let bpos = net.value.bridge.as_ref().map_or(pos, Pos::of);
            let on_bridge = gateway
                .filter(|_| net.value.gateway_at == GatewayAt::Here)
                .map(|g| IpNet::new(g, subnet.prefix_len()).expect("prefix from a parsed subnet"));
            let mtu = self.mtu(net.value.mtu.as_ref());
            if !self.ensure_network_bridge(&bridge, bpos, on_bridge, mtu) {
                continue;
            }
            self.bridge_subnets
                .entry(bridge.clone())
                .or_default()
                .push(subnet);
            if let Some(m) = net.value.masquerade.as_ref().filter(|m| m.value) {
                self.masquerade
                    .entry(self.bridges[&bridge].clone())
                    .or_default()
                    .push((subnet, Pos::of(m)));
            }
            let dhcp = match &net.value.dhcp {
                Some(d) => match self.network_dhcp(name, d, subnet, gateway, &bridge) {
                    Some(t) => Some(t),
                    None => continue,
                },
                None => None,
            };
            let seg = Segment {
                net: name,
                subnet,
                gw: gateway,
                bridge: &bridge,
                mtu,
            };
            self.attach_members(&seg, &net.value.nodes, dhcp.as_ref());
        }
    }

    /// The network's gateway: the file's, else the first usable address;
    /// none where a stretched network has none. Err after an error.
    fn gateway(
        &mut self,
        name: &str,
        net: &S<NetworkSpec>,
        subnet: IpNet,
    ) -> Result<Option<IpAddr>, ()> {
        if net.value.gateway_at == GatewayAt::Nowhere {
            return Ok(None);
        }
        let Some(g) = &net.value.gateway else {
            // For IPv6, `hosts()` starts at the subnet's own address, which
            // is not a usable one.
            return subnet
                .hosts()
                .find(|a| ipam::usable(subnet, *a))
                .map(Some)
                .ok_or(());
        };
        let text = match &g.value {
            GatewaySpec::Address(a) => a,
            GatewaySpec::OnHost(_) => {
                self.err(
                    Pos::of(g),
                    format!("network `{name}` is on one host: `gateway: {{ host, address }}` is for a network stretched over several (`hosts: [h1, h2]`)"),
                    "write the address alone, `gateway: 12.0.6.1`",
                );
                return Err(());
            }
        };
        match text.parse::<IpAddr>() {
            Ok(a) if ipam::usable(subnet, a) => Ok(Some(a)),
            Ok(a) => {
                let first = subnet
                    .hosts()
                    .next()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                self.err(
                    Pos::of(g),
                    format!("gateway {a} is not a usable address of {subnet}"),
                    format!("pick an address inside the subnet, e.g. `gateway: {first}`"),
                );
                Err(())
            }
            Err(_) => {
                self.err(
                    Pos::of(g),
                    format!("`{text}` is not an IP address"),
                    "write the gateway without prefix length, e.g. `12.0.6.1`",
                );
                Err(())
            }
        }
    }

    /// Makes sure the network's bridge exists (with the MTU it is given)
    /// and carries the gateway, if it is to.
    pub(super) fn ensure_network_bridge(
        &mut self,
        bridge: &str,
        pos: Pos,
        gw: Option<IpNet>,
        mtu: Option<u32>,
    ) -> bool {
        if let Some(p) = ifname_problem(bridge) {
            self.err(
                pos,
                format!("network bridge `{bridge}`: {p}"),
                "name a shorter bridge with `bridge: NAME`",
            );
            return false;
        }
        if self.nodes.contains_key(bridge) {
            self.err(
                pos,
                format!("`{bridge}` names both a node and a bridge"),
                "name the network's bridge with `bridge: NAME`",
            );
            return false;
        }
        let ns = self
            .bridges
            .entry(bridge.to_string())
            .or_insert(Ns::Host)
            .clone();
        let link = IfRef::new(ns, bridge);
        self.origins
            .entry(Id::Bridge(BridgeId { link: link.clone() }))
            .or_insert(pos);
        let iface = self.ifaces.entry(link).or_insert(Iface {
            pos,
            kind: IfKind::Bridge {
                stp: false,
                forward_delay: None,
            },
            master: None,
            mtu: None,
            mac: None,
            addrs: vec![],
        });
        if let Some(gw) = gw.filter(|g| !iface.addrs.iter().any(|(a, _)| a.addr() == g.addr())) {
            iface.addrs.push((gw, pos));
        }
        if mtu.is_some() {
            iface.mtu = mtu;
        }
        true
    }

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
            let link = IfRef::new(Ns::Node(node.clone()), &ifname);
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
            let a = IpNet::new(addr, subnet.prefix_len()).expect("prefix from a parsed subnet");
            self.ifaces
                .get_mut(&link)
                .expect("just added")
                .addrs
                .push((a, pos));
            self.allocated.insert(link.clone());
            let Some(gw) = gw else { continue };
            let family = (link.ns.label().to_string(), gw.is_ipv4());
            if !self.explicit_default.contains(&family) && self.has_default.insert(family) {
                let to = default_for(gw);
                let res = Route {
                    via: Some(gw),
                    dev: Some(link.name.clone()),
                    scope: Scope::of_route(&to, Some(gw)),
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
}
