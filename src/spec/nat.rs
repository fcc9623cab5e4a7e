//! NAT and filter rules as written, as the seeds' iptables rules mean them.

use super::{PortValue, Prefixes, S};
use schemars::JsonSchema;
use serde::Deserialize;

/// NAT rules of one namespace, as the seeds' iptables rules mean them.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NatSpec {
    /// `iptables -t nat -A POSTROUTING -s SOURCE [-o OUT] [! -d EXCLUDE] -j MASQUERADE`.
    #[serde(default)]
    #[schemars(with = "Vec<MasqueradeSpec>")]
    pub masquerade: Vec<S<MasqueradeSpec>>,
    /// `iptables -t nat -A POSTROUTING -s SOURCE [-o OUT] [! -d EXCLUDE] -j SNAT --to-source TO`.
    #[serde(default)]
    #[schemars(with = "Vec<SnatSpec>")]
    pub snat: Vec<S<SnatSpec>>,
    /// Port forwards: `iptables -t nat -A PREROUTING [-d DEST] -p PROTO --dport PORT -j DNAT --to-destination TO`.
    #[serde(default)]
    #[schemars(with = "Vec<DnatSpec>")]
    pub dnat: Vec<S<DnatSpec>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MasqueradeSpec {
    /// Source prefix, `192.168.15.0/24`.
    #[schemars(with = "String")]
    pub source: S<String>,
    /// Only traffic leaving through this interface; any when absent.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub out: Option<S<String>>,
    /// Not for traffic to these prefixes (`! -d`): one prefix or a list. Default: the source prefix itself; `[]` excludes nothing.
    #[serde(default)]
    #[schemars(with = "Option<Prefixes>")]
    pub exclude: Option<S<Prefixes>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
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
    /// Not for traffic to these prefixes (`! -d`): one prefix or a list, e.g. the source subnet itself. Default: none.
    #[serde(default)]
    #[schemars(with = "Option<Prefixes>")]
    pub exclude: Option<S<Prefixes>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
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
    /// Only traffic to this address; `any`: traffic to every address, passing through or not (the seeds' DNAT without `-d`); traffic to the namespace's own addresses when absent.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub destination: Option<S<String>>,
    /// Only traffic arriving through this interface.
    #[serde(default, rename = "in")]
    #[schemars(with = "Option<String>")]
    pub in_: Option<S<String>>,
}

/// Filter rules and the policies of the three filter chains.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
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

#[derive(Debug, Clone, Deserialize, JsonSchema)]
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
    /// Connection states the packet's connection is in (`-m conntrack --ctstate`): `new`, `established`, `related`, `invalid`.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub ct_state: Option<S<Vec<S<String>>>>,
    /// `accept`, `drop` or `reject`.
    #[schemars(with = "String")]
    pub action: S<String>,
}
