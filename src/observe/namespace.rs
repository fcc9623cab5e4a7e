//! One namespace's dump into the lab's objects, and the clashes with
//! objects of the same name the lab does not own.

use super::Observed;
use crate::kernel::netlink::{Dump, Link};
use crate::kernel::{owner_mark, RTPROT_TOPO};
use crate::model::{Id, IfRef, Mac, Ns, Res, RouteKey, Scope, State};
use std::collections::BTreeMap;

fn mac(m: Option<[u8; 6]>) -> Option<Mac> {
    m.map(Mac)
}

/// Adds one namespace's owned objects (and clashes) to `obs`.
pub(super) fn read_namespace(
    lab: &str,
    ns: &Ns,
    d: &Dump,
    desired: Option<&State>,
    obs: &mut Observed,
) {
    let mark = owner_mark(lab);
    let by_index: BTreeMap<u32, &Link> = d.links.iter().map(|l| (l.index, l)).collect();
    let owned = |l: &Link| {
        l.alias
            .as_deref()
            .is_some_and(|a| a == mark || a.starts_with(&format!("{mark}:")))
    };
    let wants = |id: &Id| desired.is_some_and(|s| s.contains_key(id));
    // The device an interrupted run was creating, by either of its names.
    let pending: Vec<(&Id, IfRef)> = obs
        .lab_state
        .pending
        .iter()
        .flat_map(|id| {
            let (Id::Bridge { link } | Id::Veth { link }) = id else {
                return vec![];
            };
            let mut ends = vec![(id, link.clone())];
            if let Some(Res::Veth { peer }) = desired.and_then(|s| s.get(id)) {
                ends.push((id, peer.clone()));
            }
            ends
        })
        .collect();
    for l in &d.links {
        let r = IfRef::new(ns.clone(), &l.name);
        // A node's lo carries the namespace's mark; it is not a lab interface.
        if !owned(l) || l.name == "lo" {
            if let Some((id, _)) = pending
                .iter()
                .find(|(_, end)| *end == r)
                .filter(|_| l.name != "lo")
            {
                obs.interrupted.insert((*id).clone());
            } else if l.name != "lo" && (wants(&Id::Link { link: r.clone() })) {
                let what = l.kind.as_deref().unwrap_or("interface");
                obs.foreign.insert(
                    Id::Link { link: r.clone() },
                    format!("{what} {r} exists and is not owned by lab {lab}"),
                );
            }
            // Someone else's interface on one of the lab's bridges: deleting
            // the bridge detaches it, which the plan must say.
            if let Some(m) = l.master.and_then(|m| by_index.get(&m)).filter(|m| owned(m)) {
                obs.guests
                    .entry(IfRef::new(ns.clone(), &m.name))
                    .or_default()
                    .push(l.name.clone());
            }
            // A foreign master (never ours to change) still needs its index.
            obs.index.insert(r, l.index);
            continue;
        }
        obs.index.insert(r.clone(), l.index);
        if l.promote {
            obs.promoting.insert(r.clone());
        }
        // A bridge has no carrier until a port has: only its ports count.
        let quiet = l.kind.as_deref() != Some("bridge") && !l.running;
        if l.up && (quiet || l.port_settling) {
            obs.settling.insert(r.clone());
        }
        match l.kind.as_deref() {
            Some("bridge") => {
                obs.state.insert(
                    Id::Bridge { link: r.clone() },
                    Res::Bridge {
                        stp: l.stp.unwrap_or(false),
                        forward_delay: l.forward_delay,
                    },
                );
            }
            Some("veth") => {
                // The alias names the peer: topo:LAB:NS/NAME.
                if let Some(peer) = l
                    .alias
                    .as_deref()
                    .and_then(|a| a.strip_prefix(&format!("{mark}:")))
                    .and_then(parse_peer)
                {
                    let (a, b) = if r < peer {
                        (r.clone(), peer)
                    } else {
                        (peer, r.clone())
                    };
                    obs.state
                        .insert(Id::Veth { link: a }, Res::Veth { peer: b });
                }
            }
            _ => {}
        }
        let master = l
            .master
            .and_then(|m| by_index.get(&m))
            .map(|m| m.name.clone());
        obs.state.insert(
            Id::Link { link: r.clone() },
            Res::Link {
                up: l.up,
                mtu: Some(l.mtu),
                mac: mac(l.mac),
                master,
            },
        );
    }
    for a in &d.addrs {
        let Some(l) = by_index.get(&a.index) else {
            continue;
        };
        let r = IfRef::new(ns.clone(), &l.name);
        obs.prior.entry(r.clone()).or_default().push(a.net.addr());
        if a.tentative {
            obs.settling.insert(r.clone());
        }
        if owned(l) && l.name != "lo" {
            let id = Id::Address {
                link: r,
                address: a.net,
            };
            if a.secondary {
                obs.secondary.insert(id.clone());
            }
            obs.state.insert(id, Res::Address);
        }
    }
    for rt in &d.routes {
        let key = RouteKey::new(rt.to, rt.metric);
        let id = Id::Route {
            ns: ns.clone(),
            key: key.clone(),
        };
        let ours = rt.protocol == RTPROT_TOPO
            && (*ns != Ns::Host || obs.lab_state.host_routes.contains(&key));
        if ours {
            let dev = rt
                .oif
                .and_then(|o| by_index.get(&o))
                .map(|l| l.name.clone());
            let scope = Scope::from(rt.scope);
            obs.state.insert(
                id,
                Res::Route {
                    via: rt.via,
                    dev,
                    scope,
                },
            );
        } else if wants(&id) {
            obs.foreign.insert(
                id,
                format!(
                    "a route to {} with metric {} exists in {ns} and is not owned by lab {lab}",
                    rt.to, rt.metric
                ),
            );
        }
    }
}

fn parse_peer(s: &str) -> Option<IfRef> {
    let (ns, name) = s.split_once('/')?;
    Some(IfRef::new(Ns::parse(ns), name))
}
