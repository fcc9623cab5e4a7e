//! Which host each object of a lab across machines is on.
//!
//! A node is where `host:` says, else where its host-local networks are
//! (never inferred from a link or a stretched network: those cross hosts
//! by design). A bridge is on its node's host, or where `host:` says; a
//! network's bridge on the network's host. With one host everything is on
//! it; with two or more, an object without a host is an error naming them.

use super::machines::HostInfo;
use super::tunnels::{Cross, Stretch};
use crate::diag::{did_you_mean, Diagnostic, Pos};
use crate::spec::{LabSpec, NetworkMember, S};
use std::collections::BTreeMap;

/// Every object's host.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    pub hosts: BTreeMap<String, HostInfo>,
    pub nodes: BTreeMap<String, String>,
    /// Bridges of `bridges:` and the bridges of networks, by name.
    pub bridges: BTreeMap<String, String>,
    /// Networks on one host.
    pub networks: BTreeMap<String, String>,
    /// Networks stretched over several hosts.
    pub stretched: BTreeMap<String, Stretch>,
    /// Links whose ends are on two hosts.
    pub cross: Vec<Cross>,
    /// The UDP port of the lab's tunnels.
    pub vxlan_port: u16,
    /// Bridges of networks on several hosts, one each, by one name.
    pub on_several: std::collections::BTreeSet<String>,
}

impl Placement {
    /// The host an endpoint (`NODE:IF`, `BRIDGE[:PORT]`) is on; `host:IF`
    /// has none of its own (it is on the other end's host).
    pub fn endpoint_host(&self, ep: &str) -> Option<&str> {
        let owner = ep.split_once(':').map_or(ep, |(o, _)| o);
        self.nodes
            .get(owner)
            .or_else(|| self.bridges.get(owner))
            .map(String::as_str)
    }
}

pub(super) struct Placer<'a> {
    pub(super) spec: &'a LabSpec,
    pub(super) p: Placement,
    pub(super) diags: Vec<Diagnostic>,
}

/// Places every object of `spec` on its host; every problem at once.
pub fn place(spec: &LabSpec) -> Result<Placement, Vec<Diagnostic>> {
    let mut pl = Placer {
        spec,
        p: Placement::default(),
        diags: vec![],
    };
    if spec.hosts.is_empty() {
        pl.no_hosts();
    } else {
        pl.hosts();
        pl.networks();
        pl.nodes();
        pl.bridges();
        pl.links();
        pl.vnis();
        pl.checks();
        pl.limits();
    }
    if pl.diags.is_empty() {
        Ok(pl.p)
    } else {
        pl.diags.sort_by_key(|d| (d.pos.line, d.pos.col));
        Err(pl.diags)
    }
}

