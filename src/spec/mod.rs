//! The lab file exactly as the user writes it: serde types with source spans.
//!
//! Nothing here interprets names or addresses; `model` does that, so every
//! mistake can be reported against the span kept here.

mod checks;
mod devices;
pub mod expand;
mod explain;
mod hosts;
mod load;
mod nat;
mod networks;
mod scalars;
mod services;
mod shorthand;
mod top;

pub use checks::{CheckSpec, TestsDetail, TestsSpec, TimeoutValue, TIMEOUT_VALUE};
pub use devices::{IdValue, TapSpec, VxlanSpec};
pub use hosts::{MachineSpec, Share};
pub use load::{load_str, LoadError};
pub use nat::{DnatSpec, FilterRuleSpec, FirewallSpec, MasqueradeSpec, NatSpec, SnatSpec};
pub use networks::{GatewayAt, GatewayOnHost, GatewaySpec, MemberSpec, NetworkMember, NetworkSpec};
pub use scalars::{PortValue, Prefixes, SysctlValue};
pub use services::{AttachSpec, DhcpHostSpec, DhcpSpec, DnsSpec, LeaseTime, LEASE_TIME};
pub use shorthand::{
    AddressingSpec, DefaultsSpec, InterfaceDefaults, LinkDefaults, NodeDefaults, Role, RoutingSpec,
    StaticRouting,
};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

/// A value with the place in the file it came from.
pub type S<T> = Spanned<T>;

/// The whole lab file. Read by hand (`top.rs`): top-level keys starting
/// with `x-` are ignored, as in compose files, so they can hold anchors.
#[derive(Debug, Clone, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "topo lab",
    description = "A topo lab file: namespaces, bridges, veth links, addresses, routes and sysctls. Top-level keys starting with `x-` are ignored (for YAML anchors).",
    extend("patternProperties" = { "^x-": {} })
)]
pub struct LabSpec {
    /// The lab's name: lowercase letters, digits and '-', at most 32 bytes. It marks every object the lab owns.
    #[schemars(with = "String")]
    pub name: S<String>,
    /// Keep IPv6 on the interfaces topo creates. Default: on when any address in the file is IPv6, off otherwise.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub ipv6: Option<S<bool>>,
    /// Run IPv6 duplicate address detection on the lab's addresses. Off by default: topo checks that every address is unique in the lab, and without DAD an address is usable the moment apply returns instead of two seconds later.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub dad: Option<S<bool>>,
    /// Network namespaces, each named exactly like its node. A name with a range, `h[1-64]`, is one node per number (both ends included).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, NodeSpec>")]
    pub nodes: BTreeMap<String, S<NodeSpec>>,
    /// Linux bridges, in the host namespace unless `node:` puts one inside a node; `s[1-4]` is four.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, BridgeSpec>")]
    pub bridges: BTreeMap<String, S<BridgeSpec>>,
    /// veth pairs. An endpoint with a range is one link per name: against a single end it fans out, two ranges pair element by element.
    #[serde(default)]
    #[schemars(with = "Vec<LinkSpec>")]
    pub links: Vec<S<LinkSpec>>,
    /// A bridge, a subnet, a gateway and the nodes attached to it, addresses allocated.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, NetworkSpec>")]
    pub networks: BTreeMap<String, S<NetworkSpec>>,
    /// The namespace topo runs in: configured, never created or deleted.
    #[serde(default)]
    #[schemars(with = "Option<HostSpec>")]
    pub host: Option<S<HostSpec>>,
    /// Persistent tap devices in the host, by name, for VMs to open without root.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, TapSpec>")]
    pub taps: BTreeMap<String, S<TapSpec>>,
    /// VXLAN devices in the host, by name: an Ethernet segment carried over UDP to other hosts.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, VxlanSpec>")]
    pub vxlans: BTreeMap<String, S<VxlanSpec>>,
    /// Connectivity checks that `topo test` runs inside the applied lab.
    #[serde(default)]
    #[schemars(with = "Option<TestsSpec>")]
    pub tests: Option<S<TestsSpec>>,
    /// The machines of a lab across several, by host name. Absent: the one machine topo runs on.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, MachineSpec>")]
    pub hosts: BTreeMap<String, S<MachineSpec>>,
    /// Write /etc/netns/NODE/hosts for every node: the names (`NODE` and `NODE.LAB`) and addresses of all the lab's nodes, which `getent hosts` inside a node then finds.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub etc_hosts: Option<S<bool>>,
    /// A lab across machines: the UDP port of its VXLAN tunnels (stretched networks, links between hosts). Default 4789.
    #[serde(default)]
    #[schemars(with = "Option<u16>")]
    pub vxlan_port: Option<S<u16>>,
    /// What every node, interface and link gets unless it says otherwise.
    #[serde(default)]
    #[schemars(with = "Option<DefaultsSpec>")]
    pub defaults: Option<S<DefaultsSpec>>,
    /// Address pools for links, segments of bridges and loopbacks the file gives no address.
    #[serde(default)]
    #[schemars(with = "Option<AddressingSpec>")]
    pub addressing: Option<S<AddressingSpec>>,
    /// Routes topo derives: `{ static: auto }`.
    #[serde(default)]
    #[schemars(with = "Option<RoutingSpec>")]
    pub routing: Option<S<RoutingSpec>>,
    /// Set by topo when the file is read as one host's share of a lab across machines.
    #[serde(skip)]
    #[schemars(skip)]
    pub share: Option<Share>,
}

