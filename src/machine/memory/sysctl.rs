//! `net.*` sysctls of the in-memory kernel: the keys topo uses with the
//! kernel's values in a new namespace, the IPv4 forwarding switch that is
//! two names for one value and reaches every interface, and the
//! per-interface keys that exist while their interface does.

use super::{Kernel, MemLink, Space};
use crate::machine::{KernelError, Result};
use crate::model::Ns;
use std::collections::BTreeMap;

const ENOENT: i32 = 2;
const EINVAL: i32 = 22;

/// Namespace-wide keys and their values in a new namespace.
const DEFAULTS: &[(&str, &str)] = &[
    ("net.core.somaxconn", "4096"),
    ("net.ipv4.conf.all.arp_notify", "0"),
    ("net.ipv4.conf.all.forwarding", "0"),
    ("net.ipv4.conf.all.promote_secondaries", "0"),
    ("net.ipv4.conf.all.proxy_arp", "0"),
    ("net.ipv4.conf.all.rp_filter", "0"),
    ("net.ipv4.conf.default.forwarding", "0"),
    ("net.ipv4.conf.default.proxy_arp", "0"),
    ("net.ipv4.conf.default.rp_filter", "0"),
    ("net.ipv4.ping_group_range", "1 0"),
    ("net.ipv6.conf.all.disable_ipv6", "0"),
    ("net.ipv6.conf.all.forwarding", "0"),
    ("net.ipv6.conf.default.accept_dad", "1"),
    ("net.ipv6.conf.default.disable_ipv6", "0"),
    ("net.ipv6.conf.default.forwarding", "0"),
];

/// `net.ipv4.ip_forward` is `net.ipv4.conf.all.forwarding` by another name.
const IP_FORWARD: &str = "net.ipv4.ip_forward";
const ALL_FORWARDING: &str = "net.ipv4.conf.all.forwarding";
const ALL_FORWARDING_V6: &str = "net.ipv6.conf.all.forwarding";

/// Per-interface leaves, with the namespace key their value starts from.
const PER_INTERFACE: &[(&str, &str)] = &[
    ("ipv4.forwarding", "net.ipv4.conf.default.forwarding"),
    ("ipv4.proxy_arp", "net.ipv4.conf.default.proxy_arp"),
    ("ipv4.rp_filter", "net.ipv4.conf.default.rp_filter"),
    ("ipv6.accept_dad", "net.ipv6.conf.default.accept_dad"),
    ("ipv6.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"),
    ("ipv6.forwarding", "net.ipv6.conf.default.forwarding"),
];

/// The keys of a new namespace: the kernel's values, IPv4 `conf` ones
/// copied from the initial namespace's `host` (empty for the host itself).
pub(super) fn defaults(host: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    DEFAULTS
        .iter()
        .map(|(k, v)| {
            let inherited = k.starts_with("net.ipv4.conf.").then(|| host.get(*k));
            let v = inherited.flatten().map_or(*v, |h| h.as_str());
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// A new interface's own keys, from the namespace's `default` ones.
pub(super) fn interface_defaults(ns: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    PER_INTERFACE
        .iter()
        .filter_map(|(leaf, from)| Some((leaf.to_string(), ns.get(*from)?.clone())))
        .collect()
}

/// Where a key lives.
enum Place {
    Namespace(String),
    /// Interface name and leaf (`ipv4.rp_filter`).
    Interface(String, String),
}

fn place(key: &str) -> Place {
    if key == IP_FORWARD {
        return Place::Namespace(ALL_FORWARDING.to_string());
    }
    let parts: Vec<&str> = key.splitn(5, '.').collect();
    match parts.as_slice() {
        ["net", fam @ ("ipv4" | "ipv6"), "conf", dev, leaf]
            if *dev != "all" && *dev != "default" =>
        {
            Place::Interface(dev.to_string(), format!("{fam}.{leaf}"))
        }
        _ => Place::Namespace(key.to_string()),
    }
}

/// Whether a change of `key` is announced to netlink listeners (the
/// kernel's netconf messages: forwarding, reverse-path filter, proxy ARP
/// and NDP, routes over a link that is down); others change silently.
pub(super) fn notifies(key: &str) -> bool {
    let leaf = key.rsplit('.').next().unwrap_or(key);
    key == IP_FORWARD
        || [
            "forwarding",
            "mc_forwarding",
            "bc_forwarding",
            "rp_filter",
            "proxy_arp",
            "proxy_ndp",
            "ignore_routes_with_linkdown",
        ]
        .contains(&leaf)
}

fn leaf_value(l: &MemLink, leaf: &str) -> Option<String> {
    let flag = |b: bool| if b { "1" } else { "0" }.to_string();
    match leaf {
        "ipv4.arp_notify" => Some(flag(l.arp_notify)),
        "ipv4.promote_secondaries" => Some(flag(l.promote)),
        _ => l.sysctls.get(leaf).cloned(),
    }
}

/// The value as the kernel prints it back: integers in their plain form,
/// fields separated by one space.
fn canonical(value: &str) -> Option<String> {
    let fields: Option<Vec<String>> = value
        .split_whitespace()
        .map(|f| f.parse::<i64>().ok().map(|n| n.to_string()))
        .collect();
    fields.filter(|f| !f.is_empty()).map(|f| f.join(" "))
}

fn io_error(what: String, errno: i32) -> KernelError {
    KernelError::io(what, std::io::Error::from_raw_os_error(errno))
}

impl Space {
    fn sysctl(&self, key: &str) -> Option<String> {
        match place(key) {
            Place::Namespace(k) => self.sysctls.get(&k).cloned(),
            Place::Interface(dev, leaf) => {
                let l = self.links.values().find(|l| l.name == dev)?;
                leaf_value(l, &leaf)
            }
        }
    }
}

impl Kernel {
    pub(super) fn read_sysctl(&self, ns: &Ns, key: &str) -> Result<Option<String>> {
        Ok(self.space(ns)?.sysctl(key))
    }

    pub(super) fn write_sysctl(&mut self, ns: &Ns, key: &str, value: &str) -> Result<()> {
        let what = format!("set sysctl {key} = {value} in {ns}");
        self.space(ns)?;
        self.write(&what)?;
        let sp = self.space_mut(ns)?;
        if sp.sysctl(key).is_none() {
            return Err(io_error(what, ENOENT));
        }
        let v = canonical(value).ok_or_else(|| io_error(what, EINVAL))?;
        match place(key) {
            Place::Interface(dev, leaf) => {
                let l = sp.links.values_mut().find(|l| l.name == dev);
                let l = l.expect("the key exists, so its interface does");
                match leaf.as_str() {
                    "ipv4.arp_notify" => l.arp_notify = v != "0",
                    "ipv4.promote_secondaries" => l.promote = v != "0",
                    _ => {
                        l.sysctls.insert(leaf, v);
                    }
                }
            }
            Place::Namespace(k) => {
                // The `all` forwarding switches set `default` and every
                // interface too.
                let family = match k.as_str() {
                    ALL_FORWARDING => Some("ipv4"),
                    ALL_FORWARDING_V6 => Some("ipv6"),
                    _ => None,
                };
                if let Some(fam) = family {
                    let dflt = format!("net.{fam}.conf.default.forwarding");
                    sp.sysctls.insert(dflt, v.clone());
                    for l in sp.links.values_mut() {
                        l.sysctls.insert(format!("{fam}.forwarding"), v.clone());
                    }
                }
                sp.sysctls.insert(k, v);
            }
        }
        Ok(())
    }
}
