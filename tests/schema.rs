//! The JSON Schemas in schemas/: the lab file's (generated from the spec
//! types) must be current and accept every bundled lab; the plan document's
//! (written by hand) must accept what `topo plan --json` prints. The apply
//! result's schema is checked in tests/apply_schema.rs.

use crate::common;

use common::Sandbox;
use serde_json::Value;

const REGENERATE: &str = "cargo run -q -- schema > schemas/topo.schema.json";

fn root(rel: &str) -> String {
    format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

fn json(rel: &str) -> Value {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"))
}

/// A validator for a schema that must itself be a valid JSON Schema.
fn validator(rel: &str) -> jsonschema::Validator {
    let schema = json(rel);
    if let Err(e) = jsonschema::meta::validate(&schema) {
        panic!(
            "{rel} is not a valid JSON Schema: {e} at {}",
            e.instance_path()
        );
    }
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every violation of `v` by `doc`, one per line; empty when valid.
fn violations(v: &jsonschema::Validator, doc: &Value) -> String {
    v.iter_errors(doc)
        .map(|e| format!("  {} at {}\n", e, e.instance_path()))
        .collect()
}

fn lab_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(root("topologies"))
        .expect("topologies/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .map(|n| format!("topologies/{n}"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
}

#[test]
fn committed_lab_schema_is_current() {
    let committed = std::fs::read_to_string(root("schemas/topo.schema.json")).unwrap_or_default();
    let generated = topo::spec::json_schema();
    assert!(
        committed == generated,
        "schemas/topo.schema.json differs from the schema of the spec types (src/spec); regenerate it with\n    {REGENERATE}\nand commit the result"
    );
}

#[test]
fn every_bundled_lab_is_valid_against_the_lab_schema() {
    let v = validator("schemas/topo.schema.json");
    for file in lab_files() {
        let doc: Value =
            serde_saphyr::from_str(&read(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let bad = violations(&v, &doc);
        assert!(
            bad.is_empty(),
            "{file} does not match schemas/topo.schema.json:\n{bad}"
        );
        // And topo itself accepts it.
        let l = topo::load(&root(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        // A lab across machines is valid when every host's share is.
        for (host, share) in l.shares().unwrap_or_else(|e| panic!("{file}: {e}")) {
            assert!(
                topo::validate(&share, &Default::default()).is_ok(),
                "{file} does not validate (host {host:?})"
            );
        }
    }
}

#[test]
fn lab_schema_rejects_what_topo_rejects() {
    let v = validator("schemas/topo.schema.json");
    for (why, yaml) in [
        ("unknown field", "name: x\nnodez: {}\n"),
        ("name is required", "nodes: {}\n"),
        (
            "unknown interface field",
            "name: x\nnodes:\n  a:\n    interfaces:\n      eth0: { adresses: [10.0.0.1/24] }\n",
        ),
    ] {
        let doc: Value = serde_saphyr::from_str(yaml).expect("yaml");
        assert!(
            !v.is_valid(&doc),
            "the lab schema accepts a lab with {why}:\n{yaml}"
        );
    }
}

#[test]
fn lab_schema_accepts_extension_keys_as_topo_does() {
    let v = validator("schemas/topo.schema.json");
    let yaml = "x-eth: &eth { mtu: 1400 }\nname: x\nnodes:\n  a: { interfaces: { eth0: { <<: *eth } } }\nlinks: [ { endpoints: [a:eth0, host:v-a] } ]\nx-notes: [anything]\n";
    let doc: Value = serde_saphyr::from_str(yaml).expect("yaml");
    assert!(v.is_valid(&doc), "{}", violations(&v, &doc));
    assert!(topo::spec::load_str("lab.yaml", yaml).is_ok());
    // Only `x-` keys: `y-eth` is as unknown to the schema as to topo.
    let doc: Value = serde_saphyr::from_str(&yaml.replace("x-eth", "y-eth")).expect("yaml");
    assert!(!v.is_valid(&doc));
}

/// The JSON plans of the golden cases (tests/golden/CASE/plan.json).
fn snapshot_plans() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root("tests/golden")).expect("tests/golden/") {
        let case = e.expect("entry").file_name().to_string_lossy().into_owned();
        let text = read(&format!("tests/golden/{case}/plan.json"));
        let doc = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{case}: {e}"));
        out.push((case, doc));
    }
    assert!(out.len() >= 4, "golden plans missing: {out:?}");
    out
}

#[test]
fn every_plan_snapshot_matches_the_plan_schema() {
    let v = validator("schemas/plan.schema.json");
    let mut ops = std::collections::BTreeSet::new();
    for (name, doc) in snapshot_plans() {
        let bad = violations(&v, &doc);
        assert!(
            bad.is_empty(),
            "{name} does not match schemas/plan.schema.json:\n{bad}"
        );
        ops.extend(
            doc["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["op"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(
        ops.into_iter().collect::<Vec<_>>(),
        ["create", "delete", "replace", "update"],
        "the snapshots cover every op"
    );
}

/// A way to break a valid plan document.
type Breaker = fn(&mut Value);

/// A way to break a valid plan document that captures values.
type BoxedBreaker = Box<dyn Fn(&mut Value)>;

#[test]
fn plan_schema_rejects_malformed_plans() {
    let v = validator("schemas/plan.schema.json");
    let (_, good) = snapshot_plans()
        .into_iter()
        .find(|(n, _)| n.contains("mtu_change"))
        .expect("mtu snapshot");
    assert!(v.is_valid(&good));
    // A MAC is text, lowercase.
    let mut with_mac = good.clone();
    with_mac["actions"][0]["before"]["mac"] = "02:00:00:00:15:0a".into();
    assert!(v.is_valid(&with_mac), "{}", violations(&v, &with_mac));
    let broken: [(&str, Breaker); 8] = [
        ("unknown op", |d| {
            d["actions"][0]["op"] = "frobnicate".into()
        }),
        ("no summary", |d| {
            d.as_object_mut().unwrap().remove("summary");
        }),
        ("other format version", |d| d["format_version"] = 1.into()),
        ("update without changes", |d| {
            d["actions"][0]["changes"] = Value::Array(vec![])
        }),
        ("create with a before", |d| {
            d["actions"][0]["op"] = "create".into()
        }),
        ("mtu as text", |d| {
            d["actions"][0]["after"]["mtu"] = "1400".into()
        }),
        ("a MAC as bytes", |d| {
            d["actions"][0]["before"]["mac"] = serde_json::json!([2, 0, 0, 0, 21, 1])
        }),
        ("a MAC in capitals", |d| {
            d["actions"][0]["before"]["mac"] = "02:00:00:00:15:0A".into()
        }),
    ];
    for (why, edit) in broken {
        let mut doc = good.clone();
        edit(&mut doc);
        assert!(
            !v.is_valid(&doc),
            "the plan schema accepts a plan with {why}:\n{doc:#}"
        );
    }
}

#[test]
fn real_plans_match_the_plan_schema() {
    let Some(sb) = Sandbox::new() else { return };
    let v = validator("schemas/plan.schema.json");
    let file = root("topologies/example.yaml");
    let check = |doc: &Value, what: &str| {
        let bad = violations(&v, doc);
        assert!(
            bad.is_empty(),
            "{what}: `topo plan --json` does not match schemas/plan.schema.json:\n{bad}\n{doc:#}"
        );
    };
    let create = sb.plan_json(&file);
    assert!(!create["actions"].as_array().unwrap().is_empty());
    check(&create, "plan from nothing");
    sb.topo_ok(&["apply", &file]);
    // Drift: an interface down, a bridge gone; then an empty plan.
    sb.sh_ok("ip -n blue link set eth1 down && ip link del demo-br");
    check(&sb.plan_json(&file), "plan after drift");
    sb.topo_ok(&["apply", &file]);
    let none = sb.plan_json(&file);
    assert_eq!(none["actions"], Value::Array(vec![]));
    check(&none, "empty plan");
    // A file without green (and without its `tests:`, which name green): a delete.
    let example = read("topologies/example.yaml");
    let edited = sb.lab(
        "example.yaml",
        &example
            .split("\ntests:")
            .next()
            .unwrap()
            .replace("      - { node: green, address: 10.20.0.10 }\n", ""),
    );
    let delete = sb.plan_json(&edited);
    assert_eq!(common::actions(&delete), ["delete netns green"]);
    check(&delete, "plan with a removed node");
    sb.topo_ok(&["destroy", &file]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn plan_schema_rejects_malformed_nat_plans() {
    let v = validator("schemas/plan.schema.json");
    let (_, good) = snapshot_plans()
        .into_iter()
        .find(|(n, _)| n.contains("nat_drift"))
        .expect("nat drift snapshot");
    assert!(v.is_valid(&good), "{}", violations(&v, &good));
    let index = |kind: &str, op: &str| {
        good["actions"]
            .as_array()
            .unwrap()
            .iter()
            .position(|a| a["kind"] == kind && a["op"] == op)
            .unwrap_or_else(|| panic!("no {op} of a {kind} in {good:#}"))
    };
    let (chain, rule) = (index("chain", "update"), index("rule", "create"));
    let broken: [(&str, BoxedBreaker); 5] = [
        (
            "a rule without its chain",
            Box::new(move |d| {
                d["actions"][rule]["id"]
                    .as_object_mut()
                    .unwrap()
                    .remove("chain");
            }),
        ),
        (
            "a rule without expr",
            Box::new(move |d| {
                d["actions"][rule]["after"]
                    .as_object_mut()
                    .unwrap()
                    .remove("expr");
            }),
        ),
        (
            "a chain whose rules are not a list",
            Box::new(move |d| d["actions"][chain]["after"]["rules"] = "input tcp 22 drop".into()),
        ),
        (
            "a numeric policy",
            Box::new(move |d| d["actions"][chain]["after"]["policy"] = 1.into()),
        ),
        (
            "an unknown change attribute",
            Box::new(move |d| d["actions"][chain]["changes"][0]["attr"] = "rules".into()),
        ),
    ];
    for (why, edit) in broken {
        let mut doc = good.clone();
        edit(&mut doc);
        assert!(
            !v.is_valid(&doc),
            "the plan schema accepts a plan with {why}:\n{doc:#}"
        );
    }
}

#[test]
fn plan_schema_knows_taps_vxlans_and_their_entries() {
    let v = validator("schemas/plan.schema.json");
    let (_, good) = snapshot_plans()
        .into_iter()
        .find(|(n, _)| n.contains("device_edits"))
        .expect("device edits snapshot");
    assert!(v.is_valid(&good), "{}", violations(&v, &good));
    let index = |kind: &str, op: &str| {
        good["actions"]
            .as_array()
            .unwrap()
            .iter()
            .position(|a| a["kind"] == kind && a["op"] == op)
            .unwrap_or_else(|| panic!("no {op} of a {kind} in {good:#}"))
    };
    let (tap, vxlan, fdb) = (
        index("tap", "update"),
        index("vxlan", "replace"),
        index("fdb", "create"),
    );
    let broken: [(&str, BoxedBreaker); 6] = [
        (
            "an owner as text",
            Box::new(move |d| d["actions"][tap]["after"]["owner"] = "alice".into()),
        ),
        (
            "a tap without persist",
            Box::new(move |d| {
                d["actions"][tap]["after"]
                    .as_object_mut()
                    .unwrap()
                    .remove("persist");
            }),
        ),
        (
            "a VNI past 24 bits",
            Box::new(move |d| d["actions"][vxlan]["after"]["vni"] = 16_777_216.into()),
        ),
        (
            "port 0",
            Box::new(move |d| d["actions"][vxlan]["after"]["port"] = 0.into()),
        ),
        (
            "an entry without its remote",
            Box::new(move |d| {
                d["actions"][fdb]["id"]
                    .as_object_mut()
                    .unwrap()
                    .remove("dst");
            }),
        ),
        (
            "an entry with attributes",
            Box::new(move |d| d["actions"][fdb]["after"]["dst"] = "10.1.0.2".into()),
        ),
    ];
    for (why, edit) in broken {
        let mut doc = good.clone();
        edit(&mut doc);
        assert!(
            !v.is_valid(&doc),
            "the plan schema accepts a plan with {why}:\n{doc:#}"
        );
    }
}
