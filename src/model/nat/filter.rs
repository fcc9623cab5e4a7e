//! A filter rule (`firewall: { rules: [...] }`), from its spec to a
//! comment and statements: its chain, action, interfaces, addresses,
//! protocol, ports and connection states.

use super::json::*;
use super::*;

pub(super) fn filter_rule(
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
    if let Some(states) = &spec.ct_state {
        let states = ct_states(c, states)?;
        text += &format!(" ct {}", states.join(","));
        let right = match states.as_slice() {
            [one] => json!(one),
            many => json!(many),
        };
        expr.push(matches(json!({"ct": {"key": "state"}}), "in", right));
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

/// Connection states conntrack tells apart, in the order a rule names them.
const CT_STATES: [&str; 4] = ["new", "established", "related", "invalid"];

/// `ct_state: [...]`: known states, each once, in `CT_STATES` order so the
/// rule's name does not depend on how the list is written.
fn ct_states(c: &mut Compiled, list: &S<Vec<S<String>>>) -> Option<Vec<&'static str>> {
    if list.value.is_empty() {
        c.diags.push(
            Diagnostic::error(Pos::of(list), "`ct_state: []` matches no packet")
                .help("name states, e.g. `ct_state: [established, related]`, or leave it out"),
        );
        return None;
    }
    let mut seen = Vec::new();
    for s in &list.value {
        let Some(known) = CT_STATES.iter().find(|k| **k == s.value) else {
            c.diags.push(
                Diagnostic::error(
                    Pos::of(s),
                    format!("`{}` is not a connection state", s.value),
                )
                .help("write `new`, `established`, `related` or `invalid`"),
            );
            return None;
        };
        if seen.contains(known) {
            c.diags.push(
                Diagnostic::error(Pos::of(s), format!("`{known}` is listed twice"))
                    .help("list each state once"),
            );
            return None;
        }
        seen.push(*known);
    }
    Some(
        CT_STATES
            .iter()
            .copied()
            .filter(|k| seen.contains(k))
            .collect(),
    )
}
