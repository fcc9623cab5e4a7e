//! Executes a plan against the kernel, step by step (`Plan::steps`), then
//! checks the result: the kernel must match the file (verify), every link
//! must carry traffic, and neighbours learn of changed addresses.

mod make;
mod nft;
mod ready;
mod remove;
mod rollback;
mod settle;

use crate::kernel::netlink::{Conn, KernelError};
use crate::kernel::{signals, state_file};
use crate::model::{Id, IfRef, Model, Ns, State};
use crate::observe::{Handles, Observed};
use crate::plan::{Action, Half, Op, Plan};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// What happened to each action of a plan.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Indexes into `plan.actions` that completed (both halves of a replace).
    pub done: Vec<usize>,
    /// The action that failed, and why; later ones were not attempted.
    pub failed: Option<(usize, KernelError)>,
    /// After all actions, what the kernel still does differently.
    pub left: Option<Plan>,
    /// The signal that stopped the run before its end.
    pub interrupted: Option<i32>,
    /// Interfaces that still carried no traffic when apply stopped waiting.
    pub not_ready: Vec<IfRef>,
    /// After a failure: what was undone, newest first.
    pub undone: Vec<String>,
    /// After a failure: what could not be undone, and why.
    pub not_undone: Vec<(String, String)>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.failed.is_none() && self.left.is_none() && self.interrupted.is_none()
    }
}

/// How to run a plan.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// On failure, put back what this run changed.
    pub rollback: bool,
    /// Observe again afterwards: the kernel must match the file.
    pub verify: bool,
}

/// For each namespace, the index of the last step that touches it.
fn last_use(plan: &Plan, steps: &[crate::plan::Step]) -> BTreeMap<Ns, usize> {
    let mut last = BTreeMap::new();
    for (i, s) in steps.iter().enumerate() {
        let a = &plan.actions[s.action];
        last.insert(a.id.ns(), i);
        for r in [&a.before, &a.after].into_iter().flatten() {
            if let crate::model::Res::Veth { peer } = r {
                last.insert(peer.ns.clone(), i);
            }
        }
    }
    last
}

/// Test hooks, never documented to users: fail step K with an injected
/// error (`TOPO_TEST_FAULT_AT=K`), die by SIGKILL after K steps
/// (`TOPO_TEST_KILL_AFTER=K`), or skip step K while reporting success
/// (`TOPO_TEST_SKIP_AT=K`), to prove rollback, crash recovery and verify.
fn test_hook(var: &str) -> Option<usize> {
    std::env::var(var).ok()?.parse().ok()
}

/// Runs `plan` step by step and stops at the first failure or signal;
/// with rollback, then undoes what it did.
pub async fn execute(
    plan: &Plan,
    model: &Model,
    obs: &Observed,
    h: &mut Handles,
    opts: Options,
) -> Outcome {
    let mut ex = Executor {
        lab: &plan.lab,
        model,
        target: Cow::Borrowed(&model.state),
        live: Cow::Borrowed(&obs.state),
        index: obs.index.clone(),
        lab_state: obs.lab_state.clone(),
        h,
        lingering: BTreeSet::new(),
        nft_synced: BTreeSet::new(),
        nft_snapshots: vec![],
    };
    let fault_at = test_hook("TOPO_TEST_FAULT_AT");
    let kill_after = test_hook("TOPO_TEST_KILL_AFTER");
    let skip_at = test_hook("TOPO_TEST_SKIP_AT");
    let mut out = Outcome::default();
    let steps = plan.steps();
    let last_use = last_use(plan, &steps);
    for (i, step) in steps.iter().enumerate() {
        if let Some(sig) = signals::pending() {
            out.interrupted = Some(sig);
            break;
        }
        if kill_after == Some(i) {
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
        }
        let a = &plan.actions[step.action];
        tracing::debug!(action = %a.id, op = ?a.op, half = ?step.half, "executing");
        let result = if fault_at == Some(i) {
            Err(KernelError::new(
                a.id.to_string(),
                "injected fault (TOPO_TEST_FAULT_AT)",
            ))
        } else if skip_at == Some(i) {
            // Stands for kernel behaviour topo does not model: the step
            // "succeeds" without effect, and only verify can notice.
            Ok(())
        } else {
            ex.step(a, step.half).await
        };
        match result {
            Ok(()) => {
                let whole = step.half == Half::Make || a.op == Op::Delete;
                if whole {
                    out.done.push(step.action);
                }
                // Steps keep each node's actions together: once its last
                // one is done, its connection's buffers can go.
                for (ns, _) in last_use.iter().filter(|(_, last)| **last == i) {
                    if let Ns::Node(n) = ns {
                        ex.h.forget(n);
                    }
                }
            }
            Err(e) => {
                out.failed = Some((step.action, e));
                break;
            }
        }
    }
    if let Err(e) = ex.settle().await {
        out.failed.get_or_insert((plan.actions.len(), e));
    }
    // What completed carries its mark; a failed creation stays journaled.
    let failed_creating = out.failed.as_ref().is_some_and(|(i, _)| {
        plan.actions
            .get(*i)
            .is_some_and(|a| ex.lab_state.pending.contains(&a.id))
    });
    if !failed_creating {
        if let Err(e) = ex.journal(None) {
            out.failed.get_or_insert((plan.actions.len(), e));
        }
    }
    if out.succeeded() && opts.verify && !plan.is_empty() {
        ex.check(plan.actions.len(), &mut out).await;
    }
    if !out.succeeded() && opts.rollback {
        ex.roll_back(obs, &mut out).await;
    }
    out
}

