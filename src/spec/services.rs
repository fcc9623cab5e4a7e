//! What a lab file says about services around the network: the resolver
//! configuration of a node (`dns:`), DHCP servers (`dhcp:`), and
//! namespaces topo attaches to rather than creates (`attach:`).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned as S;
use std::collections::BTreeMap;

/// A node's resolver configuration, written to /etc/netns/NODE/resolv.conf
/// (which `ip netns exec` and `topo exec` show as /etc/resolv.conf).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsSpec {
    /// Name servers, IPv4 or IPv6 addresses, at most 3 (the C library reads no more).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub nameservers: Vec<S<String>>,
    /// Search domains: `getent hosts web` also asks for `web.DOMAIN`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub search: Vec<S<String>>,
    /// Resolver options, as resolv.conf(5) writes them: `ndots:2`, `timeout:1`, `attempts:2`, `rotate`, `edns0`, ...
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub options: Vec<S<String>>,
}

/// A DHCP server (Debian's dnsmasq) on a network's bridge or on one
/// interface, handing out addresses of its subnet.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DhcpSpec {
    /// The addresses handed out, `FIRST-LAST`, inside the subnet: `10.0.1.100-10.0.1.150`.
    #[schemars(with = "String")]
    pub range: S<String>,
    /// How long a lease lasts: seconds, or a number with `m`, `h`, `d` or `w` (`30m`, `1h`), or `infinite`; at least 2 minutes. Default: `1h`.
    #[serde(default)]
    #[schemars(with = "Option<LeaseTime>")]
    pub lease: Option<S<LeaseTime>>,
    /// The default router clients are given. Default: the network's gateway; on an interface, none.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub router: Option<S<String>>,
    /// Name servers clients are given. One of the serving interface's own addresses makes dnsmasq answer DNS there too (the names of its hosts and clients).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub dns: Vec<S<String>>,
    /// Fixed addresses by MAC, keyed by host name: `vm1: { mac: "52:54:00:00:00:01", address: 10.0.1.11 }`; inside the subnet, outside the range.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, DhcpHostSpec>")]
    pub hosts: BTreeMap<String, S<DhcpHostSpec>>,
}

/// A client that always gets the same address.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DhcpHostSpec {
    /// Its MAC address, six hex pairs: `52:54:00:00:00:01`.
    #[schemars(with = "String")]
    pub mac: S<String>,
    /// The address it gets.
    #[schemars(with = "String")]
    pub address: S<String>,
}

/// A lease time: seconds, or text such as `1h` or `infinite`.
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum LeaseTime {
    Seconds(u64),
    Text(String),
}

/// The start of every message about a lease time.
pub const LEASE_TIME: &str =
    "a lease time is a number of seconds, a number with m, h, d or w, or `infinite`";

impl<'de> Deserialize<'de> for LeaseTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Value;
        impl<'de> serde::de::Visitor<'de> for Value {
            type Value = LeaseTime;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(LEASE_TIME)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<LeaseTime, E> {
                Ok(LeaseTime::Seconds(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<LeaseTime, E> {
                u64::try_from(v)
                    .map(LeaseTime::Seconds)
                    .map_err(|_| E::custom(format!("{LEASE_TIME}, not {v}")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<LeaseTime, E> {
                Ok(LeaseTime::Text(v.to_string()))
            }
        }
        d.deserialize_any(Value)
    }
}

/// A namespace topo did not create, that a node stands for: topo adds the
/// node's links, addresses, routes, sysctls and rules there, and never
/// creates or deletes the namespace. Exactly one of the three.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachSpec {
    /// The namespace of this process: `/proc/PID/ns/net`.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub pid: Option<S<u32>>,
    /// A namespace file: `/run/netns/NAME` (from `ip netns add`) or `/proc/PID/ns/net`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub netns: Option<S<String>>,
    /// A running container's namespace, by name or id, as `docker inspect` or `podman inspect` (whichever is installed) reports its process.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub container: Option<S<String>>,
}
