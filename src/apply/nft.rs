//! A namespace's nft table is replaced whole, in one transaction: every
//! chain and rule action of that namespace after the first is then done.

use super::Executor;
use crate::kernel::netlink::KernelError;
use crate::kernel::nft;
use crate::model::{Id, Ns, Res};
use std::os::fd::AsFd;

impl Executor<'_> {
    /// Makes the lab's nft table in `ns` exactly what the file says.
    pub(super) fn sync_nft(&mut self, ns: &Ns) -> Result<(), KernelError> {
        if !self.nft_synced.insert(ns.clone()) {
            return Ok(());
        }
        let model = self.model;
        let desired = &model.state;
        let chains: Vec<nft::WantChain<'_>> = crate::model::nat::CHAINS
            .iter()
            .filter_map(|(name, kind, hook, prio)| {
                let id = Id::Chain {
                    ns: ns.clone(),
                    chain: name.to_string(),
                };
                let Some(Res::Chain { policy, rules }) = desired.get(&id) else {
                    return None;
                };
                let rules = rules
                    .iter()
                    .filter_map(|r| {
                        let rule = Id::Rule {
                            ns: ns.clone(),
                            chain: name.to_string(),
                            rule: r.clone(),
                        };
                        match desired.get(&rule) {
                            Some(Res::Rule { expr }) => Some((r.as_str(), expr.as_str())),
                            _ => None,
                        }
                    })
                    .collect();
                Some(nft::WantChain {
                    name,
                    kind,
                    hook,
                    prio: *prio,
                    policy: policy.as_deref(),
                    rules,
                })
            })
            .collect();
        let Some(file) = self.ns_file_if_exists(ns)? else {
            return Ok(());
        };
        let fd = file.as_ref().map(|f| f.as_fd());
        self.nft_snapshots
            .push((ns.clone(), nft::snapshot(fd, self.lab)?));
        if chains.is_empty() {
            nft::delete(fd, self.lab)?;
            if self.lab_state.nft.remove(ns.label()) {
                self.save_state()?;
            }
            return Ok(());
        }
        if self.lab_state.nft.insert(ns.label().to_string()) {
            self.save_state()?;
        }
        nft::replace(fd, self.lab, &chains)
    }
}
