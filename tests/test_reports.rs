//! What `topo test` writes for programs and CI, checked against its
//! schemas: `--json` against schemas/test.schema.json, `--junit` against
//! schemas/junit.xsd (with xmllint, from libxml2-utils); and how
//! `topo apply --test` and a test of a lab that is not there end.

use crate::common;

use common::{text, Sandbox};

const LAB: &str = r#"
name: reports
nodes:
  red:
    interfaces: { eth0: { addresses: [10.10.0.2/24] } }
  blue:
    interfaces: { eth0: { addresses: [10.10.0.3/24] } }
bridges:
  br0: { addresses: [10.10.0.1/24] }
links:
  - endpoints: [red:eth0, br0]
  - endpoints: [blue:eth0, br0]
tests:
  timeout: 300ms
  checks:
    - { from: red, ping: blue }
    - { from: red, ping: 10.10.0.9 }
    - { from: red, tcp: "blue:80", reaches: blue, sees: 10.10.0.2 }
    - { from: blue, udp: "red:53", reaches: red, sees: 10.10.0.1 }
    - { pingall: [red, blue, host] }
"#;

fn root(rel: &str) -> String {
    format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn json_report_matches_its_schema() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    sb.topo_ok(&["apply", "-q", &lab]);
    let out = sb.topo(&["test", "--json", &lab]);
    assert_eq!(out.status.code(), Some(1), "two checks fail");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root("schemas/test.schema.json")).unwrap())
            .expect("schema is JSON");
    jsonschema::meta::validate(&schema).expect("a valid JSON Schema");
    let v = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles");
    let bad: Vec<String> = v
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}\n{doc:#}");
    assert_eq!(doc["summary"]["total"], 10);
    assert_eq!(doc["summary"]["failed"], 2);
    let checks = doc["checks"].as_array().unwrap();
    assert_eq!(checks[1]["to"], "10.10.0.9");
    assert_eq!(checks[1]["passed"], false);
    assert_eq!(checks[1]["timeout_ms"], 300.0, "the lab's default timeout");
    assert_eq!(checks[2]["seen"], "10.10.0.2");
    assert_eq!(checks[2]["listener"]["address"], "10.10.0.3:80");
    assert_eq!(
        checks[3]["passed"], false,
        "blue reaches red from 10.10.0.3"
    );
    assert_eq!(checks[3]["seen"], "10.10.0.3");
    // A document that breaks the schema is caught: the check can fail.
    let mut broken = doc.clone();
    broken["checks"][0]["kind"] = "icmp".into();
    assert!(!v.is_valid(&broken));
}

#[test]
fn junit_report_matches_its_schema() {
    let Some(sb) = Sandbox::new() else { return };
    if std::process::Command::new("xmllint")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("the JUnit check needs xmllint: apt-get install libxml2-utils");
    }
    let lab = sb.lab("lab.yaml", LAB);
    sb.topo_ok(&["apply", "-q", &lab]);
    let report = sb.dir.path().join("report.xml");
    let out = sb.topo(&["test", "--junit", report.to_str().unwrap(), &lab]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let xml = std::fs::read_to_string(&report).expect("the report is written");
    let check = |path: &std::path::Path| {
        std::process::Command::new("xmllint")
            .args(["--noout", "--schema", &root("schemas/junit.xsd")])
            .arg(path)
            .output()
            .expect("run xmllint")
    };
    let lint = check(&report);
    assert!(
        lint.status.success(),
        "{}{}\n{xml}",
        text(&lint.stdout),
        text(&lint.stderr)
    );
    assert!(xml.contains(r#"<testsuites name="topo test" tests="10" failures="2" errors="0""#));
    assert!(
        xml.contains(r#"<testsuite name="reports" tests="10" failures="2" errors="0" skipped="0""#)
    );
    assert_eq!(xml.matches("<testcase ").count(), 10);
    assert_eq!(xml.matches("<failure ").count(), 2);
    assert!(
        xml.contains(r#"<testcase name="ping red → 10.10.0.9" classname="reports.ping""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<failure message="expected a reply, got: no reply"#),
        "{xml}"
    );
    assert!(xml.contains("declared at "), "failures say where: {xml}");
    // And the schema refuses what it should: a report without its counts.
    let broken = sb.dir.path().join("broken.xml");
    std::fs::write(&broken, xml.replacen(r#" failures="2""#, "", 1)).unwrap();
    assert!(
        !check(&broken).status.success(),
        "xmllint accepts a report without failures="
    );
}

#[test]
fn apply_test_applies_then_tests_and_leaves_the_lab() {
    let Some(sb) = Sandbox::new() else { return };
    let good = LAB.replace(
        "    - { from: red, ping: 10.10.0.9 }\n",
        "    - { from: red, ping: 10.10.0.9, expect: fail }\n",
    );
    let good = good.replace("sees: 10.10.0.1 }", "sees: 10.10.0.3 }");
    let lab = sb.lab("good.yaml", &good);
    let report = sb.dir.path().join("r.xml");
    let out = sb.topo(&["apply", "--test", "--junit", report.to_str().unwrap(), &lab]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("Apply complete: "), "{stdout}");
    assert!(
        stdout.contains("test result: ok. 10 passed, 0 failed"),
        "{stdout}"
    );
    assert!(std::fs::read_to_string(&report)
        .unwrap()
        .contains(r#"failures="0""#));
    // A failing check: exit 1, and the lab stays applied.
    let bad = sb.lab("bad.yaml", LAB);
    let out = sb.topo(&["apply", "--test", &bad]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("Apply complete: 0 added, 0 changed, 0 destroyed."),
        "{stdout}"
    );
    assert!(
        stdout.contains("test result: FAILED. 8 passed, 2 failed"),
        "{stdout}"
    );
    let plan = sb.topo(&["plan", "--detailed-exitcode", &bad]);
    assert_eq!(plan.status.code(), Some(0), "the lab is left applied");
    // A saved plan carries no tests.
    let saved = sb.dir.path().join("plan.json");
    sb.topo_ok(&["plan", "-o", saved.to_str().unwrap(), &bad]);
    let out = sb.topo(&["apply", "--test", saved.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("`--test` needs the lab file"));
}

#[test]
fn testing_a_lab_that_is_not_there_says_so() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    let out = sb.topo(&["test", &lab]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("lab `reports` is not on this machine, so there is nothing to test"),
        "{err}"
    );
    assert!(err.contains("topo apply --test"), "{err}");
    assert_eq!(sb.residue(), "", "topo test creates nothing");
    // A lab without tests says so, and passes.
    let bare = sb.lab("bare.yaml", &LAB[..LAB.find("tests:").unwrap()]);
    sb.topo_ok(&["apply", "-q", &bare]);
    let out = sb.topo_ok(&["test", &bare]);
    assert!(out.contains("declares no tests"), "{out}");
}
