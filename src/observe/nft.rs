//! The lab's nft table of each namespace, as chains and rules.

use super::{Handles, Observed};
use crate::kernel::netlink::KernelError;
use crate::kernel::nft;
use crate::model::{Id, Ns, Res, State};
use std::collections::BTreeSet;
use std::os::fd::AsFd;

/// Reads the lab's nft table where it may be: the host, namespaces whose
/// desired state has rules, and namespaces where the lab once put a table.
pub(super) fn read_nft(
    lab: &str,
    present: &[Ns],
    desired: Option<&State>,
    h: &mut Handles,
    obs: &mut Observed,
) -> Result<(), KernelError> {
    let wanting: BTreeSet<&Ns> = desired
        .into_iter()
        .flat_map(|s| s.keys())
        .filter_map(|i| match i {
            Id::Chain { ns, .. } => Some(ns),
            _ => None,
        })
        .collect();
    for ns in present {
        if *ns != Ns::Host && !wanting.contains(ns) && !obs.lab_state.nft.contains(ns.label()) {
            continue;
        }
        let fd = match ns {
            Ns::Host => None,
            Ns::Node(n) => h.file(n)?.map(|f| f.as_fd()),
        };
        let wanted = wanting.contains(ns) || obs.lab_state.nft.contains(ns.label());
        let chains = match nft::read(fd, lab) {
            Ok(nft::Found::Owned(chains)) => chains,
            Ok(nft::Found::Absent) => continue,
            Ok(nft::Found::Foreign) => {
                if wanting.contains(ns) {
                    let id = desired
                        .into_iter()
                        .flat_map(|s| s.keys())
                        .find(|i| matches!(i, Id::Chain { ns: n, .. } if n == ns));
                    let msg = format!(
                        "nft table inet {} exists in {ns} and was not made by topo",
                        nft::table_name(lab)
                    );
                    obs.foreign
                        .insert(id.cloned().expect("a wanted namespace has a chain"), msg);
                }
                continue;
            }
            // Without nft there can be no table of the lab's where none is wanted.
            Err(e) if nft::is_missing(&e) && !wanted => continue,
            Err(e) => return Err(e),
        };
        for c in chains {
            let label = |i: usize, r: &Option<String>| {
                r.clone()
                    .unwrap_or_else(|| format!("unmanaged rule #{}", i + 1))
            };
            let rules: Vec<String> = c
                .rules
                .iter()
                .enumerate()
                .map(|(i, r)| label(i, r))
                .collect();
            for r in &rules {
                obs.state.insert(
                    Id::Rule {
                        ns: ns.clone(),
                        chain: c.name.clone(),
                        rule: r.clone(),
                    },
                    Res::Rule {
                        expr: String::new(),
                    },
                );
            }
            let filter = ["input", "forward", "output"].contains(&c.name.as_str());
            let policy = if filter { c.policy } else { None };
            obs.state.insert(
                Id::Chain {
                    ns: ns.clone(),
                    chain: c.name,
                },
                Res::Chain { policy, rules },
            );
        }
    }
    Ok(())
}
