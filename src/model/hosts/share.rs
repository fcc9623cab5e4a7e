//! One host's share of a lab across machines: a lab file of its own, run
//! by the same pipeline as any other. It keeps the host's nodes, bridges,
//! networks and links, and adds what seed 000 types by hand on every
//! host: a route to each other host's networks via that host's underlay
//! address, forwarding on, and (where the host filters) forward accepts
//! for lab traffic. Derived objects carry the span of the line they come
//! from, so a problem with one points at what the user wrote.

use super::place::Placement;
use crate::spec::{FilterRuleSpec, HostSpec, LabSpec, PortValue, RouteSpec, Share, SysctlValue, S};
use ipnet::IpNet;
use std::collections::BTreeSet;

/// `spec` as host `host` runs it. `p` is `place(spec)`.
pub fn share(spec: &LabSpec, p: &Placement, host: &str) -> LabSpec {
    let mut s = objects(spec, p, host);
    super::checks::for_host(spec, p, host, &mut s);
    s
}

/// The share without its checks (which need the other hosts' shares).
pub(super) fn objects(spec: &LabSpec, p: &Placement, host: &str) -> LabSpec {
    let on = |h: Option<&String>| h.is_some_and(|h| h == host);
    let mut s = spec.clone();
    s.nodes.retain(|n, _| on(p.nodes.get(n)));
    s.bridges.retain(|n, _| on(p.bridges.get(n)));
    s.networks.retain(|n, _| on(p.networks.get(n)));
    // A link whose known ends are all here; an end that names nothing
    // stays, so building the share reports it.
    s.links.retain(|l| {
        l.value
            .endpoints
            .iter()
            .all(|e| p.endpoint_host(&e.value).is_none_or(|h| h == host))
    });
    let host_ends: BTreeSet<&str> = s
        .links
        .iter()
        .flat_map(|l| &l.value.endpoints)
        .filter_map(|e| e.value.strip_prefix("host:"))
        .collect();
    let lab_subnets = lab_subnets(spec);
    let mut h = match spec.host.clone() {
        Some(h) => h,
        None => S::new(HostSpec::default(), spec.name.referenced, spec.name.defined),
    };
    // Settings of host-side ends made on this host only.
    h.value
        .interfaces
        .retain(|i, _| host_ends.contains(i.as_str()));
    derive_routes(spec, p, host, &mut h.value);
    forwarding(spec, &lab_subnets, &mut h.value);
    tunnel_accepts(p, host, &mut h.value);
    s.host = Some(h);
    super::overlay::add(spec, p, host, &mut s);
    s.tests = None;
    s.share = Some(Share {
        host: host.to_string(),
        lab_subnets,
    });
    s
}

/// The subnets of every network on every host, in file order.
fn lab_subnets(spec: &LabSpec) -> Vec<IpNet> {
    let mut nets: Vec<_> = spec.networks.values().collect();
    nets.sort_by_key(|n| n.referenced.line());
    nets.iter()
        .filter_map(|n| n.value.subnet.value.parse::<IpNet>().ok())
        .map(|n| n.trunc())
        .collect()
}

/// A route to each network of every other host, via that host, unless the
/// file routes the prefix itself.
fn derive_routes(spec: &LabSpec, p: &Placement, host: &str, h: &mut HostSpec) {
    let written: BTreeSet<String> = h.routes.iter().map(|r| r.value.to.value.clone()).collect();
    let mut nets: Vec<_> = spec
        .networks
        .iter()
        .filter(|(n, _)| p.networks.get(*n).is_some_and(|o| o != host))
        .collect();
    nets.sort_by_key(|(_, n)| n.referenced.line());
    for (name, net) in nets {
        let other = &p.hosts[&p.networks[name]];
        let Ok(subnet) = net.value.subnet.value.parse::<IpNet>() else {
            continue;
        };
        let subnet = subnet.trunc();
        if subnet.addr().is_ipv4() != other.address.is_ipv4()
            || written.contains(&subnet.to_string())
            || written.contains(&net.value.subnet.value)
        {
            continue;
        }
        let at = &net.value.subnet;
        h.routes.push(S::new(
            RouteSpec {
                to: S::new(subnet.to_string(), at.referenced, at.defined),
                via: Some(S::new(other.address.to_string(), at.referenced, at.defined)),
                dev: None,
                metric: None,
            },
            net.referenced,
            net.defined,
        ));
    }
}

/// Forwarding on in the host, and, where the host filters, lab traffic
/// accepted in its forward chain after the file's own rules.
fn forwarding(spec: &LabSpec, lab: &[IpNet], h: &mut HostSpec) {
    let at = &spec.name;
    let mut on = |key: &str| {
        h.sysctls
            .entry(key.to_string())
            .or_insert_with(|| S::new(SysctlValue::Int(1), at.referenced, at.defined));
    };
    on("net.ipv4.ip_forward");
    if lab.iter().any(|n| n.addr().is_ipv6()) {
        on("net.ipv6.conf.all.forwarding");
    }
    let Some(fw) = &mut h.firewall else { return };
    let s = |v: &str| S::new(v.to_string(), fw.referenced, fw.defined);
    for n in lab {
        for (source, destination) in [
            (Some(s(&n.to_string())), None),
            (None, Some(s(&n.to_string()))),
        ] {
            fw.value.rules.push(S::new(
                FilterRuleSpec {
                    chain: s("forward"),
                    proto: None,
                    port: None,
                    source,
                    destination,
                    in_: None,
                    out: None,
                    action: s("accept"),
                    ct_state: None,
                },
                fw.referenced,
                fw.defined,
            ));
        }
    }
}

/// Where the host filters its input, the tunnels from the other hosts
/// are let in (UDP to the lab's VXLAN port from each other host).
fn tunnel_accepts(p: &Placement, host: &str, h: &mut HostSpec) {
    let Some(fw) = &mut h.firewall else { return };
    let tunnels = p
        .stretched
        .values()
        .any(|st| st.hosts.iter().any(|x| x == host))
        || p.cross
            .iter()
            .any(|c| c.ends.iter().any(|(x, _)| x == host));
    if !tunnels {
        return;
    }
    let s = |v: String| S::new(v, fw.referenced, fw.defined);
    for other in p.hosts.iter().filter(|(n, _)| *n != host).map(|(_, o)| o) {
        fw.value.rules.push(S::new(
            FilterRuleSpec {
                chain: s("input".into()),
                proto: Some(s("udp".into())),
                port: Some(S::new(
                    PortValue::One(p.vxlan_port.into()),
                    fw.referenced,
                    fw.defined,
                )),
                source: Some(s(other.address.to_string())),
                destination: None,
                in_: None,
                out: None,
                action: s("accept".into()),
                ct_state: None,
            },
            fw.referenced,
            fw.defined,
        ));
    }
}
