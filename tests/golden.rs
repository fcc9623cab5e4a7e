//! Plans from files, without a kernel: each directory under tests/golden/
//! is one case, with the lab (`lab.yaml`), what the kernel holds
//! (`observed.json`, data written by hand or captured once), and the plan
//! as people (`plan.txt`), programs (`plan.json`) and pull requests
//! (`plan.md`) see it. One test per case, so one failure never hides the
//! rest; a case directory without a test fails `every_case_has_a_test`.
//!
//! After a deliberate change of the output: `TOPO_GOLDEN_UPDATE=1 cargo
//! nextest run --test golden`, then read the diff. observed.json is never
//! rewritten.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use topo::cli::{plan_json, plan_markdown, plan_text};
use topo::kinds::{Id, Res, State};
use topo::machine::LabState;
use topo::model::{IfRef, Model, Prior};
use topo::observe::Observed;

/// What the kernel holds, as a case writes it.
#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ObservedDoc {
    /// The objects the lab owns.
    objects: Vec<Object>,
    /// Objects an interrupted run left half-made.
    #[serde(default)]
    interrupted: Vec<Id>,
    /// IPv4 addresses that are secondaries of their subnet.
    #[serde(default)]
    secondary: Vec<Id>,
    /// Interfaces that keep secondaries when the primary goes.
    #[serde(default)]
    promoting: Vec<IfRef>,
    /// The lab's records (host routes, sysctl values from before,
    /// fingerprints of the last apply).
    #[serde(default)]
    records: LabState,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Object {
    id: Id,
    res: Res,
}

fn dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(case)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn model_of(file: &str, text: &str) -> Model {
    let spec = match topo::spec::load_str(file, text) {
        Ok(s) => s,
        Err(e) => panic!("{}", e.report.render(false)),
    };
    match topo::model::build(&spec, &Prior::new()) {
        Ok(v) => v.model,
        Err(d) => panic!("{file}: invalid lab: {d:?}"),
    }
}

fn observed_of(doc: ObservedDoc) -> Observed {
    let mut state = State::new();
    for o in doc.objects {
        state
            .put(o.id, o.res)
            .expect("matching identity and attributes");
    }
    Observed {
        state,
        interrupted: doc.interrupted.into_iter().collect(),
        secondary: doc.secondary.into_iter().collect(),
        promoting: doc.promoting.into_iter().collect(),
        lab_state: doc.records,
        ..Observed::default()
    }
}

/// The plan of a case, checked against (or with TOPO_GOLDEN_UPDATE written
/// to) its three renderings.
fn run(case: &str) {
    let d = dir(case);
    let model = model_of(&format!("{case}/lab.yaml"), &read(&d.join("lab.yaml")));
    let update = std::env::var_os("TOPO_GOLDEN_UPDATE").is_some();
    let before = d.join("before.yaml");
    if update && before.exists() && !d.join("observed.json").exists() {
        let m = model_of(&format!("{case}/before.yaml"), &read(&before));
        let objects = m
            .state
            .entries()
            .into_iter()
            .map(|(id, res)| Object { id, res })
            .collect();
        let doc = ObservedDoc {
            objects,
            ..ObservedDoc::default()
        };
        let text = serde_json::to_string_pretty(&doc).expect("serializes") + "\n";
        std::fs::write(d.join("observed.json"), text).expect("write observed.json");
    }
    let doc: ObservedDoc = serde_json::from_str(&read(&d.join("observed.json")))
        .unwrap_or_else(|e| panic!("{case}/observed.json: {e}"));
    let observed = observed_of(doc);
    let plan = topo::plan::diff(&model.lab, &model.state, &observed).expect("a plan");
    let outputs = [
        ("plan.txt", plan_text(&plan, false)),
        ("plan.json", plan_json(&plan) + "\n"),
        ("plan.md", plan_markdown(&plan)),
    ];
    let mut wrong = Vec::new();
    for (file, got) in outputs {
        let path = d.join(file);
        if update {
            std::fs::write(&path, &got).expect("write golden file");
            continue;
        }
        let want = read(&path);
        if want != got {
            let diff = similar::TextDiff::from_lines(&want, &got)
                .unified_diff()
                .header(&format!("{case}/{file}"), "now")
                .to_string();
            wrong.push(diff);
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

macro_rules! golden {
    ($($case:ident),* $(,)?) => {
        $(#[test] fn $case() { run(stringify!($case)); })*

        #[test]
        fn every_case_has_a_test() {
            let mut dirs: Vec<String> = std::fs::read_dir(dir(""))
                .expect("tests/golden")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            dirs.sort();
            let mut tests = vec![$(stringify!($case).to_string()),*];
            tests.sort();
            assert_eq!(dirs, tests, "each directory of tests/golden needs a line in golden!");
        }
    };
}

golden! {
    create_from_nothing,
    nothing_to_do,
    mtu_change_is_an_update,
    removed_node_is_deleted,
    moved_veth_peer_is_replaced,
    nat_from_nothing,
    nat_drift_is_updated,
    address_change_readds_routes,
    secondary_goes_with_its_primary,
    node_with_a_direct_link_removed,
    veth_rewired_to_another_node,
    interrupted_veth_is_made_again,
    bridge_replaced_ports_move,
    taps_and_vxlans_from_nothing,
    device_edits,
    vxlan_remote_added_is_one_entry,
    services_from_nothing,
    derived_routes_from_nothing,
    pooled_link_added,
    services_dropped,
}
