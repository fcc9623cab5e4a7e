//! Nodes (from `nodes:` and network members) and bridges.

use super::*;
use crate::spec::BridgeSpec;

impl Builder<'_> {
    pub(super) fn collect_nodes(&mut self, spec: &LabSpec) {
        for (name, node) in &spec.nodes {
            self.add_node(name, Pos::of(node));
            for r in &node.value.routes {
                let to = r.value.to.value.as_str();
                // `default` takes its family from `via`; a zero prefix counts too.
                let v6 = r.value.via.as_ref().is_some_and(|v| v.value.contains(':'));
                match to {
                    "default" => {
                        self.explicit_default.insert((name.clone(), !v6));
                    }
                    "0.0.0.0/0" => {
                        self.explicit_default.insert((name.clone(), true));
                    }
                    "::/0" => {
                        self.explicit_default.insert((name.clone(), false));
                    }
                    _ => {}
                }
            }
        }
        for net in spec.networks.values() {
            for m in &net.value.nodes {
                let name = match &m.value {
                    NetworkMember::Name(n) => n,
                    NetworkMember::Detailed(d) => &d.node,
                };
                if !self.nodes.contains_key(name) {
                    self.add_node(name, Pos::of(m));
                }
            }
        }
    }

    pub(super) fn add_node(&mut self, name: &str, pos: Pos) {
        if let Some(p) = node_name_problem(name) {
            self.err(
                pos,
                format!("node `{name}`: {p}"),
                "rename the node, e.g. `red` or `node-1`",
            );
        }
        self.nodes.entry(name.to_string()).or_insert(pos);
        self.origins
            .entry(Id::Netns(NetnsId { name: name.into() }))
            .or_insert(pos);
    }

    /// `host` or a declared node; reports anything else at `pos`.
    pub(super) fn ns_of(&mut self, node: &str, pos: Pos) -> Option<Ns> {
        if node == "host" {
            return Some(Ns::Host);
        }
        if self.nodes.contains_key(node) {
            return Some(Ns::Node(node.into()));
        }
        let known: Vec<String> = self.nodes.keys().cloned().collect();
        let help = match did_you_mean(node, known.iter().map(String::as_str)) {
            Some(s) => {
                format!("did you mean `{s}`? nodes are declared under `nodes:` or in a network")
            }
            None => "declare it under `nodes:` or in a network's `nodes:` list".to_string(),
        };
        self.err(pos, format!("no node named `{node}`"), help);
        None
    }

    pub(super) fn collect_bridges(&mut self, spec: &LabSpec) {
        for (name, br) in &spec.bridges {
            let pos = Pos::of(br);
            if let Some(p) = ifname_problem(name) {
                self.err(
                    pos,
                    format!("bridge `{name}`: {p}"),
                    "choose a bridge name of at most 15 bytes",
                );
                self.misnamed_bridges.insert(name.clone());
                continue;
            }
            if self.nodes.contains_key(name) {
                self.err(
                    pos,
                    format!("`{name}` names both a node and a bridge"),
                    "rename one: endpoints could not tell them apart",
                );
                continue;
            }
            let ns = match &br.value.node {
                Some(n) => match self.ns_of(&n.value, Pos::of(n)) {
                    Some(ns) => ns,
                    None => continue,
                },
                None => Ns::Host,
            };
            if self.add_bridge(IfRef::new(ns.clone(), name), pos, &br.value) {
                self.bridges.insert(name.clone(), ns);
            }
        }
        // Bridges declared under their node: named by the node, so two
        // nodes may each have a `br0`.
        for (node, n) in &spec.nodes {
            for (name, br) in &n.value.bridges {
                let pos = Pos::of(br);
                if let Some(p) = ifname_problem(name) {
                    self.err(
                        pos,
                        format!("bridge `{name}` of {node}: {p}"),
                        "choose a bridge name of at most 15 bytes",
                    );
                    continue;
                }
                let link = IfRef::new(Ns::node(node), name);
                if let Some(prev) = self.ifaces.get(&link) {
                    let line = prev.pos.line;
                    self.err(
                        pos,
                        format!("bridge {link} is already declared at line {line}"),
                        "a namespace holds one interface of a name: rename one of them",
                    );
                    continue;
                }
                let placed = [("node", &br.value.node), ("host", &br.value.host)];
                if let Some((field, Some(at))) = placed.into_iter().find(|(_, v)| v.is_some()) {
                    self.err(
                        Pos::of(at),
                        format!("bridge {link} is declared under its node: `{field}:` has no place here"),
                        format!("remove `{field}:`; a bridge under `nodes: {{ {node}: ... }}` is in {node}, on its host"),
                    );
                    continue;
                }
                self.add_bridge(link, pos, &br.value);
            }
        }
    }

    /// Records one bridge; false (and an error) when a setting is wrong.
    fn add_bridge(&mut self, link: IfRef, pos: Pos, b: &BridgeSpec) -> bool {
        let stp = b.stp.as_ref().is_some_and(|s| s.value);
        let forward_delay = match &b.forward_delay {
            Some(d) if !(2..=30).contains(&d.value) => {
                self.err(
                    Pos::of(d),
                    format!("forward_delay {} is out of range", d.value),
                    "the kernel takes 2 to 30 seconds; 15 is its default",
                );
                return false;
            }
            d => d.as_ref().map(|d| d.value),
        };
        let mtu = self.mtu(b.mtu.as_ref());
        if let Some(m) = b.mtu.as_ref().filter(|_| mtu.is_some()) {
            self.mtu_from.insert(link.clone(), (Pos::of(m), false));
        }
        self.origins
            .insert(Id::Bridge(BridgeId { link: link.clone() }), pos);
        let iface = Iface {
            pos,
            kind: IfKind::Bridge { stp, forward_delay },
            master: None,
            mtu,
            mac: None,
            addrs: vec![],
        };
        self.ifaces.insert(link.clone(), iface);
        self.add_addresses(&link, &b.addresses);
        let subnets = self.ifaces[&link]
            .addrs
            .iter()
            .map(|(a, _)| a.trunc())
            .collect();
        self.bridge_subnets.insert(link, subnets);
        true
    }

    /// Whether `link` is a bridge the lab declares.
    pub(super) fn is_bridge(&self, link: &IfRef) -> bool {
        self.ifaces
            .get(link)
            .is_some_and(|i| matches!(i.kind, IfKind::Bridge { .. }))
    }
}