/// One node: a network namespace.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// The host (of `hosts:`) the node runs on; from its networks when they say it.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub host: Option<S<String>>,
    /// `router` (forwarding on) or `host` (default route via the router on its segments).
    #[serde(default)]
    #[schemars(with = "Option<Role>")]
    pub role: Option<S<Role>>,
    /// Bridges inside this node, by name (without `host:` or `node:`): endpoints name one `NODE:BRIDGE`, or a port of it `NODE:BRIDGE:PORT`. Two nodes may each have a `br0`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, BridgeSpec>")]
    pub bridges: BTreeMap<String, S<BridgeSpec>>,
    /// Settings of interfaces created by `links:` or `networks:`, by interface name.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, InterfaceSpec>")]
    pub interfaces: BTreeMap<String, S<InterfaceSpec>>,
    /// Routes in the node's main table.
    #[serde(default)]
    #[schemars(with = "Vec<RouteSpec>")]
    pub routes: Vec<S<RouteSpec>>,
    /// sysctls under net.*, e.g. `net.ipv4.ip_forward: 1`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, SysctlValue>")]
    pub sysctls: BTreeMap<String, S<SysctlValue>>,
    /// NAT rules of this namespace: masquerade, SNAT, DNAT port forwards.
    #[serde(default)]
    #[schemars(with = "Option<NatSpec>")]
    pub nat: Option<S<NatSpec>>,
    /// Filter rules and chain policies of this namespace.
    #[serde(default)]
    #[schemars(with = "Option<FirewallSpec>")]
    pub firewall: Option<S<FirewallSpec>>,
    /// Persistent tap devices in this node, by name; `bridge:` names a bridge inside the node.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, TapSpec>")]
    pub taps: BTreeMap<String, S<TapSpec>>,
    /// VXLAN devices in this node, by name; `bridge:` names a bridge inside the node.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, VxlanSpec>")]
    pub vxlans: BTreeMap<String, S<VxlanSpec>>,
    /// Stand for a namespace topo did not create (a process's, a container's, a named one): `{ pid: 4242 }`, `{ netns: /run/netns/foo }` or `{ container: web }`.
    #[serde(default)]
    #[schemars(with = "Option<AttachSpec>")]
    pub attach: Option<S<AttachSpec>>,
    /// The node's resolver: written to /etc/netns/NODE/resolv.conf, its /etc/resolv.conf under `ip netns exec` and `topo exec`.
    #[serde(default)]
    #[schemars(with = "Option<DnsSpec>")]
    pub dns: Option<S<DnsSpec>>,
}

