//! NAT and filter rules of one namespace, compiled into nftables chains and
//! rules. Each rule carries a readable description that is also its comment
//! in the kernel, so observed rules map back to these ids.

use super::resource::Ns;
use crate::diag::{Diagnostic, Pos};
use crate::kinds::{Chain, ChainId, Rule, RuleId};
use crate::spec::{
    DnatSpec, FilterRuleSpec, FirewallSpec, MasqueradeSpec, NatSpec, PortValue, SnatSpec, S,
};
use ipnet::IpNet;
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr};

/// The chains topo may create: name, type, hook, priority.
pub const CHAINS: [(&str, &str, &str, i32); 6] = [
    ("prerouting", "nat", "prerouting", -100),
    ("nat-output", "nat", "output", -100),
    ("postrouting", "nat", "postrouting", 100),
    ("input", "filter", "input", 0),
    ("forward", "filter", "forward", 0),
    ("output", "filter", "output", 0),
];

/// What the compiler needs to know about the rest of the lab.
pub struct Context<'a> {
    pub ns: &'a Ns,
    /// A node's first IPv4 address, for `to: NODE`.
    pub node_address: &'a dyn Fn(&str) -> Option<IpAddr>,
    /// Whether the lab creates an interface of this name in the namespace.
    pub knows_interface: &'a dyn Fn(&str) -> bool,
    /// Whether the namespace forwards IPv4 (from its sysctls).
    pub forwards: bool,
}

/// Compiled rules (with where each was declared) and chains, plus findings.
#[derive(Default)]
pub struct Compiled {
    pub rules: Vec<(RuleId, Rule, Pos)>,
    pub made_chains: Vec<(ChainId, Chain)>,
    pub diags: Vec<Diagnostic>,
    /// (proto, first port, last port, destination) of each DNAT, for clashes.
    dnat_keys: Vec<(String, u16, u16, Option<IpAddr>, Pos)>,
    /// Chains in use: name, policy, rule comments in order.
    chains: Vec<(String, Option<String>, Vec<String>)>,
}

impl Compiled {
    fn add(&mut self, ns: &Ns, chain: &str, text: String, expr: Vec<Value>, pos: Pos) {
        let id = RuleId {
            ns: ns.clone(),
            chain: chain.to_string(),
            rule: text.clone(),
        };
        if self.rules.iter().any(|(i, _, _)| *i == id) {
            self.diags.push(
                Diagnostic::error(pos, format!("the same rule is declared twice: {text}"))
                    .help("remove one of them"),
            );
            return;
        }
        let rule = Rule {
            expr: Value::Array(expr).to_string(),
        };
        self.rules.push((id, rule, pos));
        self.chain(chain).2.push(text);
    }

    fn chain(&mut self, name: &str) -> &mut (String, Option<String>, Vec<String>) {
        if let Some(i) = self.chains.iter().position(|(n, _, _)| n == name) {
            return &mut self.chains[i];
        }
        self.chains.push((name.to_string(), None, vec![]));
        self.chains.last_mut().expect("just pushed")
    }
}

