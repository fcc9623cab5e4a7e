//! topo: a declarative network topology reconciler for Linux.
//!
//! The pipeline, one folder per stage:
//! spec (parse) → model (validate, resolve) → graph (order) → observe (read
//! the machine) → plan (diff) → apply (execute, verify). `kinds` holds each
//! kind of object in a file of its own; `machine` is the only code with
//! side effects. This file is the library's face: the verbs.

pub mod apply;
pub mod cli;
pub mod diag;
mod error;
pub mod graph;
mod input;
pub mod kinds;
mod labs;
pub mod machine;
pub mod model;
pub mod observe;
pub mod plan;
pub mod probe;
pub mod remote;
pub mod spec;
pub mod watch;

pub use error::Error;
pub use input::{load, load_input, load_text, read_input, Input, STDIN_ARG, STDIN_NAME};
pub use labs::{is_absent, labs_here, observe_lab, Notify};

use labs::lock;

use diag::{Diagnostic, Report};
use machine::local::LocalKernel;
use machine::Machine;
use model::{Model, Prior, Validated};
use observe::Observed;
use plan::{Plan, PlanError};

/// A lab file read and parsed.
#[derive(Clone)]
pub struct Loaded {
    pub file: String,
    pub text: String,
    pub spec: spec::LabSpec,
}

/// Checks everything that needs no kernel.
pub fn validate(l: &Loaded, prior: &Prior) -> Result<Validated, Error> {
    let v = validate_unordered(l, prior)?;
    // An order must exist before anything runs: a cycle is a file error.
    if let Err(graph::Cycle(ids)) = graph::check_order(&v.model.state) {
        return Err(cycle_error(l, &v.model, &ids));
    }
    Ok(v)
}

/// `validate` but for the order, which a plan makes when it has something
/// to do (and reports a cycle as `validate` does); a plan with nothing to
/// do needs none, and the check was a third of validating a big lab.
fn validate_unordered(l: &Loaded, prior: &Prior) -> Result<Validated, Error> {
    if l.spec.share.is_none() && !l.spec.hosts.is_empty() {
        return Err(input::host_unsaid(&l.spec));
    }
    model::build(&l.spec, prior).map_err(|diagnostics| Error::Invalid(l.report(diagnostics)))
}

fn cycle_error(l: &Loaded, model: &Model, ids: &[kinds::Id]) -> Error {
    let pos = ids
        .iter()
        .find_map(|id| model.origins.get(id))
        .copied()
        .unwrap_or_default();
    let names: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let d = Diagnostic::error(
        pos,
        format!(
            "these objects depend on each other in a circle: {}",
            names.join(" → ")
        ),
    )
    .help("break the circle: an interface cannot be enslaved to a bridge that depends on it");
    Error::Invalid(l.report(vec![d]))
}

impl Loaded {
    pub fn report(&self, diagnostics: Vec<Diagnostic>) -> Report {
        Report {
            file: self.file.clone(),
            source: self.text.clone(),
            diagnostics,
        }
    }
}

/// A lab's observed state and the plan to converge it, with the lab locked,
/// on a machine (the local kernel unless said otherwise).
pub struct Session<M: Machine = LocalKernel> {
    pub model: Model,
    pub observed: Observed,
    pub plan: Plan,
    pub machine: M,
    /// Findings that do not stop the run.
    pub warnings: Vec<Diagnostic>,
    _lock: M::Lock,
}

/// Fails at once, with the reason, when the process cannot change networking.
pub fn check_privileges(m: &impl Machine) -> Result<(), Error> {
    match m.missing_privileges() {
        None => Ok(()),
        Some(missing) => Err(Error::Privileges(format!(
            "topo needs {missing} to read and change network namespaces; run it as root (sudo topo ...). `topo validate` works without"
        ))),
    }
}

/// Locks the lab, observes the kernel and diffs it against the file.
pub async fn prepare(l: &Loaded, notify: Notify<'_>) -> Result<Session, Error> {
    prepare_on(LocalKernel::new(), l, notify).await
}

