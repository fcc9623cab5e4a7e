//! The resources topo manages. Desired state (from the file) and observed
//! state (from the kernel) are both a `State`, so the diff compares values.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// A network namespace: the host's own, or a node's.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ns {
    Host,
    Node(String),
}

impl Ns {
    /// The name used in endpoints and output: `host` or the node's name.
    pub fn label(&self) -> &str {
        match self {
            Ns::Host => "host",
            Ns::Node(n) => n,
        }
    }

    pub fn parse(label: &str) -> Ns {
        if label == "host" {
            Ns::Host
        } else {
            Ns::Node(label.to_string())
        }
    }
}

impl fmt::Display for Ns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// An interface by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IfRef {
    pub ns: Ns,
    pub name: String,
}

impl IfRef {
    pub fn new(ns: Ns, name: impl Into<String>) -> Self {
        IfRef {
            ns,
            name: name.into(),
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

/// The stable identity of one managed object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Id {
    Netns {
        name: String,
    },
    Bridge {
        link: IfRef,
    },
    /// A veth pair, named by its first end (the smaller of the two).
    Veth {
        link: IfRef,
    },
    /// The settings of an interface the lab created (bridge or veth end).
    Link {
        link: IfRef,
    },
    Address {
        link: IfRef,
        address: IpNet,
    },
    Route {
        ns: Ns,
        key: RouteKey,
    },
    Sysctl {
        ns: Ns,
        key: String,
    },
    /// A chain of the lab's nftables table in `ns`.
    Chain {
        ns: Ns,
        chain: String,
    },
    /// A rule of that table, identified by its comment.
    Rule {
        ns: Ns,
        chain: String,
        rule: String,
    },
}

impl Id {
    /// The namespace the object lives in.
    pub fn ns(&self) -> Ns {
        match self {
            Id::Netns { name } => Ns::Node(name.clone()),
            Id::Bridge { link }
            | Id::Veth { link }
            | Id::Link { link }
            | Id::Address { link, .. } => link.ns.clone(),
            Id::Route { ns, .. }
            | Id::Sysctl { ns, .. }
            | Id::Chain { ns, .. }
            | Id::Rule { ns, .. } => ns.clone(),
        }
    }

    /// A short word for the kind, as shown in plans.
    pub fn kind(&self) -> &'static str {
        match self {
            Id::Netns { .. } => "netns",
            Id::Bridge { .. } => "bridge",
            Id::Veth { .. } => "veth",
            Id::Link { .. } => "link",
            Id::Address { .. } => "address",
            Id::Route { .. } => "route",
            Id::Sysctl { .. } => "sysctl",
            Id::Chain { .. } => "chain",
            Id::Rule { .. } => "rule",
        }
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Netns { name } => write!(f, "netns {name}"),
            Id::Bridge { link } => write!(f, "bridge {link}"),
            Id::Veth { link } => write!(f, "veth {link}"),
            Id::Link { link } => write!(f, "link {link}"),
            Id::Address { link, address } => write!(f, "address {address} on {link}"),
            Id::Route { ns, key } => {
                let to = if key.to.prefix_len() == 0 {
                    "default".to_string()
                } else {
                    key.to.to_string()
                };
                write!(f, "route {to} in {ns}")?;
                if key.metric != RouteKey::default_metric(&key.to) {
                    write!(f, " metric {}", key.metric)?;
                }
                Ok(())
            }
            Id::Sysctl { ns, key } => write!(f, "sysctl {key} in {ns}"),
            Id::Chain { ns, chain } => write!(f, "nft chain {chain} in {ns}"),
            Id::Rule { ns, chain, rule } => write!(f, "nft rule {chain} in {ns}: {rule}"),
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

/// What a managed object is, beyond its identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Res {
    Netns,
    Bridge {
        stp: bool,
        /// Seconds; `None` in desired state leaves the kernel's.
        forward_delay: Option<u32>,
    },
    Veth {
        peer: IfRef,
    },
    /// `None` in desired state means "whatever the kernel chooses".
    Link {
        up: bool,
        mtu: Option<u32>,
        mac: Option<Mac>,
        master: Option<String>,
    },
    Address,
    Route {
        via: Option<IpAddr>,
        dev: Option<String>,
        scope: Scope,
    },
    Sysctl {
        value: String,
    },
    /// `policy` for filter chains; `rules` lists rule comments in order.
    Chain {
        policy: Option<String>,
        rules: Vec<String>,
    },
    /// The rule's nftables JSON statements, as compact text (desired state
    /// only: the kernel's canonical form differs, rules are compared by
    /// comment). Text, not a JSON tree: a tree costs kilobytes per rule.
    Rule {
        expr: String,
    },
}

/// One attribute that differs between desired and observed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub attr: std::borrow::Cow<'static, str>,
    pub before: String,
    pub after: String,
}

fn opt<T: fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "(none)".to_string(), T::to_string)
}

