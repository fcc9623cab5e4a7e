//! Bridge uplinks: interfaces of the bridge's namespace the lab does not
//! create, made ports of the bridge.

use super::*;
use crate::kinds::{Uplink, UplinkId};

impl Builder<'_> {
    pub(super) fn collect_uplinks(&mut self, spec: &LabSpec) {
        let host = spec
            .bridges
            .iter()
            .filter_map(|(b, br)| Some((self.bridges.get(b)?.clone(), b, br)));
        let in_nodes = spec.nodes.iter().flat_map(|(n, node)| {
            let ns = Ns::node(n);
            node.value
                .bridges
                .iter()
                .map(move |(b, br)| (ns.clone(), b, br))
        });
        let all: Vec<_> = host.chain(in_nodes).collect();
        for (ns, bridge, br) in all {
            if !self.is_bridge(&IfRef::new(ns.clone(), bridge)) {
                continue;
            }
            let allowed = br
                .value
                .allow_default_route_uplink
                .as_ref()
                .is_some_and(|a| a.value);
            for up in &br.value.uplinks {
                let pos = Pos::of(up);
                let name = up.value.as_str();
                let link = IfRef::new(ns.clone(), name);
                if let Some(p) = ifname_problem(name) {
                    self.err(
                        pos,
                        format!("uplink `{name}`: {p}"),
                        "write the name `ip link` shows",
                    );
                    continue;
                }
                if name == "lo" {
                    self.err(
                        pos,
                        "`lo` cannot be a bridge port",
                        "name the interface that leads to the network, e.g. `eth1`",
                    );
                    continue;
                }
                if let Some(i) = self.ifaces.get(&link) {
                    let line = i.pos.line;
                    self.err(
                        pos,
                        format!("uplink {link} is an interface the lab creates (line {line})"),
                        "uplinks are interfaces the machine already has; a lab interface joins a bridge through `links:`",
                    );
                    continue;
                }
                let id = UplinkId { link: link.clone() };
                if let Some(prev) = self.uplinks.get(&id) {
                    let msg = format!(
                        "{link} is already an uplink of bridge `{}`",
                        prev.0.bridge.clone().unwrap_or_default()
                    );
                    self.err(pos, msg, "an interface can be a port of one bridge only");
                    continue;
                }
                let me = Uplink {
                    bridge: Some(bridge.clone()),
                    up: true,
                    default_route_allowed: allowed,
                };
                self.origins.insert(Id::Uplink(id.clone()), pos);
                self.uplinks.insert(id, (me, pos));
            }
        }
    }
}
