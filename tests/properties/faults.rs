//! (b) destroy, (c) rollback and (d) the crash journal, on random labs and
//! random edits of them.

use super::lab::{Lab, LAB};
use super::{converge, run, same};
use proptest::prelude::*;
use topo::machine::Machine;

/// Errnos a kernel answers with that say nothing is gone (a fault with
/// ENODEV or ESRCH on a delete would read as success).
pub const ERRNOS: [i32; 6] = [1, 12, 16, 22, 95, 105];

fn edited(first: &Lab, edits: &[super::edit::Edit]) -> Lab {
    let mut second = first.clone();
    for e in edits {
        second.edit(e);
    }
    second
}

/// (b) After applying a lab and an edit of it, destroy leaves the machine
/// exactly as it was before the first apply: namespaces, interfaces,
/// addresses, routes, sysctls, nft tables, records, host-sysctl registry.
pub fn destroy_restores(first: &Lab, edits: &[super::edit::Edit]) -> Result<(), TestCaseError> {
    let m = super::services::machine();
    let before = m.canon();
    converge(&m, &first.render())?;
    converge(&m, &edited(first, edits).render())?;
    run::destroy(&m, LAB).map_err(|e| TestCaseError::fail(format!("destroy: {e}\n{m:?}")))?;
    same(&before, &m.canon())?;
    let p = run::plan(&m, &first.render()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(p.summary().destroy, 0);
    Ok(())
}

/// (c) With the `pick`-th of the edit's kernel writes failing with an
/// errno, apply fails and rollback puts the machine back exactly as it was.
pub fn rollback_restores(
    first: &Lab,
    edits: &[super::edit::Edit],
    pick: u64,
    errno: i32,
) -> Result<(), TestCaseError> {
    let m = super::services::machine();
    converge(&m, &first.render())?;
    let text = edited(first, edits).render();
    // How many writes the edit takes, on a copy of the machine, but for
    // the announcements that end a run (a failed one is only a warning).
    let trial = m.fork();
    let (w, said) = (trial.writes(), trial.announced().len() as u64);
    run::apply(&trial, &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let writes = trial.writes() - w - (trial.announced().len() as u64 - said);
    prop_assume!(writes > 0);
    let before = m.canon();
    m.fail_write(1 + pick % writes, errno);
    match run::apply(&m, &text) {
        Err(topo::Error::Apply { report, .. }) => {
            prop_assert!(
                report.not_undone.is_empty(),
                "rollback left: {:?}",
                report.not_undone
            );
        }
        // A fault in a run of interface deletions sent together: apply
        // tries them one by one, and the retry succeeds. Sound only if the
        // machine ends as the run without a fault left it.
        Ok(_) => return same(&trial.canon(), &m.canon()),
        r => return Err(TestCaseError::fail(format!("not a failed apply: {r:?}"))),
    }
    same(&before, &m.canon())?;
    // And the edit applies after all.
    converge(&m, &text)
}

/// How a run dies in (d).
#[derive(Clone, Copy, Debug)]
pub enum Death {
    /// Between two steps (`Options::stop_after`).
    BetweenSteps,
    /// Inside a step: the write picked fails and nothing is rolled back,
    /// as when the process is killed between creating a device and
    /// marking it (the journal names it).
    InsideAStep,
}

/// (d) A run killed at a random point: the next apply of the same file
/// converges and destroy leaves nothing; or destroy right after the kill
/// leaves nothing.
pub fn crash_recovers(
    first: &Lab,
    edits: &[super::edit::Edit],
    pick: usize,
    death: Death,
    reapply: bool,
) -> Result<(), TestCaseError> {
    let m = super::services::machine();
    let empty = m.canon();
    converge(&m, &first.render())?;
    let text = edited(first, edits).render();
    let l = run::load(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
    if let Death::InsideAStep = death {
        let trial = m.fork();
        let w = trial.writes();
        run::apply(&trial, &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let writes = (trial.writes() - w) as usize;
        prop_assume!(writes > 0);
        m.fail_write(1 + (pick % writes) as u64, 1);
    }
    run::block_on(async {
        let mut s = topo::prepare_on(m.clone(), &l, &|_| {})
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let stop_after = match death {
            Death::BetweenSteps => Some(pick % (s.plan.steps().len() + 1)),
            Death::InsideAStep => None,
        };
        let opts = topo::apply::Options {
            rollback: false,
            verify: true,
            stop_after,
            ..Default::default()
        };
        topo::apply::execute(&s.plan, &s.model, &s.observed, &mut s.machine, opts).await;
        Ok::<(), TestCaseError>(())
    })?;
    if reapply {
        converge(&m, &text)?;
    }
    run::destroy(&m, LAB).map_err(|e| TestCaseError::fail(format!("destroy: {e}\n{m:?}")))?;
    same(&empty, &m.canon())
}
