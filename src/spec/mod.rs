//! The lab file exactly as the user writes it: serde types with source spans.
//!
//! Nothing here interprets names or addresses; `model` does that, so every
//! mistake can be reported against the span kept here.

mod checks;
mod devices;
mod explain;
mod load;
mod scalars;
mod top;

pub use checks::{CheckSpec, TestsDetail, TestsSpec, TimeoutValue, TIMEOUT_VALUE};
pub use devices::{IdValue, TapSpec, VxlanSpec};
pub use load::{load_str, LoadError};
pub use scalars::{PortValue, SysctlValue};

use schemars::JsonSchema;
use serde::de::{self, value::MapAccessDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::fmt;

/// A value with the place in the file it came from.
pub type S<T> = Spanned<T>;

/// The whole lab file. Read by hand (`top.rs`): top-level keys starting
/// with `x-` are ignored, as in compose files, so they can hold anchors.
#[derive(Debug, JsonSchema)]
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
    /// Network namespaces, each named exactly like its node.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, NodeSpec>")]
    pub nodes: BTreeMap<String, S<NodeSpec>>,
    /// Linux bridges, in the host namespace unless `node:` puts one inside a node.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, BridgeSpec>")]
    pub bridges: BTreeMap<String, S<BridgeSpec>>,
    /// veth pairs.
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
}

/// One node: a network namespace.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
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
}

/// The host namespace: only interfaces the lab creates, routes and sysctls.
#[derive(Debug, Default, Deserialize, JsonSchema)]
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
#[derive(Debug, Default, Deserialize, JsonSchema)]
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
}

/// A Linux bridge.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BridgeSpec {
    /// The node whose namespace holds the bridge; the host when absent.
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
}

/// A veth pair between two endpoints.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// Exactly two endpoints: `NODE:IFNAME`, `host:IFNAME`, `BRIDGE` or `BRIDGE:PORTNAME`.
    #[schemars(with = "Vec<String>", length(equal = 2))]
    pub endpoints: Vec<S<String>>,
    /// MTU for both ends.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub mtu: Option<S<u32>>,
}

/// A docker-style network.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// The subnet, `12.0.6.0/24`.
    #[schemars(with = "String")]
    pub subnet: S<String>,
    /// The gateway address, put on the bridge. Default: the first usable address.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub gateway: Option<S<String>>,
    /// The bridge's name; the network's name when absent.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub bridge: Option<S<String>>,
    /// Attached nodes: a name, or `{ node, address, interface }`.
    #[serde(default)]
    #[schemars(with = "Vec<NetworkMember>")]
    pub nodes: Vec<S<NetworkMember>>,
    /// Masquerade traffic from the subnet leaving it through the host
    /// (Docker's default for a bridge network).
    #[serde(default)]
    #[schemars(with = "bool")]
    pub masquerade: Option<S<bool>>,
}

/// A node attached to a network.
#[derive(Debug, JsonSchema)]
#[serde(untagged)]
pub enum NetworkMember {
    /// Just the node's name: interface `eth0`, address allocated.
    Name(String),
    /// The node with a fixed address or interface name.
    Detailed(MemberSpec),
}

