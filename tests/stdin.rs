//! Every verb reads its file exactly once, so `-` (standard input), a pipe
//! through `/dev/stdin`, and a saved plan piped in work like a file.

use crate::common;

use common::{text, topo_bin, Sandbox};
use std::io::Write;
use std::process::{Command, Stdio};

const LAB: &str = r#"
name: piped
nodes:
  red:
    interfaces:
      eth0: { addresses: [10.8.0.1/24] }
    routes: [ { to: default, via: 10.8.0.2 } ]
links:
  - endpoints: [red:eth0, host:red-eth0]
host:
  interfaces:
    red-eth0: { addresses: [10.8.0.2/24] }
"#;

/// topo, outside a sandbox, with `input` on its standard input.
fn topo_with_input(args: &[&str], input: &str) -> std::process::Output {
    let mut child = Command::new(topo_bin())
        .args(args)
        .env_remove("TOPO_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run topo");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("topo output")
}

/// `cat FILE | topo ARGS` inside the sandbox.
fn piped(sb: &Sandbox, file: &str, args: &str) -> std::process::Output {
    sb.sh(&format!("cat {file} | {} {args}", topo_bin().display()))
}

#[test]
fn validate_and_graph_read_standard_input() {
    for arg in ["-", "/dev/stdin"] {
        let out = topo_with_input(&["validate", arg], LAB);
        assert!(out.status.success(), "{arg}: {}", text(&out.stderr));
        let name = if arg == "-" { "<stdin>" } else { arg };
        assert_eq!(
            text(&out.stdout),
            format!("{name}: valid lab `piped` (1 nodes, 7 objects)\n")
        );
        let out = topo_with_input(&["graph", arg], LAB);
        assert!(out.status.success(), "{arg}: {}", text(&out.stderr));
        assert!(text(&out.stdout).starts_with("graph \"piped\" {"));
    }
    // Messages point into standard input by that name.
    let out = topo_with_input(
        &["validate", "-"],
        "name: piped\nnodes:\n  red: { colour: red }\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("<stdin>:3:10: unknown field `colour`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn plan_apply_show_and_destroy_read_standard_input() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    for arg in ["-", "/dev/stdin"] {
        let out = piped(&sb, &lab, &format!("plan {arg}"));
        assert!(out.status.success(), "plan {arg}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("+ netns red"),
            "{}",
            text(&out.stdout)
        );

        // The read that used to fail: apply read its file twice.
        let out = piped(&sb, &lab, &format!("apply {arg}"));
        assert!(out.status.success(), "apply {arg}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("Apply complete: 7 added"),
            "{}",
            text(&out.stdout)
        );
        sb.ping("red", "10.8.0.2");

        let out = piped(&sb, &lab, &format!("show --json {arg}"));
        assert!(out.status.success(), "show {arg}: {}", text(&out.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("show JSON");
        assert_eq!(doc["differences"], serde_json::json!([]), "{doc:#}");

        let out = piped(
            &sb,
            &lab,
            &format!("exec {arg} red -- ip -br addr show eth0"),
        );
        assert!(out.status.success(), "exec {arg}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("10.8.0.1/24"),
            "{}",
            text(&out.stdout)
        );

        let out = piped(&sb, &lab, &format!("destroy {arg}"));
        assert!(out.status.success(), "destroy {arg}: {}", text(&out.stderr));
        assert_eq!(sb.residue(), "", "after destroy {arg}");
    }
}

#[test]
fn a_saved_plan_can_be_piped_to_apply() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    let saved = format!("{}/plan.json", sb.dir.path().display());
    sb.topo_ok(&["plan", "-o", &saved, &lab]);
    let out = piped(&sb, &saved, "apply -");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Apply complete: 7 added"));
    sb.ping("red", "10.8.0.2");
    // The same plan again is stale: it was made before the lab existed.
    let out = piped(&sb, &saved, "apply /dev/stdin");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("the saved plan is stale"),
        "{}",
        text(&out.stderr)
    );
    // A lab written in JSON is a lab, not a saved plan.
    let json = sb.lab("lab.json", r#"{"name": "piped", "nodes": {"red": {}}}"#);
    let out = piped(&sb, &json, "plan -");
    assert!(out.status.success(), "{}", text(&out.stderr));
    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(sb.residue(), "");
}
