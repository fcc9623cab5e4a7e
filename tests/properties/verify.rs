//! What apply reads again to verify an edit: the host and the nodes its
//! plan changed, so a small edit of a big lab costs in proportion; and
//! that is enough, as the full plan after it finds nothing.

use super::lab::Lab;
use super::run;
use proptest::prelude::*;
use std::collections::BTreeSet;
use topo::machine::memory::MemoryKernel;
use topo::model::Ns;

pub fn reads_what_changed(m: &MemoryKernel, second: &Lab) -> Result<(), TestCaseError> {
    let text = second.render();
    let before = m.reads().len();
    let report = run::apply(m, &text).map_err(|e| TestCaseError::fail(format!("apply: {e}")))?;
    let reads = m.reads();
    if report.plan.is_empty() {
        prop_assert!(reads.len() > before, "a plan reads the kernel");
        return Ok(());
    }
    // Planning reads (twice where live addresses move an allocation);
    // verifying is the last read.
    prop_assert!(reads.len() >= before + 2, "apply verified without reading");
    let verified: BTreeSet<Ns> = reads[reads.len() - 1].iter().cloned().collect();
    let mut changed: BTreeSet<Ns> = report
        .plan
        .actions
        .iter()
        .flat_map(|a| a.target.reaches())
        .collect();
    changed.insert(Ns::Host);
    let nodes: BTreeSet<Ns> = second.nodes.keys().map(|n| Ns::node(n)).collect();
    let touched = changed.iter().filter(|ns| nodes.contains(ns)).count();
    if touched < nodes.len() {
        let wanted: BTreeSet<Ns> = changed
            .iter()
            .filter(|ns| **ns == Ns::Host || nodes.contains(ns))
            .cloned()
            .collect();
        prop_assert_eq!(
            &verified,
            &wanted,
            "verify read other namespaces than the plan changed: {:#?}",
            report
                .plan
                .actions
                .iter()
                .map(|a| (a.op, a.id()))
                .collect::<Vec<_>>()
        );
    } else {
        prop_assert!(
            nodes.is_subset(&verified),
            "a plan touching every node verifies them all"
        );
    }
    let p = run::plan(m, &text).map_err(|e| TestCaseError::fail(format!("plan: {e}")))?;
    prop_assert!(
        p.is_empty(),
        "verify passed but the plan after it is not empty: {:#?}\n--- lab\n{text}",
        p.actions
    );
    Ok(())
}
