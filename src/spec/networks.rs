//! Docker-style networks as written: a subnet, a gateway, members; and,
//! across machines, stretched over several hosts.

use super::S;
use schemars::JsonSchema;
use serde::de::{self, value::MapAccessDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;

/// A docker-style network.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// The host (of `hosts:`) the network's bridge is on; its members run there.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub host: Option<S<String>>,
    /// The subnet, `12.0.6.0/24`.
    #[schemars(with = "String")]
    pub subnet: S<String>,
    /// The gateway address, put on the bridge. Default: the first usable address; a stretched network has none unless it says `{ host, address }`.
    #[serde(default)]
    #[schemars(with = "Option<GatewaySpec>")]
    pub gateway: Option<S<GatewaySpec>>,
    /// The bridge's name; the network's name when absent.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub bridge: Option<S<String>>,
    /// Attached nodes: a name, or `{ node, address, interface }`; `h[1-8]` is eight.
    #[serde(default)]
    #[schemars(with = "Vec<NetworkMember>")]
    pub nodes: Vec<S<NetworkMember>>,
    /// Masquerade traffic from the subnet leaving it through the host
    /// (Docker's default for a bridge network).
    #[serde(default)]
    #[schemars(with = "bool")]
    pub masquerade: Option<S<bool>>,
    /// A stretched network: the hosts (of `hosts:`) it spans, one Ethernet segment joined by VXLAN.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub hosts: Option<S<Vec<S<String>>>>,
    /// A stretched network's VXLAN network identifier; derived from the lab's and the network's names when absent.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub vni: Option<S<u32>>,
    /// MTU of the bridge and of every member's interface. A stretched network's default (and limit) is its overlay's: the underlay's less 50 (70 over IPv6).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub mtu: Option<S<u32>>,
    /// `false`: members get an address but no default route through the network (a management network). A node in several networks takes its default route from the first, in file order, that gives one.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub default_route: Option<S<bool>>,
    /// A DHCP server on the network's bridge, from the namespace that holds it; its router is the gateway unless `router:` says otherwise.
    #[serde(default)]
    #[schemars(with = "Option<super::DhcpSpec>")]
    pub dhcp: Option<S<super::DhcpSpec>>,
    /// Where the gateway is: set in a host's share of a stretched network.
    #[serde(skip)]
    #[schemars(skip)]
    pub gateway_at: GatewayAt,
}

/// Where a network's gateway is, for one host's share of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GatewayAt {
    /// On this host's bridge: every network on one host.
    #[default]
    Here,
    /// On another host's bridge of the same segment: members route
    /// through it, this bridge does not carry it.
    Elsewhere,
    /// Nowhere: members get no default route from the network.
    Nowhere,
}

/// A network's gateway: an address, or the host that carries a stretched network's.
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum GatewaySpec {
    /// `gateway: 12.0.6.1`.
    Address(String),
    /// `gateway: { host: h1, address: 10.50.0.254 }` (stretched networks).
    OnHost(GatewayOnHost),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayOnHost {
    /// The host whose bridge carries the gateway.
    #[schemars(with = "String")]
    pub host: S<String>,
    /// The gateway address.
    #[schemars(with = "String")]
    pub address: S<String>,
}

/// By hand, like `NetworkMember`, so a mistyped field is named.
impl<'de> Deserialize<'de> for GatewaySpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Gateway;
        impl<'de> Visitor<'de> for Gateway {
            type Value = GatewaySpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an address or `{ host: NAME, address: A.B.C.D }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<GatewaySpec, E> {
                Ok(GatewaySpec::Address(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<GatewaySpec, A::Error> {
                GatewayOnHost::deserialize(MapAccessDeserializer::new(m)).map(GatewaySpec::OnHost)
            }
        }
        d.deserialize_any(Gateway)
    }
}

/// A node attached to a network.
#[derive(Debug, Clone, JsonSchema)]
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
#[derive(Debug, Clone, Deserialize, JsonSchema)]
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
