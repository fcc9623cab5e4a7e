//! A rule of the lab's nft table, identified by its comment (nft gives the
//! statements back in its own canonical form, so they are never compared).
//! A rule without a comment is someone else's: `unmanaged rule #N`.

use super::{ChainId, Id, Kind};
use crate::apply::Exec;
use crate::graph::Index;
use crate::machine::{KernelError, Machine, Table};
use crate::model::{Change, Name, Ns};
use crate::observe::ObserveNs;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RuleId {
    pub ns: Ns,
    pub chain: Name,
    pub rule: String,
}

/// The rule's nftables JSON statements, as compact text (desired state
/// only). Text, not a JSON tree: a tree costs kilobytes per rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub expr: String,
}

/// The name of the `i`th rule of a chain as read back.
pub(super) fn label(i: usize, comment: &Option<String>) -> String {
    comment
        .clone()
        .unwrap_or_else(|| format!("unmanaged rule #{}", i + 1))
}

impl Kind for Rule {
    type Id = RuleId;
    const NAME: &'static str = "rule";

    fn ns(id: &RuleId) -> Ns {
        id.ns.clone()
    }

    fn label(id: &RuleId) -> String {
        format!("nft rule {} in {}: {}", id.chain, id.ns, id.rule)
    }

    fn describe(&self) -> String {
        String::new()
    }

    fn deps(id: &RuleId, _: &Rule, _: &Index) -> Vec<Id> {
        let mut deps = super::ns_dep(&id.ns);
        deps.push(Id::Chain(ChainId {
            ns: id.ns.clone(),
            chain: id.chain.clone(),
        }));
        deps
    }

    fn changes(&self, _: &Rule) -> Vec<Change> {
        Vec::new()
    }

    /// The statements as JSON again; `null` where only the kernel's copy,
    /// compared by comment, is known.
    fn json(&self) -> serde_json::Value {
        let expr = serde_json::from_str(&self.expr).unwrap_or(serde_json::Value::Null);
        serde_json::json!({ "expr": expr })
    }

    fn observe(cx: &mut ObserveNs<'_>) {
        let Some(Table::Owned(chains)) = cx.nft.clone() else {
            return;
        };
        for c in chains {
            for (i, r) in c.rules.iter().enumerate() {
                let id = RuleId {
                    ns: cx.ns.clone(),
                    chain: c.name.as_str().into(),
                    rule: label(i, r),
                };
                cx.obs.state.insert::<Rule>(
                    id,
                    Rule {
                        expr: String::new(),
                    },
                );
            }
        }
    }

    async fn create<M: Machine>(
        id: &RuleId,
        _: &Rule,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        x.sync_nft(&id.ns)
    }

    async fn update<M: Machine>(
        id: &RuleId,
        _: &Rule,
        _: &Rule,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        x.sync_nft(&id.ns)
    }

    async fn delete<M: Machine>(
        id: &RuleId,
        _: Option<&Rule>,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        x.sync_nft(&id.ns)
    }
}
