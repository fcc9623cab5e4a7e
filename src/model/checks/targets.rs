//! The targets of checks and the listeners topo starts for them.

use super::{parse, Arrival, Check, Listener, Probe, Resolver};
use crate::diag::{did_you_mean, Pos};
use crate::model::Ns;
use crate::spec::{CheckSpec, S};
use std::net::{IpAddr, SocketAddr};

impl Resolver<'_> {
    pub(super) fn ping_target(&mut self, t: &S<String>) -> Option<IpAddr> {
        if self.view.is_namespace(&t.value) {
            return self.address_of(&Ns::parse(&t.value), Pos::of(t));
        }
        if let Ok(a) = t.value.parse::<IpAddr>() {
            return Some(a);
        }
        let hint = did_you_mean(&t.value, self.view.nodes.iter().map(String::as_str))
            .map(|n| format!("did you mean `{n}`? "))
            .unwrap_or_default();
        self.err(
            Pos::of(t),
            format!("`{}` is neither a node of the lab nor an address", t.value),
            format!("{hint}{}", self.known()),
        );
        None
    }

    pub(super) fn socket_target(&mut self, t: &S<String>) -> Option<SocketAddr> {
        let (host, port) = match parse::host_port(&t.value) {
            Ok(hp) => hp,
            Err(e) => {
                self.err(
                    Pos::of(t),
                    e,
                    "write `ADDRESS:PORT`, `NODE:PORT` or `[IPV6]:PORT`, e.g. `10.0.0.2:80`",
                );
                return None;
            }
        };
        let ip = match host.parse::<IpAddr>() {
            Ok(a) => a,
            Err(_) if self.view.is_namespace(host) => {
                self.address_of(&Ns::parse(host), Pos::of(t))?
            }
            Err(_) => {
                let hint = did_you_mean(host, self.view.nodes.iter().map(String::as_str))
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                self.err(
                    Pos::of(t),
                    format!("`{host}` is neither a node of the lab nor an address"),
                    format!("{hint}{}", self.known()),
                );
                return None;
            }
        };
        Some(SocketAddr::new(ip, port))
    }

    /// The listener a tcp or udp check asks for with `reaches:` or `sees:`;
    /// `Ok(None)` when it asks for none, `Err` after an error.
    pub(super) fn listener(
        &mut self,
        proto: &str,
        spec: &CheckSpec,
        to: SocketAddr,
        expect_ok: bool,
        pos: Pos,
    ) -> Result<Option<Listener>, ()> {
        if spec.reaches.is_none() && spec.sees.is_none() {
            return Ok(None);
        }
        let mut failed = false;
        let sees = match &spec.sees {
            None => None,
            Some(s) => match s.value.parse::<IpAddr>() {
                Ok(a) if a.is_ipv4() != to.is_ipv4() => {
                    self.err(
                        Pos::of(s),
                        format!("`sees: {a}` is of another IP family than {to}"),
                        "the listener sees an address of the family the probe uses",
                    );
                    failed = true;
                    None
                }
                Ok(_) if !expect_ok => {
                    self.err(
                        Pos::of(s),
                        "`sees:` with `expect: fail`: a probe that must not arrive sees nothing",
                        "remove `sees:`, or expect `ok`",
                    );
                    failed = true;
                    None
                }
                Ok(a) => Some(a),
                Err(_) => {
                    self.err(
                        Pos::of(s),
                        format!("`sees: {}` is not an address", s.value),
                        "write the source address the far side must see, e.g. `sees: 10.99.0.1`",
                    );
                    failed = true;
                    None
                }
            },
        };
        let reaches = match &spec.reaches {
            Some(r) => match self.namespace(r, "reaches:") {
                Some(ns) => Some((ns, Pos::of(r))),
                None => return Err(()),
            },
            None => None,
        };
        let arrival = self.view.arrival(proto, to);
        let via = |a: &Arrival| match a.forward {
            Some(line) => format!(" (port forward at line {line})"),
            None => String::new(),
        };
        let ns = match (&arrival.ns, reaches) {
            (Some(ns), Some((r, _))) if *ns == r => r,
            (Some(ns), Some((r, rpos))) => {
                self.err(
                    rpos,
                    format!(
                        "{proto} to {to} arrives in {ns} at {}{}, not in {r}",
                        arrival.addr,
                        via(&arrival)
                    ),
                    format!("write `reaches: {ns}`, or forward the port to {r}"),
                );
                return Err(());
            }
            (None, Some((r, rpos))) => {
                self.err(
                    rpos,
                    format!(
                        "`reaches: {r}` can never be met: no namespace of the lab holds {}{}",
                        arrival.addr.ip(),
                        via(&arrival)
                    ),
                    format!("send it to an address of {r}, or forward the port to {r} (`nat: {{ dnat: [...] }}`)"),
                );
                return Err(());
            }
            (Some(ns), None) => ns.clone(),
            (None, None) => {
                self.err(
                    spec.sees.as_ref().map_or(pos, Pos::of),
                    format!(
                        "`sees:` cannot be observed: no namespace of the lab holds {}, so topo has nowhere to start a listener",
                        arrival.addr.ip()
                    ),
                    "send it to an address of a lab node, or to a port the lab forwards to one",
                );
                return Err(());
            }
        };
        if failed {
            return Err(());
        }
        Ok(Some(Listener {
            ns,
            addr: arrival.addr,
            sees,
            forward: arrival.forward,
        }))
    }

    pub(super) fn pingall(&mut self, spec: &CheckSpec, base: Check) {
        let list = spec.pingall.as_ref().expect("kind is pingall");
        for (field, v) in [
            ("from", &spec.from),
            ("reaches", &spec.reaches),
            ("sees", &spec.sees),
        ] {
            if let Some(v) = v {
                self.err(
                    Pos::of(v),
                    format!("`pingall:` takes no `{field}:`"),
                    "pingall pings between its own nodes, every ordered pair",
                );
            }
        }
        if list.value.len() < 2 {
            return self.err(
                Pos::of(list),
                "`pingall:` needs at least two nodes",
                "list the nodes that must reach each other, e.g. `pingall: [red, blue]`",
            );
        }
        let mut members: Vec<(Ns, String, IpAddr)> = Vec::new();
        for n in &list.value {
            let Some(ns) = self.namespace(n, "pingall:") else {
                continue;
            };
            if members.iter().any(|(m, _, _)| *m == ns) {
                self.err(
                    Pos::of(n),
                    format!("`{}` is listed twice", n.value),
                    "list each node once",
                );
                continue;
            }
            if let Some(a) = self.address_of(&ns, Pos::of(n)) {
                members.push((ns, n.value.clone(), a));
            }
        }
        for (from, _, _) in &members {
            for (to, name, addr) in &members {
                if from != to {
                    self.out.push(Check {
                        from: from.clone(),
                        target: name.clone(),
                        probe: Probe::Ping { to: *addr },
                        ..base.clone()
                    });
                }
            }
        }
    }
}