/// The host namespace: only interfaces the lab creates, routes and sysctls.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// Settings of host-side interfaces that `links:` create (never of the machine's own interfaces).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, InterfaceSpec>")]
    pub interfaces: BTreeMap<String, S<InterfaceSpec>>,
    /// Routes in the host's main table, removed again by destroy.
    #[serde(default)]
    #[schemars(with = "Vec<RouteSpec>")]
    pub routes: Vec<S<RouteSpec>>,
    /// sysctls under net.*; destroy restores the values they had before.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, SysctlValue>")]
    pub sysctls: BTreeMap<String, S<SysctlValue>>,
    /// NAT rules of this namespace: masquerade, SNAT, DNAT port forwards.
    #[serde(default)]
    #[schemars(with = "Option<NatSpec>")]
    pub nat: Option<S<NatSpec>>,
    /// Filter rules and chain policies of this namespace.
    #[serde(default)]
    #[schemars(with = "Option<FirewallSpec>")]
    pub firewall: Option<S<FirewallSpec>>,
}

/// Settings of one interface.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InterfaceSpec {
    /// Addresses with prefix length, IPv4 or IPv6: `192.168.15.1/24`, `fd00::1/64`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub addresses: Vec<S<String>>,
    /// MTU in bytes (68 to 65535).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub mtu: Option<S<u32>>,
    /// MAC address, `02:00:00:00:00:01`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub mac: Option<S<String>>,
    /// A DHCP server on this interface, from its namespace, for the subnet of one of its addresses.
    #[serde(default)]
    #[schemars(with = "Option<DhcpSpec>")]
    pub dhcp: Option<S<DhcpSpec>>,
}

/// A Linux bridge.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BridgeSpec {
    /// The host (of `hosts:`) the bridge is on; its node's when `node:` is given. Not under a node.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub host: Option<S<String>>,
    /// The node whose namespace holds the bridge; the host when absent. Not under a node: there it is that node.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub node: Option<S<String>>,
    /// Addresses on the bridge itself (the gateway of its subnet, typically).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub addresses: Vec<S<String>>,
    /// Spanning tree protocol; off by default.
    #[serde(default)]
    #[schemars(with = "bool")]
    pub stp: Option<S<bool>>,
    /// Seconds a port listens and then learns before it forwards, with spanning tree on (2 to 30; the kernel's default is 15).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub forward_delay: Option<S<u32>>,
    /// MTU in bytes.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub mtu: Option<S<u32>>,
    /// Existing interfaces of the bridge's namespace that topo did not create (the machine's NIC), made ports of the bridge; destroy detaches them and leaves them up or down as they were.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub uplinks: Vec<S<String>>,
    /// Let an uplink be the interface the machine's default route goes out of (the machine may lose its connection while the bridge learns). Off by default: such an uplink is refused.
    #[serde(default)]
    #[schemars(with = "bool")]
    pub allow_default_route_uplink: Option<S<bool>>,
}

/// A veth pair between two endpoints.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// Exactly two endpoints: `NODE:IFNAME`, `host:IFNAME`, `BRIDGE`, `BRIDGE:PORTNAME`, `NODE:BRIDGE` or `NODE:BRIDGE:PORTNAME`; a range (`h[1-8]:eth0`) makes one link per name.
    #[schemars(with = "Vec<String>", length(equal = 2))]
    pub endpoints: Vec<S<String>>,
    /// MTU for both ends.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub mtu: Option<S<u32>>,
}

/// One route.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// Destination prefix, or `default`.
    #[schemars(with = "String")]
    pub to: S<String>,
    /// Gateway address.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub via: Option<S<String>>,
    /// Output interface.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub dev: Option<S<String>>,
    /// Route metric (priority); 0 when absent.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub metric: Option<S<u32>>,
}

/// The JSON Schema of the lab file, as written to schemas/topo.schema.json.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(LabSpec);
    let mut text = serde_json::to_string_pretty(&schema).expect("schema serializes");
    text.push('\n');
    text
}
