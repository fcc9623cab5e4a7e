//! Placing what joins hosts, as the placer meets it: a stretched
//! network's hosts, members and gateway checked and recorded, a link
//! whose ends are on two hosts, and then every segment's VNI (see
//! `tunnels.rs` for how each is computed).

use super::place::Placer;
use super::tunnels::*;
use crate::diag::{Diagnostic, Pos};
use crate::spec::{NetworkSpec, S};
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};

impl Placer<'_> {
    /// A network with `hosts:`: checked and recorded, VNI still to come.
    pub(super) fn stretched(&mut self, name: &str, net: &S<NetworkSpec>) {
        let list = net.value.hosts.as_ref().expect("stretched");
        if let Some(h) = &net.value.host {
            self.err(
                Pos::of(h),
                format!("network `{name}` has both `host:` and `hosts:`"),
                "a network is on one host (`host:`) or stretched over several (`hosts:`)",
            );
            return;
        }
        if let Some(d) = &net.value.dhcp {
            // One server per host on one segment would hand out one range twice.
            self.err(
                Pos::of(d),
                format!("network `{name}` is stretched over several hosts: topo serves DHCP only on a network of one host"),
                "serve it on a network with `host:`, or on one node's interface (`interfaces.IF.dhcp:`) joined to this network",
            );
        }
        let mut hosts: Vec<String> = Vec::new();
        for h in &list.value {
            match self.known(h) {
                Some(h) if hosts.contains(&h) => {
                    self.err(
                        Pos::of(list),
                        format!("network `{name}` lists host `{h}` twice"),
                        "list each host once",
                    );
                    return;
                }
                Some(h) => hosts.push(h),
                None => return,
            }
        }
        if hosts.len() < 2 {
            self.err(
                Pos::of(list),
                format!("network `{name}` is stretched over {} host(s)", hosts.len()),
                "a stretched network spans two hosts or more; on one host, write `host: NAME`",
            );
            return;
        }
        let bridge = net
            .value
            .bridge
            .as_ref()
            .map_or(name, |b| &b.value)
            .to_string();
        if self.p.bridges.contains_key(&bridge)
            || self.p.stretched.values().any(|s| s.bridge == bridge)
        {
            self.err(
                Pos::of(net),
                format!("bridge `{bridge}` of network `{name}` is another network's too"),
                "give the network a bridge of its own (`bridge: NAME`)",
            );
            return;
        }
        let subnet = net
            .value
            .subnet
            .value
            .parse::<IpNet>()
            .ok()
            .map(|n| n.trunc());
        let gateway = stretched_gateway(name, net, subnet, &hosts, &mut self.diags);
        let overlay = self.p.overlay_mtu(&hosts);
        let mtu = match &net.value.mtu {
            Some(m) if m.value > overlay => {
                self.err(Pos::of(m), format!("network `{name}` has mtu {}, but its VXLAN overlay carries at most {overlay}", m.value), format!("write `mtu: {overlay}` or less, or raise the underlay's (`hosts.NAME.mtu`)"));
                return;
            }
            Some(m) => m.value,
            None => overlay,
        };
        let addresses = match subnet {
            Some(s) => stretched_addresses(
                name,
                &net.value,
                s,
                gateway.as_ref().map(|g| g.1),
                &mut self.diags,
            ),
            None => BTreeMap::new(),
        };
        self.p.stretched.insert(
            name.to_string(),
            Stretch {
                hosts,
                bridge,
                vni: 0,
                mtu,
                gateway,
                addresses,
            },
        );
    }

    /// A stretched network's members run on its hosts.
    pub(super) fn stretched_members(&mut self) {
        let s = self.spec;
        for (name, st) in &self.p.stretched.clone() {
            for (node, _, _, pos) in members(&s.networks[name].value) {
                match self.p.nodes.get(&node) {
                    Some(h) if !st.hosts.contains(h) => {
                        let msg = format!(
                            "node `{node}` is on host `{h}`, which network `{name}` does not span"
                        );
                        self.err(pos, msg, format!("add `{h}` to the network's `hosts:`, or move the node to one of {}", st.hosts.join(", ")));
                    }
                    Some(_) => {}
                    // Placed nowhere: reported (a stretched network never says where a node is).
                    None if s.nodes.contains_key(&node) => {}
                    None => {
                        let msg = format!(
                            "node `{node}` is on no host: a stretched network does not say which"
                        );
                        self.err(pos, msg, "declare it under `nodes:` with `host: NAME`, or in a network on one host");
                    }
                }
            }
        }
    }

    /// A link between hosts: only nodes' interfaces and bridges can be
    /// joined by a tunnel.
    pub(super) fn cross(&mut self, link: usize, ends: [(String, &S<String>); 2]) {
        for (_, e) in &ends {
            let (owner, port) = e
                .value
                .split_once(':')
                .map_or((e.value.as_str(), None), |(o, p)| (o, Some(p)));
            if self.p.bridges.contains_key(owner) && port.is_some() {
                self.err(Pos::of(*e), format!("endpoint `{}` names a port of bridge `{owner}`, but this link goes to another host", e.value), format!("write `{owner}`: its port is the tunnel's VXLAN device"));
                return;
            }
        }
        let spec_link = &self.spec.links[link];
        let overlay = self.p.overlay_mtu([&ends[0].0, &ends[1].0]);
        let mtu = match &spec_link.value.mtu {
            Some(m) if m.value > overlay => {
                self.err(Pos::of(m), format!("this link between hosts `{}` and `{}` has mtu {}, but its VXLAN tunnel carries at most {overlay}", ends[0].0, ends[1].0, m.value), format!("write `mtu: {overlay}` or less"));
                return;
            }
            Some(m) => m.value,
            None => overlay,
        };
        let ends = ends.map(|(h, e)| (h, e.value.clone()));
        self.p.cross.push(Cross {
            link,
            vni: 0,
            mtu,
            ends,
        });
    }

    /// VNIs: the file's first, then derived ones for the rest.
    pub(super) fn vnis(&mut self) {
        let s = self.spec;
        let mut taken: BTreeSet<u32> = BTreeSet::new();
        for (name, st) in self.p.stretched.iter_mut() {
            let Some(v) = &s.networks[name].value.vni else {
                continue;
            };
            if v.value >= 1 << 24 {
                self.diags.push(
                    Diagnostic::error(Pos::of(v), format!("VNI {} is out of range", v.value))
                        .help("a VNI is 0 to 16777215"),
                );
            } else if !taken.insert(v.value) {
                self.diags.push(
                    Diagnostic::error(
                        Pos::of(v),
                        format!("VNI {} is another network's too", v.value),
                    )
                    .help("give each stretched network its own `vni:`"),
                );
            }
            st.vni = v.value;
        }
        for (name, st) in self.p.stretched.iter_mut() {
            if s.networks[name].value.vni.is_none() {
                st.vni = derive_vni(&s.name.value, &format!("network {name}"), &taken);
                taken.insert(st.vni);
            }
        }
        for c in &mut self.p.cross {
            c.vni = derive_vni(&s.name.value, &link_key(s, c.link), &taken);
            taken.insert(c.vni);
        }
        self.p.vxlan_port = s.vxlan_port.as_ref().map_or(DEFAULT_PORT, |p| p.value);
        if let Some(p) = s.vxlan_port.as_ref().filter(|p| p.value == 0) {
            self.diags.push(
                Diagnostic::error(Pos::of(p), "VXLAN port 0 is no port")
                    .help("leave `vxlan_port:` out for 4789"),
            );
        }
    }
}
