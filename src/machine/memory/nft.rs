//! nft tables of the in-memory kernel: per namespace, by name, each chain
//! with its hook, policy and rule comments (the statements are not kept:
//! topo never reads them back). A lab's table is `topo-LAB` and holds the
//! empty chain `topo-owned` when topo made it, as on the local kernel.

use super::Kernel;
use crate::machine::{KernelError, LiveChain, Result, Table, WantChain};
use crate::model::Ns;
use serde::{Deserialize, Serialize};

/// The chain whose presence marks a table as made by topo.
const MARK_CHAIN: &str = "topo-owned";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct NftTable {
    pub chains: Vec<NftChain>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct NftChain {
    pub name: String,
    /// `type hook priority` of a base chain; `None` for a regular chain.
    pub hook: Option<String>,
    pub policy: Option<String>,
    pub rules: Vec<Option<String>>,
}

fn table_name(lab: &str) -> String {
    format!("topo-{lab}")
}

impl NftTable {
    /// What topo writes: the mark chain, then `chains` (a base chain
    /// without a policy accepts, and reads back so).
    fn of(chains: &[WantChain<'_>]) -> NftTable {
        let mark = NftChain {
            name: MARK_CHAIN.into(),
            hook: None,
            policy: None,
            rules: vec![],
        };
        let made = chains.iter().map(|c| NftChain {
            name: c.name.to_string(),
            hook: Some(format!("{} {} {}", c.kind, c.hook, c.prio)),
            policy: Some(c.policy.unwrap_or("accept").to_string()),
            rules: c
                .rules
                .iter()
                .map(|(comment, _)| Some(comment.to_string()))
                .collect(),
        });
        NftTable {
            chains: std::iter::once(mark).chain(made).collect(),
        }
    }

    /// An extra rule without a comment, as `nft add rule` by hand makes.
    pub(super) fn add_unmanaged(&mut self, chain: &str) -> bool {
        match self.chains.iter_mut().find(|c| c.name == chain) {
            Some(c) => {
                c.rules.push(None);
                true
            }
            None => false,
        }
    }
}

impl Kernel {
    pub(super) fn nft_read(&self, ns: &Ns, lab: &str) -> Result<Table> {
        let Some(t) = self.space(ns)?.nft.get(&table_name(lab)) else {
            return Ok(Table::Absent);
        };
        if !t.chains.iter().any(|c| c.name == MARK_CHAIN) {
            return Ok(Table::Foreign);
        }
        let chains = t.chains.iter().filter(|c| c.name != MARK_CHAIN);
        Ok(Table::Owned(
            chains
                .map(|c| LiveChain {
                    name: c.name.clone(),
                    policy: c.policy.clone(),
                    rules: c.rules.clone(),
                })
                .collect(),
        ))
    }

    /// Replaces the lab's table whole; no chains: deletes it.
    pub(super) fn nft_replace(
        &mut self,
        ns: &Ns,
        lab: &str,
        chains: &[WantChain<'_>],
    ) -> Result<()> {
        self.space(ns)?;
        self.write(format!("change nft table {} in {ns}", table_name(lab)))?;
        let tables = &mut self.space_mut(ns)?.nft;
        if chains.is_empty() {
            tables.remove(&table_name(lab));
        } else {
            tables.insert(table_name(lab), NftTable::of(chains));
        }
        Ok(())
    }

    pub(super) fn nft_snapshot(&self, ns: &Ns, lab: &str) -> Result<Option<String>> {
        let t = self.space(ns)?.nft.get(&table_name(lab));
        Ok(t.map(|t| serde_json::to_string(t).expect("tables serialize")))
    }

    pub(super) fn nft_restore(&mut self, ns: &Ns, lab: &str, snapshot: Option<&str>) -> Result<()> {
        let table = match snapshot {
            Some(text) => Some(
                serde_json::from_str::<NftTable>(text)
                    .map_err(|e| KernelError::new("parse nft snapshot", e))?,
            ),
            None => None,
        };
        self.space(ns)?;
        self.write(format!("restore nft table {} in {ns}", table_name(lab)))?;
        let tables = &mut self.space_mut(ns)?.nft;
        match table {
            Some(t) => tables.insert(table_name(lab), t),
            None => tables.remove(&table_name(lab)),
        };
        Ok(())
    }
}
