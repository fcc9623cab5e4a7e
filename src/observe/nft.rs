//! The lab's nft table where it may be: read along with the dumps where
//! observe will look for it, judged here.

use crate::kinds::{ChainId, Id, State};
use crate::machine::{KernelError, LabState, Machine, Table};
use crate::model::Ns;
use std::collections::BTreeMap;

/// What was found: the table, or the clash of a table the lab did not make.
pub(super) type NftRead = (Option<Table>, Option<(Id, String)>);

/// Whether `read_nft` looks for the lab's table in `ns`: the host,
/// namespaces whose desired state has rules, and namespaces where the lab
/// once put a table.
pub(super) fn wants_nft(ns: &Ns, desired: Option<&State>, st: &LabState) -> bool {
    *ns == Ns::Host || wanted_chain(ns, desired).is_some() || st.nft.contains(ns.label())
}

fn wanted_chain<'a>(ns: &Ns, desired: Option<&'a State>) -> Option<&'a ChainId> {
    let from = ChainId {
        ns: ns.clone(),
        chain: String::new().into(),
    };
    desired
        .and_then(|s| s.chain.range(from..).next())
        .map(|(c, _)| c)
        .filter(|c| c.ns == *ns)
}

pub(super) fn read_nft<M: Machine>(
    lab: &str,
    ns: &Ns,
    desired: Option<&State>,
    st: &LabState,
    read: &mut BTreeMap<Ns, Result<Table, KernelError>>,
    m: &mut M,
) -> Result<NftRead, KernelError> {
    let want = wanted_chain(ns, desired);
    if !wants_nft(ns, desired, st) {
        return Ok((None, None));
    }
    let found = match read.remove(ns) {
        Some(t) => t,
        None => m.nft_read(ns, lab),
    };
    match found {
        Ok(Table::Foreign) => {
            let clash = want.map(|c| {
                let msg =
                    format!("nft table inet topo-{lab} exists in {ns} and was not made by topo");
                (Id::Chain(c.clone()), msg)
            });
            Ok((None, clash))
        }
        Ok(t) => Ok((Some(t), None)),
        // Without nft there can be no table of the lab's where none is wanted.
        Err(e) if M::nft_missing(&e) && want.is_none() && !st.nft.contains(ns.label()) => {
            Ok((None, None))
        }
        Err(e) => Err(e),
    }
}
