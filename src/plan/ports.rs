//! A bridge whose MTU no request has set follows its smallest port: the
//! kernel computes it again whenever a port comes, goes or changes its
//! MTU. A bridge that has the MTU the file gives it only by following its
//! ports (topo never wrote it: an older file gave none) would lose it to
//! this plan's port changes, so such a plan writes it, after them; once
//! written, the kernel keeps it. Where following the ports the plan leaves
//! gives the MTU wanted (a bridge the file gives no MTU takes its ports'),
//! there is nothing to write.

use super::{Action, Op};
use crate::kinds::{Id, LinkId, State, Target};
use crate::model::{IfRef, Name};
use std::collections::BTreeMap;

const REASON: &str =
    "its ports change, and the kernel gives a bridge its ports' MTU until one is set";

pub(super) fn bridge_mtus(
    desired: &State,
    live: &State,
    gone: &BTreeMap<Id, String>,
    actions: &mut Vec<Action>,
) {
    let port_of = |bridge: &IfRef, l: &LinkId, master: Option<&Name>| {
        l.link.ns == bridge.ns && master == Some(&bridge.name)
    };
    let mut writes = Vec::new();
    for b in desired.bridge.keys() {
        let id = LinkId {
            link: b.link.clone(),
        };
        let Some(want) = desired.link.get(&id).and_then(|l| l.mtu) else {
            continue;
        };
        let acted = actions.iter().any(|a| a.id() == Id::Link(id.clone()));
        if acted || !live.link.contains_key(&id) {
            continue;
        }
        // What the kernel gives a bridge that follows these ports (1500
        // with none): if that is the MTU wanted, it needs no writing. A
        // port of an MTU the file does not tell leaves it unknown.
        let ports: Option<Vec<u32>> = desired
            .link
            .iter()
            .filter(|(p, l)| port_of(&b.link, p, l.master.as_ref()))
            .map(|(_, l)| l.mtu)
            .collect();
        let followed = ports.map(|p| p.into_iter().min().unwrap_or(1500));
        if followed == Some(want) {
            continue;
        }
        let changed = actions.iter().any(|a| match &a.target {
            Target::Link(v) => [&v.before, &v.after]
                .into_iter()
                .flatten()
                .any(|l| port_of(&b.link, &v.id, l.master.as_ref())),
            _ => false,
        });
        let leaving = live.link.iter().any(|(p, l)| {
            let goes = gone.contains_key(&Id::Link(p.clone())) || !desired.link.contains_key(p);
            goes && port_of(&b.link, p, l.master.as_ref())
        });
        if changed || leaving {
            let mut a = Action::new(
                Op::Update,
                Target::of(&Id::Link(id), Some(live), Some(desired)),
            );
            a.reason = Some(REASON.into());
            writes.push(a);
        }
    }
    actions.extend(writes);
}
