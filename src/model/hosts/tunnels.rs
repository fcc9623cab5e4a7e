//! What joins hosts: stretched networks (one Ethernet segment on several
//! hosts) and links whose ends are on two hosts. Each is a VXLAN segment
//! whose VNI, member addresses and MTU are computed here from the whole
//! file, so every host computes the same without asking the others.
//!
//! VNIs: `vni:` where the file sets one; else a hash of the lab's and the
//! segment's names, moved up past any VNI already taken (segments in name
//! order, then links in file order), so adding a segment never changes
//! another's VNI unless their hashes meet. Addresses of a stretched
//! network: fixed ones first, then the lowest free in file order (every
//! host computes them alike; removing a member renumbers those after it,
//! so give fixed addresses where that matters). MTU: the smallest
//! underlay's less the encapsulation (50 bytes over IPv4, 70 over IPv6).

use super::place::Placement;
use crate::diag::{Diagnostic, Pos};
use crate::model::ipam::{self, Request};
use crate::spec::{GatewaySpec, LabSpec, NetworkMember, NetworkSpec, S};
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// A network stretched over several hosts.
#[derive(Debug, Clone)]
pub struct Stretch {
    pub hosts: Vec<String>,
    pub bridge: String,
    pub vni: u32,
    pub mtu: u32,
    /// The host whose bridge carries the gateway, and its address.
    pub gateway: Option<(String, IpAddr)>,
    /// Each member's address, by (node, interface).
    pub addresses: BTreeMap<(String, String), IpAddr>,
}

/// A link whose two ends are on two hosts.
#[derive(Debug, Clone)]
pub struct Cross {
    /// Index into the file's `links:`.
    pub link: usize,
    pub vni: u32,
    pub mtu: u32,
    /// Each end: its host and the endpoint as written.
    pub ends: [(String, String); 2],
}

/// The UDP port of the lab's tunnels unless `vxlan_port:` says.
pub const DEFAULT_PORT: u16 = 4789;

/// The interface a member of a network gets when it names none.
const DEFAULT_IFNAME: &str = "eth0";

/// (node, interface, fixed address, where) of each member, in file order.
pub fn members(net: &NetworkSpec) -> Vec<(String, String, Option<String>, Pos)> {
    net.nodes
        .iter()
        .map(|m| match &m.value {
            NetworkMember::Name(n) => (n.clone(), DEFAULT_IFNAME.into(), None, Pos::of(m)),
            NetworkMember::Detailed(d) => (
                d.node.clone(),
                d.interface.clone().unwrap_or_else(|| DEFAULT_IFNAME.into()),
                d.address.clone(),
                Pos::of(m),
            ),
        })
        .collect()
}

/// Bytes of VXLAN encapsulation over an underlay of `a`'s family.
pub fn overhead(a: IpAddr) -> u32 {
    if a.is_ipv4() {
        50
    } else {
        70
    }
}

impl Placement {
    /// The overlay MTU between `hosts`.
    pub fn overlay_mtu<'a>(&self, hosts: impl IntoIterator<Item = &'a String>) -> u32 {
        hosts
            .into_iter()
            .filter_map(|h| self.hosts.get(h))
            .map(|i| i.mtu - overhead(i.address))
            .min()
            .unwrap_or(super::machines::DEFAULT_MTU - 50)
    }
}

