//! schemas/apply.schema.json, the result of `topo apply --json` and
//! `topo destroy --json`: made from the plan schema (the same definitions
//! plus a status per action, scripts/apply-schema.py), and matched by real
//! results, a failed run's too. And a MAC is the same text in every
//! document topo writes.

use crate::common;

use common::Sandbox;
use serde_json::Value;

fn root(rel: &str) -> String {
    format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn json(rel: &str) -> Value {
    let text = std::fs::read_to_string(root(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"))
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

/// A way to break a valid document that captures values.
type BoxedBreaker = Box<dyn Fn(&mut Value)>;

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
