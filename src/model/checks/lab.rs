//! What the checks need to know about the resolved lab: its namespaces,
//! their addresses in "first address" order, who holds each address, and
//! the port forwards (DNAT) that move a connection elsewhere.

use crate::model::{Id, Model, Ns};
use crate::spec::{LabSpec, PortValue};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// A port forward of the lab, as the checks follow it.
#[derive(Debug, Clone)]
pub struct Forward {
    /// The namespace whose NAT table holds it.
    pub ns: Ns,
    pub proto: String,
    pub ports: (u16, u16),
    /// Which destinations it catches.
    pub destination: Catches,
    pub to: IpAddr,
    /// The new port; `None` keeps it.
    pub to_port: Option<u16>,
    pub line: u32,
}

/// The destinations a port forward catches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Catches {
    /// The namespace's own addresses (no `destination:`).
    Own,
    /// This address only.
    Address(IpAddr),
    /// `destination: any`: every address. The checks take it to catch the
    /// namespace's own addresses and those outside the lab (traffic leaving
    /// the lab passes its router); whether a connection to another node
    /// passes through the namespace depends on routes they do not follow.
    Any,
}

/// Where a tcp or udp destination ends up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// The namespace that holds the (forwarded) address, if the lab has it.
    pub ns: Option<Ns>,
    pub addr: SocketAddr,
    /// The line of the port forward that moved it.
    pub forward: Option<u32>,
}

/// The lab as the checks see it.
pub struct LabView {
    pub nodes: Vec<String>,
    /// Each namespace's addresses: interfaces in name order, on one
    /// interface in the order the file gives them. No link-local IPv6.
    addrs: BTreeMap<Ns, Vec<IpAddr>>,
    owner: BTreeMap<IpAddr, Ns>,
    forwards: Vec<Forward>,
}

impl LabView {
    pub fn new(spec: &LabSpec, model: &Model) -> LabView {
        // (namespace, interface) → (line, column, address).
        type ByInterface = BTreeMap<(Ns, String), Vec<(u32, u32, IpAddr)>>;
        let mut by_if = ByInterface::new();
        for aid in model.state.address.keys() {
            let (link, a) = (&aid.link, aid.address.addr());
            let id = &Id::Address(aid.clone());
            if matches!(a, IpAddr::V6(v) if v.is_unicast_link_local()) {
                continue;
            }
            let pos = model
                .origins
                .get(id)
                .map_or((u32::MAX, 0), |p| (p.line, p.col));
            by_if
                .entry((link.ns.clone(), link.name.to_string()))
                .or_default()
                .push((pos.0, pos.1, a));
        }
        let mut addrs: BTreeMap<Ns, Vec<IpAddr>> = BTreeMap::new();
        let mut owner = BTreeMap::new();
        for ((ns, _), mut list) in by_if {
            list.sort();
            for (_, _, a) in list {
                owner.insert(a, ns.clone());
                addrs.entry(ns.clone()).or_default().push(a);
            }
        }
        let mut view = LabView {
            nodes: model.nodes.iter().cloned().collect(),
            addrs,
            owner,
            forwards: Vec::new(),
        };
        view.forwards = forwards(spec, &view);
        view
    }

    pub fn is_namespace(&self, name: &str) -> bool {
        name == "host" || self.nodes.iter().any(|n| n == name)
    }

    /// A namespace's first address: its first IPv4 address, else its first
    /// IPv6 one (the rule `dnat: { to: NODE }` follows for IPv4 too).
    pub fn first_address(&self, ns: &Ns) -> Option<IpAddr> {
        let list = self.addrs.get(ns)?;
        list.iter()
            .find(|a| a.is_ipv4())
            .or_else(|| list.first())
            .copied()
    }

    pub fn owner(&self, a: &IpAddr) -> Option<&Ns> {
        self.owner.get(a)
    }

    /// Where a connection to `to` over `proto` arrives: the first port
    /// forward that matches it (one hop, as the lab's NAT does), then the
    /// namespace that holds the address.
    pub fn arrival(&self, proto: &str, to: SocketAddr) -> Arrival {
        let forward = self.forwards.iter().find(|f| {
            f.proto == proto
                && (f.ports.0..=f.ports.1).contains(&to.port())
                && match &f.destination {
                    Catches::Address(d) => *d == to.ip(),
                    Catches::Own => self.owner.get(&to.ip()) == Some(&f.ns),
                    Catches::Any => self.owner.get(&to.ip()).is_none_or(|owner| *owner == f.ns),
                }
        });
        let addr = match forward {
            Some(f) => SocketAddr::new(f.to, f.to_port.unwrap_or(to.port())),
            None => to,
        };
        Arrival {
            ns: self.owner.get(&addr.ip()).cloned(),
            addr,
            forward: forward.map(|f| f.line),
        }
    }
}

/// The lab's DNAT rules, in file order. The model has checked them, so
/// what does not parse here is not there.
fn forwards(spec: &LabSpec, view: &LabView) -> Vec<Forward> {
    let mut groups = Vec::new();
    if let Some(h) = &spec.host {
        groups.push((Ns::Host, h.value.nat.as_ref()));
    }
    for (n, node) in &spec.nodes {
        groups.push((Ns::node(n), node.value.nat.as_ref()));
    }
    let mut out = Vec::new();
    for (ns, nat) in groups {
        let Some(nat) = nat else { continue };
        for d in &nat.value.dnat {
            let line = crate::diag::Pos::of(d).line;
            let d = &d.value;
            let ports = match &d.port.value {
                PortValue::One(p) => u16::try_from(*p).ok().map(|p| (p, p)),
                PortValue::Text(t) => port_range(t),
            };
            let Some(ports) = ports else { continue };
            let to = d.to.value.as_str();
            let (host, port) = match to.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h, port_range(p).map(|r| r.0)),
                _ => (to, None),
            };
            let addr = host.parse::<IpAddr>().ok().or_else(|| {
                let ns = Ns::Node(host.into());
                view.addrs.get(&ns)?.iter().find(|a| a.is_ipv4()).copied()
            });
            let Some(addr) = addr else { continue };
            out.push(Forward {
                ns: ns.clone(),
                proto: d.proto.value.clone(),
                ports,
                destination: match d.destination.as_ref().map(|s| s.value.as_str()) {
                    None => Catches::Own,
                    Some("any") => Catches::Any,
                    Some(a) => match a.parse() {
                        Ok(a) => Catches::Address(a),
                        Err(_) => continue,
                    },
                },
                to: addr,
                // A range keeps its ports (the model allows no other).
                to_port: port.filter(|_| ports.0 == ports.1),
                line,
            });
        }
    }
    out
}

fn port_range(t: &str) -> Option<(u16, u16)> {
    let (a, b) = t.split_once('-').unwrap_or((t, t));
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}
