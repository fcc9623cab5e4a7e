//! A `net.*` sysctl of a namespace. Before the lab first sets one, the
//! value it had is recorded, and deleting it from the lab puts that back.
//! Host sysctls are shared by the labs that set them: each takes a share,
//! the value from before the first comes back when the last lets go, and
//! two labs wanting different values clash.

use super::{Id, Kind};
use crate::apply::Exec;
use crate::graph::Index;
use crate::machine::{KernelError, Machine, Shared};
use crate::model::{Change, IfRef, Name, Ns};
use crate::observe::{ObserveNs, Observed};
use crate::plan::Op;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SysctlId {
    pub ns: Ns,
    pub key: Name,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sysctl {
    pub value: Name,
}

impl Kind for Sysctl {
    type Id = SysctlId;
    const NAME: &'static str = "sysctl";

    fn ns(id: &SysctlId) -> Ns {
        id.ns.clone()
    }

    fn label(id: &SysctlId) -> String {
        format!("sysctl {} in {}", id.key, id.ns)
    }

    fn describe(&self) -> String {
        format!("= {}", self.value)
    }

    fn index(id: &SysctlId, _: &Sysctl, ix: &mut Index) {
        if let Some(l) = interface_of(id) {
            ix.sysctls_of.entry(l).or_default().push(id.clone());
        }
    }

    /// Per-interface sysctls need their interface.
    fn deps(id: &SysctlId, _: &Sysctl, ix: &Index) -> Vec<Id> {
        let mut deps = super::ns_dep(&id.ns);
        deps.extend(ix.in_ns.get(&id.ns).into_iter().flatten().cloned());
        deps
    }

    fn changes(&self, live: &Sysctl) -> Vec<Change> {
        let mut out = Vec::new();
        Change::push(
            &mut out,
            "value",
            live.value.to_string(),
            self.value.to_string(),
        );
        out
    }

    /// Other labs that hold a host sysctl this action touches.
    fn note(id: &SysctlId, op: Op, obs: &Observed) -> Option<String> {
        let labs = obs
            .shared
            .get(id.key.as_str())
            .filter(|_| id.ns == Ns::Host)?;
        let labs = labs.join(", lab ");
        Some(match op {
            Op::Delete => format!("lab {labs} still holds it: the value stays"),
            _ => format!("shared with lab {labs}"),
        })
    }

    fn observe(cx: &mut ObserveNs<'_>) {
        if *cx.ns == Ns::Host {
            refuse_missing(cx);
        }
        let values: Vec<(String, String)> = cx
            .sysctls
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (key, value) in values {
            let id = SysctlId {
                ns: cx.ns.clone(),
                key: key.as_str().into(),
            };
            let want = cx
                .desired
                .and_then(|s| s.sysctl.get(&id))
                .map(|s| s.value.clone());
            let shared = cx.registry.get(&key).filter(|_| *cx.ns == Ns::Host);
            let holds = cx.obs.lab_state.original(cx.ns, &key).is_some()
                || shared.is_some_and(|s| s.holders.contains_key(cx.lab));
            let others: Vec<(String, String)> = shared
                .into_iter()
                .flat_map(|s| &s.holders)
                .filter(|(l, _)| l.as_str() != cx.lab)
                .map(|(l, v)| (l.clone(), v.clone()))
                .collect();
            if let Some(w) = &want {
                if let Some((l, v)) = others.iter().find(|(_, v)| v != w) {
                    let msg = format!(
                        "sysctl {key} in the host is held by lab `{l}` at {v}; this lab wants {w}: two labs cannot hold one host setting at different values"
                    );
                    cx.obs.foreign.insert(Id::Sysctl(id.clone()), msg);
                }
            }
            let alone = others.is_empty();
            if !alone {
                let labs = others.into_iter().map(|(l, _)| l).collect();
                cx.obs.shared.insert(key.clone(), labs);
            }
            // A sysctl is the lab's once the lab has set it (or taken its
            // share); until then only its current value matters, for the
            // diff, when no other lab holds it.
            if holds || (want.is_some() && alone) {
                if !holds {
                    cx.obs.unheld.insert(Id::Sysctl(id.clone()));
                }
                cx.obs.state.insert::<Sysctl>(
                    id,
                    Sysctl {
                        value: value.into(),
                    },
                );
            }
        }
    }

    async fn create<M: Machine>(
        id: &SysctlId,
        me: &Sysctl,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        set(id, me, None, x)
    }

    async fn update<M: Machine>(
        id: &SysctlId,
        want: &Sysctl,
        have: &Sysctl,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        set(id, want, Some(have), x)
    }

    async fn delete<M: Machine>(
        id: &SysctlId,
        _: Option<&Sysctl>,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        let (ns, key) = (&id.ns, &id.key);
        let recorded = x.lab_state.original(ns, key).cloned();
        let lab = x.lab.to_string();
        // This lab's share of a host sysctl, taken out of the registry
        // (and the entry, when it was the last holder).
        let mut share: Option<(Option<String>, Option<Shared>)> = None;
        let restore = if *ns == Ns::Host {
            // The value from before comes back when the last holder goes.
            let (held, emptied) = x.m.update_host_sysctls(|r| {
                let Some(e) = r.get_mut(key.as_str()) else {
                    return (None, None);
                };
                let held = e.holders.remove(&lab);
                let emptied = if e.holders.is_empty() {
                    r.remove(key.as_str())
                } else {
                    None
                };
                (held, emptied)
            })?;
            let restore = match &emptied {
                Some(e) => Some(e.original.clone()),
                None if held.is_some() => None,
                None => recorded,
            };
            share = Some((held, emptied));
            restore
        } else {
            recorded
        };
        let exists = *ns == Ns::Host || x.m.has_namespace(ns.label())?;
        if let (Some(was), true) = (restore, exists) {
            if let Err(e) = x.m.write_sysctl(ns, key, &was) {
                // Not restored: the share stays, and with it the value
                // from before, for a later delete (or a rollback) to use.
                if let Some((held, Some(entry))) = share {
                    x.m.update_host_sysctls(|r| {
                        let e = r.entry(key.to_string()).or_insert(entry);
                        if let Some(v) = held {
                            e.holders.insert(lab, v);
                        }
                    })?;
                }
                return Err(e);
            }
        }
        if x.lab_state.original(ns, key).is_some() {
            x.lab_state.forget(ns, key);
            x.save_state()?;
        }
        Ok(())
    }
}

/// The interface a per-interface key (`net.ipv4.conf.IF.*`,
/// `net.ipv6.conf.IF.*`) belongs to: it exists only with it, and a new
/// interface starts with the kernel's value.
pub fn interface_of(id: &SysctlId) -> Option<IfRef> {
    let rest = ["net.ipv4.conf.", "net.ipv6.conf."]
        .iter()
        .find_map(|p| id.key.strip_prefix(p))?;
    let (dev, _) = rest.split_once('.')?;
    (dev != "all" && dev != "default").then(|| IfRef::new(id.ns.clone(), dev))
}

/// Sysctls of tables every namespace shares, which only the machine's
/// initial network namespace has (`net.ipv4.neigh.default.gc_thresh3`
/// caps the neighbour entries of all namespaces together).
pub fn initial_namespace_only(key: &str) -> bool {
    let Some(rest) = key
        .strip_prefix("net.ipv4.neigh.default.")
        .or_else(|| key.strip_prefix("net.ipv6.neigh.default."))
    else {
        return false;
    };
    matches!(
        rest,
        "gc_thresh1" | "gc_thresh2" | "gc_thresh3" | "gc_interval"
    )
}

/// A host sysctl the file sets that this kernel does not have, here: an
/// error at its line before any change, rather than a failed apply.
/// Per-interface ones are left alone (they come with their interface).
fn refuse_missing(cx: &mut ObserveNs<'_>) {
    let Some(desired) = cx.desired else { return };
    let from = SysctlId {
        ns: Ns::Host,
        key: String::new().into(),
    };
    let missing: Vec<SysctlId> = desired
        .sysctl
        .range(from..)
        .map(|(id, _)| id)
        .take_while(|id| id.ns == Ns::Host)
        .filter(|id| !cx.sysctls.contains_key(id.key.as_str()) && !per_interface(&id.key))
        .cloned()
        .collect();
    for id in missing {
        let key = id.key.clone();
        let (message, help) = if initial_namespace_only(&key) || key.contains(".neigh.default.") {
            (
                format!("there is no sysctl {key} here: it exists only in the machine's initial network namespace, and topo runs in another one (a container, or a namespace of its own)"),
                format!("set it on the machine itself (`sysctl -w {key}=VALUE` in its own namespace), or run topo there; then remove it from `host: sysctls:`"),
            )
        } else {
            (
                format!("this kernel has no sysctl {key} in the namespace topo runs in"),
                "check the name (`sysctl -a | grep ...`); a module may need loading".to_string(),
            )
        };
        cx.obs.refused.push(crate::observe::Refusal {
            id: Id::Sysctl(id),
            message,
            help,
        });
    }
}

/// `net.ipv4.conf.IF.*` and the like: a sysctl of one interface.
fn per_interface(key: &str) -> bool {
    let parts: Vec<&str> = key.splitn(5, '.').collect();
    matches!(parts[..], ["net", "ipv4" | "ipv6", "conf" | "neigh", dev, _] if dev != "all" && dev != "default")
}

/// Records the value from before (the host's in the shared registry, a
/// node's in the lab's records), then writes: a crash in between still
/// leaves the old value known.
fn set<M: Machine>(
    id: &SysctlId,
    me: &Sysctl,
    before: Option<&Sysctl>,
    x: &mut Exec<'_, M>,
) -> Result<(), KernelError> {
    let (ns, key) = (&id.ns, &id.key);
    let recorded = x.lab_state.original(ns, key).cloned();
    let was = match (recorded.clone(), before) {
        (Some(v), _) => Some(v),
        (None, Some(b)) => Some(String::from(b.value.clone())),
        (None, None) => x.m.read_sysctl(ns, key)?,
    };
    let was = was.ok_or_else(|| {
        KernelError::new(
            format!("sysctl {key} in {ns}"),
            "no such sysctl in this kernel",
        )
    })?;
    if *ns == Ns::Host {
        let lab = x.lab.to_string();
        let value = me.value.clone();
        x.m.update_host_sysctls(|r| {
            let e = r.entry(key.to_string()).or_insert_with(|| Shared {
                original: was,
                holders: Default::default(),
            });
            e.holders.insert(lab, value.to_string());
        })?;
        // Records of older versions move into the shared registry.
        if recorded.is_some() {
            x.lab_state.forget(ns, key);
            x.save_state()?;
        }
    } else if recorded.is_none() {
        x.lab_state.record(ns, key, was);
        x.save_state()?;
    }
    x.m.write_sysctl(ns, key, &me.value)
}
