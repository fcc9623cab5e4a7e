//! Property tests on the in-memory kernel, through the real pipeline:
//! labs written as YAML text (so parsing and validation run too), built,
//! observed, planned, applied with verify, edited, rolled back, killed
//! half-way and destroyed.

mod devices;
mod edit;
mod faults;
mod lab;
mod run;
mod services;
mod verify;
mod watch;

use lab::LAB;
use proptest::prelude::*;
use topo::machine::memory::MemoryKernel;

/// `cases` per property; PROPTEST_CASES overrides it (a longer search).
fn config(cases: u32) -> ProptestConfig {
    let env = std::env::var("PROPTEST_CASES").ok();
    ProptestConfig {
        cases: env.and_then(|v| v.parse().ok()).unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Applies `text`, which must succeed, and checks the plan is then empty.
pub fn converge(m: &MemoryKernel, text: &str) -> Result<(), TestCaseError> {
    if let Err(e) = run::apply(m, text) {
        let left = match &e {
            topo::Error::Verify { left, .. } => format!("{:#?}", left.actions),
            _ => String::new(),
        };
        return Err(TestCaseError::fail(format!(
            "apply failed: {e}\n{left}\n--- lab\n{text}--- kernel\n{m:?}"
        )));
    }
    let p = run::plan(m, text).map_err(|e| TestCaseError::fail(format!("plan: {e}")))?;
    prop_assert!(
        p.is_empty(),
        "plan after apply is not empty: {:#?}\n--- lab\n{text}--- kernel\n{m:?}",
        p.actions
    );
    Ok(())
}

pub fn same(before: &str, after: &str) -> Result<(), TestCaseError> {
    if before != after {
        let diff = similar::TextDiff::from_lines(before, after);
        return Err(TestCaseError::fail(format!(
            "the kernel differs:\n{}",
            diff.unified_diff()
        )));
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]
    /// Every lab the generator makes is valid.
    #[test]
    fn generated_labs_are_valid(l in edit::lab(0..14)) {
        let text = l.render();
        let loaded = run::load(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        if let Err(e) = topo::validate(&loaded, &Default::default()) {
            let msg = match &e {
                topo::Error::Invalid(r) => r.render(false),
                e => e.to_string(),
            };
            return Err(TestCaseError::fail(format!("{msg}\n{text}")));
        }
    }
}

#[test]
fn example_lab_applies_replans_empty_and_destroys() {
    let text = std::fs::read_to_string("topologies/example.yaml").unwrap();
    let m = MemoryKernel::new();
    let before = m.canon();
    converge(&m, &text).unwrap();
    run::destroy(&m, "example").unwrap();
    same(&before, &m.canon()).unwrap();
}

proptest! {
    #![proptest_config(config(128))]
    /// (a) For random labs and random edits of them, apply converges:
    /// the plan after it is empty, before and after the edit.
    #[test]
    fn apply_then_plan_is_empty(first in edit::lab(2..16), edits in prop::collection::vec(edit::edit(), 1..8)) {
        let m = services::machine();
        converge(&m, &first.render())?;
        let mut second = first.clone();
        for e in &edits {
            second.edit(e);
        }
        converge(&m, &second.render())?;
    }
}

proptest! {
    #![proptest_config(config(128))]
    /// (a') Verifying an edit reads the host and the nodes the plan
    /// changed, and that is enough.
    #[test]
    fn verify_reads_what_the_plan_changed(first in edit::lab(2..16), edits in prop::collection::vec(edit::edit(), 1..8)) {
        let m = services::machine();
        converge(&m, &first.render())?;
        let mut second = first.clone();
        for e in &edits {
            second.edit(e);
        }
        verify::reads_what_changed(&m, &second)?;
    }
}

proptest! {
    #![proptest_config(config(64))]
    #[test]
    fn destroy_leaves_the_machine_as_it_was(first in edit::lab(2..16), edits in prop::collection::vec(edit::edit(), 1..8)) {
        faults::destroy_restores(&first, &edits)?;
    }

    #[test]
    fn a_failed_write_is_rolled_back_exactly(
        first in edit::lab(2..16),
        edits in prop::collection::vec(edit::edit(), 1..8),
        pick in any::<u64>(),
        errno in prop::sample::select(faults::ERRNOS.to_vec()),
    ) {
        faults::rollback_restores(&first, &edits, pick, errno)?;
    }

    #[test]
    fn a_killed_run_is_recovered(
        first in edit::lab(2..16),
        edits in prop::collection::vec(edit::edit(), 1..8),
        pick in any::<usize>(),
        inside in any::<bool>(),
        reapply in any::<bool>(),
    ) {
        let death = if inside { faults::Death::InsideAStep } else { faults::Death::BetweenSteps };
        faults::crash_recovers(&first, &edits, pick, death, reapply)?;
    }
}

proptest! {
    #![proptest_config(config(48))]
    /// (e) `topo watch`: drift made by hand wakes it, one repair puts the
    /// lab back, and the repair's own changes wake it to find nothing to do.
    #[test]
    fn watch_repairs_drift_in_one_go(l in edit::lab(2..12), what in any::<u8>(), pick in any::<usize>()) {
        watch::repairs_drift_once(&l, what, pick)?;
    }
}

/// A lab of one node on a host bridge.
fn one_node(node: &str) -> String {
    format!(
        "name: {LAB}\nbridges: {{ br0: {{ addresses: [10.1.0.1/24] }} }}\nnodes: {{ {node}: {{ interfaces: {{ eth0: {{ addresses: [10.1.0.2/24] }} }} }} }}\nlinks: [ {{ endpoints: [\"{node}:eth0\", br0] }} ]\n"
    )
}

/// The kernel removes a deleted namespace's veth ends a little later:
/// apply waits for them (settle) before verify and before a name is used
/// again.
#[test]
fn lingering_veth_ends_are_waited_for() {
    let m = MemoryKernel::new();
    m.set_teardown_delay(Some(std::time::Duration::from_millis(30)));
    let empty = m.canon();
    converge(&m, &one_node("a")).unwrap();
    // Renamed: a's host end a-eth0 lingers while verify reads.
    converge(&m, &one_node("b")).unwrap();
    run::destroy(&m, LAB).unwrap();
    same(&empty, &m.canon()).unwrap();
    // Destroyed and made again at once: the old b-eth0 holds the name.
    converge(&m, &one_node("b")).unwrap();
    converge(&m, &one_node("a")).unwrap();
    converge(&m, &one_node("b")).unwrap();
}

/// A renamed node's address sits behind another MAC now: apply tells the
/// segment (a gratuitous ARP).
#[test]
fn a_renamed_nodes_address_is_announced() {
    let m = MemoryKernel::new();
    converge(&m, &one_node("a")).unwrap();
    assert!(
        m.announced().is_empty(),
        "a new address has no stale neighbours"
    );
    converge(&m, &one_node("b")).unwrap();
    let said: Vec<_> = m
        .announced()
        .into_iter()
        .map(|(l, _, a)| (l.to_string(), a))
        .collect();
    assert_eq!(
        said,
        vec![("b:eth0".to_string(), vec!["10.1.0.2".parse().unwrap()])]
    );
}

/// The machine's own interface already routes the lab's subnet in the
/// host: the plan is refused, and nothing changes.
#[test]
fn a_subnet_the_machine_routes_elsewhere_is_refused() {
    let m = MemoryKernel::new();
    let eth0 = ["10.1.0.5/24".parse().unwrap()];
    m.add_machine_link(&topo::model::Ns::Host, "eth0", &eth0)
        .unwrap();
    let before = m.canon();
    match run::apply(&m, &one_node("a")) {
        Err(topo::Error::Plan(e)) => assert!(e.to_string().contains("eth0"), "{e}"),
        r => panic!("not refused: {r:?}"),
    }
    same(&before, &m.canon()).unwrap();
}
