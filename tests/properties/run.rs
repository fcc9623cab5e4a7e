//! The real pipeline on the in-memory kernel: `prepare_on` (build from
//! YAML text, observe, diff), `apply` with verify, destroy by marks.

use topo::apply::Options;
use topo::machine::memory::MemoryKernel;
use topo::plan::Plan;
use topo::{ApplyReport, Error};

/// Runs a future on a runtime like topo's (one thread, with timers).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
        .block_on(f)
}

pub fn load(text: &str) -> Result<topo::Loaded, Error> {
    topo::load_text("lab.yaml".into(), text.into())
}

/// What `topo plan` would show.
pub fn plan(m: &MemoryKernel, text: &str) -> Result<Plan, Error> {
    let l = load(text)?;
    block_on(async { Ok(topo::prepare_on(m.clone(), &l, &|_| {}).await?.plan) })
}

/// `topo apply` (rollback on, verify on) with `opts` changed by `tweak`.
pub fn apply_with(
    m: &MemoryKernel,
    text: &str,
    tweak: impl FnOnce(&mut Options),
) -> Result<ApplyReport, Error> {
    let l = load(text)?;
    let mut opts = Options {
        rollback: true,
        verify: true,
        stop_after: None,
        ..Default::default()
    };
    tweak(&mut opts);
    block_on(async {
        let s = topo::prepare_on(m.clone(), &l, &|_| {}).await?;
        topo::apply(s, opts).await
    })
}

pub fn apply(m: &MemoryKernel, text: &str) -> Result<ApplyReport, Error> {
    apply_with(m, text, |_| {})
}

/// `topo destroy --lab LAB`: what the lab owns, found by its marks.
pub fn destroy(m: &MemoryKernel, lab: &str) -> Result<ApplyReport, Error> {
    let opts = Options {
        rollback: false,
        verify: true,
        stop_after: None,
        ..Default::default()
    };
    let report = block_on(async {
        let s = topo::prepare_destroy_on(m.clone(), lab, &|_| {}).await?;
        topo::apply(s, opts).await
    })?;
    topo::forget_lab_on(&mut m.clone(), lab);
    Ok(report)
}
