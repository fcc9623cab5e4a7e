//! Each kind of NAT rule (masquerade, SNAT, DNAT), from its spec to a
//! comment and statements; filter rules are in `filter.rs`.

use super::json::*;
use super::*;

pub(super) fn masquerade(
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
    let ex = with_lab(cx, source, exclusions(c, &m.value.exclude, vec![source])?);
    exclusion_rule(&ex, &mut text, &mut expr);
    expr.push(json!({"masquerade": null}));
    Some((text, expr))
}

pub(super) fn snat(
    c: &mut Compiled,
    cx: &Context<'_>,
    s: &S<SnatSpec>,
) -> Option<(String, Vec<Value>)> {
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
    // SNAT has never excluded anything by itself: its rules keep meaning
    // what they meant.
    let ex = exclusions(c, &s.value.exclude, Vec::new())?;
    exclusion_rule(&ex, &mut text, &mut expr);
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
pub(super) fn dnat(
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
    let catch_all = spec.destination.as_ref().is_some_and(|s| s.value == "any");
    let dest = match &spec.destination {
        Some(s) if s.value == "any" => None,
        Some(s) => match s.value.parse::<IpAddr>() {
            Ok(a @ IpAddr::V4(_)) => Some(a),
            _ => {
                c.diags.push(
                    Diagnostic::error(
                        Pos::of(s),
                        format!("destination `{}` is not an IPv4 address", s.value),
                    )
                    .help("write the address the forward listens on, e.g. `10.18.103.2`, or `any` for every destination"),
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
    let local = matches(
        json!({"fib": {"result": "type", "flags": ["daddr"]}}),
        "==",
        json!("local"),
    );
    let dport = matches(
        json!({"payload": {"protocol": proto, "field": "dport"}}),
        "==",
        ports_json(first, last),
    );
    let mut pre = Vec::new();
    let mut out = Vec::new();
    match dest {
        Some(a) => {
            text += &format!(" at {a}");
            pre.push(daddr(IpNet::from(a)));
            out.push(daddr(IpNet::from(a)));
        }
        // Arriving traffic to any address; what the namespace sends itself
        // is caught only towards its own addresses, so its connections to
        // other machines on that port still leave.
        None if catch_all => {
            text += " at any";
            out.push(local);
        }
        // Like Docker: only traffic to the namespace's own addresses, never
        // connections that merely pass through to the same port elsewhere.
        None => {
            pre.push(local.clone());
            out.push(local);
        }
    }
    pre.push(dport.clone());
    out.push(dport);
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
    out.push(nat);
    Some((text, pre, out))
}

/// `NODE[:PORT]` or `ADDRESS[:PORT]`.
pub(super) fn target(
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
