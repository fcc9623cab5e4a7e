//! NAT and filter rules, and the desired state the builder ends with.

use super::*;

impl Builder<'_> {
    /// NAT and filter rules of every namespace that declares some.
    pub(super) fn collect_nat(&mut self, spec: &LabSpec) {
        let mut groups = Vec::new();
        let host = spec
            .host
            .as_ref()
            .map(|h| (&h.value.nat, &h.value.firewall));
        groups.push((
            Ns::Host,
            host.and_then(|h| h.0.as_ref()),
            host.and_then(|h| h.1.as_ref()),
        ));
        for (n, node) in &spec.nodes {
            groups.push((
                Ns::node(n),
                node.value.nat.as_ref(),
                node.value.firewall.as_ref(),
            ));
        }
        for (ns, nat_spec, fw) in groups {
            let extra = self.masquerade.get(&ns).cloned().unwrap_or_default();
            if nat_spec.is_none() && fw.is_none() && extra.is_empty() {
                continue;
            }
            // The binding keeps `node` alive past the iterator (edition 2021).
            #[allow(clippy::let_and_return)]
            let node_address = |n: &str| {
                let node = Ns::Node(n.into());
                let first = self
                    .in_ns(&node)
                    .flat_map(|(_, i)| &i.addrs)
                    .map(|(a, _)| a.addr())
                    .find(IpAddr::is_ipv4);
                first
            };
            let knows_interface = |i: &str| self.ifaces.contains_key(&IfRef::new(ns.clone(), i));
            let forwards = self.sysctls.get(&ns).is_some_and(|m| {
                ["net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding"]
                    .iter()
                    .any(|k| m.get(*k).is_some_and(|(v, _)| v == "1"))
            });
            let cx = nat::Context {
                ns: &ns,
                node_address: &node_address,
                knows_interface: &knows_interface,
                forwards,
                lab_subnets: &self.lab_subnets,
            };
            let compiled = nat::compile(&cx, nat_spec, fw, &extra);
            self.diags.extend(compiled.diags);
            for (id, rule, pos) in compiled.rules {
                if pos.known() {
                    self.origins.insert(Id::Rule(id.clone()), pos);
                }
                self.nft.insert::<Rule>(id, rule);
            }
            for (id, chain) in compiled.made_chains {
                self.nft.insert::<Chain>(id, chain);
            }
        }
    }

    /// What a new bridge without an `mtu:` has: the smallest of its
    /// ports', as the kernel gives it (1500 with none). Held like any
    /// other, so an MTU the file no longer sets, or one changed by hand,
    /// is put back: once set, the kernel stops following the ports. A
    /// bridge with uplinks follows the machine's interfaces, whose MTU the
    /// file does not say: left to the kernel.
    fn followed_mtu(&self, bridge: &IfRef) -> Option<u32> {
        if self.uplinks.iter().any(|(u, (me, _))| {
            u.link.ns == bridge.ns && me.bridge.as_deref() == Some(bridge.name.as_str())
        }) {
            return None;
        }
        let ports = self.ifaces.iter().filter(|(l, i)| {
            l.ns == bridge.ns && i.master.as_deref() == Some(bridge.name.as_str())
        });
        let mut smallest: Option<u32> = None;
        for (l, i) in ports {
            // A port whose MTU the file does not tell (a VXLAN over the
            // machine's interface, or over a bridge, which may be this
            // one): the whole bridge is left to the kernel.
            let mtu = match &i.kind {
                IfKind::Vxlan(v) if i.mtu.is_none() => {
                    let under = self.underlay(l, v).and_then(|u| self.ifaces.get(&u));
                    match under.map(|u| &u.kind) {
                        Some(IfKind::Veth { .. } | IfKind::Tap(_)) => self.vxlan_mtu(l, i, v),
                        _ => None,
                    }
                }
                _ => self.effective_mtu(l, i),
            };
            let mtu = mtu?;
            smallest = Some(smallest.map_or(mtu, |s| s.min(mtu)));
        }
        smallest.or(Some(1500))
    }

    /// A veth end's MTU: its own, else its peer's or its bridge's, else
    /// the kernel's 1500, so an MTU changed by hand is put back. A bridge
    /// without one takes its ports' (`followed_mtu`).
    pub(super) fn effective_mtu(&self, link: &IfRef, iface: &Iface) -> Option<u32> {
        let bridge_mtu = |l: &IfRef, i: &Iface| {
            let m = i.master.as_ref()?;
            self.ifaces.get(&IfRef::new(l.ns.clone(), m))?.mtu
        };
        let peer_ref = match &iface.kind {
            IfKind::Veth { peer } => peer,
            // A tap starts at 1500 too; on a bridge it takes the bridge's.
            IfKind::Tap(_) => {
                return iface
                    .mtu
                    .or_else(|| bridge_mtu(link, iface))
                    .or(self.default_mtu)
                    .or(Some(1500))
            }
            IfKind::Vxlan(v) => return self.vxlan_mtu(link, iface, v),
            IfKind::Bridge { .. } => return iface.mtu.or_else(|| self.followed_mtu(link)),
        };
        let peer = self.ifaces.get(peer_ref);
        iface
            .mtu
            .or_else(|| peer.and_then(|p| p.mtu))
            .or_else(|| bridge_mtu(link, iface))
            .or_else(|| peer.and_then(|p| bridge_mtu(peer_ref, p)))
            .or(self.default_mtu)
            .or(Some(1500))
    }

    pub(super) fn state(&mut self, ipv6: bool) -> State {
        let mut st = std::mem::take(&mut self.nft);
        for n in self.nodes.keys() {
            let attach = self.attached.get(n).cloned();
            st.insert::<Netns>(
                NetnsId {
                    name: n.as_str().into(),
                },
                Netns { attach },
            );
        }
        for (link, iface) in &self.ifaces {
            match &iface.kind {
                IfKind::Bridge { stp, forward_delay } => {
                    let me = Bridge {
                        stp: *stp,
                        forward_delay: *forward_delay,
                    };
                    st.insert::<Bridge>(BridgeId { link: link.clone() }, me);
                }
                IfKind::Veth { peer } if link < peer => {
                    let me = Veth { peer: peer.clone() };
                    st.insert::<Veth>(VethId { link: link.clone() }, me);
                }
                IfKind::Veth { .. } => {}
                IfKind::Tap(t) => Self::tap_state(link, t, &mut st),
                IfKind::Vxlan(v) => Self::vxlan_state(link, v, &mut st),
            }
            let mac = iface.mac.unwrap_or_else(|| self.stable_mac(link));
            let me = Link {
                up: true,
                mtu: self.effective_mtu(link, iface),
                mac: Some(mac),
                master: iface.master.as_deref().map(Name::from),
            };
            st.insert::<Link>(LinkId { link: link.clone() }, me);
            // The kernel makes no link-local address on what topo creates:
            // topo adds it, from the MAC, as the kernel would.
            let link_local =
                |a: &IpNet| matches!(a, IpNet::V6(v) if v.addr().is_unicast_link_local());
            let generated =
                (ipv6 && !iface.addrs.iter().any(|(a, _)| link_local(a))).then(|| mac.link_local());
            for address in iface.addrs.iter().map(|(a, _)| *a).chain(generated) {
                let id = AddressId {
                    link: link.clone(),
                    address,
                };
                st.insert::<Address>(id, Address {});
            }
        }
        for (node, (address, _)) in &self.loopbacks {
            let link = IfRef::new(Ns::node(node), "lo");
            st.insert::<Address>(
                AddressId {
                    link,
                    address: *address,
                },
                Address {},
            );
        }
        self.netns_files(&mut st);
        for (id, me) in &self.dhcp {
            st.insert::<crate::kinds::Dhcp>(id.clone(), me.clone());
        }
        for (id, (me, _)) in &self.uplinks {
            st.insert::<crate::kinds::Uplink>(id.clone(), me.clone());
        }
        for (ns, routes) in &self.routes {
            for (key, (me, _)) in routes {
                let id = RouteId {
                    ns: ns.clone(),
                    key: key.clone(),
                };
                st.insert::<Route>(id, me.clone());
            }
        }
        for (ns, sysctls) in &self.sysctls {
            for (key, (value, _)) in sysctls {
                let id = SysctlId {
                    ns: ns.clone(),
                    key: key.as_str().into(),
                };
                st.insert::<Sysctl>(
                    id,
                    Sysctl {
                        value: value.as_str().into(),
                    },
                );
            }
        }
        st
    }
}
