//! Checks across the whole lab: subnets of segments, addresses shared on
//! a segment, ports per bridge.

use super::*;

impl Builder<'_> {
    /// Every address on a bridge's segment must sit in one of its subnets,
    /// and an address on one veth end in a subnet of the other's, when known.
    pub(super) fn check_subnets(&mut self) {
        let mut problems = Vec::new();
        for (link, iface) in &self.ifaces {
            let IfKind::Veth { peer } = &iface.kind else {
                continue;
            };
            let known: Vec<IpNet> = match (
                &iface.master,
                self.ifaces.get(peer).and_then(|p| p.master.clone()),
            ) {
                (Some(_), _) => continue,
                (None, Some(br)) => self
                    .bridge_subnets
                    .get(&IfRef::new(peer.ns.clone(), br))
                    .cloned()
                    .unwrap_or_default(),
                (None, None) => self
                    .ifaces
                    .get(peer)
                    .map(|p| p.addrs.iter().map(|(a, _)| a.trunc()).collect())
                    .unwrap_or_default(),
            };
            for (a, pos) in &iface.addrs {
                let same_family: Vec<&IpNet> = known
                    .iter()
                    .filter(|k| k.addr().is_ipv4() == a.addr().is_ipv4())
                    .collect();
                let inside = |a: &IpNet| same_family.iter().any(|k| k.contains(&a.addr()));
                // More subnets on one segment are fine once one of this
                // family is shared: gateways of the others are reached by
                // routes onto the device.
                let shares = iface
                    .addrs
                    .iter()
                    .any(|(b, _)| b.addr().is_ipv4() == a.addr().is_ipv4() && inside(b));
                if same_family.is_empty() || inside(a) {
                    continue;
                }
                let list: Vec<String> = same_family.iter().map(|k| k.to_string()).collect();
                let msg = format!(
                    "address {a} on {link} is outside the link's subnet ({})",
                    list.join(", ")
                );
                problems.push((*pos, msg, shares));
            }
        }
        for (pos, msg, shares) in problems {
            if shares {
                // A second subnet on a segment that shares one: legal, its
                // gateways reached by a route onto the device; say so.
                let help = "fine if meant: the other end reaches it only through a route onto the device (`dev:`)";
                self.diags.push(Diagnostic::warning(pos, msg).help(help));
            } else {
                self.err(
                    pos,
                    msg,
                    "use an address inside the subnet of the bridge or peer it is linked to",
                );
            }
        }
    }

    /// Two interfaces on one bridge or veth pair must not share an address,
    /// even from different namespaces (those are not caught by `add_addresses`).
    pub(super) fn check_segment_addresses(&mut self) {
        let mut all = Vec::new();
        for (link, iface) in &self.ifaces {
            let segment = match &iface.kind {
                IfKind::Bridge { .. } => bridge_label(&link.ns, &link.name),
                IfKind::Tap(_) => match &iface.master {
                    Some(m) => bridge_label(&link.ns, m),
                    None => format!("tap {link}"),
                },
                IfKind::Vxlan(_) => match &iface.master {
                    Some(m) => bridge_label(&link.ns, m),
                    None => format!("vxlan {link}"),
                },
                IfKind::Veth { peer } => {
                    match iface.master.as_ref().map(|m| (&link.ns, m)).or_else(|| {
                        let p = self.ifaces.get(peer)?;
                        p.master.as_ref().map(|m| (&peer.ns, m))
                    }) {
                        Some((ns, m)) => bridge_label(ns, m),
                        None => {
                            let (x, y) = if link < peer {
                                (link, peer)
                            } else {
                                (peer, link)
                            };
                            format!("veth pair ({x}, {y})")
                        }
                    }
                }
            };
            all.extend(
                iface
                    .addrs
                    .iter()
                    .map(|(a, pos)| (*pos, segment.clone(), a.addr(), link.clone())),
            );
        }
        // The later one in the file is the one reported.
        all.sort_by_key(|(pos, ..)| (pos.line, pos.col));
        let mut first: BTreeMap<(String, IpAddr), (IfRef, Pos)> = BTreeMap::new();
        let mut problems = Vec::new();
        for (pos, segment, addr, link) in all {
            match first.get(&(segment.clone(), addr)) {
                Some((other, p)) => problems.push((pos, format!("address {addr} on {link} is also on {other} (line {}), on the same {segment}", p.line))),
                None => {
                    first.insert((segment, addr), (link, pos));
                }
            }
        }
        for (pos, msg) in problems {
            self.err(
                pos,
                msg,
                "give each interface on a bridge or veth pair its own address",
            );
        }
    }

    pub(super) fn check_bridge_ports(&mut self) {
        let mut ports: BTreeMap<IfRef, usize> = BTreeMap::new();
        for (link, iface) in &self.ifaces {
            if let Some(m) = &iface.master {
                *ports.entry(IfRef::new(link.ns.clone(), m)).or_default() += 1;
            }
        }
        for (id, (u, _)) in &self.uplinks {
            if let Some(b) = &u.bridge {
                *ports.entry(IfRef::new(id.link.ns.clone(), b)).or_default() += 1;
            }
        }
        let over: Vec<(IfRef, usize)> = ports
            .into_iter()
            .filter(|(_, n)| *n > BRIDGE_PORT_MAX)
            .collect();
        for (bridge, n) in over {
            let pos = self.ifaces.get(&bridge).map(|i| i.pos).unwrap_or_default();
            let b = match bridge.ns {
                Ns::Host => bridge.name.to_string(),
                _ => bridge.to_string(),
            };
            self.err(
                pos,
                format!("bridge `{b}` would have {n} ports; Linux allows {BRIDGE_PORT_MAX}"),
                "split the nodes over several bridges or networks",
            );
        }
    }
}

/// How messages name a bridge's segment: by its name in the host, by
/// NODE:NAME inside a node.
fn bridge_label(ns: &Ns, name: &str) -> String {
    match ns {
        Ns::Host => format!("bridge {name}"),
        Ns::Node(_) => format!("bridge {}", IfRef::new(ns.clone(), name)),
    }
}
