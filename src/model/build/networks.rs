//! Networks: a bridge with the gateway and a subnet; its members join it
//! in `members.rs`.

use super::members::Segment;
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
            let mtu_at = net
                .value
                .mtu
                .as_ref()
                .filter(|_| mtu.is_some())
                .map(Pos::of);
            let bridge_link = IfRef::new(self.bridges[&bridge].clone(), &bridge);
            if let Some(at) = mtu_at {
                self.mtu_from.insert(bridge_link.clone(), (at, false));
            }
            if let Some(address) = on_bridge {
                let link = bridge_link;
                let id = AddressId { link, address };
                self.address_from
                    .insert(id, format!("network {name}, its gateway"));
            }
            let at = IfRef::new(self.bridges[&bridge].clone(), &bridge);
            self.bridge_subnets.entry(at).or_default().push(subnet);
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
            let routes = net.value.default_route.as_ref().is_none_or(|d| d.value);
            if !routes {
                self.no_route.insert(subnet);
            }
            let seg = Segment {
                net: name,
                subnet,
                gw: gateway,
                bridge: &bridge,
                mtu,
                mtu_at,
                routes,
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
}
