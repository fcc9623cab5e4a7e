//! Subnets the host already routes elsewhere. A lab address on a host
//! interface puts a connected route in the host's table; if another lab's
//! interface or one of the machine's already has a connected route for an
//! overlapping prefix, replies leave through the wrong interface. That is
//! a clash, found before anything changes.

use super::Observed;
use crate::kinds::{Id, State};
use crate::machine::{Dump, Link, RTPROT_KERNEL};
use crate::model::{owner_mark, Ns};
use ipnet::IpNet;
use std::collections::BTreeMap;

pub(super) fn subnet_clashes(lab: &str, host: &Dump, desired: &State, obs: &mut Observed) {
    let mark = owner_mark(lab);
    let by_index: BTreeMap<u32, &Link> = host.links.iter().map(|l| (l.index, l)).collect();
    let ours = |l: &Link| {
        l.alias
            .as_deref()
            .is_some_and(|a| a == mark || a.starts_with(&format!("{mark}:")))
    };
    for id in desired.address.keys() {
        let (link, address) = (&id.link, &id.address);
        if link.ns != Ns::Host || local_scope(address) {
            continue;
        }
        let subnet = address.trunc();
        let other = host.routes.iter().find_map(|r| {
            let connected = r.protocol == RTPROT_KERNEL && r.via.is_none();
            let overlaps = r.to.contains(&subnet) || subnet.contains(&r.to);
            if !connected || !overlaps || r.to.prefix_len() == 0 {
                return None;
            }
            let dev = by_index.get(&r.oif?)?;
            (!ours(dev)).then_some((r.to, *dev))
        });
        if let Some((to, dev)) = other {
            let owner = match dev.alias.as_deref().and_then(|a| a.strip_prefix("topo:")) {
                Some(l) => format!(
                    "lab `{}`'s interface {}",
                    l.split(':').next().unwrap_or(l),
                    dev.name
                ),
                None => format!("the machine's interface {}", dev.name),
            };
            let msg = format!(
                "address {address} on {link} would route {subnet} in the host, which already routes {to} to {owner}: replies would leave through the wrong interface; give the lab another subnet"
            );
            obs.foreign.insert(Id::Address(id.clone()), msg);
        }
    }
}

/// Link-local addresses are on every link by design: never a clash.
fn local_scope(a: &IpNet) -> bool {
    match a {
        IpNet::V4(v) => v.addr().is_link_local(),
        IpNet::V6(v) => v.addr().is_unicast_link_local() || v.addr().is_multicast(),
    }
}
