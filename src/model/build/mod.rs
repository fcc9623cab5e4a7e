//! From `LabSpec` to `Model`: every check that needs no kernel.

mod attach;
mod checks;
mod defaults;
mod derive;
mod dhcp;
mod etc;
mod links;
mod members;
mod networks;
mod nodes;
mod pools;
mod roles;
mod routes;
mod segments;
mod state;
mod taps;
mod uplinks;
mod values;
mod vxlans;

use super::ipam::{self, Request};
use super::names::{self, ifname_problem, node_name_problem, port_name};
use super::nat;
use super::resource::{IfRef, Mac, Name, Ns, RouteKey, Scope};
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
    /// Interfaces whose address a network or a pool allocates.
    pub allocated: BTreeSet<IfRef>,
    /// Where each address the lab allocates comes from (`network lan`,
    /// `p2p pool`): what `validate --show-addresses` says.
    pub address_from: BTreeMap<AddressId, String>,
}

impl Model {
    /// Lets go of what only messages about the file use (where each
    /// object was declared, where addresses came from): apply needs none
    /// of it, and at 1000 nodes it is a tenth of the run's memory.
    pub fn forget_sources(&mut self) {
        self.origins = BTreeMap::new();
        self.allocated = BTreeSet::new();
        self.address_from = BTreeMap::new();
    }
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
    b.check_ipv6_mtus(ipv6);
    if b.diags.iter().any(|d| d.level == Level::Error) {
        b.diags.sort_by_key(|d| (d.pos.line, d.pos.col));
        return Err(b.diags);
    }
    let model = Model {
        lab: b.lab.clone(),
        ipv6,
        dad: spec.dad.as_ref().is_some_and(|d| d.value),
        nodes: b.nodes.keys().cloned().collect(),
        state: b.state(ipv6),
        origins: std::mem::take(&mut b.origins),
        allocated: b.allocated.clone(),
        address_from: std::mem::take(&mut b.address_from),
    };
    // The file's `tests:` are checked against the resolved lab.
    super::checks::resolve(spec, &model)?;
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
    Tap(taps::TapSettings),
    Vxlan(vxlans::VxlanSettings),
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
    /// Bridges the file declares under names Linux refuses (reported
    /// there): endpoints naming them need no error of their own.
    misnamed_bridges: BTreeSet<String>,
    ifaces: BTreeMap<IfRef, Iface>,
    /// Subnets known for a bridge: its network's and its own addresses'.
    bridge_subnets: BTreeMap<IfRef, Vec<IpNet>>,
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
    /// Interfaces the lab does not create, made bridge ports.
    uplinks: BTreeMap<crate::kinds::UplinkId, (crate::kinds::Uplink, Pos)>,
    /// Lines of each node's resolv.conf, and where `dns:` is.
    resolv: BTreeMap<String, (Vec<String>, Pos)>,
    /// Where `etc_hosts: true` is, when it is.
    hosts_file: Option<Pos>,
    /// DHCP servers, by the interface they serve.
    dhcp: BTreeMap<crate::kinds::DhcpId, crate::kinds::Dhcp>,
    /// Nodes standing for namespaces topo did not create.
    attached: BTreeMap<String, crate::model::Attach>,
    /// A share of a lab across machines: every subnet of the lab, which
    /// masquerade leaves alone.
    lab_subnets: Vec<IpNet>,
    /// A share of a lab across machines: the host it is of.
    share_host: Option<String>,
    /// Each node's role, and where it is written.
    roles: BTreeMap<String, (crate::spec::Role, Pos)>,
    /// Links between two node interfaces, first endpoint first, in file
    /// order: what the p2p pool numbers.
    node_links: Vec<(IfRef, IfRef)>,
    /// Subnets of networks with `default_route: false`: nothing routes
    /// through them.
    no_route: BTreeSet<IpNet>,
    /// Each node's address on `lo` from the loopback pool.
    loopbacks: BTreeMap<String, (IpNet, Pos)>,
    /// See `Model::address_from`.
    address_from: BTreeMap<AddressId, String>,
    /// `defaults.interface.mtu`: the MTU of an interface nothing else sets
    /// one for, in place of the kernel's 1500.
    default_mtu: Option<u32>,
}

impl<'a> Builder<'a> {
    fn new(lab: String, prior: &'a Prior) -> Self {
        Builder {
            lab,
            prior,
            diags: Vec::new(),
            nodes: BTreeMap::new(),
            bridges: BTreeMap::new(),
            misnamed_bridges: BTreeSet::new(),
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
            uplinks: BTreeMap::new(),
            resolv: BTreeMap::new(),
            hosts_file: None,
            dhcp: BTreeMap::new(),
            attached: BTreeMap::new(),
            lab_subnets: Vec::new(),
            share_host: None,
            roles: BTreeMap::new(),
            node_links: Vec::new(),
            no_route: BTreeSet::new(),
            loopbacks: BTreeMap::new(),
            address_from: BTreeMap::new(),
            default_mtu: None,
        }
    }

    /// The MAC of an interface the file sets none for. Across machines, the
    /// host namespace's interfaces of one name (a stretched network's bridge
    /// and VXLAN device on each host) must differ: the host's name goes in.
    fn stable_mac(&self, link: &IfRef) -> Mac {
        match (&self.share_host, &link.ns) {
            (Some(h), Ns::Host) => Mac::stable(&format!("{}\0{h}", self.lab), link),
            _ => Mac::stable(&self.lab, link),
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
        self.lab_subnets = spec
            .share
            .as_ref()
            .map_or_else(Vec::new, |s| s.lab_subnets.clone());
        self.share_host = spec.share.as_ref().map(|s| s.host.clone());
        self.collect_defaults(spec);
        self.collect_nodes(spec);
        self.collect_roles(spec);
        self.collect_attach(spec);
        self.collect_bridges(spec);
        self.collect_networks(spec);
        self.collect_links(spec);
        self.collect_taps(spec);
        self.collect_vxlans(spec);
        self.collect_interface_settings(spec);
        self.collect_interface_dhcp(spec);
        self.collect_uplinks(spec);
        self.collect_dns(spec);
        self.hosts_file = spec.etc_hosts.as_ref().filter(|h| h.value).map(Pos::of);
        self.netns_file_origins();
        self.check_veth_mtus();
        self.check_vxlans();
        self.allocate_pools(spec);
        self.collect_routes_and_sysctls(spec);
        self.apply_roles(spec);
        self.derive_static_routes(spec);
        self.collect_nat(spec);
        self.check_subnets();
        self.check_segment_addresses();
        self.check_bridge_ports();
    }

    fn any_v6(&self) -> bool {
        self.ifaces
            .values()
            .any(|i| i.addrs.iter().any(|(a, _)| a.addr().is_ipv6()))
            || self.loopbacks.values().any(|(a, _)| a.addr().is_ipv6())
            || self
                .routes
                .values()
                .flat_map(|m| m.keys())
                .any(|k| k.to.addr().is_ipv6())
    }
}

/// The addresses the file writes explicitly, parseable or not yet checked.
fn declared_addresses(spec: &LabSpec) -> BTreeSet<IpAddr> {
    let in_nodes = spec.nodes.values().flat_map(|n| n.value.bridges.values());
    let bridges = spec
        .bridges
        .values()
        .flat_map(|b| &b.value.addresses)
        .chain(in_nodes.flat_map(|b| &b.value.addresses));
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
#[cfg(test)]
mod tests;