/// A stretched network's gateway, checked: on one of its hosts, inside
/// its subnet.
pub fn stretched_gateway(
    name: &str,
    net: &S<NetworkSpec>,
    subnet: Option<IpNet>,
    hosts: &[String],
    diags: &mut Vec<Diagnostic>,
) -> Option<(String, IpAddr)> {
    let g = net.value.gateway.as_ref()?;
    let GatewaySpec::OnHost(on) = &g.value else {
        diags.push(
            Diagnostic::error(Pos::of(g), format!("network `{name}` is stretched over several hosts: say which carries its gateway"))
                .help("write `gateway: { host: h1, address: 10.50.0.254 }`"),
        );
        return None;
    };
    if !hosts.contains(&on.host.value) {
        diags.push(
            Diagnostic::error(
                Pos::of(&on.host),
                format!("network `{name}` does not span host `{}`", on.host.value),
            )
            .help(format!(
                "the gateway is on one of its hosts: {}",
                hosts.join(", ")
            )),
        );
        return None;
    }
    match (on.address.value.parse::<IpAddr>(), subnet) {
        (Ok(a), Some(s)) if ipam::usable(s, a) => Some((on.host.value.clone(), a)),
        (Ok(a), Some(s)) => {
            diags.push(
                Diagnostic::error(
                    Pos::of(&on.address),
                    format!("gateway {a} is not a usable address of {s}"),
                )
                .help("pick an address inside the subnet"),
            );
            None
        }
        (Ok(_), None) => None,
        (Err(_), _) => {
            diags.push(
                Diagnostic::error(
                    Pos::of(&on.address),
                    format!("`{}` is not an IP address", on.address.value),
                )
                .help("write the gateway without prefix length, e.g. `10.50.0.254`"),
            );
            None
        }
    }
}

/// Every member's address, the same on every host: fixed ones, then the
/// lowest free in file order (the gateway and fixed addresses skipped).
pub fn stretched_addresses(
    name: &str,
    net: &NetworkSpec,
    subnet: IpNet,
    gateway: Option<IpAddr>,
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<(String, String), IpAddr> {
    let members = members(net);
    let reserved: BTreeSet<IpAddr> = gateway.into_iter().collect();
    // Malformed fixed addresses are reported when each share is built.
    let reqs: Vec<Request> = members
        .iter()
        .map(|(_, _, fixed, _)| Request {
            fixed: fixed.as_ref().and_then(|f| f.parse().ok()),
            current: None,
        })
        .collect();
    match ipam::allocate(subnet, &reserved, &reqs) {
        Ok(addrs) => members
            .into_iter()
            .zip(addrs)
            .map(|((n, i, _, _), a)| ((n, i), a))
            .collect(),
        Err(ipam::IpamError::Exhausted(i)) => {
            diags.push(
                Diagnostic::error(
                    members[i].3,
                    format!("network `{name}` has no free address left in {subnet}"),
                )
                .help("use a larger subnet or fewer members"),
            );
            BTreeMap::new()
        }
    }
}

/// 64-bit FNV-1a: a fixed, documented hash, so VNIs never change between
/// topo versions or hosts.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// VNIs from 4096 up: the low ones are what people pick by hand.
const VNI_BASE: u32 = 4096;
const VNI_SPAN: u32 = (1 << 24) - VNI_BASE;

/// A VNI for segment `key` of `lab`, past those `taken`.
pub fn derive_vni(lab: &str, key: &str, taken: &BTreeSet<u32>) -> u32 {
    let mut v = VNI_BASE + (fnv1a(&format!("{lab}\0{key}")) % u64::from(VNI_SPAN)) as u32;
    while taken.contains(&v) {
        v = VNI_BASE + (v - VNI_BASE + 1) % VNI_SPAN;
    }
    v
}

/// The VNI key of a link across hosts: its two ends, sorted.
pub fn link_key(spec: &LabSpec, link: usize) -> String {
    let mut ends: Vec<&str> = spec.links[link]
        .value
        .endpoints
        .iter()
        .map(|e| e.value.as_str())
        .collect();
    ends.sort_unstable();
    format!("link {}", ends.join(" "))
}

/// The device names of a segment in each host: the VXLAN device, and the
/// bridge a link's node end is joined to it by.
pub fn vxlan_name(vni: u32) -> String {
    format!("vx{vni}")
}

pub fn link_bridge_name(vni: u32) -> String {
    format!("xl{vni}")
}
