//! The lab's services in random labs: DHCP on networks, resolv.conf files
//! of nodes, the hosts file of every node, and uplinks of host bridges
//! (interfaces the machine has before the lab: `machine()` makes them).

use super::lab::Lab;
use std::collections::BTreeMap;
use topo::machine::memory::MemoryKernel;
use topo::machine::{LinkSettings, Machine};
use topo::model::{IfRef, Ns};

/// The machine's own interfaces a bridge can take as uplink: up0 (up),
/// up1 (down), up2 (up, with an address).
pub const UPLINKS: u8 = 3;

#[derive(Clone, Debug, Default)]
pub struct Services {
    /// Network → which DHCP server (see `dhcp`).
    pub dhcp: BTreeMap<String, u8>,
    /// Node → which resolver (see `dns`).
    pub dns: BTreeMap<String, u8>,
    pub etc_hosts: bool,
    /// Machine interface upK → the host bridge it is an uplink of.
    pub uplinks: BTreeMap<u8, String>,
}

/// A machine as the tests find it: the host with its own interfaces.
pub fn machine() -> MemoryKernel {
    let mut m = MemoryKernel::new();
    for k in 0..UPLINKS {
        let addrs: Vec<ipnet::IpNet> = match k {
            2 => vec!["192.0.2.2/24".parse().expect("address")],
            _ => vec![],
        };
        m.add_machine_link(&Ns::Host, &format!("up{k}"), &addrs)
            .expect("host");
    }
    let down = LinkSettings {
        up: Some(false),
        ..Default::default()
    };
    let l = IfRef::new(Ns::Host, "up1");
    super::run::block_on(m.set_link(&l, &down)).expect("up1 down");
    m
}

impl Services {
    /// One edit of the services, read from three random numbers against
    /// the lab's nodes, networks and bridges.
    pub fn edit(&mut self, lab: &[Vec<String>; 3], a: u8, b: u8, c: u8) {
        let [nodes, networks, bridges] = lab;
        let pick = |v: &[String], i: u8| (!v.is_empty()).then(|| v[i as usize % v.len()].clone());
        match a % 4 {
            0 => {
                if let Some(n) = pick(networks, b) {
                    toggle(&mut self.dhcp, n, c % 3);
                }
            }
            1 => {
                if let Some(n) = pick(nodes, b) {
                    toggle(&mut self.dns, n, c % 2);
                }
            }
            2 => self.etc_hosts = !self.etc_hosts,
            _ => {
                let k = b % UPLINKS;
                match (self.uplinks.get(&k), pick(bridges, c)) {
                    (Some(_), _) | (None, None) => drop(self.uplinks.remove(&k)),
                    (None, Some(br)) => drop(self.uplinks.insert(k, br)),
                }
            }
        }
    }

    /// The fields a network's line gets: its DHCP server.
    pub fn network_fields(&self, name: &str, subnet: u8) -> String {
        let s = 100 + subnet as u16;
        match self.dhcp.get(name) {
            None => String::new(),
            Some(0) => format!(", dhcp: {{ range: 10.{s}.0.200-10.{s}.0.220 }}"),
            // Its gateway answers DNS too.
            Some(1) => format!(
                ", dhcp: {{ range: 10.{s}.0.200-10.{s}.0.240, lease: 10m, dns: [10.{s}.0.1] }}"
            ),
            Some(_) => format!(
                ", dhcp: {{ range: 10.{s}.0.150-10.{s}.0.199, lease: infinite, hosts: {{ vm1: {{ mac: \"52:54:00:00:00:01\", address: 10.{s}.0.250 }} }} }}"
            ),
        }
    }

    /// The lines a node's body gets: its resolver.
    pub fn node_lines(&self, name: &str) -> String {
        match self.dns.get(name) {
            None => String::new(),
            Some(0) => "    dns: { nameservers: [10.0.0.53] }\n".into(),
            Some(_) => "    dns: { nameservers: [10.0.0.53, \"fd00::53\"], search: [lab.example], options: [\"timeout:1\"] }\n".into(),
        }
    }

    /// The fields a host bridge's line gets: its uplinks.
    pub fn bridge_fields(&self, bridge: &str) -> String {
        let mine: Vec<String> = self
            .uplinks
            .iter()
            .filter(|(_, b)| *b == bridge)
            .map(|(k, _)| format!("up{k}"))
            .collect();
        match mine.is_empty() {
            true => String::new(),
            false => format!(", uplinks: [{}]", mine.join(", ")),
        }
    }

    /// Top-level lines.
    pub fn top_lines(&self) -> String {
        match self.etc_hosts {
            true => "etc_hosts: true\n".into(),
            false => String::new(),
        }
    }
}

fn toggle(m: &mut BTreeMap<String, u8>, key: String, v: u8) {
    match m.get(&key) {
        Some(old) if *old == v => drop(m.remove(&key)),
        _ => drop(m.insert(key, v)),
    }
}

impl Lab {
    /// Names the services edit picks from: nodes, networks, host bridges.
    pub fn service_targets(&self) -> [Vec<String>; 3] {
        [
            self.nodes.keys().cloned().collect(),
            self.networks.keys().cloned().collect(),
            self.bridges.keys().cloned().collect(),
        ]
    }
}