pub fn compile(
    cx: &Context<'_>,
    nat: Option<&S<NatSpec>>,
    fw: Option<&S<FirewallSpec>>,
    extra_masquerade: &[(IpNet, Pos)],
) -> Compiled {
    let mut c = Compiled::default();
    let ns = cx.ns;
    for (subnet, pos) in extra_masquerade {
        let expr = vec![
            saddr(*subnet),
            daddr_not(*subnet),
            json!({"masquerade": null}),
        ];
        c.add(
            ns,
            "postrouting",
            format!("masquerade from {subnet} not to {subnet}"),
            expr,
            *pos,
        );
        if !cx.forwards {
            c.diags.push(no_forwarding(*pos, cx.ns));
        }
    }
    if let Some(nat) = nat {
        for m in &nat.value.masquerade {
            if let Some((text, expr)) = masquerade(&mut c, cx, m) {
                c.add(ns, "postrouting", text, expr, Pos::of(m));
            }
        }
        for s in &nat.value.snat {
            if let Some((text, expr)) = snat(&mut c, cx, s) {
                c.add(ns, "postrouting", text, expr, Pos::of(s));
            }
        }
        for d in &nat.value.dnat {
            if let Some((text, pre, out)) = dnat(&mut c, cx, d) {
                c.add(ns, "prerouting", text.clone(), pre, Pos::of(d));
                c.add(ns, "nat-output", text, out, Pos::of(d));
            }
        }
        let needs_forwarding = !nat.value.masquerade.is_empty()
            || !nat.value.snat.is_empty()
            || !nat.value.dnat.is_empty();
        if needs_forwarding && !cx.forwards && extra_masquerade.is_empty() {
            c.diags.push(no_forwarding(Pos::of(nat), cx.ns));
        }
    }
    if let Some(fw) = fw {
        for (chain, policy) in [
            ("input", &fw.value.input),
            ("forward", &fw.value.forward),
            ("output", &fw.value.output),
        ] {
            let Some(p) = policy else { continue };
            if p.value != "accept" && p.value != "drop" {
                c.diags.push(
                    Diagnostic::error(Pos::of(p), format!("`{}` is not a chain policy", p.value))
                        .help("write `accept` or `drop`"),
                );
                continue;
            }
            c.chain(chain).1 = Some(p.value.clone());
        }
        for r in &fw.value.rules {
            if let Some((chain, text, expr)) = filter_rule(&mut c, cx, r) {
                c.add(ns, &chain, text, expr, Pos::of(r));
            }
        }
    }
    for (name, policy, rules) in std::mem::take(&mut c.chains) {
        // A filter chain without a policy of its own accepts, as iptables does.
        let policy = policy.or_else(|| {
            (!name.contains("routing") && name != "nat-output").then(|| "accept".to_string())
        });
        let id = ChainId {
            ns: cx.ns.clone(),
            chain: name,
        };
        c.made_chains.push((id, Chain { policy, rules }));
    }
    c
}

fn no_forwarding(pos: Pos, ns: &Ns) -> Diagnostic {
    Diagnostic::warning(pos, format!("NAT in {ns}, which does not forward IPv4"))
        .help("add `sysctls: { net.ipv4.ip_forward: 1 }` to it, or routed traffic will not pass")
}

fn prefix(c: &mut Compiled, s: &S<String>, what: &str) -> Option<IpNet> {
    let v = s.value.as_str();
    match v
        .parse::<IpNet>()
        .or_else(|_| v.parse::<IpAddr>().map(IpNet::from))
    {
        Ok(n) if n.addr().is_ipv4() => Some(n.trunc()),
        Ok(_) => {
            c.diags.push(
                Diagnostic::error(Pos::of(s), format!("{what} `{v}` is IPv6"))
                    .help("NAT rules are IPv4, like the seeds' iptables rules"),
            );
            None
        }
        Err(_) => {
            c.diags.push(
                Diagnostic::error(
                    Pos::of(s),
                    format!("{what} `{v}` is not an address or prefix"),
                )
                .help("write e.g. `192.168.15.0/24` or `10.18.103.2`"),
            );
            None
        }
    }
}

fn interface(c: &mut Compiled, cx: &Context<'_>, s: &Option<S<String>>) -> Option<String> {
    let s = s.as_ref()?;
    if !(cx.knows_interface)(&s.value) {
        c.diags.push(
            Diagnostic::warning(
                Pos::of(s),
                format!(
                    "interface `{}` is not created by the lab in {}",
                    s.value, cx.ns
                ),
            )
            .help("fine if it is one of the machine's own interfaces; otherwise check the name"),
        );
    }
    Some(s.value.clone())
}

fn net_json(n: IpNet) -> Value {
    if n.prefix_len() == n.max_prefix_len() {
        json!(n.addr().to_string())
    } else {
        json!({"prefix": {"addr": n.network().to_string(), "len": n.prefix_len()}})
    }
}

fn matches(left: Value, op: &str, right: Value) -> Value {
    json!({"match": {"op": op, "left": left, "right": right}})
}

fn saddr(n: IpNet) -> Value {
    matches(
        json!({"payload": {"protocol": "ip", "field": "saddr"}}),
        "==",
        net_json(n),
    )
}