/// `prepare` on machine `m`.
pub async fn prepare_on<M: Machine>(
    mut m: M,
    l: &Loaded,
    notify: Notify<'_>,
) -> Result<Session<M>, Error> {
    check_privileges(&m)?;
    let t = std::time::Instant::now();
    let Validated {
        model: first,
        warnings,
    } = validate_unordered(l, &Prior::new())?;
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "validated");
    let lock = lock(&mut m, &first.lab, notify)?;
    let mut observed = observe::observe(&first.lab, Some(&first), &mut m).await?;
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "observed");
    // Allocation keeps the addresses members already have: build again only
    // when the live addresses differ from a fresh allocation. What the
    // observation checks against the file (clashes with objects that are
    // not the lab's, where a derived route now goes) follows the model it
    // was made for: when the model changed, observe again with it.
    let model = if model::ipam::allocation_holds(&first, &observed.prior) {
        first
    } else {
        let model = validate_unordered(l, &observed.prior)?.model;
        if model.state != first.state {
            observed = observe::observe(&model.lab, Some(&model), &mut m).await?;
        }
        model
    };
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        "validated with live addresses"
    );
    let plan =
        plan::diff(&model.lab, &model.state, &observed).map_err(|e| at_file(l, &model, e))?;
    tracing::debug!(
        ms = t.elapsed().as_millis() as u64,
        actions = plan.actions.len(),
        "planned"
    );
    Ok(Session {
        model,
        observed,
        plan,
        machine: m,
        warnings,
        _lock: lock,
    })
}

/// What the machine refuses, as errors at the objects' places in the file.
fn at_file(l: &Loaded, model: &Model, e: PlanError) -> Error {
    let items = match e {
        PlanError::Refused(items) => items,
        PlanError::Cycle(graph::Cycle(ids)) => return cycle_error(l, model, &ids),
        e => return Error::Plan(e),
    };
    let diags = items
        .into_iter()
        .map(|r| {
            let pos = model.origins.get(&r.id).copied().unwrap_or_default();
            Diagnostic::error(pos, r.message).help(r.help)
        })
        .collect();
    Error::Invalid(l.report(diags))
}

/// What an apply or destroy did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ApplyReport {
    pub plan: Plan,
    /// Indexes into `plan.actions`.
    pub done: Vec<usize>,
    pub failed: Option<usize>,
    /// Kernel write requests sent (netlink, namespace, sysctl, nft).
    pub writes: u64,
    /// After a failure: steps undone by rollback, newest first.
    pub undone: Vec<String>,
    /// After a failure: steps rollback could not undo, and why.
    pub not_undone: Vec<(String, String)>,
    /// Interfaces that carried no traffic yet when apply stopped waiting.
    pub not_ready: Vec<String>,
}

/// Executes the session's plan; apply then checks the kernel matches the
/// file (a difference left is a failure, rolled back like any other).
pub async fn apply<M: Machine>(
    mut s: Session<M>,
    opts: apply::Options,
) -> Result<ApplyReport, Error> {
    let before = s.machine.writes();
    s.model.forget_sources();
    let out = apply::execute(&s.plan, &s.model, &s.observed, &mut s.machine, opts).await;
    let report = ApplyReport {
        plan: s.plan.clone(),
        done: out.done,
        failed: out.failed.as_ref().map(|(i, _)| *i),
        writes: s.machine.writes() - before,
        undone: out.undone,
        not_undone: out.not_undone,
        not_ready: out.not_ready.iter().map(ToString::to_string).collect(),
    };
    if let Some(signal) = out.interrupted {
        return Err(Error::Interrupted {
            signal,
            report: Box::new(report),
        });
    }
    if let Some((i, error)) = out.failed {
        let failed = s
            .plan
            .actions
            .get(i)
            .map_or_else(|| "settle".to_string(), |a| a.id().to_string());
        return Err(Error::Apply {
            failed,
            error,
            report: Box::new(report),
        });
    }
    if out.withdrawn {
        return Err(Error::Withdrawn {
            report: Box::new(report),
        });
    }
    if let Some(left) = out.left {
        return Err(Error::Verify {
            left,
            report: Box::new(report),
        });
    }
    remember_applied(&s.model, &mut s.machine)?;
    Ok(report)
}