impl Res {
    /// Attributes where `live` does not match `self` (desired). Desired
    /// attributes left to the kernel (`None` mtu or mac) never differ.
    pub fn changes_from(&self, live: &Res) -> Vec<Change> {
        let mut out = Vec::new();
        let mut push = |attr: &'static str, before: String, after: String| {
            if before != after {
                out.push(Change {
                    attr: attr.into(),
                    before,
                    after,
                })
            }
        };
        match (self, live) {
            (
                Res::Bridge { stp, forward_delay },
                Res::Bridge {
                    stp: was,
                    forward_delay: fd0,
                },
            ) => {
                push("stp", was.to_string(), stp.to_string());
                if forward_delay.is_some() {
                    push("forward_delay", opt(fd0), opt(forward_delay));
                }
            }
            (Res::Veth { peer }, Res::Veth { peer: was }) => {
                push("peer", was.to_string(), peer.to_string())
            }
            (
                Res::Link {
                    up,
                    mtu,
                    mac,
                    master,
                },
                Res::Link {
                    up: u0,
                    mtu: m0,
                    mac: a0,
                    master: c0,
                },
            ) => {
                push("up", u0.to_string(), up.to_string());
                if mtu.is_some() {
                    push("mtu", opt(m0), opt(mtu));
                }
                if mac.is_some() {
                    push("mac", opt(a0), opt(mac));
                }
                push("master", opt(c0), opt(master));
            }
            (
                Res::Route { via, dev, scope },
                Res::Route {
                    via: v0,
                    dev: d0,
                    scope: s0,
                },
            ) => {
                push("via", opt(v0), opt(via));
                if dev.is_some() {
                    push("dev", opt(d0), opt(dev));
                }
                push("scope", s0.to_string(), scope.to_string());
            }
            (Res::Sysctl { value }, Res::Sysctl { value: was }) => {
                push("value", was.clone(), value.clone())
            }
            (
                Res::Chain { policy, rules },
                Res::Chain {
                    policy: p0,
                    rules: r0,
                },
            ) => {
                push("policy", opt(p0), opt(policy));
                // Order matters only among the rules both sides have; the
                // others show as creates and deletes of their own.
                let common: Vec<&String> = rules.iter().filter(|r| r0.contains(r)).collect();
                let was: Vec<&String> = r0.iter().filter(|r| rules.contains(r)).collect();
                if common != was {
                    push("rule order", format!("{was:?}"), format!("{common:?}"));
                }
            }
            (Res::Rule { .. }, Res::Rule { .. }) => {}
            (a, b) if std::mem::discriminant(a) == std::mem::discriminant(b) => {}
            (a, b) => push("kind", format!("{b:?}"), format!("{a:?}")),
        }
        out
    }

    /// Whether a change of these attributes needs the object re-created.
    pub fn replace_reason(&self, changes: &[Change]) -> Option<String> {
        match self {
            Res::Veth { .. } if changes.iter().any(|c| c.attr == "peer") => {
                Some("veth peer moved".into())
            }
            _ if changes.iter().any(|c| c.attr == "kind") => Some("object kind changed".into()),
            _ => None,
        }
    }
}

/// A set of managed objects.
pub type State = BTreeMap<Id, Res>;

/// A fingerprint of the desired objects of each namespace (by label), to
/// tell later whether the file changed there.
pub fn digests(st: &State) -> BTreeMap<String, u64> {
    let mut text: BTreeMap<String, String> = BTreeMap::new();
    for (id, res) in st {
        let t = text.entry(id.ns().label().to_string()).or_default();
        t.push_str(&serde_json::to_string(&(id, res)).expect("resources serialize"));
        t.push('\n');
    }
    text.into_iter()
        .map(|(ns, t)| (ns, super::names::fnv1a(&t)))
        .collect()
}