fn daddr(n: IpNet) -> Value {
    matches(
        json!({"payload": {"protocol": "ip", "field": "daddr"}}),
        "==",
        net_json(n),
    )
}

fn daddr_not(n: IpNet) -> Value {
    matches(
        json!({"payload": {"protocol": "ip", "field": "daddr"}}),
        "!=",
        net_json(n),
    )
}

fn ifname(key: &str, name: &str) -> Value {
    matches(json!({"meta": {"key": key}}), "==", json!(name))
}

fn ports_json(first: u16, last: u16) -> Value {
    if first == last {
        json!(first)
    } else {
        json!({"range": [first, last]})
    }
}

fn port_text(first: u16, last: u16) -> String {
    if first == last {
        first.to_string()
    } else {
        format!("{first}-{last}")
    }
}

/// `80` or `"5000-5010"` → (first, last).
fn ports(c: &mut Compiled, p: &S<PortValue>) -> Option<(u16, u16)> {
    let parsed = match &p.value {
        PortValue::One(n) => u16::try_from(*n).ok().filter(|n| *n > 0).map(|n| (n, n)),
        PortValue::Text(t) => parse_ports(t),
    };
    if parsed.is_none() {
        c.diags.push(
            Diagnostic::error(Pos::of(p), "not a port or port range")
                .help("write a port from 1 to 65535, or a range like `\"5000-5010\"`"),
        );
    }
    parsed
}

fn parse_ports(t: &str) -> Option<(u16, u16)> {
    let (a, b) = t.split_once('-').unwrap_or((t, t));
    let (a, b) = (a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?);
    (a > 0 && a <= b).then_some((a, b))
}

fn masquerade(
    c: &mut Compiled,
    cx: &Context<'_>,
    m: &S<MasqueradeSpec>,
) -> Option<(String, Vec<Value>)> {
    let source = prefix(c, &m.value.source, "source")?;
    let mut text = format!("masquerade from {source}");
    let mut expr = vec![saddr(source)];
    if let Some(out) = interface(c, cx, &m.value.out) {
        text += &format!(" out {out}");
        expr.push(ifname("oifname", &out));
    }
    // Traffic that stays inside the source subnet never needs masquerading,
    // and with br_netfilter loaded bridged packets would otherwise be caught.
    let ex = match &m.value.exclude {
        Some(ex) => prefix(c, ex, "exclude")?,
        None => source,
    };
    text += &format!(" not to {ex}");
    expr.push(daddr_not(ex));
    expr.push(json!({"masquerade": null}));
    Some((text, expr))
}

fn snat(c: &mut Compiled, cx: &Context<'_>, s: &S<SnatSpec>) -> Option<(String, Vec<Value>)> {
    let source = prefix(c, &s.value.source, "source")?;
    let to = &s.value.to;
    let (a, b) = to.value.split_once('-').unwrap_or((&to.value, &to.value));
    let (Ok(a), Ok(b)) = (a.trim().parse::<Ipv4Addr>(), b.trim().parse::<Ipv4Addr>()) else {
        c.diags.push(
            Diagnostic::error(
                Pos::of(to),
                format!("`{}` is not an IPv4 address or range", to.value),
            )
            .help("write `192.168.5.3` or `192.168.5.3-192.168.5.5`"),
        );
        return None;
    };
    if b < a {
        c.diags.push(
            Diagnostic::error(
                Pos::of(to),
                format!("SNAT range {a}-{b} ends below its start"),
            )
            .help(format!("write `{b}-{a}`")),
        );
        return None;
    }
    let mut text = format!("snat from {source}");
    let mut expr = vec![saddr(source)];
    if let Some(out) = interface(c, cx, &s.value.out) {
        text += &format!(" out {out}");
        expr.push(ifname("oifname", &out));
    }
    let addr = if a == b {
        json!(a.to_string())
    } else {
        json!({"range": [a.to_string(), b.to_string()]})
    };
    text += &format!(
        " to {}",
        if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        }
    );
    expr.push(json!({"snat": {"family": "ip", "addr": addr}}));
    Some((text, expr))
}

