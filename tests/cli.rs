//! The verbs around the core ones: exec, show, graph, completions, man, and
//! the global flags. Kernel tests run in a private namespace (`Sandbox`);
//! the others need no root.

use crate::common;

use common::{text, topo_bin, Sandbox};
use serde_json::Value;
use std::process::Command;

const LAB: &str = r#"
name: cli
nodes:
  red:
    interfaces:
      veth-red: { addresses: [192.168.15.1/24] }
    routes:
      - { to: default, via: 192.168.15.5 }
  blue:
    interfaces:
      veth-blue: { addresses: [192.168.15.2/24] }
bridges:
  v-net-0:
    addresses: [192.168.15.5/24]
links:
  - endpoints: [red:veth-red, v-net-0:veth-red-br]
  - endpoints: [blue:veth-blue, v-net-0:veth-blue-br]
host:
  sysctls: { net.ipv4.ip_forward: 1 }
  nat:
    masquerade: [ { source: 192.168.15.0/24 } ]
"#;

/// topo outside any sandbox (for the verbs that need no kernel).
fn topo(args: &[&str]) -> std::process::Output {
    Command::new(topo_bin())
        .args(args)
        .env_remove("TOPO_LOG")
        .output()
        .expect("run topo")
}

fn write_lab(dir: &common::tempdir::Dir, yaml: &str) -> String {
    let p = dir.path().join("lab.yaml");
    std::fs::write(&p, yaml).expect("write lab");
    p.to_string_lossy().into_owned()
}

