//! The JSON Schemas in schemas/: the lab file's (generated from the spec
//! types) must be current and accept every bundled lab; the plan document's
//! (written by hand) must accept what `topo plan --json` prints, and the
//! apply result's (the plan's definitions plus a status) what `apply --json`
//! and `destroy --json` print.

mod common;

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
        assert!(
            topo::validate(&l, &Default::default()).is_ok(),
            "{file} does not validate"
        );
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

/// The JSON documents of the reviewed plan snapshots (tests/snapshots/).
fn snapshot_plans() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root("tests/snapshots")).expect("tests/snapshots/") {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        if !(name.starts_with("plan_render__") && name.ends_with("_json.snap")) {
            continue;
        }
        let text = read(&format!("tests/snapshots/{name}"));
        // An insta snapshot: a `---` delimited header, then the value.
        let body = text
            .splitn(3, "---\n")
            .nth(2)
            .unwrap_or_else(|| panic!("{name}: no snapshot header"));
        let doc = serde_json::from_str(body).unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push((name, doc));
    }
    assert!(out.len() >= 4, "plan snapshots missing: {out:?}");
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
    // A file without green: a delete.
    let edited = sb.lab(
        "example.yaml",
        &read("topologies/example.yaml")
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
fn apply_schema_is_the_plan_schema_plus_a_status() {
    let (plan, apply) = (
        json("schemas/plan.schema.json"),
        json("schemas/apply.schema.json"),
    );
    validator("schemas/apply.schema.json");
    for (name, def) in plan["$defs"].as_object().unwrap() {
        assert_eq!(
            &apply["$defs"][name], def,
            "$defs/{name} of apply.schema.json differs from plan.schema.json's: run python3 scripts/apply-schema.py"
        );
    }
    let mut applied = apply["$defs"]["applied_action"].clone();
    let status = applied["properties"]
        .as_object_mut()
        .unwrap()
        .remove("status");
    assert_eq!(
        status.expect("a status")["enum"],
        serde_json::json!(["done", "failed", "not attempted"])
    );
    let required = applied["required"].as_array_mut().unwrap();
    required.retain(|r| r != "status");
    applied["description"] = plan["$defs"]["action"]["description"].clone();
    assert_eq!(
        applied, plan["$defs"]["action"],
        "applied_action = action + status"
    );
    assert_eq!(
        apply["properties"]["format_version"],
        plan["properties"]["format_version"]
    );
}

/// Every `mac` in a document, wherever it is.
fn macs(doc: &Value, out: &mut Vec<Value>) {
    match doc {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "mac" && !v.is_null() {
                    out.push(v.clone());
                }
                macs(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| macs(v, out)),
        _ => {}
    }
}

/// The MACs of `doc` are all `aa:bb:cc:dd:ee:ff` text; returns how many.
fn macs_are_text(doc: &Value, what: &str) -> usize {
    let mut found = Vec::new();
    macs(doc, &mut found);
    for m in &found {
        let ok = m.as_str().is_some_and(|s| {
            s.len() == 17
                && s.split(':').count() == 6
                && s.split(':').all(|p| {
                    p.len() == 2
                        && p.chars()
                            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
                })
        });
        assert!(ok, "{what}: a MAC that is not lowercase text: {m}");
    }
    found.len()
}

#[test]
fn real_apply_and_destroy_results_match_the_apply_schema() {
    let Some(sb) = Sandbox::new() else { return };
    let v = validator("schemas/apply.schema.json");
    let check = |out: &str, what: &str| -> Value {
        let doc: Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{what}: {e}\n{out}"));
        let bad = violations(&v, &doc);
        assert!(
            bad.is_empty(),
            "{what} does not match schemas/apply.schema.json:\n{bad}\n{doc:#}"
        );
        doc
    };
    let file = root("topologies/example.yaml");
    let created = check(
        &sb.topo_ok(&["apply", "--json", &file]),
        "apply from nothing",
    );
    assert!(created["actions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["status"] == "done"));
    assert!(created["writes"].as_u64().unwrap() > 0);
    let again = check(
        &sb.topo_ok(&["apply", "--json", &file]),
        "apply of an unchanged lab",
    );
    assert_eq!(again["writes"], 0);

    // A MAC is one text form everywhere: plan, apply result, show, saved plan.
    sb.sh_ok("ip -n blue link set eth0 down && ip -n red link set eth0 address 02:00:00:00:0a:0b");
    let plan = sb.plan_json(&file);
    assert!(macs_are_text(&plan, "plan --json") > 0, "{plan:#}");
    let saved = format!("{}/plan.json", sb.dir.path().display());
    sb.topo_ok(&["plan", "-o", &saved, &file]);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert!(macs_are_text(&saved, "saved plan") > 0);
    let shown: Value = serde_json::from_str(&sb.topo_ok(&["show", "--json", &file])).unwrap();
    assert!(macs_are_text(&shown, "show --json") > 0);
    let repaired = check(&sb.topo_ok(&["apply", "--json", &file]), "apply of drift");
    assert!(macs_are_text(&repaired, "apply --json") > 0);
    let destroyed = check(&sb.topo_ok(&["destroy", "--json", &file]), "destroy");
    assert!(destroyed["summary"]["destroy"].as_u64().unwrap() > 0);

    // A failed apply still prints its result: done, failed, not attempted, undone.
    let failing = sb.lab(
        "fails.yaml",
        "name: fails\nnodes:\n  tan:\n    interfaces: { eth0: { addresses: [10.7.0.1/24] } }\nlinks:\n  - endpoints: [tan:eth0, host:tan-eth0]\nhost:\n  routes: [ { to: 10.99.0.0/16, via: 192.0.2.1 } ]\n",
    );
    let out = sb.topo(&["apply", "--json", &failing]);
    assert_eq!(out.status.code(), Some(1));
    let failed = check(&common::text(&out.stdout), "a failed apply");
    let statuses: std::collections::BTreeSet<&str> = failed["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses.into_iter().collect::<Vec<_>>(),
        ["done", "failed", "not attempted"]
    );
    assert!(
        !failed["undone"].as_array().unwrap().is_empty(),
        "{failed:#}"
    );
    assert!(common::text(&out.stderr).contains("apply failed at `route 10.99.0.0/16 in host`"));

    // And the schema is no rubber stamp.
    for (why, edit) in [
        (
            "no writes",
            Box::new(|d: &mut Value| {
                d.as_object_mut().unwrap().remove("writes");
            }) as BoxedBreaker,
        ),
        (
            "an unknown status",
            Box::new(|d: &mut Value| d["actions"][0]["status"] = "skipped".into()),
        ),
        (
            "a not_undone without its error",
            Box::new(|d: &mut Value| d["not_undone"] = serde_json::json!([{"step": "x"}])),
        ),
    ] {
        let mut doc = failed.clone();
        edit(&mut doc);
        assert!(
            !v.is_valid(&doc),
            "the apply schema accepts a result with {why}"
        );
    }
    // Rolled back: nothing of it is left, and destroy has nothing to do.
    assert_eq!(
        sb.topo_ok(&["destroy", &failing]),
        "Nothing to destroy: no lab named `fails` on this machine.\n"
    );
    assert_eq!(sb.residue(), "");
}
