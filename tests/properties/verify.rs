//! What apply reads again to verify an edit: the host and the nodes its
//! plan changed, so a small edit of a big lab costs in proportion; and
//! that is enough, as the full plan after it finds nothing.

use super::lab::Lab;
use super::run;
use proptest::prelude::*;
use std::collections::BTreeSet;
use topo::machine::memory::MemoryKernel;
use topo::machine::Machine;
use topo::model::Ns;

pub fn reads_what_changed(m: &MemoryKernel, second: &Lab) -> Result<(), TestCaseError> {
    // A namespace of nobody's: planning looks at it, verifying never.
    let mut other = m.clone();
    if !other.has_namespace("elsewhere").expect("namespaces") {
        other.create_namespace("elsewhere").expect("namespace");
    }
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
    // Every node touched: all the file's nodes are read, and nothing else.
    let wanted: BTreeSet<Ns> = if touched < nodes.len() {
        changed
            .iter()
            .filter(|ns| **ns == Ns::Host || nodes.contains(ns))
            .cloned()
            .collect()
    } else {
        nodes.iter().cloned().chain([Ns::Host]).collect()
    };
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
    let planned: BTreeSet<Ns> = reads[before].iter().cloned().collect();
    prop_assert!(
        planned.contains(&Ns::node("elsewhere")),
        "planning looks at every namespace for the lab's mark"
    );
    let p = run::plan(m, &text).map_err(|e| TestCaseError::fail(format!("plan: {e}")))?;
    prop_assert!(
        p.is_empty(),
        "verify passed but the plan after it is not empty: {:#?}\n--- lab\n{text}",
        p.actions
    );
    Ok(())
}
