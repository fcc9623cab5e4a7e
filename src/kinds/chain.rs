//! A chain of the lab's nft table in a namespace (`inet topo-LAB`), with
//! its policy and the order of its rules. The table is replaced whole, in
//! one transaction, so making, changing or deleting any chain or rule of a
//! namespace brings the whole table to what the file says.

use super::{Id, Kind};
use crate::apply::Exec;
use crate::graph::Index;
use crate::machine::{KernelError, Machine, Table};
use crate::model::{opt, Change, Name, Ns};
use crate::observe::ObserveNs;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ChainId {
    pub ns: Ns,
    pub chain: Name,
}

/// `policy` for filter chains; `rules` lists rule comments in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    pub policy: Option<String>,
    pub rules: Vec<String>,
}

impl Kind for Chain {
    type Id = ChainId;
    const NAME: &'static str = "chain";

    fn ns(id: &ChainId) -> Ns {
        id.ns.clone()
    }

    fn label(id: &ChainId) -> String {
        format!("nft chain {} in {}", id.chain, id.ns)
    }

    fn describe(&self) -> String {
        self.policy
            .as_ref()
            .map(|p| format!("policy {p}"))
            .unwrap_or_default()
    }

    fn deps(id: &ChainId, _: &Chain, _: &Index) -> Vec<Id> {
        super::ns_dep(&id.ns)
    }

    fn changes(&self, live: &Chain) -> Vec<Change> {
        let mut out = Vec::new();
        Change::push(&mut out, "policy", opt(&live.policy), opt(&self.policy));
        // Order matters only among the rules both sides have; the others
        // show as creates and deletes of their own.
        let common: Vec<&String> = self
            .rules
            .iter()
            .filter(|r| live.rules.contains(r))
            .collect();
        let was: Vec<&String> = live
            .rules
            .iter()
            .filter(|r| self.rules.contains(r))
            .collect();
        if common != was {
            let list = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
            Change::push(&mut out, "rule order", list(&was), list(&common));
        }
        out
    }

    fn observe(cx: &mut ObserveNs<'_>) {
        let Some(Table::Owned(chains)) = cx.nft.clone() else {
            return;
        };
        for c in chains {
            let rules = c
                .rules
                .iter()
                .enumerate()
                .map(|(i, r)| super::rule::label(i, r))
                .collect();
            let filter = ["input", "forward", "output"].contains(&c.name.as_str());
            let policy = if filter { c.policy } else { None };
            let id = ChainId {
                ns: cx.ns.clone(),
                chain: c.name.into(),
            };
            cx.obs.state.insert::<Chain>(id, Chain { policy, rules });
        }
    }

    async fn create<M: Machine>(
        id: &ChainId,
        _: &Chain,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        x.sync_nft(&id.ns)
    }

    async fn update<M: Machine>(
        id: &ChainId,
        _: &Chain,
        _: &Chain,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        x.sync_nft(&id.ns)
    }

    async fn delete<M: Machine>(
        id: &ChainId,
        _: Option<&Chain>,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        x.sync_nft(&id.ns)
    }
}
