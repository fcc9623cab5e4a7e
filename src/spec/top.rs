//! The top level of a lab file, read by hand rather than derived: keys that
//! start with `x-` are extension keys, ignored as compose files ignore them,
//! so shared settings can be anchored before their first use:
//!
//! ```yaml
//! x-eth: &eth { mtu: 1400 }
//! nodes:
//!   red: { interfaces: { eth0: { <<: *eth, addresses: [10.0.0.1/24] } } }
//! ```
//!
//! Every other key must be a field; an unknown one is an error as before.

use super::LabSpec;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;

/// The fields of `LabSpec`, in the order messages list them.
pub const FIELDS: &[&str] = &[
    "name",
    "ipv6",
    "dad",
    "nodes",
    "bridges",
    "links",
    "networks",
    "host",
    "hosts",
    "etc_hosts",
    "vxlan_port",
    "taps",
    "vxlans",
    "tests",
    "defaults",
    "addressing",
    "routing",
];

/// The prefix of keys topo ignores.
pub const EXTENSION_PREFIX: &str = "x-";

impl<'de> Deserialize<'de> for LabSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct("LabSpec", FIELDS, Top)
    }
}

struct Top;

/// Stores a field's value, refusing a second one.
fn set<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    slot: &mut Option<T>,
    name: &'static str,
    map: &mut A,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

impl<'de> Visitor<'de> for Top {
    type Value = LabSpec;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a lab: a mapping with `name:` and the lab's nodes, bridges, links and networks",
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LabSpec, A::Error> {
        let (mut name, mut ipv6, mut dad, mut nodes, mut bridges) = (None, None, None, None, None);
        let (mut links, mut networks, mut host, mut taps) = (None, None, None, None);
        let (mut vxlans, mut tests, mut hosts, mut vxlan_port) = (None, None, None, None);
        let (mut defaults, mut addressing, mut routing) = (None, None, None);
        let mut etc_hosts = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" => set(&mut name, "name", &mut map)?,
                "ipv6" => set(&mut ipv6, "ipv6", &mut map)?,
                "dad" => set(&mut dad, "dad", &mut map)?,
                "nodes" => set(&mut nodes, "nodes", &mut map)?,
                "bridges" => set(&mut bridges, "bridges", &mut map)?,
                "links" => set(&mut links, "links", &mut map)?,
                "networks" => set(&mut networks, "networks", &mut map)?,
                "host" => set(&mut host, "host", &mut map)?,
                "taps" => set(&mut taps, "taps", &mut map)?,
                "vxlans" => set(&mut vxlans, "vxlans", &mut map)?,
                "vxlan_port" => set(&mut vxlan_port, "vxlan_port", &mut map)?,
                "tests" => set(&mut tests, "tests", &mut map)?,
                "hosts" => set(&mut hosts, "hosts", &mut map)?,
                "defaults" => set(&mut defaults, "defaults", &mut map)?,
                "addressing" => set(&mut addressing, "addressing", &mut map)?,
                "routing" => set(&mut routing, "routing", &mut map)?,
                "etc_hosts" => set(&mut etc_hosts, "etc_hosts", &mut map)?,
                k if k.starts_with(EXTENSION_PREFIX) => {
                    map.next_value::<IgnoredAny>()?;
                }
                k => return Err(de::Error::unknown_field(k, FIELDS)),
            }
        }
        Ok(LabSpec {
            name: name.ok_or_else(|| de::Error::missing_field("name"))?,
            ipv6: ipv6.unwrap_or_default(),
            dad: dad.unwrap_or_default(),
            nodes: nodes.unwrap_or_default(),
            bridges: bridges.unwrap_or_default(),
            links: links.unwrap_or_default(),
            networks: networks.unwrap_or_default(),
            host: host.unwrap_or_default(),
            taps: taps.unwrap_or_default(),
            vxlans: vxlans.unwrap_or_default(),
            tests: tests.unwrap_or_default(),
            hosts: hosts.unwrap_or_default(),
            etc_hosts: etc_hosts.unwrap_or_default(),
            vxlan_port: vxlan_port.unwrap_or_default(),
            defaults: defaults.unwrap_or_default(),
            addressing: addressing.unwrap_or_default(),
            routing: routing.unwrap_or_default(),
            share: None,
        })
    }
}
