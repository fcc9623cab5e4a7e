//! From `LabSpec` to `Model`: every check that needs no kernel.

use super::ipam::{self, Request};
use super::names::{self, ifname_problem, node_name_problem, port_name};
use super::nat;
use super::resource::{IfRef, Mac, Ns, RouteKey, Scope};
use crate::diag::{did_you_mean, Diagnostic, Level, Pos};
use crate::kinds::{
    Address, AddressId, Bridge, BridgeId, Chain, Id, Link, LinkId, Netns, NetnsId, Route, RouteId,
    Rule, State, Sysctl, SysctlId, Veth, VethId,
};
use crate::spec::{LabSpec, NetworkMember, RouteSpec, SysctlValue, S};
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

mod mtu;

/// A Linux bridge refuses its 1025th port ("exchange full").
pub const BRIDGE_PORT_MAX: usize = 1024;

/// The desired state of one lab.
#[derive(Debug, Clone)]
pub struct Model {
    pub lab: String,
    /// Whether interfaces topo creates keep IPv6 address generation.
    pub ipv6: bool,
    /// Whether IPv6 addresses go through duplicate address detection.
    pub dad: bool,
    pub nodes: BTreeSet<String>,
    pub state: State,
    /// Where in the file each object was declared.
    pub origins: BTreeMap<Id, Pos>,
    /// Interfaces whose address a network allocates.
    pub allocated: BTreeSet<IfRef>,
}

/// A model that passed validation, with its warnings.
#[derive(Debug, Clone)]
pub struct Validated {
    pub model: Model,
    pub warnings: Vec<Diagnostic>,
}

/// The addresses interfaces have in the kernel now: keeps allocation stable.
pub type Prior = BTreeMap<IfRef, Vec<IpAddr>>;