impl Placer<'_> {
    pub(super) fn err(&mut self, pos: Pos, msg: impl Into<String>, help: impl Into<String>) {
        self.diags.push(Diagnostic::error(pos, msg).help(help));
    }

    /// The host `h` names, or an error at it.
    pub(super) fn known(&mut self, h: &S<String>) -> Option<String> {
        if self.spec.hosts.contains_key(&h.value) {
            return Some(h.value.clone());
        }
        let help = match did_you_mean(&h.value, self.spec.hosts.keys().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("the hosts are {}", self.host_list()),
        };
        self.err(Pos::of(h), format!("no host named `{}`", h.value), help);
        None
    }

    fn host_list(&self) -> String {
        let names: Vec<String> = self.spec.hosts.keys().map(|h| format!("`{h}`")).collect();
        names.join(", ")
    }

    /// The only host, when there is one; else an error asking for `host:`.
    fn only_host(&mut self, pos: Pos, what: &str) -> Option<String> {
        if self.spec.hosts.len() == 1 {
            return self.spec.hosts.keys().next().cloned();
        }
        let hosts = self.host_list();
        self.err(
            pos,
            format!("{what} is on no host: the lab runs on {hosts}"),
            "say which with `host: NAME`",
        );
        None
    }

    fn networks(&mut self) {
        let s = self.spec;
        for (name, net) in &s.networks {
            if net.value.hosts.is_some() {
                self.stretched(name, net);
                continue;
            }
            if let Some(v) = &net.value.vni {
                self.err(Pos::of(v), format!("network `{name}` is on one host: it has no VNI"), "remove `vni:`, or stretch the network over several hosts with `hosts: [h1, h2]`");
            }
            let host = match &net.value.host {
                Some(h) => self.known(h),
                None => self.only_host(Pos::of(net), &format!("network `{name}`")),
            };
            let Some(host) = host else { continue };
            let bridge = net.value.bridge.as_ref().map_or(name, |b| &b.value);
            // Each host's network may have a bridge of the same name (seed
            // 000's megaNet on every host); a link cannot name such a one.
            if self.p.bridges.get(bridge).is_some_and(|o| *o != host)
                || self.p.on_several.contains(bridge)
            {
                self.p.bridges.remove(bridge);
                self.p.on_several.insert(bridge.clone());
                self.p.networks.insert(name.clone(), host);
                continue;
            }
            self.p.bridges.insert(bridge.clone(), host.clone());
            self.p.networks.insert(name.clone(), host);
        }
    }

    fn nodes(&mut self) {
        let s = self.spec;
        // Host-local networks each node is a member of, in file order; a
        // member not under `nodes:` is declared by its network.
        let mut member_of: BTreeMap<&str, Vec<(&str, String, Pos)>> = BTreeMap::new();
        let mut nets: Vec<_> = s.networks.iter().collect();
        nets.sort_by_key(|(_, n)| n.referenced.line());
        for (net, spec) in nets {
            let Some(host) = self.p.networks.get(net).cloned() else {
                continue;
            };
            for m in &spec.value.nodes {
                let node = match &m.value {
                    NetworkMember::Name(n) => n.as_str(),
                    NetworkMember::Detailed(d) => d.node.as_str(),
                };
                member_of
                    .entry(node)
                    .or_default()
                    .push((net, host.clone(), Pos::of(m)));
            }
        }
        let implicit = member_of
            .iter()
            .filter(|(n, _)| !s.nodes.contains_key(**n))
            .map(|(n, m)| (n.to_string(), None, m[0].2));
        let declared = s
            .nodes
            .iter()
            .map(|(n, v)| (n.clone(), v.value.host.as_ref(), Pos::of(v)));
        let all: Vec<_> = declared.chain(implicit).collect();
        for (name, explicit, pos) in all {
            let nets = member_of.get(name.as_str()).cloned().unwrap_or_default();
            let host = match explicit {
                Some(h) => {
                    let Some(host) = self.known(h) else { continue };
                    if let Some((net, other, _)) = nets.iter().find(|(_, o, _)| **o != host) {
                        self.err(
                            Pos::of(h),
                            format!("node `{name}` is on host `{host}`, but its network `{net}` is on `{other}`"),
                            "a network's members run on its host: move the node, or join hosts by a link",
                        );
                        continue;
                    }
                    host
                }
                None => match nets.first() {
                    Some((net, host, _)) => {
                        if let Some((net2, other, p2)) = nets.iter().find(|(_, o, _)| o != host) {
                            self.err(
                                *p2,
                                format!("node `{name}` is a member of network `{net}` on host `{host}` and of network `{net2}` on `{other}`"),
                                "a node runs on one host: keep its networks on one host",
                            );
                            continue;
                        }
                        host.clone()
                    }
                    None => {
                        let Some(h) = self.only_host(pos, &format!("node `{name}`")) else {
                            continue;
                        };
                        h
                    }
                },
            };
            self.p.nodes.insert(name, host);
        }
        self.stretched_members();
    }

    fn bridges(&mut self) {
        let s = self.spec;
        for (name, b) in &s.bridges {
            let of_node = b
                .value
                .node
                .as_ref()
                .and_then(|n| self.p.nodes.get(&n.value));
            let host = match (&b.value.host, of_node.cloned()) {
                (Some(h), Some(nh)) => {
                    let Some(host) = self.known(h) else { continue };
                    if host != nh {
                        let node = &b.value.node.as_ref().expect("of_node").value;
                        self.err(
                            Pos::of(h),
                            format!("bridge `{name}` is in node `{node}` on host `{nh}`, not on `{host}`"),
                            "a bridge inside a node is on the node's host: remove `host:`",
                        );
                        continue;
                    }
                    host
                }
                (Some(h), None) => {
                    let Some(host) = self.known(h) else { continue };
                    host
                }
                (None, Some(nh)) => nh,
                // A network's bridge written out under `bridges:` too.
                (None, None) => match self.p.bridges.get(name) {
                    Some(h) => h.clone(),
                    None => {
                        let Some(h) = self.only_host(Pos::of(b), &format!("bridge `{name}`"))
                        else {
                            continue;
                        };
                        h
                    }
                },
            };
            if let Some(other) = self.p.bridges.get(name).filter(|o| **o != host) {
                let msg =
                    format!("bridge `{name}` is on host `{host}`, but its network is on `{other}`");
                self.err(Pos::of(b), msg, "put the bridge on its network's host");
                continue;
            }
            self.p.bridges.insert(name.clone(), host);
        }
    }

    /// Every link has a host at one end at least; one whose ends are on
    /// two hosts is carried by a tunnel.
    fn links(&mut self) {
        for (k, link) in self.spec.links.iter().enumerate() {
            let eps = &link.value.endpoints;
            if let Some(e) = eps.iter().find(|e| {
                let owner = e.value.split_once(':').map_or(e.value.as_str(), |(o, _)| o);
                self.p.on_several.contains(owner)
            }) {
                let msg = format!("`{}` names a bridge that several hosts have", e.value);
                self.err(
                    Pos::of(e),
                    msg,
                    "give the networks' bridges names of their own (`bridge: NAME`) to link to one",
                );
                continue;
            }
            let hosts: Vec<Option<String>> = eps
                .iter()
                .map(|e| self.p.endpoint_host(&e.value).map(str::to_string))
                .collect();
            if let [Some(a), Some(b)] = &hosts[..] {
                if a != b {
                    self.cross(k, [(a.clone(), &eps[0]), (b.clone(), &eps[1])]);
                }
            }
            if eps.len() == 2 && hosts.iter().all(Option::is_none) {
                let pos = Pos::of(link);
                if eps.iter().all(|e| e.value.starts_with("host:")) {
                    self.err(
                        pos,
                        "a link between two `host:` ends is on no host of several",
                        "join a node or a bridge, which say their host",
                    );
                }
            }
        }
    }
}
