//! The machines of a lab across hosts (`hosts:`): each one's underlay
//! address, ssh destination, topo command and underlay MTU, checked; and,
//! in a file without `hosts:`, the settings that need it.

use super::place::Placer;
use crate::diag::Pos;
use crate::model::names::node_name_problem;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// What topo needs to know of one host.
#[derive(Debug, Clone)]
pub struct HostInfo {
    /// The underlay address the other hosts reach it at.
    pub address: IpAddr,
    /// The ssh destination (`root@ADDRESS` unless the file says).
    pub ssh: String,
    /// The topo command to run there.
    pub topo: String,
    /// The underlay MTU.
    pub mtu: u32,
    pub pos: Pos,
}

/// The underlay MTU when the file gives none.
pub const DEFAULT_MTU: u32 = 1500;

impl Placer<'_> {
    /// `host:` on an object needs `hosts:` to say what it names; so do the
    /// settings of tunnels between hosts.
    pub(super) fn no_hosts(&mut self) {
        let s = self.spec;
        let needs = |what: &str| {
            format!("{what} is for a lab across machines, and the file has no `hosts:`")
        };
        if let Some(p) = &s.vxlan_port {
            let msg = needs("`vxlan_port:`");
            self.err(
                Pos::of(p),
                msg,
                "remove it, or list the machines under `hosts:`",
            );
        }
        for (name, net) in &s.networks {
            if let Some(h) = &net.value.hosts {
                let msg = needs(&format!("network `{name}` stretched over `hosts:`"));
                self.err(
                    Pos::of(h),
                    msg,
                    "remove `hosts:` from the network, or list the machines at the top of the file",
                );
            }
            if let Some(v) = &net.value.vni {
                let msg = needs(&format!("the `vni:` of network `{name}`"));
                self.err(
                    Pos::of(v),
                    msg,
                    "remove it: a network on one machine needs no VNI",
                );
            }
        }
        let stray = s
            .nodes
            .iter()
            .filter_map(|(n, v)| v.value.host.as_ref().map(|h| ("node", n, h)))
            .chain(
                s.bridges
                    .iter()
                    .filter_map(|(n, v)| v.value.host.as_ref().map(|h| ("bridge", n, h))),
            )
            .chain(
                s.networks
                    .iter()
                    .filter_map(|(n, v)| v.value.host.as_ref().map(|h| ("network", n, h))),
            );
        for (what, name, h) in stray.collect::<Vec<_>>() {
            self.err(
                Pos::of(h),
                format!("{what} `{name}` is on host `{}`, but the file has no `hosts:`", h.value),
                format!("list the machines under `hosts:` (`hosts: {{ {}: {{ address: 192.168.0.1 }} }}`), or remove `host:`", h.value),
            );
        }
    }

    pub(super) fn hosts(&mut self) {
        let mut by_addr: BTreeMap<IpAddr, String> = BTreeMap::new();
        for (name, h) in &self.spec.hosts {
            let pos = Pos::of(h);
            if let Some(p) = node_name_problem(name) {
                let p = p.replace("node name", "host name");
                self.err(pos, format!("host `{name}`: {p}"), "name hosts like nodes");
                continue;
            }
            let Ok(address) = h.value.address.value.parse::<IpAddr>() else {
                self.err(
                    Pos::of(&h.value.address),
                    format!("`{}` is not an IP address", h.value.address.value),
                    "write the underlay address the other hosts reach this one at, e.g. `address: 192.168.0.1`",
                );
                continue;
            };
            if let Some(other) = by_addr.insert(address, name.clone()) {
                self.err(
                    Pos::of(&h.value.address),
                    format!("hosts `{other}` and `{name}` have the same address {address}"),
                    "each host has its own underlay address",
                );
            }
            let ssh = match &h.value.ssh {
                Some(d) if !ssh_destination_ok(&d.value) => {
                    self.err(
                        Pos::of(d),
                        format!("`{}` is not an ssh destination", d.value),
                        "write `user@address` or a host name of your ssh config (no spaces, not starting with '-')",
                    );
                    continue;
                }
                Some(d) => d.value.clone(),
                None => format!("root@{address}"),
            };
            let topo = match &h.value.topo {
                Some(t) if !topo_command_ok(&t.value) => {
                    self.err(
                        Pos::of(t),
                        format!("`{}` is not a path to topo", t.value),
                        "write an absolute path (`/usr/local/bin/topo`) or a command name; letters, digits, '/', '.', '_', '+' and '-' only",
                    );
                    continue;
                }
                Some(t) => t.value.clone(),
                None => "topo".to_string(),
            };
            let mtu = match &h.value.mtu {
                Some(m) if !(1280..=65535).contains(&m.value) => {
                    self.err(
                        Pos::of(m),
                        format!("underlay MTU {} is out of range", m.value),
                        "an underlay MTU is between 1280 and 65535",
                    );
                    continue;
                }
                Some(m) => m.value,
                None => DEFAULT_MTU,
            };
            self.p.hosts.insert(
                name.clone(),
                HostInfo {
                    address,
                    ssh,
                    topo,
                    mtu,
                    pos,
                },
            );
        }
    }
}

/// What OpenSSH takes as a destination, and nothing that reads as an option.
fn ssh_destination_ok(d: &str) -> bool {
    !d.is_empty()
        && !d.starts_with('-')
        && d.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@.:-_[]%/".contains(c))
}

/// Goes into the remote command line: letters, digits and path characters.
fn topo_command_ok(t: &str) -> bool {
    !t.is_empty()
        && !t.starts_with('-')
        && !t.ends_with('/')
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._+-".contains(c))
}