/// Resolves and checks `spec`. Errors come back all at once, in file order.
pub fn build(spec: &LabSpec, prior: &Prior) -> Result<Validated, Vec<Diagnostic>> {
    let mut b = Builder::new(spec.name.value.clone(), prior);
    b.run(spec);
    b.diags.sort_by_key(|d| (d.pos.line, d.pos.col));
    if b.diags.iter().any(|d| d.level == Level::Error) {
        return Err(b.diags);
    }
    let ipv6 = match &spec.ipv6 {
        Some(v) if !v.value && b.any_v6() => {
            let d = Diagnostic::error(
                Pos::of(v),
                "`ipv6: false` turns IPv6 off on the lab's interfaces, but the file gives them IPv6 addresses or routes",
            )
            .help("remove `ipv6: false`, or the IPv6 addresses and routes");
            return Err(vec![d]);
        }
        Some(v) => v.value,
        None => b.any_v6(),
    };
    let model = Model {
        lab: b.lab.clone(),
        ipv6,
        dad: spec.dad.as_ref().is_some_and(|d| d.value),
        nodes: b.nodes.keys().cloned().collect(),
        state: b.state(ipv6),
        origins: std::mem::take(&mut b.origins),
        allocated: b.allocated.clone(),
    };
    Ok(Validated {
        model,
        warnings: b.diags,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum IfKind {
    Bridge {
        stp: bool,
        forward_delay: Option<u32>,
    },
    Veth {
        peer: IfRef,
    },
}

#[derive(Debug, Clone)]
struct Iface {
    pos: Pos,
    kind: IfKind,
    master: Option<String>,
    mtu: Option<u32>,
    mac: Option<Mac>,
    addrs: Vec<(IpNet, Pos)>,
}

struct Builder<'a> {
    lab: String,
    prior: &'a Prior,
    diags: Vec<Diagnostic>,
    /// Node name → where it was first named.
    nodes: BTreeMap<String, Pos>,
    /// Bridge name → its namespace.
    bridges: BTreeMap<String, Ns>,
    ifaces: BTreeMap<IfRef, Iface>,
    /// Subnets known for a bridge: its network's and its own addresses'.
    bridge_subnets: BTreeMap<String, Vec<IpNet>>,
    routes: BTreeMap<Ns, BTreeMap<RouteKey, (Route, Pos)>>,
    sysctls: BTreeMap<Ns, BTreeMap<String, (String, Pos)>>,
    /// (node, is IPv4) that got a default route from a network.
    has_default: BTreeSet<(String, bool)>,
    /// (node, is IPv4) whose file entry declares a default route of that
    /// family: networks add none of it.
    explicit_default: BTreeSet<(String, bool)>,
    allocated: BTreeSet<IfRef>,
    origins: BTreeMap<Id, Pos>,
    /// Every address the file writes in an `addresses:` list: a network
    /// never hands these out, even though they are configured after it.
    declared: BTreeSet<IpAddr>,
    /// Subnets of networks with `masquerade: true`, by the bridge's namespace.
    masquerade: BTreeMap<Ns, Vec<(IpNet, Pos)>>,
    /// nftables chains and rules.
    nft: State,
    /// Where the file sets each interface's MTU, and whether that is a
    /// link's `mtu:` (else the interface's own), for the check that a
    /// veth's ends agree.
    mtu_from: BTreeMap<IfRef, (Pos, bool)>,
}

impl<'a> Builder<'a> {
    fn new(lab: String, prior: &'a Prior) -> Self {
        Builder {
            lab,
            prior,
            diags: Vec::new(),
            nodes: BTreeMap::new(),
            bridges: BTreeMap::new(),
            ifaces: BTreeMap::new(),
            bridge_subnets: BTreeMap::new(),
            routes: BTreeMap::new(),
            sysctls: BTreeMap::new(),
            has_default: BTreeSet::new(),
            explicit_default: BTreeSet::new(),
            allocated: BTreeSet::new(),
            origins: BTreeMap::new(),
            declared: BTreeSet::new(),
            masquerade: BTreeMap::new(),
            nft: State::new(),
            mtu_from: BTreeMap::new(),
        }
    }

    /// The interfaces of one namespace: a range of the sorted map, not a scan.
    fn in_ns<'s>(&'s self, ns: &'s Ns) -> impl Iterator<Item = (&'s IfRef, &'s Iface)> + 's {
        self.ifaces
            .range(IfRef::new(ns.clone(), "")..)
            .take_while(move |(l, _)| &l.ns == ns)
    }

    fn err(&mut self, pos: Pos, msg: impl Into<String>, help: impl Into<String>) {
        self.diags.push(Diagnostic::error(pos, msg).help(help));
    }

    fn run(&mut self, spec: &LabSpec) {
        if let Some(p) = names::lab_name_problem(&spec.name.value) {
            self.err(Pos::of(&spec.name), p, "write e.g. `name: lab1`");
        }
        self.declared = declared_addresses(spec);
        self.collect_nodes(spec);
        self.collect_bridges(spec);
        self.collect_networks(spec);
        self.collect_links(spec);
        self.collect_interface_settings(spec);
        self.check_veth_mtus();
        self.collect_routes_and_sysctls(spec);
        self.collect_nat(spec);
        self.check_subnets();
        self.check_segment_addresses();
        self.check_bridge_ports();
    }

    fn collect_nodes(&mut self, spec: &LabSpec) {
        for (name, node) in &spec.nodes {
            self.add_node(name, Pos::of(node));
            for r in &node.value.routes {
                let to = r.value.to.value.as_str();
                // `default` takes its family from `via`; a zero prefix counts too.
                let v6 = r.value.via.as_ref().is_some_and(|v| v.value.contains(':'));
                match to {
                    "default" => {
                        self.explicit_default.insert((name.clone(), !v6));
                    }
                    "0.0.0.0/0" => {
                        self.explicit_default.insert((name.clone(), true));
                    }
                    "::/0" => {
                        self.explicit_default.insert((name.clone(), false));
                    }
                    _ => {}
                }
            }
        }
        for net in spec.networks.values() {
            for m in &net.value.nodes {
                let name = match &m.value {
                    NetworkMember::Name(n) => n,
                    NetworkMember::Detailed(d) => &d.node,
                };
                if !self.nodes.contains_key(name) {
                    self.add_node(name, Pos::of(m));
                }
            }
        }
    }

    fn add_node(&mut self, name: &str, pos: Pos) {
        if let Some(p) = node_name_problem(name) {
            self.err(
                pos,
                format!("node `{name}`: {p}"),
                "rename the node, e.g. `red` or `node-1`",
            );
        }
        self.nodes.entry(name.to_string()).or_insert(pos);
        self.origins
            .entry(Id::Netns(NetnsId {
                name: name.to_string(),
            }))
            .or_insert(pos);
    }

    /// `host` or a declared node; reports anything else at `pos`.
    fn ns_of(&mut self, node: &str, pos: Pos) -> Option<Ns> {
        if node == "host" {
            return Some(Ns::Host);
        }
        if self.nodes.contains_key(node) {
            return Some(Ns::Node(node.to_string()));
        }
        let known: Vec<String> = self.nodes.keys().cloned().collect();
        let help = match did_you_mean(node, known.iter().map(String::as_str)) {
            Some(s) => {
                format!("did you mean `{s}`? nodes are declared under `nodes:` or in a network")
            }
            None => "declare it under `nodes:` or in a network's `nodes:` list".to_string(),
        };
        self.err(pos, format!("no node named `{node}`"), help);
        None
    }

    fn collect_bridges(&mut self, spec: &LabSpec) {
        for (name, br) in &spec.bridges {
            let pos = Pos::of(br);
            if let Some(p) = ifname_problem(name) {
                self.err(
                    pos,
                    format!("bridge `{name}`: {p}"),
                    "choose a bridge name of at most 15 bytes",
                );
                continue;
            }
            if self.nodes.contains_key(name) {
                self.err(
                    pos,
                    format!("`{name}` names both a node and a bridge"),
                    "rename one: endpoints could not tell them apart",
                );
                continue;
            }
            let ns = match &br.value.node {
                Some(n) => match self.ns_of(&n.value, Pos::of(n)) {
                    Some(ns) => ns,
                    None => continue,
                },
                None => Ns::Host,
            };
            let stp = br.value.stp.as_ref().is_some_and(|s| s.value);
            let forward_delay = match &br.value.forward_delay {
                Some(d) if !(2..=30).contains(&d.value) => {
                    self.err(
                        Pos::of(d),
                        format!("forward_delay {} is out of range", d.value),
                        "the kernel takes 2 to 30 seconds; 15 is its default",
                    );
                    continue;
                }
                d => d.as_ref().map(|d| d.value),
            };
            let mtu = self.mtu(br.value.mtu.as_ref());
            self.bridges.insert(name.clone(), ns.clone());
            let link = IfRef::new(ns, name);
            self.origins
                .insert(Id::Bridge(BridgeId { link: link.clone() }), pos);
            let iface = Iface {
                pos,
                kind: IfKind::Bridge { stp, forward_delay },
                master: None,
                mtu,
                mac: None,
                addrs: vec![],
            };
            self.ifaces.insert(link.clone(), iface);
            self.add_addresses(&link, &br.value.addresses);
            let subnets = self.ifaces[&link]
                .addrs
                .iter()
                .map(|(a, _)| a.trunc())
                .collect();
            self.bridge_subnets.insert(name.clone(), subnets);
        }
    }

    fn collect_networks(&mut self, spec: &LabSpec) {
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
            let gateway = match &net.value.gateway {
                Some(g) => match g.value.parse::<IpAddr>() {
                    Ok(a) if ipam::usable(subnet, a) => a,
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
                        continue;
                    }
                    Err(_) => {
                        self.err(
                            Pos::of(g),
                            format!("`{}` is not an IP address", g.value),
                            "write the gateway without prefix length, e.g. `12.0.6.1`",
                        );
                        continue;
                    }
                },
                // The first usable address: for IPv6, `hosts()` starts at the
                // subnet's own address, which is not one.
                None => match subnet.hosts().find(|a| ipam::usable(subnet, *a)) {
                    Some(a) => a,
                    None => continue,
                },
            };
            let bridge = net
                .value
                .bridge
                .as_ref()
                .map_or(name.as_str(), |b| b.value.as_str())
                .to_string();
            let bpos = net.value.bridge.as_ref().map_or(pos, Pos::of);
            let gw_net =
                IpNet::new(gateway, subnet.prefix_len()).expect("prefix from a parsed subnet");
            if !self.ensure_network_bridge(&bridge, bpos, gw_net) {
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
            self.attach_members(name, &net.value.nodes, subnet, gateway, &bridge);
        }
    }

    /// Makes sure the network's bridge exists and carries the gateway.
    fn ensure_network_bridge(&mut self, bridge: &str, pos: Pos, gw: IpNet) -> bool {
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
        if !iface.addrs.iter().any(|(a, _)| a.addr() == gw.addr()) {
            iface.addrs.push((gw, pos));
        }
        true
    }

    fn attach_members(
        &mut self,
        net: &str,
        members: &[S<NetworkMember>],
        subnet: IpNet,
        gw: IpAddr,
        bridge: &str,
    ) {
        let bridge_ns = self.bridges[bridge].clone();
        let mut reserved: BTreeSet<IpAddr> = self
            .declared
            .iter()
            .copied()
            .filter(|a| subnet.contains(a))
            .collect();
        reserved.insert(gw);
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
                        .find(|h| *h != gw)
                        .map(|h| h.to_string())
                        .unwrap_or_default();
                    self.err(
                        pos,
                        format!("address {a} of `{node}` is not a usable address of {subnet}"),
                        format!("pick an address inside {subnet}, e.g. `address: {first}`"),
                    );
                    continue;
                }
                Some((Ok(a), _)) if a == gw => {
                    self.err(
                        pos,
                        format!("address {a} of `{node}` is the gateway of network `{net}`"),
                        "pick another address, or leave `address:` out to have one allocated",
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
                None,
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

    /// Records a veth pair; false (and an error) when an end is taken.
    fn add_veth(
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

    fn collect_links(&mut self, spec: &LabSpec) {
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
            let mtu = self.mtu(link.value.mtu.as_ref());
            let (Some(a), Some(b)) = (self.endpoint(&eps[0]), self.endpoint(&eps[1])) else {
                continue;
            };
            let a_ref = self.endpoint_ref(&a, &b);
            let b_ref = self.endpoint_ref(&b, &a);
            let (Some(a_ref), Some(b_ref)) = (a_ref, b_ref) else {
                continue;
            };
            if let Some(m) = link.value.mtu.as_ref().filter(|_| mtu.is_some()) {
                for end in [&a_ref, &b_ref] {
                    if !self.ifaces.contains_key(end) {
                        self.mtu_from.insert(end.clone(), (Pos::of(m), true));
                    }
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

    fn add_link_pair(
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

    fn endpoint(&mut self, ep: &S<String>) -> Option<Endpoint> {
        let pos = Pos::of(ep);
        let text = ep.value.as_str();
        let (owner, ifname) = match text.split_once(':') {
            Some((o, i)) => (o, Some(i)),
            None => (text, None),
        };
        if let Some(ifname) = ifname {
            if let Some(p) = ifname_problem(ifname) {
                self.err(
                    pos,
                    format!("endpoint `{text}`: {p}"),
                    "interface names have at most 15 bytes and no '/', ':' or spaces",
                );
                return None;
            }
        }
        if let Some(ns) = self.bridges.get(owner).cloned() {
            return Some(Endpoint::Bridge {
                bridge: owner.to_string(),
                ns,
                port: ifname.map(str::to_string),
            });
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
                        "an endpoint is NODE:IFNAME, host:IFNAME, BRIDGE or BRIDGE:PORTNAME".into()
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
    fn endpoint_ref(&mut self, ep: &Endpoint, other: &Endpoint) -> Option<IfRef> {
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
                    Endpoint::Iface(r) => (r.ns.label().to_string(), r.name.clone()),
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

    fn collect_interface_settings(&mut self, spec: &LabSpec) {
        let host = spec.host.as_ref().map(|h| (Ns::Host, &h.value.interfaces));
        let nodes = spec
            .nodes
            .iter()
            .map(|(n, s)| (Ns::Node(n.clone()), &s.value.interfaces));
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

    fn add_addresses(&mut self, link: &IfRef, addrs: &[S<String>]) {
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

    fn collect_routes_and_sysctls(&mut self, spec: &LabSpec) {
        let mut groups = Vec::new();
        if let Some(h) = &spec.host {
            groups.push((Ns::Host, &h.value.routes, &h.value.sysctls));
        }
        for (n, s) in &spec.nodes {
            groups.push((Ns::Node(n.clone()), &s.value.routes, &s.value.sysctls));
        }
        for (ns, routes, sysctls) in groups {
            // Prefixes routed straight onto a device: gateways inside them
            // are reachable, as the kernel sees it.
            let on_link: Vec<IpNet> = routes
                .iter()
                .filter(|r| r.value.via.is_none() && r.value.dev.is_some())
                .filter_map(|r| r.value.to.value.parse::<IpNet>().ok())
                .collect();
            for r in routes {
                self.route(&ns, r, &on_link);
            }
            for (key, value) in sysctls {
                self.sysctl(&ns, key, value);
            }
        }
    }

    fn route(&mut self, ns: &Ns, r: &S<RouteSpec>, on_link: &[IpNet]) {
        let pos = Pos::of(r);
        let spec = &r.value;
        let via = match &spec.via {
            Some(v) => match v.value.parse::<IpAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    self.err(
                        Pos::of(v),
                        format!("`{}` is not an IP address", v.value),
                        "write the gateway's address, e.g. `via: 192.168.15.5`",
                    );
                    return;
                }
            },
            None => None,
        };
        let to = if spec.to.value == "default" {
            match via {
                Some(IpAddr::V6(_)) => "::/0".parse().expect("literal"),
                _ => "0.0.0.0/0".parse().expect("literal"),
            }
        } else {
            match spec
                .to
                .value
                .parse::<IpNet>()
                .or_else(|_| spec.to.value.parse::<IpAddr>().map(IpNet::from))
            {
                Ok(n) if n.trunc() == n => n,
                Ok(n) => {
                    self.err(
                        Pos::of(&spec.to),
                        format!("`{n}` has host bits set"),
                        format!("write the network: `to: {}`", n.trunc()),
                    );
                    return;
                }
                Err(_) => {
                    self.err(
                        Pos::of(&spec.to),
                        format!("`{}` is not a destination", spec.to.value),
                        "write `default` or a prefix such as `10.9.0.0/16`",
                    );
                    return;
                }
            }
        };
        if via.is_none() && spec.dev.is_none() {
            self.err(
                pos,
                "a route needs `via`, `dev` or both",
                "add `via: GATEWAY` or `dev: IFNAME`",
            );
            return;
        }
        if let Some(v) = via {
            if v.is_ipv4() != matches!(to, IpNet::V4(_)) {
                self.err(
                    pos,
                    format!("route to {to} via {v} mixes IPv4 and IPv6"),
                    "use a gateway of the destination's family",
                );
                return;
            }
        }
        let dev = spec.dev.as_ref().map(|d| d.value.clone());
        if let (Some(d), Ns::Node(_)) = (&spec.dev, ns) {
            if !self.ifaces.contains_key(&IfRef::new(ns.clone(), &d.value)) {
                self.err(
                    Pos::of(d),
                    format!("`{}` is no interface of {ns}", d.value),
                    "name an interface that a link or network creates in this node",
                );
                return;
            }
        }
        if let (Some(v), Ns::Node(_)) = (via, ns) {
            let reachable = self
                .in_ns(ns)
                .flat_map(|(_, i)| &i.addrs)
                .any(|(a, _)| a.contains(&v))
                || on_link.iter().any(|n| n.contains(&v));
            if !reachable {
                let have: Vec<String> = self
                    .in_ns(ns)
                    .flat_map(|(_, i)| i.addrs.iter().map(|(a, _)| a.to_string()))
                    .collect();
                let help = if have.is_empty() {
                    format!("give {ns} an address in the gateway's subnet")
                } else {
                    format!(
                        "{ns} has {}; use a gateway inside one of those subnets",
                        have.join(", ")
                    )
                };
                self.err(
                    spec.via.as_ref().map_or(pos, Pos::of),
                    format!("gateway {v} is not reachable from any address of {ns}"),
                    help,
                );
                return;
            }
        }
        let key = RouteKey::new(to, spec.metric.as_ref().map_or(0, |m| m.value));
        let routes = self.routes.entry(ns.clone()).or_default();
        if let Some((_, prev)) = routes.get(&key) {
            if prev.line != pos.line {
                let line = prev.line;
                self.err(
                    pos,
                    format!(
                        "a route to {to} with metric {} is already declared at line {line}",
                        key.metric
                    ),
                    "give one of them another `metric:`",
                );
                return;
            }
        }
        let scope = Scope::of_route(&to, via);
        routes.insert(key, (Route { via, dev, scope }, pos));
    }

    fn sysctl(&mut self, ns: &Ns, key: &str, value: &S<SysctlValue>) {
        let pos = Pos::of(value);
        let ok_chars = key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !key.starts_with("net.") || !ok_chars || key.contains("..") {
            self.err(
                pos,
                format!("sysctl `{key}` is not a network sysctl"),
                "topo sets per-namespace sysctls under `net.`, e.g. `net.ipv4.ip_forward: 1`",
            );
            return;
        }
        let v = value.value.as_text();
        if v.is_empty() || v.contains('\n') {
            self.err(
                pos,
                format!("sysctl `{key}` needs a one-line value"),
                "write e.g. `1`",
            );
            return;
        }
        self.origins.insert(
            Id::Sysctl(SysctlId {
                ns: ns.clone(),
                key: key.to_string(),
            }),
            pos,
        );
        self.sysctls
            .entry(ns.clone())
            .or_default()
            .insert(key.to_string(), (v, pos));
    }

    /// Every address on a bridge's segment must sit in one of its subnets,
    /// and an address on one veth end in a subnet of the other's, when known.
    fn check_subnets(&mut self) {
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
                (None, Some(br)) => self.bridge_subnets.get(&br).cloned().unwrap_or_default(),
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
    fn check_segment_addresses(&mut self) {
        let mut all = Vec::new();
        for (link, iface) in &self.ifaces {
            let segment = match &iface.kind {
                IfKind::Bridge { .. } => format!("bridge {}", link.name),
                IfKind::Veth { peer } => match iface
                    .master
                    .clone()
                    .or_else(|| self.ifaces.get(peer).and_then(|p| p.master.clone()))
                {
                    Some(m) => format!("bridge {m}"),
                    None => {
                        let (x, y) = if link < peer {
                            (link, peer)
                        } else {
                            (peer, link)
                        };
                        format!("veth pair ({x}, {y})")
                    }
                },
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

    fn check_bridge_ports(&mut self) {
        let mut ports: BTreeMap<&String, usize> = BTreeMap::new();
        for iface in self.ifaces.values() {
            if let Some(m) = &iface.master {
                *ports.entry(m).or_default() += 1;
            }
        }
        let over: Vec<(String, usize)> = ports
            .into_iter()
            .filter(|(_, n)| *n > BRIDGE_PORT_MAX)
            .map(|(b, n)| (b.clone(), n))
            .collect();
        for (b, n) in over {
            let pos = self
                .ifaces
                .iter()
                .find(|(l, _)| l.name == b)
                .map(|(_, i)| i.pos)
                .unwrap_or_default();
            self.err(
                pos,
                format!("bridge `{b}` would have {n} ports; Linux allows {BRIDGE_PORT_MAX}"),
                "split the nodes over several bridges or networks",
            );
        }
    }

    fn subnet(&mut self, s: &S<String>) -> Option<IpNet> {
        match s.value.parse::<IpNet>() {
            Ok(n) if n.trunc() == n => Some(n),
            Ok(n) => {
                self.err(
                    Pos::of(s),
                    format!("subnet {n} has host bits set"),
                    format!("write `subnet: {}`", n.trunc()),
                );
                None
            }
            Err(_) => {
                self.err(
                    Pos::of(s),
                    format!("`{}` is not a subnet", s.value),
                    "write a prefix such as `12.0.6.0/24`",
                );
                None
            }
        }
    }

    fn mtu(&mut self, m: Option<&S<u32>>) -> Option<u32> {
        let m = m?;
        if !(68..=65535).contains(&m.value) {
            self.err(
                Pos::of(m),
                format!("mtu {} is out of range", m.value),
                "an MTU is between 68 and 65535; 1500 is usual",
            );
            return None;
        }
        Some(m.value)
    }

    fn mac(&mut self, m: &S<String>) -> Option<Mac> {
        match m.value.parse::<Mac>() {
            Ok(mac) if mac.0[0] & 1 == 0 && mac.0 != [0; 6] => Some(mac),
            Ok(_) => {
                self.err(
                    Pos::of(m),
                    format!("{} is not a unicast MAC address", m.value),
                    "use a locally administered unicast address such as `02:00:00:00:00:01`",
                );
                None
            }
            Err(_) => {
                self.err(
                    Pos::of(m),
                    format!("`{}` is not a MAC address", m.value),
                    "write six hex pairs, e.g. `02:00:00:00:15:01`",
                );
                None
            }
        }
    }

    fn any_v6(&self) -> bool {
        self.ifaces
            .values()
            .any(|i| i.addrs.iter().any(|(a, _)| a.addr().is_ipv6()))
            || self
                .routes
                .values()
                .flat_map(|m| m.keys())
                .any(|k| k.to.addr().is_ipv6())
    }

    /// NAT and filter rules of every namespace that declares some.
    fn collect_nat(&mut self, spec: &LabSpec) {
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
                Ns::Node(n.clone()),
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
                let node = Ns::Node(n.to_string());
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

    /// A veth end's MTU: its own, else its peer's or its bridge's, else
    /// the kernel's 1500, so an MTU changed by hand is put back. A bridge
    /// without one follows its ports, as the kernel does.
    fn effective_mtu(&self, link: &IfRef, iface: &Iface) -> Option<u32> {
        let IfKind::Veth { peer: peer_ref } = &iface.kind else {
            return iface.mtu;
        };
        let bridge_mtu = |l: &IfRef, i: &Iface| {
            let m = i.master.as_ref()?;
            self.ifaces.get(&IfRef::new(l.ns.clone(), m))?.mtu
        };
        let peer = self.ifaces.get(peer_ref);
        iface
            .mtu
            .or_else(|| peer.and_then(|p| p.mtu))
            .or_else(|| bridge_mtu(link, iface))
            .or_else(|| peer.and_then(|p| bridge_mtu(peer_ref, p)))
            .or(Some(1500))
    }

    fn state(&mut self, ipv6: bool) -> State {
        let mut st = std::mem::take(&mut self.nft);
        for n in self.nodes.keys() {
            st.insert::<Netns>(NetnsId { name: n.clone() }, Netns {});
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
            }
            let mac = iface.mac.unwrap_or_else(|| Mac::stable(&self.lab, link));
            let me = Link {
                up: true,
                mtu: self.effective_mtu(link, iface),
                mac: Some(mac),
                master: iface.master.clone(),
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
                    key: key.clone(),
                };
                st.insert::<Sysctl>(
                    id,
                    Sysctl {
                        value: value.clone(),
                    },
                );
            }
        }
        st
    }
}

/// One side of a link as written.
enum Endpoint {
    Iface(IfRef),
    Bridge {
        bridge: String,
        ns: Ns,
        port: Option<String>,
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

/// The addresses the file writes explicitly, parseable or not yet checked.
fn declared_addresses(spec: &LabSpec) -> BTreeSet<IpAddr> {
    let bridges = spec.bridges.values().flat_map(|b| &b.value.addresses);
    let host = spec.host.iter().flat_map(|h| h.value.interfaces.values());
    let nodes = spec
        .nodes
        .values()
        .flat_map(|n| n.value.interfaces.values());
    let ifaces = host.chain(nodes).flat_map(|i| &i.value.addresses);
    bridges
        .chain(ifaces)
        .filter_map(|a| a.value.parse::<IpNet>().ok())
        .map(|n| n.addr())
        .collect()
}

fn default_for(gw: IpAddr) -> IpNet {
    match gw {
        IpAddr::V4(_) => "0.0.0.0/0".parse().expect("literal"),
        IpAddr::V6(_) => "::/0".parse().expect("literal"),
    }
}
