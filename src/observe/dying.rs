//! Interfaces the kernel is about to remove, read as already gone.

use crate::kinds;
use crate::machine::Dump;
use crate::model::{IfRef, Ns};
use std::collections::BTreeSet;

/// Drops from the dumps the lab's veth ends whose peer's namespace is gone
/// (not among `existing`, every namespace there is):
/// the kernel removes them a little after the namespace (tens of
/// milliseconds), so a run that starts at once would find the veth there
/// from one side, and neither re-create it nor the interface's settings.
/// As good as gone, they are read as gone, with all they carry.
/// Returns the ends dropped: apply waits for them to go before it makes
/// their names again, and deletes them if they stay (a process may still
/// hold the namespace that has lost its name).
pub(super) fn drop_dying_veths(
    mark: &str,
    existing: &BTreeSet<Ns>,
    dumps: &mut [(Ns, Dump)],
) -> BTreeSet<IfRef> {
    let mut dropped = BTreeSet::new();
    for (ns, d) in dumps.iter_mut() {
        let dying: BTreeSet<u32> = d
            .links
            .iter()
            .filter(|l| l.kind.as_deref() == Some("veth"))
            .filter(|l| {
                let peer = l
                    .alias
                    .as_deref()
                    .and_then(|a| kinds::peer_in_alias(a, mark));
                peer.is_some_and(|p| !existing.contains(&p.ns))
            })
            .map(|l| l.index)
            .collect();
        if dying.is_empty() {
            continue;
        }
        for l in d.links.iter().filter(|l| dying.contains(&l.index)) {
            dropped.insert(IfRef::new(ns.clone(), &l.name));
        }
        d.links.retain(|l| !dying.contains(&l.index));
        d.addrs.retain(|a| !dying.contains(&a.index));
        d.routes
            .retain(|r| r.oif.is_none_or(|o| !dying.contains(&o)));
    }
    dropped
}