/// A DNAT becomes two rules with one description: in prerouting for traffic
/// from outside, in the nat output chain for traffic the namespace sends to
/// its own address.
fn dnat(
    c: &mut Compiled,
    cx: &Context<'_>,
    d: &S<DnatSpec>,
) -> Option<(String, Vec<Value>, Vec<Value>)> {
    let spec = &d.value;
    let proto = spec.proto.value.as_str();
    if proto != "tcp" && proto != "udp" {
        c.diags.push(
            Diagnostic::error(
                Pos::of(&spec.proto),
                format!("`{proto}` cannot be port-forwarded"),
            )
            .help("write `proto: tcp` or `proto: udp`"),
        );
        return None;
    }
    let (first, last) = ports(c, &spec.port)?;
    let (target, to_ports) = target(c, cx, &spec.to)?;
    if let Some((t1, t2)) = to_ports {
        if t2 - t1 != last - first {
            c.diags.push(
                Diagnostic::error(Pos::of(&spec.to), format!("port range {} and target ports {} differ in length", port_text(first, last), port_text(t1, t2)))
                    .help("forward a range to a range of the same length, or leave the target's port out to keep the ports"),
            );
            return None;
        }
        if first != last && t1 != first {
            c.diags.push(
                Diagnostic::error(
                    Pos::of(&spec.to),
                    "a port range can only be forwarded to the same ports",
                )
                .help(format!(
                    "write `to: {target}` (ports are kept) or forward each port on its own"
                )),
            );
            return None;
        }
    }
    let dest = match &spec.destination {
        Some(s) => match s.value.parse::<IpAddr>() {
            Ok(a @ IpAddr::V4(_)) => Some(a),
            _ => {
                c.diags.push(
                    Diagnostic::error(
                        Pos::of(s),
                        format!("destination `{}` is not an IPv4 address", s.value),
                    )
                    .help("write the address the forward listens on, e.g. `10.18.103.2`"),
                );
                return None;
            }
        },
        None => None,
    };
    if let Some((_, _, _, _, prev)) = c.dnat_keys.iter().find(|(p, a, b, ds, _)| {
        p == proto && *a <= last && first <= *b && (ds.is_none() || dest.is_none() || *ds == dest)
    }) {
        let line = prev.line;
        c.diags.push(
            Diagnostic::error(
                Pos::of(d),
                format!(
                    "{proto} port {} is already forwarded at line {line}",
                    port_text(first, last)
                ),
            )
            .help("the first match would win: give each forward its own port or `destination:`"),
        );
        return None;
    }
    c.dnat_keys
        .push((proto.to_string(), first, last, dest, Pos::of(d)));
    let mut text = format!("dnat {proto} {}", port_text(first, last));
    let mut common = Vec::new();
    match dest {
        Some(a) => {
            text += &format!(" at {a}");
            common.push(daddr(IpNet::from(a)));
        }
        // Like Docker: only traffic to the namespace's own addresses, never
        // connections that merely pass through to the same port elsewhere.
        None => common.push(matches(
            json!({"fib": {"result": "type", "flags": ["daddr"]}}),
            "==",
            json!("local"),
        )),
    }
    common.push(matches(
        json!({"payload": {"protocol": proto, "field": "dport"}}),
        "==",
        ports_json(first, last),
    ));
    let mut pre = common.clone();
    if let Some(i) = interface(c, cx, &spec.in_) {
        text += &format!(" in {i}");
        pre.insert(0, ifname("iifname", &i));
    }
    let nat = match to_ports {
        Some((t1, _)) if first == last => {
            json!({"dnat": {"family": "ip", "addr": target.to_string(), "port": t1}})
        }
        _ => json!({"dnat": {"family": "ip", "addr": target.to_string()}}),
    };
    text += &format!(
        " to {target}{}",
        to_ports
            .map(|(a, b)| format!(":{}", port_text(a, b)))
            .unwrap_or_default()
    );
    pre.push(nat.clone());
    let mut out = common;
    out.push(nat);
    Some((text, pre, out))
}

