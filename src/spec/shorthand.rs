//! What lets a big lab be written in a few lines: defaults for every
//! node, interface and link, address pools, node roles and derived
//! routes. Read as written; `model` resolves them.

use super::{SysctlValue, S};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// What every node, interface and link gets unless it says otherwise.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultsSpec {
    /// For every node, those of networks included.
    #[serde(default)]
    #[schemars(with = "Option<NodeDefaults>")]
    pub node: Option<S<NodeDefaults>>,
    /// For every interface the lab creates.
    #[serde(default)]
    #[schemars(with = "Option<InterfaceDefaults>")]
    pub interface: Option<S<InterfaceDefaults>>,
    /// For every entry of `links:`.
    #[serde(default)]
    #[schemars(with = "Option<LinkDefaults>")]
    pub link: Option<S<LinkDefaults>>,
}

/// `defaults.node`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeDefaults {
    /// The role of every node that names none.
    #[serde(default)]
    #[schemars(with = "Option<Role>")]
    pub role: Option<S<Role>>,
    /// sysctls of every node; a node's own value for a key wins.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, SysctlValue>")]
    pub sysctls: BTreeMap<String, S<SysctlValue>>,
}

/// `defaults.interface`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InterfaceDefaults {
    /// MTU of every interface whose MTU nothing else sets (its own, its link's, its network's, its peer's or its bridge's): in place of the kernel's 1500.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub mtu: Option<S<u32>>,
}

/// `defaults.link`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkDefaults {
    /// MTU of both ends of every link that sets none.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub mtu: Option<S<u32>>,
}

/// What a node is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Forwards packets: IPv4, and IPv6 when the lab has IPv6. With `routing: { static: auto }` it gets a route to every subnet of the lab.
    Router,
    /// Gets its default route via the router on its segments, when there is exactly one.
    Host,
}

impl Role {
    pub fn word(self) -> &'static str {
        match self {
            Role::Router => "router",
            Role::Host => "host",
        }
    }
}

/// Address pools: addresses for what the file gives none.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressingSpec {
    /// A pool for links between two nodes whose ends have no address: each gets a subnet of `prefix` from it, the first endpoint the lower address.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub p2p: Option<S<String>>,
    /// The prefix length of each p2p link: 31 or 30 for IPv4 (default 31), 64 to 127 for IPv6 (default 127).
    #[serde(default)]
    #[schemars(with = "Option<u8>")]
    pub prefix: Option<S<u8>>,
    /// A pool for segments of bridges (bridges joined by links) that no network or bridge address gives a subnet: each gets one of `lan_prefix`, and every node interface on it an address.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub lan: Option<S<String>>,
    /// The prefix length of each LAN: default 24 for IPv4, 64 for IPv6, or the pool's own when that is longer.
    #[serde(default)]
    #[schemars(with = "Option<u8>")]
    pub lan_prefix: Option<S<u8>>,
    /// A pool for loopbacks: every node topo creates gets one address of it on `lo` (/32, or /128 for IPv6); the pool's network address is skipped.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub loopback: Option<S<String>>,
}

/// Routes topo derives from the lab's shape.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingSpec {
    /// `auto`: every router gets a route to every subnet of the lab via the next hop on a shortest path. A route the file writes for the same prefix wins.
    #[serde(default, rename = "static")]
    #[schemars(with = "Option<StaticRouting>")]
    pub static_routes: Option<S<StaticRouting>>,
}

/// How static routes are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StaticRouting {
    /// Derived: shortest paths over the routers, ties to the next hop whose node name sorts first (natural order: r2 before r10), then its lowest address.
    Auto,
}
