//! `tests:` resolved: each check with its source namespace, its target
//! address, the listener topo starts for it and what that must see. Every
//! mistake is a diagnostic at the check's line, like the rest of the file.

mod lab;
mod parse;
mod targets;

pub use lab::{Arrival, LabView};
pub use parse::{duration_text, MAX_TIMEOUT};

use crate::diag::{did_you_mean, Diagnostic, Pos};
use crate::model::{Model, Ns};
use crate::spec::{CheckSpec, LabSpec, S};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// A check's timeout when neither it nor the lab sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// One check, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Where the file declares it (a `pingall` gives one per pair).
    pub pos: Pos,
    pub from: Ns,
    /// The target as written: `blue`, `10.9.9.9`, `10.99.0.1:8080`.
    pub target: String,
    pub probe: Probe,
    /// Whether the probe must get through (`expect: ok`).
    pub expect_ok: bool,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    Ping {
        to: IpAddr,
    },
    Tcp {
        to: SocketAddr,
        listener: Option<Listener>,
    },
    Udp {
        to: SocketAddr,
        listener: Listener,
    },
}

/// A listener topo starts for one check, and what it must see.
#[derive(Debug, Clone, PartialEq)]
pub struct Listener {
    pub ns: Ns,
    /// The address it listens on (after the lab's port forwards).
    pub addr: SocketAddr,
    /// The source address it must see.
    pub sees: Option<IpAddr>,
    /// The line of the port forward that leads there.
    pub forward: Option<u32>,
}

impl Probe {
    pub fn kind(&self) -> &'static str {
        match self {
            Probe::Ping { .. } => "ping",
            Probe::Tcp { .. } => "tcp",
            Probe::Udp { .. } => "udp",
        }
    }

    pub fn listener(&self) -> Option<&Listener> {
        match self {
            Probe::Ping { .. } => None,
            Probe::Tcp { listener, .. } => listener.as_ref(),
            Probe::Udp { listener, .. } => Some(listener),
        }
    }
}

impl Check {
    /// How the check is named in every report: `ping red → blue (10.10.0.3)`,
    /// `tcp outside → 10.99.0.1:8080 reaches blue, sees 10.99.0.2`.
    pub fn name(&self) -> String {
        let mut s = format!("{} {} → {}", self.probe.kind(), self.from, self.target);
        let to = match &self.probe {
            Probe::Ping { to } => to.to_string(),
            Probe::Tcp { to, .. } | Probe::Udp { to, .. } => to.to_string(),
        };
        if to != self.target {
            s += &format!(" ({to})");
        }
        if let Some(l) = self.probe.listener() {
            s += &format!(" reaches {}", l.ns);
            if let Some(a) = l.sees {
                s += &format!(", sees {a}");
            }
        }
        if !self.expect_ok {
            s += ", expect fail";
        }
        s
    }
}

/// Resolves the file's checks against the lab. Errors come back together.
pub fn resolve(spec: &LabSpec, model: &Model) -> Result<Vec<Check>, Vec<Diagnostic>> {
    let Some(tests) = &spec.tests else {
        return Ok(Vec::new());
    };
    let view = LabView::new(spec, model);
    let mut r = Resolver {
        view: &view,
        diags: Vec::new(),
        out: Vec::new(),
        default_timeout: DEFAULT_TIMEOUT,
    };
    if let Some(t) = tests.value.timeout() {
        match parse::timeout(&t.value) {
            Ok(d) => r.default_timeout = d,
            Err(e) => r.err(
                Pos::of(t),
                e,
                "write e.g. `timeout: 2s` or `timeout: 500ms`",
            ),
        }
    }
    for c in tests.value.checks() {
        r.check(c);
    }
    if r.diags.is_empty() {
        Ok(r.out)
    } else {
        Err(r.diags)
    }
}

/// `topo test --pingall`: a ping from every node of the lab to every
/// other, each to its first address (as `pingall:` does), Mininet's
/// `pingall` without writing the list. Nodes without an address neither
/// send nor receive. Where the lab is read from a file, the checks point
/// at its `name:`.
pub fn pingall(spec: &LabSpec, model: &Model) -> Vec<Check> {
    let view = LabView::new(spec, model);
    let members: Vec<(Ns, String, IpAddr)> = model
        .nodes
        .iter()
        .filter_map(|n| {
            let ns = Ns::node(n);
            view.first_address(&ns).map(|a| (ns, n.clone(), a))
        })
        .collect();
    let mut out = Vec::new();
    for (from, _, _) in &members {
        for (to, name, addr) in &members {
            if from != to {
                out.push(Check {
                    pos: Pos::of(&spec.name),
                    from: from.clone(),
                    target: name.clone(),
                    probe: Probe::Ping { to: *addr },
                    expect_ok: true,
                    timeout: DEFAULT_TIMEOUT,
                });
            }
        }
    }
    out
}

struct Resolver<'a> {
    view: &'a LabView,
    diags: Vec<Diagnostic>,
    out: Vec<Check>,
    default_timeout: Duration,
}

