//! The sysctls the lab sets, or once set.

use super::{Handles, Observed};
use crate::kernel::netlink::KernelError;
use crate::kernel::{host_sysctls, sysctl};
use crate::model::{Id, Ns, Res, State};
use std::collections::BTreeSet;
use std::os::fd::AsFd;

/// Reads the sysctls the lab sets or once set, in namespaces that exist.
/// A host sysctl other labs hold is shared: the lab holds it only once it
/// has taken its share, and a value other than theirs is a clash.
pub(super) fn read_sysctls(
    lab: &str,
    present: &[Ns],
    desired: Option<&State>,
    h: &mut Handles,
    obs: &mut Observed,
) -> Result<(), KernelError> {
    let registry =
        host_sysctls::load().map_err(|e| KernelError::new("read shared host sysctls", e))?;
    let mut keys: BTreeSet<(Ns, String)> = BTreeSet::new();
    for id in desired.into_iter().flat_map(|s| s.keys()) {
        if let Id::Sysctl { ns, key } = id {
            keys.insert((ns.clone(), key.clone()));
        }
    }
    keys.extend(obs.lab_state.recorded().map(|(ns, k)| (ns, k.clone())));
    for (key, shared) in &registry {
        if shared.holders.contains_key(lab) {
            keys.insert((Ns::Host, key.clone()));
        }
    }
    for (ns, key) in keys {
        if !present.contains(&ns) {
            continue;
        }
        let fd = match &ns {
            Ns::Host => None,
            Ns::Node(n) => h.file(n)?.map(|f| f.as_fd()),
        };
        let value = sysctl::read(fd, &key)
            .map_err(|e| KernelError::new(format!("read sysctl {key} in {ns} (lab {lab})"), e))?;
        let Some(value) = value else { continue };
        let id = Id::Sysctl {
            ns: ns.clone(),
            key: key.clone(),
        };
        let want = match desired.and_then(|s| s.get(&id)) {
            Some(Res::Sysctl { value }) => Some(value),
            _ => None,
        };
        let shared = registry.get(&key).filter(|_| ns == Ns::Host);
        let holds = obs.lab_state.original(&ns, &key).is_some()
            || shared.is_some_and(|s| s.holders.contains_key(lab));
        let others: Vec<(&String, &String)> = shared
            .into_iter()
            .flat_map(|s| &s.holders)
            .filter(|(l, _)| l.as_str() != lab)
            .collect();
        if let Some(w) = want {
            if let Some((l, v)) = others.iter().find(|(_, v)| *v != w) {
                let msg = format!(
                    "sysctl {key} in the host is held by lab `{l}` at {v}; this lab wants {w}: two labs cannot hold one host setting at different values"
                );
                obs.foreign.insert(id.clone(), msg);
            }
        }
        if !others.is_empty() {
            obs.shared.insert(
                key.clone(),
                others.iter().map(|(l, _)| l.to_string()).collect(),
            );
        }
        // A sysctl is the lab's once the lab has set it (or taken its share);
        // until then only its current value matters, for the diff, when no
        // other lab holds it.
        if holds || (want.is_some() && others.is_empty()) {
            if !holds {
                obs.unheld.insert(id.clone());
            }
            obs.state.insert(id, Res::Sysctl { value });
        }
    }
    Ok(())
}
