//! The words identities are made of: namespaces, interfaces, route keys,
//! scopes, MACs, and one attribute's change. The kinds of objects built
//! from them are in `crate::kinds`.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// A node or interface name. Names are short (an interface's at most 15
/// bytes) and copied into every object that refers to them: kept inline,
/// a copy allocates nothing, where a `String` was a heap block each.
pub type Name = compact_str::CompactString;

/// A network namespace: the host's own, or a node's.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ns {
    Host,
    Node(Name),
}

impl Ns {
    /// The name used in endpoints and output: `host` or the node's name.
    pub fn label(&self) -> &str {
        match self {
            Ns::Host => "host",
            Ns::Node(n) => n,
        }
    }

    /// A node's namespace.
    pub fn node(name: &str) -> Ns {
        Ns::Node(name.into())
    }

    pub fn parse(label: &str) -> Ns {
        if label == "host" {
            Ns::Host
        } else {
            Ns::Node(label.into())
        }
    }
}

impl fmt::Display for Ns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Where an attached node's namespace is: a namespace topo did not create.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Attach {
    /// The namespace of this process.
    Pid(u32),
    /// A namespace file (`/run/netns/NAME`, `/proc/PID/ns/net`).
    Netns(String),
    /// A container's, by name or id.
    Container(String),
}

impl fmt::Display for Attach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attach::Pid(p) => write!(f, "pid {p}"),
            Attach::Netns(p) => write!(f, "netns {p}"),
            Attach::Container(c) => write!(f, "container {c}"),
        }
    }
}

/// An interface by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IfRef {
    pub ns: Ns,
    pub name: Name,
}

impl IfRef {
    pub fn new(ns: Ns, name: impl AsRef<str>) -> Self {
        IfRef {
            ns,
            name: name.as_ref().into(),
        }
    }
}

impl fmt::Display for IfRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.ns, self.name)
    }
}

/// A route's identity in the kernel's main table: destination and metric.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RouteKey {
    pub to: IpNet,
    pub metric: u32,
}

impl RouteKey {
    /// The key as the kernel stores it: an IPv6 route written without a
    /// metric (0) is kept, and read back, with metric 1024.
    pub fn new(to: IpNet, metric: u32) -> Self {
        let metric = if metric == 0 {
            Self::default_metric(&to)
        } else {
            metric
        };
        RouteKey { to, metric }
    }

    /// The metric a route of this family gets when none is written.
    pub fn default_metric(to: &IpNet) -> u32 {
        match to {
            IpNet::V4(_) => 0,
            IpNet::V6(_) => 1024,
        }
    }
}

/// How far a route's destination is, as the kernel keeps it: `link` for
/// a route on a device without a gateway (IPv4), `global` otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Global,
    Site,
    Link,
    Host,
    Nowhere,
    Other(u8),
}

impl Scope {
    /// The scope the kernel gives a route, as `ip route add` would.
    pub fn of_route(to: &IpNet, via: Option<IpAddr>) -> Scope {
        if via.is_none() && matches!(to, IpNet::V4(_)) {
            Scope::Link
        } else {
            Scope::Global
        }
    }
}

impl From<u8> for Scope {
    fn from(v: u8) -> Scope {
        match v {
            0 => Scope::Global,
            200 => Scope::Site,
            253 => Scope::Link,
            254 => Scope::Host,
            255 => Scope::Nowhere,
            o => Scope::Other(o),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Global => f.write_str("global"),
            Scope::Site => f.write_str("site"),
            Scope::Link => f.write_str("link"),
            Scope::Host => f.write_str("host"),
            Scope::Nowhere => f.write_str("nowhere"),
            Scope::Other(o) => write!(f, "{o}"),
        }
    }
}

/// A MAC address; written everywhere (plans, JSON, state) as `aa:bb:cc:dd:ee:ff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl Mac {
    /// The MAC topo gives an interface the file sets none for: derived from
    /// the lab, namespace and name, so a re-created interface keeps it and
    /// neighbours' ARP caches stay right. Locally administered, unicast.
    pub fn stable(lab: &str, link: &IfRef) -> Mac {
        // FNV-1a alone barely mixes its last bytes into the high ones
        // (`eth0` and `eth1` would differ in one byte): a 64-bit finaliser
        // (MurmurHash3's) spreads every input bit over the whole MAC.
        let mut h = super::names::fnv1a(&format!("{lab}\0{}\0{}", link.ns, link.name));
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^= h >> 33;
        let h = h.to_be_bytes();
        Mac([(h[0] & 0xfc) | 0x02, h[1], h[2], h[3], h[4], h[5]])
    }
}

impl Mac {
    /// The IPv6 link-local address made from this MAC (modified EUI-64),
    /// as the kernel would make it.
    pub fn link_local(&self) -> IpNet {
        let m = self.0;
        let ip = std::net::Ipv6Addr::new(
            0xfe80,
            0,
            0,
            0,
            u16::from_be_bytes([m[0] ^ 0x02, m[1]]),
            u16::from_be_bytes([m[2], 0xff]),
            u16::from_be_bytes([0xfe, m[3]]),
            u16::from_be_bytes([m[4], m[5]]),
        );
        IpNet::new(IpAddr::V6(ip), 64).expect("64 is a valid IPv6 prefix")
    }
}

impl std::str::FromStr for Mac {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 6 {
            return Err(());
        }
        let mut b = [0u8; 6];
        for (i, p) in parts.iter().enumerate() {
            if p.len() != 2 {
                return Err(());
            }
            b[i] = u8::from_str_radix(p, 16).map_err(|_| ())?;
        }
        Ok(Mac(b))
    }
}

/// One attribute that differs between desired and observed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub attr: std::borrow::Cow<'static, str>,
    pub before: String,
    pub after: String,
}

/// An optional value in a plan: the value, or `(none)`.
pub fn opt<T: fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "(none)".to_string(), T::to_string)
}

impl Change {
    /// Adds the change of `attr` when `before` and `after` differ.
    pub fn push(out: &mut Vec<Change>, attr: &'static str, before: String, after: String) {
        if before != after {
            out.push(Change {
                attr: attr.into(),
                before,
                after,
            })
        }
    }
}
