//! One host's part of the tunnels between hosts, written as lab objects
//! (so the plan shows them like any other, at the line they come from):
//! for a stretched network, its bridge here with this host's members at
//! their computed addresses, and a VXLAN device on it to the other hosts;
//! for a link to another host, a VXLAN device to that host, on the
//! link's bridge end or on a small bridge joined to its node end.

use super::place::Placement;
use super::tunnels::{link_bridge_name, vxlan_name};
use crate::spec::{
    BridgeSpec, GatewayAt, GatewaySpec, LabSpec, LinkSpec, MemberSpec, NetworkMember, VxlanSpec, S,
};
use serde_saphyr::Location;

/// A value placed at `at`'s line.
fn at<T, U>(at: &S<U>, v: T) -> S<T> {
    S::new(v, at.referenced, at.defined)
}

fn loc<T>(v: T, l: (Location, Location)) -> S<T> {
    S::new(v, l.0, l.1)
}

/// Adds host `host`'s part of every stretched network and cross-host link
/// to its share `s`, from the whole file `spec`.
pub fn add(spec: &LabSpec, p: &Placement, host: &str, s: &mut LabSpec) {
    let me = &p.hosts[host];
    let port = |l| Some(loc(p.vxlan_port, l));
    for (name, st) in p
        .stretched
        .iter()
        .filter(|(_, st)| st.hosts.iter().any(|h| h == host))
    {
        let whole = &spec.networks[name];
        let l = (whole.referenced, whole.defined);
        let mut net = whole.value.clone();
        net.host = None;
        net.hosts = None;
        net.vni = None;
        net.mtu = Some(loc(st.mtu, l));
        // This host's members, each at the address every host computed.
        net.nodes.retain(|m| {
            let n = match &m.value {
                NetworkMember::Name(n) => n,
                NetworkMember::Detailed(d) => &d.node,
            };
            p.nodes.get(n).is_some_and(|h| h == host)
        });
        for m in &mut net.nodes {
            let (node, ifname) = match &m.value {
                NetworkMember::Name(n) => (n.clone(), "eth0".to_string()),
                NetworkMember::Detailed(d) => (
                    d.node.clone(),
                    d.interface.clone().unwrap_or_else(|| "eth0".into()),
                ),
            };
            if let Some(a) = st.addresses.get(&(node.clone(), ifname.clone())) {
                m.value = NetworkMember::Detailed(MemberSpec {
                    node,
                    address: Some(a.to_string()),
                    interface: Some(ifname),
                });
            }
        }
        (net.gateway, net.gateway_at) = match &st.gateway {
            Some((h, a)) => {
                let g = whole.value.gateway.as_ref().expect("a gateway was written");
                let here = if h == host {
                    GatewayAt::Here
                } else {
                    GatewayAt::Elsewhere
                };
                (Some(at(g, GatewaySpec::Address(a.to_string()))), here)
            }
            None => (None, GatewayAt::Nowhere),
        };
        let remotes = st
            .hosts
            .iter()
            .filter(|h| *h != host)
            .map(|h| loc(p.hosts[h].address.to_string(), l))
            .collect();
        s.vxlans.insert(
            vxlan_name(st.vni),
            loc(
                VxlanSpec {
                    vni: loc(st.vni, l),
                    local: Some(loc(me.address.to_string(), l)),
                    port: port(l),
                    remotes,
                    bridge: Some(loc(st.bridge.clone(), l)),
                    dev: None,
                    mtu: Some(loc(st.mtu, l)),
                },
                l,
            ),
        );
        s.networks.insert(name.clone(), loc(net, l));
    }
    for c in &p.cross {
        let Some(k) = c.ends.iter().position(|(h, _)| h == host) else {
            continue;
        };
        let link = &spec.links[c.link];
        let l = (link.referenced, link.defined);
        let (mine, theirs) = (&c.ends[k].1, &c.ends[1 - k].0);
        let bridge =
            if s.bridges.contains_key(mine.as_str()) || p.bridges.contains_key(mine.as_str()) {
                mine.clone()
            } else {
                // A node's interface: joined to the tunnel by a bridge of two ports.
                let b = link_bridge_name(c.vni);
                let bspec = BridgeSpec {
                    mtu: Some(loc(c.mtu, l)),
                    ..Default::default()
                };
                s.bridges.insert(b.clone(), loc(bspec, l));
                let end = link
                    .value
                    .endpoints
                    .iter()
                    .find(|e| e.value == *mine)
                    .expect("an end of the link");
                s.links.push(loc(
                    LinkSpec {
                        endpoints: vec![end.clone(), at(end, b.clone())],
                        mtu: Some(loc(c.mtu, l)),
                    },
                    l,
                ));
                b
            };
        s.vxlans.insert(
            vxlan_name(c.vni),
            loc(
                VxlanSpec {
                    vni: loc(c.vni, l),
                    local: Some(loc(me.address.to_string(), l)),
                    port: port(l),
                    remotes: vec![loc(p.hosts[theirs].address.to_string(), l)],
                    bridge: Some(loc(bridge, l)),
                    dev: None,
                    mtu: Some(loc(c.mtu, l)),
                },
                l,
            ),
        );
    }
}
