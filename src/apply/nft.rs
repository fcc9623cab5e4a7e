//! A namespace's nft table is replaced whole, in one transaction: every
//! chain and rule action of that namespace after the first is then done.

use super::Exec;
use crate::kinds::{ChainId, RuleId};
use crate::machine::{KernelError, Machine, WantChain};
use crate::model::{Name, Ns};

impl<M: Machine> Exec<'_, M> {
    /// Before namespace `ns` is deleted: its nft table, if the lab keeps
    /// one there, goes with it, and a rollback that makes the namespace
    /// again puts the table back from this snapshot.
    pub fn keep_nft_of(&mut self, ns: &Ns) -> Result<(), KernelError> {
        let Some(snapshots) = &self.nft_snapshots else {
            return Ok(());
        };
        let kept = snapshots.iter().any(|(n, _)| n == ns);
        if kept || !self.lab_state.nft.contains(ns.label()) || !self.m.has_namespace(ns.label())? {
            return Ok(());
        }
        let snapshot = self.m.nft_snapshot(ns, self.lab)?;
        self.nft_snapshots
            .get_or_insert_default()
            .push((ns.clone(), snapshot));
        Ok(())
    }

    /// Makes the lab's nft table in `ns` exactly what the file says.
    pub fn sync_nft(&mut self, ns: &Ns) -> Result<(), KernelError> {
        if !self.nft_synced.insert(ns.clone()) {
            return Ok(());
        }
        let model = self.model;
        let desired = &model.state;
        let chains: Vec<WantChain<'_>> = crate::model::nat::CHAINS
            .iter()
            .filter_map(|(name, kind, hook, prio)| {
                let id = ChainId {
                    ns: ns.clone(),
                    chain: Name::from(*name),
                };
                let chain = desired.chain.get(&id)?;
                let rules = chain
                    .rules
                    .iter()
                    .filter_map(|r| {
                        let rule = RuleId {
                            ns: ns.clone(),
                            chain: Name::from(*name),
                            rule: r.clone(),
                        };
                        let expr = desired.rule.get(&rule)?;
                        Some((r.as_str(), expr.expr.as_str()))
                    })
                    .collect();
                Some(WantChain {
                    name,
                    kind,
                    hook,
                    prio: *prio,
                    policy: chain.policy.as_deref(),
                    rules,
                })
            })
            .collect();
        if *ns != Ns::Host && !self.m.has_namespace(ns.label())? {
            return Ok(());
        }
        // The first snapshot of a namespace is the table before this run.
        let first = self
            .nft_snapshots
            .as_ref()
            .is_some_and(|s| !s.iter().any(|(n, _)| n == ns));
        if first {
            let snapshot = match self.nft_absent.contains(ns) {
                true => None,
                false => self.m.nft_snapshot(ns, self.lab)?,
            };
            self.nft_snapshots
                .get_or_insert_default()
                .push((ns.clone(), snapshot));
        }
        let recorded = self.lab_state.nft.contains(ns.label());
        if chains.is_empty() && recorded {
            self.lab_state.nft.remove(ns.label());
            self.save_state()?;
        } else if !chains.is_empty() && !recorded {
            self.lab_state.nft.insert(ns.label().to_string());
            self.save_state()?;
        }
        self.m.nft_replace(ns, self.lab, &chains)
    }
}
