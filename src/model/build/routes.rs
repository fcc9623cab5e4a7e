//! Routes and sysctls of each namespace.

use super::*;

impl Builder<'_> {
    pub(super) fn collect_routes_and_sysctls(&mut self, spec: &LabSpec) {
        let mut groups = Vec::new();
        if let Some(h) = &spec.host {
            groups.push((Ns::Host, &h.value.routes, &h.value.sysctls));
        }
        for (n, s) in &spec.nodes {
            groups.push((Ns::node(n), &s.value.routes, &s.value.sysctls));
        }
        for (ns, routes, sysctls) in groups {
            // Prefixes routed straight onto a device: gateways inside them
            // are reachable, as the kernel sees it.
            let on_link: Vec<IpNet> = routes
                .iter()
                .filter(|r| r.value.via.is_none() && r.value.dev.is_some())
                .filter_map(|r| r.value.to.value.parse::<IpNet>().ok())
                .collect();
            for r in routes {
                self.route(&ns, r, &on_link);
            }
            for (key, value) in sysctls {
                self.sysctl(&ns, key, value);
            }
        }
        self.node_default_sysctls(spec);
    }

    pub(super) fn route(&mut self, ns: &Ns, r: &S<RouteSpec>, on_link: &[IpNet]) {
        let pos = Pos::of(r);
        let spec = &r.value;
        let via = match &spec.via {
            Some(v) => match v.value.parse::<IpAddr>() {
                Ok(a) => Some(a),
                Err(_) => {
                    self.err(
                        Pos::of(v),
                        format!("`{}` is not an IP address", v.value),
                        "write the gateway's address, e.g. `via: 192.168.15.5`",
                    );
                    return;
                }
            },
            None => None,
        };
        let to = if spec.to.value == "default" {
            match via {
                Some(IpAddr::V6(_)) => "::/0".parse().expect("literal"),
                _ => "0.0.0.0/0".parse().expect("literal"),
            }
        } else {
            match spec
                .to
                .value
                .parse::<IpNet>()
                .or_else(|_| spec.to.value.parse::<IpAddr>().map(IpNet::from))
            {
                Ok(n) if n.trunc() == n => n,
                Ok(n) => {
                    self.err(
                        Pos::of(&spec.to),
                        format!("`{n}` has host bits set"),
                        format!("write the network: `to: {}`", n.trunc()),
                    );
                    return;
                }
                Err(_) => {
                    self.err(
                        Pos::of(&spec.to),
                        format!("`{}` is not a destination", spec.to.value),
                        "write `default` or a prefix such as `10.9.0.0/16`",
                    );
                    return;
                }
            }
        };
        if via.is_none() && spec.dev.is_none() {
            self.err(
                pos,
                "a route needs `via`, `dev` or both",
                "add `via: GATEWAY` or `dev: IFNAME`",
            );
            return;
        }
        if let Some(v) = via {
            if v.is_ipv4() != matches!(to, IpNet::V4(_)) {
                self.err(
                    pos,
                    format!("route to {to} via {v} mixes IPv4 and IPv6"),
                    "use a gateway of the destination's family",
                );
                return;
            }
        }
        let dev = spec.dev.as_ref().map(|d| d.value.clone());
        if let (Some(d), Ns::Node(_)) = (&spec.dev, ns) {
            if !self.ifaces.contains_key(&IfRef::new(ns.clone(), &d.value)) {
                self.err(
                    Pos::of(d),
                    format!("`{}` is no interface of {ns}", d.value),
                    "name an interface that a link or network creates in this node",
                );
                return;
            }
        }
        if let (Some(v), Ns::Node(_)) = (via, ns) {
            let reachable = self
                .in_ns(ns)
                .flat_map(|(_, i)| &i.addrs)
                .any(|(a, _)| a.contains(&v))
                || on_link.iter().any(|n| n.contains(&v));
            if !reachable {
                let have: Vec<String> = self
                    .in_ns(ns)
                    .flat_map(|(_, i)| i.addrs.iter().map(|(a, _)| a.to_string()))
                    .collect();
                let help = if have.is_empty() {
                    format!("give {ns} an address in the gateway's subnet")
                } else {
                    format!(
                        "{ns} has {}; use a gateway inside one of those subnets",
                        have.join(", ")
                    )
                };
                self.err(
                    spec.via.as_ref().map_or(pos, Pos::of),
                    format!("gateway {v} is not reachable from any address of {ns}"),
                    help,
                );
                return;
            }
        }
        let key = RouteKey::new(to, spec.metric.as_ref().map_or(0, |m| m.value));
        let routes = self.routes.entry(ns.clone()).or_default();
        if let Some((_, prev)) = routes.get(&key) {
            if prev.line != pos.line {
                let line = prev.line;
                self.err(
                    pos,
                    format!(
                        "a route to {to} with metric {} is already declared at line {line}",
                        key.metric
                    ),
                    "give one of them another `metric:`",
                );
                return;
            }
        }
        let scope = Scope::of_route(&to, via);
        routes.insert(
            key,
            (
                Route {
                    via,
                    dev: dev.map(Name::from),
                    scope,
                    derived: false,
                },
                pos,
            ),
        );
    }

    pub(super) fn sysctl(&mut self, ns: &Ns, key: &str, value: &S<SysctlValue>) {
        let pos = Pos::of(value);
        let ok_chars = key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !key.starts_with("net.") || !ok_chars || key.contains("..") {
            self.err(
                pos,
                format!("sysctl `{key}` is not a network sysctl"),
                "topo sets per-namespace sysctls under `net.`, e.g. `net.ipv4.ip_forward: 1`",
            );
            return;
        }
        if matches!(ns, Ns::Node(_)) && crate::kinds::initial_namespace_only(key) {
            self.err(
                pos,
                format!("sysctl `{key}` exists only in the machine's initial network namespace: no node has it"),
                "it sizes a table every namespace shares: set it under `host: { sysctls: ... }` (topo must run in the machine's own namespace), or on the machine with `sysctl -w`",
            );
            return;
        }
        let v = value.value.as_text();
        if v.is_empty() || v.contains('\n') {
            self.err(
                pos,
                format!("sysctl `{key}` needs a one-line value"),
                "write e.g. `1`",
            );
            return;
        }
        self.origins.insert(
            Id::Sysctl(SysctlId {
                ns: ns.clone(),
                key: key.into(),
            }),
            pos,
        );
        self.sysctls
            .entry(ns.clone())
            .or_default()
            .insert(key.to_string(), (v, pos));
    }
}
