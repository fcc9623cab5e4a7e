//! Node roles: a router forwards (IPv4, and IPv6 when the lab has IPv6);
//! a host takes its default route via the one router on its segments.
//! What the file writes wins: its own sysctl, its own default route, or
//! one a network gives.

use super::*;
use crate::spec::Role;

impl Builder<'_> {
    /// Every node's role: its own, else `defaults.node.role`.
    pub(super) fn collect_roles(&mut self, spec: &LabSpec) {
        let default = spec
            .defaults
            .as_ref()
            .and_then(|d| d.value.node.as_ref())
            .and_then(|n| n.value.role.as_ref());
        for node in self.nodes.keys() {
            let own = spec.nodes.get(node).and_then(|n| n.value.role.as_ref());
            if let Some(r) = own.or(default) {
                self.roles.insert(node.clone(), (r.value, Pos::of(r)));
            }
        }
    }

    pub(super) fn role(&self, node: &str) -> Option<Role> {
        self.roles.get(node).map(|(r, _)| *r)
    }

    /// A sysctl topo sets for what the file says elsewhere, unless the
    /// file sets it itself.
    fn derived_sysctl(&mut self, ns: &Ns, key: &str, value: &str, pos: Pos) {
        let set = self.sysctls.entry(ns.clone()).or_default();
        if set.contains_key(key) {
            return;
        }
        set.insert(key.to_string(), (value.to_string(), pos));
        let id = Id::Sysctl(SysctlId {
            ns: ns.clone(),
            key: key.into(),
        });
        self.origins.entry(id).or_insert(pos);
    }

    pub(super) fn apply_roles(&mut self, spec: &LabSpec) {
        let v6 = match &spec.ipv6 {
            Some(v) => v.value,
            None => self.any_v6(),
        };
        let roles: Vec<(String, Role, Pos)> = self
            .roles
            .iter()
            .map(|(n, (r, p))| (n.clone(), *r, *p))
            .collect();
        let segs = self.segments();
        for (node, role, pos) in roles {
            let ns = Ns::node(&node);
            match role {
                Role::Router => {
                    self.derived_sysctl(&ns, "net.ipv4.ip_forward", "1", pos);
                    if v6 {
                        self.derived_sysctl(&ns, "net.ipv6.conf.all.forwarding", "1", pos);
                    }
                }
                Role::Host => {
                    for v4 in [true, false] {
                        self.host_default(&node, v4, pos, &segs);
                    }
                }
            }
        }
    }

    /// A host's default route of one family via the router on its
    /// segments, when there is one; an error naming them when there are
    /// several.
    fn host_default(&mut self, node: &str, v4: bool, pos: Pos, segs: &super::segments::Segments) {
        let family = (node.to_string(), v4);
        if self.explicit_default.contains(&family) || self.has_default.contains(&family) {
            return;
        }
        let ns = Ns::Node(node.into());
        // Router → (gateway, the host's interface), lowest gateway first.
        let mut found: BTreeMap<String, Vec<(IpAddr, String)>> = BTreeMap::new();
        for (link, iface) in self.in_ns(&ns) {
            if iface.master.is_some() {
                continue;
            }
            for a in self.routable(link) {
                if a.addr().is_ipv4() != v4 || self.no_route.contains(&a.trunc()) {
                    continue;
                }
                for end in segs
                    .of
                    .get(link)
                    .map(|s| &segs.ends[*s])
                    .into_iter()
                    .flatten()
                {
                    let Ns::Node(r) = &end.ns else { continue };
                    if r == node || self.role(r) != Some(Role::Router) {
                        continue;
                    }
                    for b in self.routable(end).iter().filter(|b| a.contains(&b.addr())) {
                        found
                            .entry(r.to_string())
                            .or_default()
                            .push((b.addr(), link.name.to_string()));
                    }
                }
            }
        }
        match found.len() {
            0 => {}
            1 => {
                let (_, mut via) = found.into_iter().next().expect("one router");
                via.sort();
                let (gw, dev) = via.swap_remove(0);
                let to = default_for(gw);
                let route = Route {
                    via: Some(gw),
                    dev: Some(dev.into()),
                    scope: Scope::of_route(&to, Some(gw)),
                    derived: true,
                };
                let key = RouteKey::new(to, 0);
                let id = Id::Route(RouteId {
                    ns: ns.clone(),
                    key: key.clone(),
                });
                self.origins.insert(id, pos);
                self.routes.entry(ns).or_default().insert(key, (route, pos));
                self.has_default.insert(family);
            }
            _ => {
                let mut names: Vec<String> = found
                    .iter()
                    .map(|(r, via)| format!("{r} ({} on {node}:{})", via[0].0, via[0].1))
                    .collect();
                names.sort_by(|a, b| names::Natural(a).cmp(&names::Natural(b)));
                let fam = if v4 { "IPv4" } else { "IPv6" };
                self.err(
                    pos,
                    format!(
                        "{node} has `role: host` and {} routers on its segments: {}; which one is its {fam} default route through?",
                        names.len(),
                        names.join(", ")
                    ),
                    format!(
                        "write it under `nodes: {{ {node}: {{ routes: [{{ to: default, via: {} }}] }} }}`, or make a network it is in give it (its gateway)",
                        found.values().next().expect("several")[0].0
                    ),
                );
            }
        }
    }
}
