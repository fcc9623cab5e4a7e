//! Links (veth pairs, bridge ports) and the settings and addresses of the
//! interfaces they make.

use super::*;

impl Builder<'_> {
    /// Records a veth pair; false (and an error) when an end is taken.
    pub(super) fn add_veth(
        &mut self,
        a: IfRef,
        b: IfRef,
        b_master: Option<String>,
        pos: Pos,
        mtu: Option<u32>,
    ) -> bool {
        for end in [&a, &b] {
            if let Some(prev) = self.ifaces.get(end) {
                let line = prev.pos.line;
                self.err(
                    pos,
                    format!("interface {end} is already created at line {line}"),
                    "each interface belongs to one link: give this one another name",
                );
                return false;
            }
        }
        if a == b {
            self.err(
                pos,
                "a link needs two different endpoints",
                "write `endpoints: [NODE:IF, OTHER:IF]`",
            );
            return false;
        }
        let end = |peer: &IfRef, master| Iface {
            pos,
            kind: IfKind::Veth { peer: peer.clone() },
            master,
            mtu,
            mac: None,
            addrs: vec![],
        };
        self.ifaces.insert(a.clone(), end(&b, None));
        self.ifaces.insert(b.clone(), end(&a, b_master));
        let first = a.clone().min(b.clone());
        self.origins.insert(Id::Veth(VethId { link: first }), pos);
        true
    }

    pub(super) fn collect_links(&mut self, spec: &LabSpec) {
        for link in &spec.links {
            let pos = Pos::of(link);
            let eps = &link.value.endpoints;
            if eps.len() != 2 {
                self.err(
                    pos,
                    format!(
                        "a link has exactly two endpoints, this one has {}",
                        eps.len()
                    ),
                    "write `endpoints: [red:eth0, v-net-0]`",
                );
                continue;
            }
            let written = link.value.mtu.as_ref().or(super::defaults::link_mtu(spec));
            let mtu = self.mtu(written);
            let (Some(a), Some(b)) = (self.endpoint(&eps[0]), self.endpoint(&eps[1])) else {
                continue;
            };
            let a_ref = self.endpoint_ref(&a, &b);
            let b_ref = self.endpoint_ref(&b, &a);
            let (Some(a_ref), Some(b_ref)) = (a_ref, b_ref) else {
                continue;
            };
            if let Some(m) = written.filter(|_| mtu.is_some()) {
                for end in [&a_ref, &b_ref] {
                    if !self.ifaces.contains_key(end) {
                        self.mtu_from.insert(end.clone(), (Pos::of(m), true));
                    }
                }
            }
            if let (Endpoint::Iface(x), Endpoint::Iface(y)) = (&a, &b) {
                if x.ns != Ns::Host && y.ns != Ns::Host {
                    self.node_links.push((x.clone(), y.clone()));
                }
            }
            if a.bridge().is_some() && b.bridge().is_none() {
                // Keep the bridge port second so `add_veth` gives it the master.
                self.add_link_pair(b_ref, a_ref, b.bridge(), a.bridge(), pos, mtu);
            } else {
                self.add_link_pair(a_ref, b_ref, a.bridge(), b.bridge(), pos, mtu);
            }
        }
    }

    pub(super) fn add_link_pair(
        &mut self,
        a: IfRef,
        b: IfRef,
        a_master: Option<String>,
        b_master: Option<String>,
        pos: Pos,
        mtu: Option<u32>,
    ) {
        if self.add_veth(a.clone(), b, b_master, pos, mtu) {
            self.ifaces.get_mut(&a).expect("just added").master = a_master;
        }
    }

    pub(super) fn endpoint(&mut self, ep: &S<String>) -> Option<Endpoint> {
        let pos = Pos::of(ep);
        let text = ep.value.as_str();
        let mut parts = text.splitn(3, ':');
        let owner = parts.next().unwrap_or_default();
        let ifname = parts.next();
        let port = parts.next();
        for name in ifname.iter().chain(port.iter()) {
            if let Some(p) = ifname_problem(name) {
                self.err(
                    pos,
                    format!("endpoint `{text}`: {p}"),
                    "interface names have at most 15 bytes and no '/', ':' or spaces",
                );
                return None;
            }
        }
        if let Some(ns) = self.bridges.get(owner).cloned() {
            if port.is_some() {
                self.err(
                    pos,
                    format!("endpoint `{text}` has three parts, and `{owner}` is a bridge"),
                    format!("a port of bridge {owner} is written `{owner}:PORTNAME`"),
                );
                return None;
            }
            return Some(Endpoint::Bridge {
                bridge: owner.to_string(),
                ns,
                port: ifname.map(str::to_string),
                scoped: false,
            });
        }
        // NODE:BRIDGE and NODE:BRIDGE:PORT name a bridge inside a node.
        if let (Some(i), true) = (ifname, self.nodes.contains_key(owner)) {
            let ns = Ns::Node(owner.into());
            if self.is_bridge(&IfRef::new(ns.clone(), i)) {
                return Some(Endpoint::Bridge {
                    bridge: i.to_string(),
                    ns,
                    port: port.map(str::to_string),
                    scoped: true,
                });
            }
            if port.is_some() {
                self.err(
                    pos,
                    format!("endpoint `{text}` names a port of bridge `{i}` in {owner}, and {owner} has no bridge `{i}`"),
                    format!("declare it under `nodes: {{ {owner}: {{ bridges: {{ {i}: {{}} }} }} }}`, or write `{owner}:IFNAME`"),
                );
                return None;
            }
        }
        if port.is_some() {
            self.err(
                pos,
                format!("endpoint `{text}` has three parts"),
                "only a port of a bridge inside a node has three: `NODE:BRIDGE:PORTNAME`",
            );
            return None;
        }
        match ifname {
            Some(i) => self
                .ns_of(owner, pos)
                .map(|ns| Endpoint::Iface(IfRef::new(ns, i))),
            None if self.nodes.contains_key(owner) || owner == "host" => {
                self.err(
                    pos,
                    format!("endpoint `{text}` names a node but no interface"),
                    format!("write `{owner}:eth0` (NODE:IFNAME)"),
                );
                None
            }
            None if self.misnamed_bridges.contains(owner) => None,
            None => {
                let known: Vec<String> = self
                    .bridges
                    .keys()
                    .chain(self.nodes.keys())
                    .cloned()
                    .collect();
                let help = match did_you_mean(owner, known.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => {
                        "an endpoint is NODE:IFNAME, host:IFNAME, BRIDGE, BRIDGE:PORTNAME, NODE:BRIDGE or NODE:BRIDGE:PORTNAME".into()
                    }
                };
                self.err(
                    pos,
                    format!("endpoint `{text}` names no node or bridge"),
                    help,
                );
                None
            }
        }
    }

    /// The interface an endpoint becomes; bridge ports get a generated name
    /// derived from the other end.
    pub(super) fn endpoint_ref(&mut self, ep: &Endpoint, other: &Endpoint) -> Option<IfRef> {
        match ep {
            Endpoint::Iface(r) => Some(r.clone()),
            Endpoint::Bridge {
                ns, port: Some(p), ..
            } => Some(IfRef::new(ns.clone(), p)),
            Endpoint::Bridge {
                ns,
                port: None,
                bridge,
                ..
            } => {
                let (owner, ifname) = match other {
                    Endpoint::Iface(r) => (r.ns.label().to_string(), r.name.to_string()),
                    // A bridge inside a node is known by its node.
                    Endpoint::Bridge {
                        bridge: ob,
                        ns: ons,
                        scoped: true,
                        port,
                    } => (
                        ons.label().to_string(),
                        port.clone().unwrap_or_else(|| ob.clone()),
                    ),
                    Endpoint::Bridge {
                        bridge: ob, port, ..
                    } => (ob.clone(), port.clone().unwrap_or_else(|| bridge.clone())),
                };
                Some(IfRef::new(
                    ns.clone(),
                    port_name(&self.lab, &owner, &ifname),
                ))
            }
        }
    }

    pub(super) fn collect_interface_settings(&mut self, spec: &LabSpec) {
        let host = spec.host.as_ref().map(|h| (Ns::Host, &h.value.interfaces));
        let nodes = spec
            .nodes
            .iter()
            .map(|(n, s)| (Ns::node(n), &s.value.interfaces));
        let all: Vec<_> = host.into_iter().chain(nodes).collect();
        for (ns, ifaces) in all {
            for (name, set) in ifaces {
                let link = IfRef::new(ns.clone(), name);
                let pos = Pos::of(set);
                if !self.ifaces.contains_key(&link) {
                    let msg = format!("interface {link} is not created by any link or network");
                    self.err(pos, msg, format!("add a link with endpoint `{link}`, or fix the name; topo configures only interfaces the lab creates"));
                    continue;
                }
                let mtu = self.mtu(set.value.mtu.as_ref());
                if let Some(m) = set.value.mtu.as_ref().filter(|_| mtu.is_some()) {
                    self.mtu_from.insert(link.clone(), (Pos::of(m), false));
                }
                let mac = set.value.mac.as_ref().and_then(|m| self.mac(m));
                let iface = self.ifaces.get_mut(&link).expect("checked above");
                iface.mtu = mtu.or(iface.mtu);
                iface.mac = mac;
                self.add_addresses(&link, &set.value.addresses);
            }
        }
    }

    pub(super) fn add_addresses(&mut self, link: &IfRef, addrs: &[S<String>]) {
        for a in addrs {
            let pos = Pos::of(a);
            let net = match a.value.parse::<IpNet>() {
                Ok(n) => n,
                Err(_) => {
                    let help = if a.value.parse::<IpAddr>().is_ok() {
                        format!("add the prefix length: `{}/24`", a.value)
                    } else {
                        "write an address with prefix length, e.g. `192.168.15.1/24` or `fd00::1/64`".to_string()
                    };
                    self.err(
                        pos,
                        format!("`{}` is not an address with prefix length", a.value),
                        help,
                    );
                    continue;
                }
            };
            let ns = link.ns.clone();
            let dup = self
                .in_ns(&ns)
                .find(|(_, i)| i.addrs.iter().any(|(x, _)| x.addr() == net.addr()));
            if let Some((other, _)) = dup {
                let msg = format!("address {} is already on {other}", net.addr());
                self.err(pos, msg, "each address may be used once per namespace");
                continue;
            }
            self.origins.insert(
                Id::Address(AddressId {
                    link: link.clone(),
                    address: net,
                }),
                pos,
            );
            self.ifaces
                .get_mut(link)
                .expect("interface exists")
                .addrs
                .push((net, pos));
        }
    }
}

/// One side of a link as written.
pub(super) enum Endpoint {
    Iface(IfRef),
    Bridge {
        bridge: String,
        ns: Ns,
        port: Option<String>,
        /// Declared under its node (`NODE:BRIDGE`): its name is unique
        /// only there, so ports made for it are named by the node.
        scoped: bool,
    },
}

impl Endpoint {
    fn bridge(&self) -> Option<String> {
        match self {
            Endpoint::Bridge { bridge, .. } => Some(bridge.clone()),
            Endpoint::Iface(_) => None,
        }
    }
}
