//! What topo reads from a machine and the requests it sends, as plain
//! values: the same for every machine.

use ipnet::IpNet;
use std::net::IpAddr;

/// Route protocol number that marks routes topo created (unused in
/// /etc/iproute2/rt_protos; `ip route` shows it as `proto 157`).
pub const RTPROT_TOPO: u8 = 157;
/// Route protocol of the routes the kernel makes for an address (`proto
/// kernel`).
pub const RTPROT_KERNEL: u8 = 2;

/// An interface as the machine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// The kernel's link kind (`bridge`, `veth`, `tun`, `vxlan`); `None`
    /// for loopback and physical interfaces.
    pub kind: Option<String>,
    pub alias: Option<String>,
    pub mtu: u32,
    pub mac: Option<[u8; 6]>,
    pub master: Option<u32>,
    pub up: bool,
    /// Operationally up: carrier on both ends of a veth, traffic flows.
    pub running: bool,
    /// Spanning tree state and forward delay (seconds), for bridges.
    pub stp: Option<bool>,
    pub forward_delay: Option<u32>,
    /// A bridge port that does not forward yet, nor block for good: no
    /// carrier yet, or spanning tree still listening or learning.
    pub port_settling: bool,
    /// promote_secondaries of the interface itself.
    pub promote: bool,
    /// What a tun/tap device reports about itself (kind `tun`).
    pub tun: Option<TunInfo>,
    /// A VXLAN device's own options (kind `vxlan`).
    pub vxlan: Option<VxlanInfo>,
}

impl Link {
    /// Up, but not carrying traffic yet: no carrier (a bridge has none
    /// until a port has, a tap none until a reader opens it: neither
    /// counts), or a bridge port that does not forward yet.
    pub fn coming_up(&self) -> bool {
        let kind = self.kind.as_deref();
        let waits_for_carrier = kind != Some("bridge") && kind != Some("tun");
        let quiet = waits_for_carrier && !self.running;
        let port = self.port_settling && kind != Some("tun");
        self.up && (quiet || port)
    }
}

/// A tun/tap device's settings, as the kernel reports them in the link's
/// info data (IFLA_TUN_*).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TunInfo {
    /// A tap (Ethernet frames), not a tun (IP packets).
    pub tap: bool,
    pub owner: Option<u32>,
    pub group: Option<u32>,
    /// Stays when the last process that opened it closes it.
    pub persist: bool,
    pub multi_queue: bool,
}

/// A VXLAN device's options, as the kernel reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VxlanInfo {
    pub vni: u32,
    pub local: Option<IpAddr>,
    /// The UDP destination port.
    pub port: u16,
    /// The underlay device's index, when one is set.
    pub dev: Option<u32>,
    pub learning: bool,
}

/// One entry of a device's forwarding database (`bridge fdb`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdbEntry {
    pub index: u32,
    pub mac: [u8; 6],
    /// The remote a VXLAN device sends to for this MAC.
    pub dst: Option<IpAddr>,
}

impl Link {
    /// A link with only its index and name: the rest empty or off.
    pub fn named(index: u32, name: &str) -> Link {
        Link {
            index,
            name: name.to_string(),
            kind: None,
            alias: None,
            mtu: 0,
            mac: None,
            master: None,
            up: false,
            running: false,
            stp: None,
            forward_delay: None,
            port_settling: false,
            promote: false,
            tun: None,
            vxlan: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub index: u32,
    pub net: IpNet,
    /// An IPv4 address after the first one of its subnet on the interface:
    /// the kernel deletes it with that first (primary) one.
    pub secondary: bool,
    /// An IPv6 address still in duplicate address detection: not usable.
    pub tentative: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub to: IpNet,
    pub metric: u32,
    pub via: Option<IpAddr>,
    pub oif: Option<u32>,
    pub protocol: u8,
    pub scope: u8,
}

/// Everything topo reads from one namespace, in one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dump {
    pub links: Vec<Link>,
    pub addrs: Vec<Addr>,
    pub routes: Vec<Route>,
    /// Forwarding database entries of the namespace's VXLAN devices (read
    /// only where there are some).
    pub fdb: Vec<FdbEntry>,
}

/// How much of a namespace to dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Depth {
    Full,
    /// `lo`, whose alias tells who owns the namespace, and when it is
    /// this mark the interfaces, all of which go with the namespace
    /// (destroy names those the lab does not own).
    LinksIfMarked(String),
    /// `lo`, and everything when lo's alias is this mark.
    FullIfMarked(String),
}

/// What a new interface gets in the request that creates it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewLink {
    pub mac: Option<[u8; 6]>,
    /// The ownership mark (interface alias).
    pub alias: String,
}

/// A bridge's own options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeOptions {
    pub stp: bool,
    /// Seconds; the kernel's when `None`.
    pub forward_delay: Option<u32>,
}

/// A persistent tap as topo makes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TapOptions {
    pub owner: Option<u32>,
    pub group: Option<u32>,
    pub multi_queue: bool,
}

/// A VXLAN device as topo makes it: learning is always off, the remotes
/// are forwarding entries of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VxlanOptions {
    pub vni: u32,
    pub local: Option<IpAddr>,
    pub port: u16,
    /// The underlay interface, by name in the same namespace.
    pub dev: Option<String>,
    pub learning: bool,
}

/// Which bridge an interface is a port of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Master {
    #[default]
    Keep,
    Detach,
    /// A bridge of the same namespace, by name.
    Attach(String),
}

/// Attributes to change on a link; `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkSettings {
    pub alias: Option<String>,
    pub up: Option<bool>,
    pub mtu: Option<u32>,
    pub mac: Option<[u8; 6]>,
    pub master: Master,
}

/// A route as topo writes it; `dev` names the output interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub to: IpNet,
    pub metric: u32,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
}
