//! NAT and filter rules of one namespace, compiled into nftables chains and
//! rules. Each rule carries a readable description that is also its comment
//! in the kernel, so observed rules map back to these ids.

mod filter;
mod json;
mod rules;

use filter::filter_rule;
use json::{daddr_not, saddr};
use rules::{dnat, masquerade, snat};

use super::resource::Ns;
use crate::diag::{Diagnostic, Pos};
use crate::kinds::{Chain, ChainId, Rule, RuleId};
use crate::spec::{
    DnatSpec, FilterRuleSpec, FirewallSpec, MasqueradeSpec, NatSpec, PortValue, Prefixes, SnatSpec,
    S,
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
    /// A lab across machines: every subnet of the lab on any host, which
    /// masquerade never hides (nodes see each other's real addresses).
    pub lab_subnets: &'a [IpNet],
}

/// `ex` and then every lab subnet it lacks, of the family of `source`.
fn with_lab(cx: &Context<'_>, source: IpNet, mut ex: Vec<IpNet>) -> Vec<IpNet> {
    for n in cx.lab_subnets {
        let same_family = n.addr().is_ipv4() == source.addr().is_ipv4();
        if same_family && !ex.iter().any(|e| e.contains(n)) {
            ex.push(*n);
        }
    }
    ex
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
    /// The ids in `rules`, to find one declared twice without a scan.
    seen: std::collections::HashSet<RuleId>,
}

/// nft keeps at most 128 bytes of a rule's comment.
const COMMENT_MAX: usize = 128;

/// A rule's description as its comment: too long a one (a long exclusion
/// list) is cut and ends in a hash of the whole, so it stays unique.
fn comment(text: String) -> String {
    if text.len() <= COMMENT_MAX {
        return text;
    }
    let tag = format!(" … #{:08x}", super::names::fnv1a(&text) as u32);
    let mut cut = COMMENT_MAX - tag.len();
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    // At a word, so no prefix shows half written.
    let head = &text[..cut];
    let head = head.rsplit_once(' ').map_or(head, |(h, _)| h);
    format!("{}{tag}", head.trim_end_matches(','))
}

impl Compiled {
    fn add(&mut self, ns: &Ns, chain: &str, text: String, expr: Vec<Value>, pos: Pos) {
        let text = comment(text);
        let id = RuleId {
            ns: ns.clone(),
            chain: chain.into(),
            rule: text.clone(),
        };
        if !self.seen.insert(id.clone()) {
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
        let mut text = format!("masquerade from {subnet}");
        let mut expr = vec![saddr(*subnet)];
        let ex = with_lab(cx, *subnet, vec![*subnet]);
        exclusion_rule(&ex, &mut text, &mut expr);
        expr.push(json!({"masquerade": null}));
        c.add(ns, "postrouting", text, expr, *pos);
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
            chain: name.into(),
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
    prefix_at(c, &s.value, Pos::of(s), what)
}

fn prefix_at(c: &mut Compiled, v: &str, pos: Pos, what: &str) -> Option<IpNet> {
    match v
        .parse::<IpNet>()
        .or_else(|_| v.parse::<IpAddr>().map(IpNet::from))
    {
        Ok(n) if n.addr().is_ipv4() => Some(n.trunc()),
        Ok(_) => {
            c.diags.push(
                Diagnostic::error(pos, format!("{what} `{v}` is IPv6"))
                    .help("NAT rules are IPv4, like the seeds' iptables rules"),
            );
            None
        }
        Err(_) => {
            c.diags.push(
                Diagnostic::error(pos, format!("{what} `{v}` is not an address or prefix"))
                    .help("write e.g. `192.168.15.0/24` or `10.18.103.2`"),
            );
            None
        }
    }
}

/// The prefixes a masquerade or SNAT leaves alone: those written (none for
/// `[]`), else `default`. `None` when one is wrong (reported).
fn exclusions(
    c: &mut Compiled,
    written: &Option<S<Prefixes>>,
    default: Vec<IpNet>,
) -> Option<Vec<IpNet>> {
    let Some(w) = written else {
        return Some(default);
    };
    let items: Vec<(&str, Pos)> = match &w.value {
        Prefixes::One(p) => vec![(p.as_str(), Pos::of(w))],
        Prefixes::List(l) => l.iter().map(|p| (p.value.as_str(), Pos::of(p))).collect(),
    };
    let mut out: Vec<IpNet> = Vec::new();
    let mut ok = true;
    for (v, pos) in items {
        match prefix_at(c, v, pos, "exclude") {
            Some(n) if out.contains(&n) => {
                c.diags.push(
                    Diagnostic::error(pos, format!("{n} is excluded twice"))
                        .help("list each prefix once"),
                );
                ok = false;
            }
            Some(n) => out.push(n),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// The words and matches of an exclusion list: ` not to A, B`, one `!=`
/// match per prefix (an anonymous interval set would refuse overlaps).
fn exclusion_rule(ex: &[IpNet], text: &mut String, expr: &mut Vec<Value>) {
    if ex.is_empty() {
        return;
    }
    let list: Vec<String> = ex.iter().map(IpNet::to_string).collect();
    *text += &format!(" not to {}", list.join(", "));
    expr.extend(ex.iter().map(|n| daddr_not(*n)));
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