/// The plan that removes everything `lab` owns, found by its marks in the
/// kernel (so an edited or lost file does not matter).
pub async fn prepare_destroy(lab: &str, notify: Notify<'_>) -> Result<Session, Error> {
    prepare_destroy_on(LocalKernel::new(), lab, notify).await
}

/// `prepare_destroy` on machine `m`.
pub async fn prepare_destroy_on<M: Machine>(
    mut m: M,
    lab: &str,
    notify: Notify<'_>,
) -> Result<Session<M>, Error> {
    check_privileges(&m)?;
    let lock = lock(&mut m, lab, notify)?;
    let observed = observe::observe(lab, None, &mut m).await?;
    let empty = model::State::new();
    let plan = plan::diff(lab, &empty, &observed)?;
    let model = bare_model(lab, false, Default::default(), empty);
    let warnings = Vec::new();
    Ok(Session {
        model,
        observed,
        plan,
        machine: m,
        warnings,
        _lock: lock,
    })
}

/// The lab name a file declares, checked.
pub fn lab_name_of(l: &Loaded) -> Result<String, Error> {
    let name = &l.spec.name;
    match model::names::lab_name_problem(&name.value) {
        None => Ok(name.value.clone()),
        Some(p) => Err(Error::Invalid(
            l.report(vec![Diagnostic::error(diag::Pos::of(name), p)]),
        )),
    }
}

/// After a verified destroy nothing of the lab is left to track: removes its
/// state file and run folder (a killed earlier run may have left records).
pub fn forget_lab(lab: &str) {
    forget_lab_on(&mut LocalKernel::new(), lab);
}

/// `forget_lab` on machine `m`.
pub fn forget_lab_on(m: &mut impl Machine, lab: &str) {
    let _ = m.save_state(lab, &Default::default());
}

/// A model known only by its resources (destroy, saved plans): no file
/// positions, no allocation to keep.
fn bare_model(
    lab: &str,
    ipv6: bool,
    nodes: std::collections::BTreeSet<String>,
    state: model::State,
) -> Model {
    Model {
        lab: lab.to_string(),
        ipv6,
        dad: false,
        nodes,
        state,
        origins: Default::default(),
        allocated: Default::default(),
        address_from: Default::default(),
    }
}

/// The session's plan as a saved plan document.
pub fn save_plan<M: Machine>(s: &Session<M>, file: &str) -> plan::saved::SavedPlan {
    plan::saved::SavedPlan::new(
        file,
        s.model.ipv6,
        s.model.nodes.iter().cloned().collect(),
        &s.model.state,
        &s.plan,
    )
}

/// Locks the lab and checks that a saved plan still applies: every object
/// it touches must be as the plan observed it. Changes nothing.
pub async fn prepare_saved(
    saved: &plan::saved::SavedPlan,
    notify: Notify<'_>,
) -> Result<Session, Error> {
    prepare_saved_on(LocalKernel::new(), saved, notify).await
}

/// `prepare_saved` on machine `m`.
pub async fn prepare_saved_on<M: Machine>(
    mut m: M,
    saved: &plan::saved::SavedPlan,
    notify: Notify<'_>,
) -> Result<Session<M>, Error> {
    check_privileges(&m)?;
    let lab = saved.plan.lab.clone();
    let lock = lock(&mut m, &lab, notify)?;
    let desired = saved.desired_state().map_err(|e| Error::Read {
        path: saved.file.clone(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not a saved plan: {e}"),
        ),
    })?;
    let model = bare_model(
        &lab,
        saved.ipv6,
        saved.nodes.iter().cloned().collect(),
        desired,
    );
    let observed = observe::observe(&lab, Some(&model), &mut m).await?;
    let stale = saved.stale(&observed);
    if !stale.is_empty() {
        return Err(Error::Stale(stale));
    }
    Ok(Session {
        model,
        observed,
        plan: saved.plan.clone(),
        machine: m,
        warnings: Vec::new(),
        _lock: lock,
    })
}

/// Records what the file wanted, per namespace, after a verified apply.
fn remember_applied(model: &Model, m: &mut impl Machine) -> Result<(), Error> {
    let mut st = m.load_state(&model.lab)?;
    let applied = model::digests(&model.state);
    if st.applied != applied {
        st.applied = applied;
        m.save_state(&model.lab, &st)?;
    }
    Ok(())
}