impl Resolver<'_> {
    fn err(&mut self, pos: Pos, msg: impl Into<String>, help: impl Into<String>) {
        self.diags.push(Diagnostic::error(pos, msg).help(help));
    }

    /// A namespace named by the check: `host` or a node of the lab.
    fn namespace(&mut self, s: &S<String>, what: &str) -> Option<Ns> {
        if self.view.is_namespace(&s.value) {
            return Some(Ns::parse(&s.value));
        }
        let hint = did_you_mean(&s.value, self.view.nodes.iter().map(String::as_str))
            .map(|n| format!("did you mean `{n}`? "))
            .unwrap_or_default();
        self.err(
            Pos::of(s),
            format!("{what} `{}` is not a node of the lab", s.value),
            format!("{hint}{}", self.known()),
        );
        None
    }

    fn known(&self) -> String {
        if self.view.nodes.is_empty() {
            "the lab has no nodes; `host` is the namespace topo runs in".to_string()
        } else {
            format!(
                "its nodes are: {}; `host` is the namespace topo runs in",
                self.view.nodes.join(", ")
            )
        }
    }

    /// A node's first address, for a target written as its name.
    fn address_of(&mut self, ns: &Ns, pos: Pos) -> Option<IpAddr> {
        let a = self.view.first_address(ns);
        if a.is_none() {
            self.err(
                pos,
                format!("`{ns}` has no address in the lab to send to"),
                "give it an address (in `interfaces:` or through a network), or write an address",
            );
        }
        a
    }

    fn check(&mut self, c: &S<CheckSpec>) {
        let pos = Pos::of(c);
        let spec = &c.value;
        let kinds: Vec<(&str, Pos)> = [
            ("ping", spec.ping.as_ref().map(Pos::of)),
            ("tcp", spec.tcp.as_ref().map(Pos::of)),
            ("udp", spec.udp.as_ref().map(Pos::of)),
            ("pingall", spec.pingall.as_ref().map(Pos::of)),
        ]
        .into_iter()
        .filter_map(|(k, p)| Some((k, p?)))
        .collect();
        let kind = match kinds.as_slice() {
            [(k, _)] => *k,
            [] => {
                return self.err(
                    pos,
                    "this check says nothing to do",
                    "give it one of `ping: NODE`, `tcp: ADDRESS:PORT`, `udp: ADDRESS:PORT` or `pingall: [NODES]`",
                )
            }
            [_, (k, p), ..] => {
                return self.err(
                    *p,
                    format!("a check does one thing, and this one also has `{k}:`"),
                    "split it into one check per probe",
                )
            }
        };
        let expect_ok = match &spec.expect {
            None => true,
            Some(e) if e.value == "ok" => true,
            Some(e) if e.value == "fail" => false,
            Some(e) => {
                let hint = did_you_mean(&e.value, ["ok", "fail"])
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                return self.err(
                    Pos::of(e),
                    format!("`expect: {}` is neither `ok` nor `fail`", e.value),
                    format!("{hint}`ok`: the probe must get through; `fail`: it must not"),
                );
            }
        };
        let timeout = match &spec.timeout {
            None => self.default_timeout,
            Some(t) => match parse::timeout(&t.value) {
                Ok(d) => d,
                Err(e) => {
                    return self.err(
                        Pos::of(t),
                        e,
                        "write e.g. `timeout: 2s` or `timeout: 500ms`",
                    )
                }
            },
        };
        let base = Check {
            pos,
            from: Ns::Host,
            target: String::new(),
            probe: Probe::Ping {
                to: IpAddr::from([0, 0, 0, 0]),
            },
            expect_ok,
            timeout,
        };
        if kind == "pingall" {
            return self.pingall(spec, base);
        }
        let Some(from_spec) = &spec.from else {
            return self.err(
                pos,
                format!("this {kind} check has no `from:`"),
                "write where the probe starts: `from: NODE` or `from: host`",
            );
        };
        let from = self.namespace(from_spec, "from:");
        if kind == "ping" {
            for (field, v) in [("reaches", &spec.reaches), ("sees", &spec.sees)] {
                if let Some(v) = v {
                    self.err(
                        Pos::of(v),
                        format!("a ping cannot observe the far side: `{field}:` needs a tcp or udp check"),
                        "topo starts a listener only for tcp and udp: write e.g. `tcp: ADDRESS:PORT` with it",
                    );
                }
            }
            let target = spec.ping.as_ref().expect("kind is ping");
            let (Some(from), Some(to)) = (from, self.ping_target(target)) else {
                return;
            };
            return self.out.push(Check {
                from,
                target: target.value.clone(),
                probe: Probe::Ping { to },
                ..base
            });
        }
        let target = if kind == "tcp" { &spec.tcp } else { &spec.udp };
        let target = target.as_ref().expect("kind is tcp or udp");
        let Some(to) = self.socket_target(target) else {
            return;
        };
        let listener = self.listener(kind, spec, to, expect_ok, pos);
        let Some(from) = from else { return };
        let probe = match (kind, listener) {
            ("tcp", Ok(l)) => Probe::Tcp { to, listener: l },
            ("udp", Ok(Some(l))) => Probe::Udp { to, listener: l },
            ("udp", Ok(None)) => {
                return self.err(
                    Pos::of(target),
                    "a udp check needs a listener: UDP has no handshake, so only a listener topo starts can tell that the datagram arrived",
                    "add `reaches: NODE` (the node that must get it), or `sees: ADDRESS`",
                )
            }
            _ => return,
        };
        self.out.push(Check {
            from,
            target: target.value.clone(),
            probe,
            ..base
        });
    }
}