/// The state of one run.
struct Executor<'a> {
    lab: &'a str,
    model: &'a Model,
    /// The state being made: the file's, or in a rollback the one before.
    target: Cow<'a, State>,
    /// What the kernel held before the steps now running.
    live: Cow<'a, State>,
    index: BTreeMap<IfRef, u32>,
    lab_state: state_file::LabState,
    h: &'a mut Handles,
    /// Ends of veths whose other end was in a namespace this run deleted:
    /// the kernel removes them a little later.
    lingering: BTreeSet<IfRef>,
    /// Namespaces whose nft table already matches the file in this run.
    nft_synced: BTreeSet<Ns>,
    /// nft tables as they were before this run replaced them.
    nft_snapshots: Vec<(Ns, Option<String>)>,
}

impl Executor<'_> {
    async fn step(&mut self, a: &Action, half: Half) -> Result<(), KernelError> {
        if let Id::Chain { ns, .. } | Id::Rule { ns, .. } = &a.id {
            return self.sync_nft(ns);
        }
        // Journal the one object that exists unmarked while it is being
        // made (or, for a namespace, unmade), so a killed run can reclaim it.
        let making = half == Half::Make && a.op != Op::Update;
        let half_made = making && matches!(a.id, Id::Bridge { .. } | Id::Veth { .. });
        if half_made || matches!(a.id, Id::Netns { .. }) {
            self.journal(Some(&a.id))?;
        }
        match (half, &a.after) {
            (Half::Remove, _) => self.remove(&a.id, a.before.as_ref()).await,
            (Half::Make, Some(after)) => {
                let before = a.before.as_ref().filter(|_| a.op == Op::Update);
                self.make(&a.id, after, before).await
            }
            (Half::Make, None) => Err(KernelError::new(
                a.id.to_string(),
                "the plan gives this object no target state",
            )),
        }
    }

    fn conn(&mut self, ns: &Ns) -> Result<Conn, KernelError> {
        self.h.conn(ns)
    }

    fn index_of(&self, l: &IfRef) -> Result<u32, KernelError> {
        self.index
            .get(l)
            .copied()
            .ok_or_else(|| KernelError::new(format!("find {l}"), "no such interface"))
    }

    async fn learn_index(&mut self, l: &IfRef) -> Result<u32, KernelError> {
        let c = self.conn(&l.ns)?;
        let link = c
            .link_by_name(&l.name)
            .await?
            .ok_or_else(|| KernelError::new(format!("find {l}"), "not found after creating it"))?;
        self.index.insert(l.clone(), link.index);
        Ok(link.index)
    }

    fn save_state(&self) -> Result<(), KernelError> {
        state_file::save(self.lab, &self.lab_state)
            .map_err(|e| KernelError::new("write lab state", e))
    }

    /// Records, before creating (or deleting) it, the one object that exists
    /// unmarked while it is being made (or unmade).
    fn journal(&mut self, id: Option<&Id>) -> Result<(), KernelError> {
        let pending: BTreeSet<Id> = id.into_iter().cloned().collect();
        if self.lab_state.pending != pending {
            self.lab_state.pending = pending;
            self.save_state()?;
        }
        Ok(())
    }

    /// `Some(None)` for the host, `Some(Some(file))` for an existing node,
    /// `None` when the node's namespace is gone.
    fn ns_file_if_exists(&mut self, ns: &Ns) -> Result<Option<Option<std::fs::File>>, KernelError> {
        match ns {
            Ns::Host => Ok(Some(None)),
            Ns::Node(n) => match self.h.file(n)? {
                Some(f) => {
                    Ok(Some(Some(f.try_clone().map_err(|e| {
                        KernelError::new("duplicate namespace handle", e)
                    })?)))
                }
                None => Ok(None),
            },
        }
    }

    /// A fresh handle on a node's namespace file (`None` for the host);
    /// an error when the namespace does not exist.
    fn ns_file(&mut self, ns: &Ns) -> Result<Option<std::fs::File>, KernelError> {
        self.ns_file_if_exists(ns)?
            .ok_or_else(|| KernelError::new(format!("open namespace {ns}"), "it does not exist"))
    }
}