/// `NODE[:PORT]` or `ADDRESS[:PORT]`.
fn target(
    c: &mut Compiled,
    cx: &Context<'_>,
    to: &S<String>,
) -> Option<(IpAddr, Option<(u16, u16)>)> {
    let v = to.value.as_str();
    let (host, port) = match v.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (v, None),
    };
    let port = match port {
        Some(p) => match parse_ports(p) {
            Some(pp) => Some(pp),
            None => {
                c.diags.push(
                    Diagnostic::error(Pos::of(to), format!("`{p}` is not a port"))
                        .help("write `NODE:PORT`, e.g. `blue:80`"),
                );
                return None;
            }
        },
        None => None,
    };
    let addr = match host.parse::<IpAddr>() {
        Ok(a @ IpAddr::V4(_)) => a,
        Ok(_) => {
            c.diags.push(
                Diagnostic::error(Pos::of(to), "DNAT targets are IPv4 addresses")
                    .help("write an IPv4 address or a node name"),
            );
            return None;
        }
        Err(_) => match (cx.node_address)(host) {
            Some(a) => a,
            None => {
                c.diags.push(
                    Diagnostic::error(Pos::of(to), format!("DNAT target `{host}` is no node with an IPv4 address and no address"))
                        .help("write a node of the lab (`blue:80`) or an IPv4 address (`172.17.0.3:10050`)"),
                );
                return None;
            }
        },
    };
    Some((addr, port))
}

fn filter_rule(
    c: &mut Compiled,
    cx: &Context<'_>,
    r: &S<FilterRuleSpec>,
) -> Option<(String, String, Vec<Value>)> {
    let spec = &r.value;
    let chain = spec.chain.value.as_str();
    if !["input", "forward", "output"].contains(&chain) {
        c.diags.push(
            Diagnostic::error(
                Pos::of(&spec.chain),
                format!("`{chain}` is not a filter chain"),
            )
            .help("write `input`, `forward` or `output`"),
        );
        return None;
    }
    let action = spec.action.value.as_str();
    if !["accept", "drop", "reject"].contains(&action) {
        c.diags.push(
            Diagnostic::error(
                Pos::of(&spec.action),
                format!("`{action}` is not an action"),
            )
            .help("write `accept`, `drop` or `reject`"),
        );
        return None;
    }
    let mut text = chain.to_string();
    let mut expr = Vec::new();
    if let Some(i) = interface(c, cx, &spec.in_) {
        text += &format!(" in {i}");
        expr.push(ifname("iifname", &i));
    }
    if let Some(o) = interface(c, cx, &spec.out) {
        text += &format!(" out {o}");
        expr.push(ifname("oifname", &o));
    }
    if let Some(s) = &spec.source {
        let n = prefix(c, s, "source")?;
        text += &format!(" from {n}");
        expr.push(saddr(n));
    }
    if let Some(d) = &spec.destination {
        let n = prefix(c, d, "destination")?;
        text += &format!(" to {n}");
        expr.push(daddr(n));
    }
    let proto = spec.proto.as_ref().map(|p| p.value.as_str());
    match proto {
        None | Some("tcp" | "udp" | "icmp") => {}
        Some(p) => {
            let pos = Pos::of(spec.proto.as_ref().expect("matched Some"));
            c.diags.push(
                Diagnostic::error(pos, format!("`{p}` is not a protocol topo filters"))
                    .help("write `tcp`, `udp` or `icmp`"),
            );
            return None;
        }
    }
    match (proto, &spec.port) {
        (Some(p @ ("tcp" | "udp")), Some(port)) => {
            let (a, b) = ports(c, port)?;
            text += &format!(" {p} {}", port_text(a, b));
            expr.push(matches(
                json!({"payload": {"protocol": p, "field": "dport"}}),
                "==",
                ports_json(a, b),
            ));
        }
        (_, Some(port)) => {
            c.diags.push(
                Diagnostic::error(Pos::of(port), "a port needs `proto: tcp` or `proto: udp`")
                    .help("add `proto: tcp`"),
            );
            return None;
        }
        (Some(p), None) => {
            text += &format!(" {p}");
            expr.push(matches(json!({"meta": {"key": "l4proto"}}), "==", json!(p)));
        }
        (None, None) => {}
    }
    text += &format!(" {action}");
    expr.push(json!({ action: null }));
    Some((chain.to_string(), text, expr))
}
