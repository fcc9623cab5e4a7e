//! Executes a plan on a machine, step by step (`Plan::steps`), each step
//! carried out by its object's kind, then checks the result: the kernel
//! must match the file (verify), every link must carry traffic, and
//! neighbours learn of moved addresses.

mod batch;
mod nft;
mod ready;
mod rollback;
mod settle;

use crate::kinds::{Id, Journal, Kind, State, Versions};
use crate::machine::{KernelError, LabState, Machine, NewLink};
use crate::model::{owner_mark, IfRef, Model, Ns};
use crate::observe::Observed;
use crate::plan::{Half, Op, Plan};
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
    /// Applied and verified, then rolled back because `hold` said so.
    pub withdrawn: bool,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.failed.is_none()
            && self.left.is_none()
            && self.interrupted.is_none()
            && !self.withdrawn
    }
}

/// How to run a plan.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// On failure, put back what this run changed.
    pub rollback: bool,
    /// Observe again afterwards: the kernel must match the file.
    pub verify: bool,
    /// For tests: stop after this many steps as if killed (journal kept).
    pub stop_after: Option<usize>,
    /// Once applied and verified: whether to keep the result (false rolls
    /// it back). Across hosts, the coordinator's word (`remote::hold`).
    pub hold: Option<fn() -> bool>,
}

/// For each step, the namespaces whose last step it is (kept by step: a
/// scan of every namespace at each step cost O(namespaces × steps)).
fn last_use(plan: &Plan, steps: &[crate::plan::Step]) -> BTreeMap<usize, Vec<Ns>> {
    let mut last = BTreeMap::new();
    for (i, s) in steps.iter().enumerate() {
        let a = &plan.actions[s.action];
        last.insert(a.id().ns(), i);
        for r in [a.before(), a.after()].into_iter().flatten() {
            if let crate::kinds::Res::Veth(v) = r {
                last.insert(v.peer.ns.clone(), i);
            }
        }
    }
    let mut by_step: BTreeMap<usize, Vec<Ns>> = BTreeMap::new();
    for (ns, i) in last {
        by_step.entry(i).or_default().push(ns);
    }
    by_step
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
pub async fn execute<M: Machine>(
    plan: &Plan,
    model: &Model,
    obs: &Observed,
    m: &mut M,
    opts: Options,
) -> Outcome {
    let mut x = Exec {
        m,
        lab: &plan.lab,
        model,
        target: Cow::Borrowed(&model.state),
        live: Cow::Borrowed(&obs.state),
        lab_state: obs.lab_state.clone(),
        lingering: obs.lingering.clone(),
        nft_synced: BTreeSet::new(),
        // Without rollback nothing puts a table back: no snapshot (an nft
        // process, and its memory, at every destroy).
        nft_snapshots: opts.rollback.then(Vec::new),
        nft_absent: obs.nft_absent.clone(),
    };
    let fault_at = test_hook("TOPO_TEST_FAULT_AT");
    let kill_after = test_hook("TOPO_TEST_KILL_AFTER");
    let skip_at = test_hook("TOPO_TEST_SKIP_AT");
    // A SIGINT to itself before step N: a signal at a known point, where
    // one from outside would race a run that has become fast.
    let signal_at = test_hook("TOPO_TEST_SIGNAL_AT");
    // As many signals at once (`timeout` delivers its signal twice).
    let signals = test_hook("TOPO_TEST_SIGNALS").unwrap_or(1);
    let mut out = Outcome::default();
    let steps = plan.steps();
    let last_use = last_use(plan, &steps);
    let hooks = [fault_at, kill_after, skip_at, signal_at, opts.stop_after];
    let mut unbatched = 0;
    let mut announced = false;
    let mut meanwhile = false;
    let mut i = 0;
    while i < steps.len() {
        let step = &steps[i];
        if !announced {
            let names = batch::namespaces_made(plan, &steps[i..]);
            if !names.is_empty() {
                announced = true;
                x.m.expect_namespaces(names);
            }
        }
        if signal_at == Some(i) {
            for _ in 0..signals {
                // SAFETY: raise only sends this process a signal it handles.
                unsafe { libc::raise(libc::SIGINT) };
            }
        }
        if let Some(sig) = x.m.interrupted() {
            out.interrupted = Some(sig);
            break;
        }
        if kill_after == Some(i) {
            x.m.crash();
        }
        if opts.stop_after == Some(i) {
            return out;
        }
        let ends = batch::veths_into(plan, &steps, i, &x.live, &hooks);
        if !ends.is_empty() {
            tracing::debug!(
                interfaces = ends.len(),
                "deleting veths into deleted namespaces together"
            );
            // While the namespaces go: the kernel mostly waits there.
            x.m.delete_links_meanwhile(&Ns::Host, &ends).await;
            meanwhile = true;
        } else if meanwhile && !batch::deletes_namespace(plan, step) {
            x.m.finish_meanwhile();
            meanwhile = false;
        }
        if let Some((ns, links)) = batch::links(plan, &steps, i, &hooks).filter(|_| i >= unbatched)
        {
            let n = links.len();
            tracing::debug!(%ns, interfaces = n, "deleting together");
            if x.m.delete_links(&ns, &links).await.is_ok() {
                for (j, s) in steps.iter().enumerate().skip(i).take(n) {
                    out.done.push(s.action);
                    for ns in last_use.get(&j).into_iter().flatten() {
                        x.m.release(ns);
                    }
                }
                i += n;
                continue;
            }
            // One by one, so the failure names its object.
            unbatched = i + n;
        }
        let a = &plan.actions[step.action];
        tracing::debug!(action = %a.id(), op = ?a.op, half = ?step.half, "executing");
        let result = if fault_at == Some(i) {
            Err(KernelError::new(
                a.id().to_string(),
                "injected fault (TOPO_TEST_FAULT_AT)",
            ))
        } else if skip_at == Some(i) {
            // Stands for kernel behaviour topo does not model: the step
            // "succeeds" without effect, and only verify can notice.
            Ok(())
        } else {
            x.step(a, step.half).await
        };
        match result {
            Ok(()) => {
                if step.half == Half::Make || a.op == Op::Delete {
                    out.done.push(step.action);
                }
                // Steps keep each node's actions together: once its last
                // one is done, the machine can let go of it.
                for ns in last_use.get(&i).into_iter().flatten() {
                    x.m.release(ns);
                }
            }
            Err(e) => {
                out.failed = Some((step.action, e));
                break;
            }
        }
        i += 1;
    }
    x.m.finish_meanwhile();
    if let Err(e) = x.m.writes_done() {
        out.failed.get_or_insert((plan.actions.len(), e));
    }
    if let Err(e) = x.settle().await {
        out.failed.get_or_insert((plan.actions.len(), e));
    }
    // What completed carries its mark; a failed creation stays journaled.
    let failed_creating = out.failed.as_ref().is_some_and(|(i, _)| {
        plan.actions
            .get(*i)
            .is_some_and(|a| x.lab_state.pending.contains(&a.id()))
    });
    if !failed_creating {
        if let Err(e) = x.journal(None) {
            out.failed.get_or_insert((plan.actions.len(), e));
        }
    }
    if out.succeeded() && opts.verify && !plan.is_empty() {
        x.check(plan, &mut out).await;
    }
    // A signal after the last step (during the waits and the check) still
    // stops the run: rolled back, and reported, never an exit 0.
    if out.interrupted.is_none() {
        out.interrupted = x.m.interrupted();
    }
    if let Some(keep) = opts.hold.filter(|_| out.succeeded()) {
        out.withdrawn = !keep();
    }
    if !out.succeeded() && opts.rollback {
        x.roll_back(obs, &mut out).await;
    }
    out
}

/// One run on a machine: what the kinds carry out their steps with.
pub struct Exec<'a, M: Machine> {
    pub m: &'a mut M,
    pub lab: &'a str,
    pub model: &'a Model,
    /// The state being made: the file's, or in a rollback the one before.
    pub target: Cow<'a, State>,
    /// What the kernel held before the steps now running.
    pub live: Cow<'a, State>,
    pub lab_state: LabState,
    /// Ends of veths whose other end was in a namespace this run deleted:
    /// the kernel removes them a little later.
    lingering: BTreeSet<IfRef>,
    /// Namespaces whose nft table already matches the file in this run.
    nft_synced: BTreeSet<Ns>,
    /// nft tables as they were before this run replaced them, for a
    /// rollback; `None` when the run will not roll back.
    nft_snapshots: Option<Vec<(Ns, Option<String>)>>,
    /// Where observe found no table of the lab's: its snapshot is `None`
    /// without asking nft again (the lab's lock keeps other runs out).
    nft_absent: BTreeSet<Ns>,
}