/// By hand rather than derived `untagged`: that would hide a mistyped field
/// of `{ node, address, interface }` behind "did not match any variant", and
/// would read a list such as `[c3]` as the struct's fields in order.
impl<'de> Deserialize<'de> for NetworkMember {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Member;
        impl<'de> Visitor<'de> for Member {
            type Value = NetworkMember;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a node name or `{ node: NAME, address: A.B.C.D, interface: IFNAME }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NetworkMember, E> {
                Ok(NetworkMember::Name(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<NetworkMember, A::Error> {
                MemberSpec::deserialize(MapAccessDeserializer::new(m)).map(NetworkMember::Detailed)
            }
        }
        d.deserialize_any(Member)
    }
}

/// A node attached to a network, with settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberSpec {
    /// The node's name.
    pub node: String,
    /// A fixed address inside the subnet (no prefix length).
    #[serde(default)]
    pub address: Option<String>,
    /// The interface name inside the node; `eth0` when absent.
    #[serde(default)]
    pub interface: Option<String>,
}

/// One route.
#[derive(Debug, Deserialize, JsonSchema)]
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

/// NAT rules of one namespace, as the seeds' iptables rules mean them.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NatSpec {
    /// `iptables -t nat -A POSTROUTING -s SOURCE [-o OUT] [! -d EXCLUDE] -j MASQUERADE`.
    #[serde(default)]
    #[schemars(with = "Vec<MasqueradeSpec>")]
    pub masquerade: Vec<S<MasqueradeSpec>>,
    /// `iptables -t nat -A POSTROUTING -s SOURCE [-o OUT] -j SNAT --to-source TO`.
    #[serde(default)]
    #[schemars(with = "Vec<SnatSpec>")]
    pub snat: Vec<S<SnatSpec>>,
    /// Port forwards: `iptables -t nat -A PREROUTING [-d DEST] -p PROTO --dport PORT -j DNAT --to-destination TO`.
    #[serde(default)]
    #[schemars(with = "Vec<DnatSpec>")]
    pub dnat: Vec<S<DnatSpec>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MasqueradeSpec {
    /// Source prefix, `192.168.15.0/24`.
    #[schemars(with = "String")]
    pub source: S<String>,
    /// Only traffic leaving through this interface; any when absent.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub out: Option<S<String>>,
    /// Not for traffic to this prefix (`! -d`), e.g. the lab's own subnet.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub exclude: Option<S<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnatSpec {
    /// Source prefix.
    #[schemars(with = "String")]
    pub source: S<String>,
    /// Only traffic leaving through this interface.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub out: Option<S<String>>,
    /// The new source: an address or a range `192.168.5.3-192.168.5.5`.
    #[schemars(with = "String")]
    pub to: S<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnatSpec {
    /// `tcp` or `udp`.
    #[schemars(with = "String")]
    pub proto: S<String>,
    /// The port or range `5000-5010` that is forwarded.
    #[schemars(with = "PortValue")]
    pub port: S<PortValue>,
    /// The target: `NODE`, `NODE:PORT`, `ADDRESS` or `ADDRESS:PORT`; without a port the port is kept.
    #[schemars(with = "String")]
    pub to: S<String>,
    /// Only traffic to this address; traffic to any of the namespace's own addresses when absent.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub destination: Option<S<String>>,
    /// Only traffic arriving through this interface.
    #[serde(default, rename = "in")]
    #[schemars(with = "Option<String>")]
    pub in_: Option<S<String>>,
}

/// Filter rules and the policies of the three filter chains.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FirewallSpec {
    /// Policy of the input chain: `accept` (default) or `drop`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub input: Option<S<String>>,
    /// Policy of the forward chain (seed 000's `iptables -P FORWARD ACCEPT`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub forward: Option<S<String>>,
    /// Policy of the output chain.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub output: Option<S<String>>,
    /// Rules, matched in order.
    #[serde(default)]
    #[schemars(with = "Vec<FilterRuleSpec>")]
    pub rules: Vec<S<FilterRuleSpec>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterRuleSpec {
    /// `input`, `forward` or `output`.
    #[schemars(with = "String")]
    pub chain: S<String>,
    /// `tcp`, `udp` or `icmp`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub proto: Option<S<String>>,
    /// Destination port or range (tcp and udp only).
    #[serde(default)]
    #[schemars(with = "Option<PortValue>")]
    pub port: Option<S<PortValue>>,
    /// Source address or prefix.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub source: Option<S<String>>,
    /// Destination address or prefix.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub destination: Option<S<String>>,
    /// Incoming interface.
    #[serde(default, rename = "in")]
    #[schemars(with = "Option<String>")]
    pub in_: Option<S<String>>,
    /// Outgoing interface.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub out: Option<S<String>>,
    /// `accept`, `drop` or `reject`.
    #[schemars(with = "String")]
    pub action: S<String>,
}

/// The JSON Schema of the lab file, as written to schemas/topo.schema.json.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(LabSpec);
    let mut text = serde_json::to_string_pretty(&schema).expect("schema serializes");
    text.push('\n');
    text
}
