//! Taps and VXLAN devices as the file writes them, at the top level (in
//! the host) or under a node.

use super::S;
use schemars::JsonSchema;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;

/// A persistent tap device, for a VM to open without root.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TapSpec {
    /// The bridge the tap is a port of, in the same namespace (one the lab declares).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub bridge: Option<S<String>>,
    /// The user that may open the tap: a uid or a user name (looked up in /etc/passwd). Without owner and group only root can.
    #[serde(default)]
    #[schemars(with = "Option<IdValue>")]
    pub owner: Option<S<IdValue>>,
    /// The group that may open the tap: a gid or a group name (looked up in /etc/group).
    #[serde(default)]
    #[schemars(with = "Option<IdValue>")]
    pub group: Option<S<IdValue>>,
    /// MTU in bytes (68 to 65535); 1500 when absent, or the bridge's.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub mtu: Option<S<u32>>,
    /// Several queues, for QEMU's `queues=N`; off by default. Changing it makes the tap anew.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub multi_queue: Option<S<bool>>,
}

/// A VXLAN device: an Ethernet segment carried over UDP to other hosts.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VxlanSpec {
    /// The VXLAN network identifier, 0 to 16777215.
    #[schemars(with = "u32")]
    pub vni: S<u32>,
    /// The source address of the encapsulated packets: an address of this namespace.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub local: Option<S<String>>,
    /// The UDP port; 4789 (IANA's) when absent.
    #[serde(default)]
    #[schemars(with = "Option<u16>")]
    pub port: Option<S<u16>>,
    /// The hosts to send to: one forwarding entry each (learning is off).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub remotes: Vec<S<String>>,
    /// The bridge the device is a port of, in the same namespace.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub bridge: Option<S<String>>,
    /// The underlay interface the packets leave through (an interface the lab makes in this namespace).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub dev: Option<S<String>>,
    /// MTU in bytes; at most the underlay's less 50 (70 over IPv6). Default: the underlay's less that when the file knows it, else the kernel's.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub mtu: Option<S<u32>>,
}

/// A user or a group: a number or a name.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[serde(untagged)]
pub enum IdValue {
    Id(u32),
    Name(String),
}

/// The start of every message about an owner or group (explain.rs adds
/// the help).
pub const ID_VALUE: &str = "an owner or group is a number (uid, gid) or a name";

impl<'de> Deserialize<'de> for IdValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Value;
        impl<'de> Visitor<'de> for Value {
            type Value = IdValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(ID_VALUE)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IdValue, E> {
                // -1 is no one to the kernel.
                match u32::try_from(v) {
                    Ok(v) if v != u32::MAX => Ok(IdValue::Id(v)),
                    _ => Err(E::custom(format!("{ID_VALUE}, not {v}"))),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IdValue, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(format!("{ID_VALUE}, not {v}"))),
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IdValue, E> {
                Ok(IdValue::Name(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<IdValue, E> {
                Err(E::custom(format!("{ID_VALUE}, not the boolean `{v}`")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<IdValue, E> {
                Err(E::custom(format!("{ID_VALUE}, not `{v}`")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<IdValue, E> {
                Err(E::custom(format!("{ID_VALUE}; this one is empty")))
            }
            fn visit_none<E: de::Error>(self) -> Result<IdValue, E> {
                self.visit_unit()
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<IdValue, A::Error> {
                Err(de::Error::custom(format!("{ID_VALUE}, not a list")))
            }
            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<IdValue, A::Error> {
                Err(de::Error::custom(format!("{ID_VALUE}, not a mapping")))
            }
        }
        d.deserialize_any(Value)
    }
}