/// One half of an action on an object of kind `K`.
pub async fn run_one<K: Kind, M: Machine>(
    v: &Versions<K>,
    half: Half,
    op: Op,
    x: &mut Exec<'_, M>,
) -> Result<(), KernelError> {
    match (half, &v.after) {
        (Half::Remove, _) => K::delete(&v.id, v.before.as_ref(), x).await,
        (Half::Make, Some(after)) => match (op, &v.before) {
            (Op::Update, Some(before)) => K::update(&v.id, after, before, x).await,
            _ => K::create(&v.id, after, x).await,
        },
        (Half::Make, None) => Err(KernelError::new(
            K::label(&v.id),
            "the plan gives this object no target state",
        )),
    }
}

impl<M: Machine> Exec<'_, M> {
    async fn step(&mut self, a: &crate::plan::Action, half: Half) -> Result<(), KernelError> {
        let id = a.id();
        // Journal the one object that exists unmarked while it is being
        // made (or, for a namespace, unmade), so a killed run can reclaim it.
        let making = half == Half::Make && a.op != Op::Update;
        let journal = match id.journal() {
            Journal::Never => false,
            Journal::Making => making,
            Journal::Always => true,
        };
        if journal {
            self.journal(Some(&id))?;
        }
        a.target.run(half, a.op, self).await
    }

    /// `topo:LAB`, the mark of what the lab owns.
    pub fn mark(&self) -> String {
        owner_mark(self.lab)
    }

    /// What a new interface `l` gets at creation: the MAC the state being
    /// made gives it, and its mark.
    pub fn new_link(&self, l: &IfRef, alias: String) -> NewLink {
        let id = crate::kinds::LinkId { link: l.clone() };
        NewLink {
            mac: self.target.link.get(&id).and_then(|k| k.mac).map(|m| m.0),
            alias,
        }
    }

    pub fn save_state(&mut self) -> Result<(), KernelError> {
        self.m.save_state(self.lab, &self.lab_state)
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

    /// A namespace made afresh starts with the kernel's sysctls: forget
    /// what the lab recorded for the old one.
    pub fn forget_sysctls(&mut self, node: &str) -> Result<(), KernelError> {
        let ns = Ns::Node(node.into());
        if self.lab_state.recorded().any(|(n, _)| n == ns) {
            self.lab_state.forget_namespace(&ns);
            self.save_state()?;
        }
        Ok(())
    }
}