#[test]
fn exec_passes_the_exit_code_and_the_argv_through() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    sb.topo_ok(&["apply", &lab]);

    let out = sb.topo(&["exec", &lab, "red", "--", "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));

    // No shell in between: spaces, empty strings, `$` and globs arrive as given.
    let out = sb.topo(&[
        "exec", &lab, "red", "--", "printf", "%s|", "a b", "", "$HOME", "*", "--", "-x",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "a b||$HOME|*|--|-x|");

    // It runs in the node's namespace, with a /sys of that namespace.
    let links = sb.topo_ok(&["exec", &lab, "red", "--", "ls", "/sys/class/net"]);
    assert_eq!(
        links.split_whitespace().collect::<Vec<_>>(),
        ["lo", "veth-red"]
    );
    // The gateway on the host's bridge. (Not blue: where br_netfilter is
    // loaded, bridged traffic passes the host's masquerade rule too.)
    let ping = sb.topo(&[
        "exec",
        &lab,
        "red",
        "--",
        "ping",
        "-c1",
        "-W2",
        "192.168.15.5",
    ]);
    assert!(ping.status.success(), "{}", text(&ping.stdout));

    // topo's own failures are 125, a missing command 127.
    let out = sb.topo(&["exec", &lab, "green", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("has no node `green`"),
        "{}",
        text(&out.stderr)
    );
    let out = sb.topo(&["exec", &lab, "red", "--", "no-such-program-here"]);
    assert_eq!(out.status.code(), Some(127), "{}", text(&out.stderr));

    sb.topo_ok(&["destroy", &lab]);
    let out = sb.topo(&["exec", &lab, "red", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("does not exist") && text(&out.stderr).contains("topo apply"),
        "{}",
        text(&out.stderr)
    );
}

fn show_json(sb: &Sandbox, args: &[&str]) -> Value {
    let out = sb.topo_ok(args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("show --json is JSON ({e}):\n{out}"))
}

/// `namespace:name` → status of each interface row.
fn interface_status(doc: &Value) -> Vec<(String, String)> {
    doc["interfaces"]
        .as_array()
        .expect("interfaces")
        .iter()
        .map(|i| {
            (
                format!(
                    "{}:{}",
                    i["namespace"].as_str().unwrap(),
                    i["name"].as_str().unwrap()
                ),
                i["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn statuses(doc: &Value, table: &str) -> Vec<String> {
    doc[table]
        .as_array()
        .expect(table)
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn show_reports_the_live_lab_and_its_drift() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);

    // Nothing applied yet: everything the file wants is missing.
    let doc = show_json(&sb, &["show", "--json", &lab]);
    assert!(interface_status(&doc).iter().all(|(_, s)| s == "missing"));

    sb.topo_ok(&["apply", &lab]);
    // Logs at their most verbose go to stderr: stdout stays one JSON document.
    let doc = show_json(&sb, &["-vvv", "show", "--json", &lab]);
    assert_eq!(doc["lab"], "cli");
    assert_eq!(doc["differences"], serde_json::json!([]));
    for table in ["namespaces", "interfaces", "rules"] {
        let s = statuses(&doc, table);
        assert!(
            !s.is_empty() && s.iter().all(|s| s == "ok"),
            "{table}: {s:?}"
        );
    }
    let red = doc["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["namespace"] == "red" && i["name"] == "veth-red")
        .expect("red's veth");
    assert_eq!(red["addresses"], serde_json::json!(["192.168.15.1/24"]));
    assert_eq!(red["peer"], "host:veth-red-br");
    assert_eq!(red["up"], true);
    let port = doc["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "veth-red-br")
        .expect("the bridge port");
    assert_eq!(port["master"], "v-net-0");
    assert_eq!(
        doc["rules"][0]["rule"], "masquerade from 192.168.15.0/24 not to 192.168.15.0/24",
        "{doc:#}"
    );

    // Drift by hand: blue's veth down, red's veth gone.
    sb.sh_ok("ip -n blue link set veth-blue down && ip link del veth-red-br");
    let doc = show_json(&sb, &["show", "--json", &lab]);
    let st = interface_status(&doc);
    let of = |name: &str| {
        st.iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.as_str())
            .unwrap_or_else(|| panic!("{name} in {st:?}"))
    };
    assert_eq!(of("host:veth-red-br"), "missing");
    assert_eq!(of("red:veth-red"), "missing");
    assert_eq!(of("blue:veth-blue"), "drifted");
    assert_eq!(of("host:v-net-0"), "ok");
    let red_ns = doc["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "red")
        .expect("red");
    assert_eq!(red_ns["status"], "drifted", "its default route went too");
    assert!(!doc["differences"].as_array().unwrap().is_empty());

    // The text form has the same statuses.
    let table = sb.topo_ok(&["show", &lab]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("blue") && l.contains("veth-blue") && l.ends_with("drifted")),
        "{table}"
    );

    // Without the file: what the lab owns, found by its marks.
    let doc = show_json(&sb, &["show", "--json", "--lab", "cli"]);
    let s = statuses(&doc, "interfaces");
    assert!(s.iter().all(|s| s == "present"), "{s:?}");
    assert_eq!(doc["differences"], Value::Null);

    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn apply_json_has_no_progress_or_logs_on_stdout() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    let out = sb.topo(&["-vv", "apply", "--json", &lab]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["lab"], "cli");
    // -q: only the closing line.
    let out = sb.topo_ok(&["-q", "destroy", &lab]);
    assert!(
        out.starts_with("Destroy complete: 0 added, 0 changed,") && out.lines().count() == 1,
        "{out}"
    );
}

#[test]
fn graph_dot_draws_nodes_bridges_and_links() {
    let dir = common::tempdir::Dir::new();
    let lab = write_lab(&dir, LAB);
    let out = topo(&["graph", &lab]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dot = text(&out.stdout);
    assert!(dot.starts_with("graph \"cli\" {"), "{dot}");
    assert!(dot.contains("rankdir=LR"), "{dot}");
    assert!(
        dot.contains(r#""bridge:host:v-net-0" [shape=hexagon"#),
        "{dot}"
    );
    assert!(
        dot.contains(
            r#""node:red" -- "bridge:host:v-net-0" [label="veth-red 192.168.15.1/24\nport veth-red-br"];"#
        ),
        "{dot}"
    );
    assert!(dot.contains("masquerade from 192.168.15.0/24"), "{dot}");

    let out = topo(&["graph", "--format", "mermaid", &lab]);
    assert!(text(&out.stdout).starts_with("flowchart LR\n"));

    // PNG and SVG need Graphviz; without it, topo says how to get it.
    let out = Command::new(topo_bin())
        .args(["graph", "--format", "svg", &lab])
        .env("PATH", "")
        .output()
        .expect("run topo");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("apt-get install graphviz"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn completions_and_man_page_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let out = topo(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = text(&out.stdout);
        assert!(script.len() > 500, "{shell}: {script}");
        for verb in ["plan", "show", "exec", "graph"] {
            assert!(script.contains(verb), "{shell} completes {verb}");
        }
    }
    let man = text(&topo(&["man"]).stdout);
    assert!(man.contains(".TH topo 1"), "{man}");
    assert!(man.contains("completions"), "{man}");
}

#[test]
fn help_has_an_example_per_verb_and_the_exit_codes() {
    let help = text(&topo(&["--help"]).stdout);
    for verb in [
        "validate",
        "plan",
        "apply",
        "show",
        "exec",
        "graph",
        "destroy",
        "completions",
        "man",
    ] {
        assert!(help.contains(&format!("  topo {verb} ")), "{verb}:\n{help}");
    }
    assert!(help.contains("Exit codes:"), "{help}");
    assert!(help.contains("125"), "{help}");
}

#[test]
fn plan_json_and_format_conflict() {
    let out = topo(&["plan", "--json", "--format", "markdown", "x.yaml"]);
    // A usage error exits 1: 2 is only ever "changes pending".
    assert_eq!(out.status.code(), Some(1), "a usage error");
    assert!(
        text(&out.stderr).contains("cannot be used with"),
        "{}",
        text(&out.stderr)
    );
    for args in [
        &["frobnicate"][..],
        &["plan"],
        &["apply", "--bogus", "x.yaml"],
    ] {
        assert_eq!(topo(args).status.code(), Some(1), "{args:?}");
    }
    assert_eq!(topo(&["--help"]).status.code(), Some(0));
    assert_eq!(topo(&["--version"]).status.code(), Some(0));
}
