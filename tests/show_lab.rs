//! `show --lab NAME` and `destroy --lab NAME` without the file: the first
//! shows what is inside the lab's nodes as `show FILE` does; both say so
//! when no lab of that name is on the machine (show fails, destroy has
//! nothing to do and succeeds).

use crate::common;

use common::{text, Sandbox};
use serde_json::Value;

const LAB: &str = r#"
name: shown
nodes:
  red:
    interfaces:
      eth0: { addresses: [10.6.0.2/24], mtu: 1400 }
    routes: [ { to: default, via: 10.6.0.1 } ]
    sysctls: { net.ipv4.ip_forward: 1 }
links:
  - endpoints: [red:eth0, host:red-eth0]
host:
  interfaces:
    red-eth0: { addresses: [10.6.0.1/24], mtu: 1400 }
"#;

fn row<'a>(doc: &'a Value, ns: &str, name: &str) -> &'a Value {
    doc["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["namespace"] == ns && i["name"] == name)
        .unwrap_or_else(|| panic!("no {ns}:{name} in {doc:#}"))
}

#[test]
fn show_by_name_lists_what_is_inside_the_nodes() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    sb.topo_ok(&["apply", &lab]);
    let with_file: Value = serde_json::from_str(&sb.topo_ok(&["show", "--json", &lab])).unwrap();
    let by_name: Value =
        serde_json::from_str(&sb.topo_ok(&["show", "--json", "--lab", "shown"])).unwrap();
    // The node's interface as show FILE has it: addresses, MTU, up, peer.
    let red = row(&by_name, "red", "eth0");
    assert_eq!(
        red["addresses"],
        serde_json::json!(["10.6.0.2/24"]),
        "{by_name:#}"
    );
    assert_eq!(red["mtu"], 1400);
    assert_eq!(red["up"], true);
    assert_eq!(red["peer"], "host:red-eth0");
    assert_eq!(red["status"], "present");
    for key in ["addresses", "mtu", "up", "peer", "master"] {
        assert_eq!(red[key], row(&with_file, "red", "eth0")[key], "{key}");
    }
    // And its routes and sysctls.
    let ns = by_name["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "red")
        .expect("red");
    assert!(
        ns["routes"][0]
            .as_str()
            .unwrap()
            .starts_with("default via 10.6.0.1"),
        "{ns:#}"
    );
    assert_eq!(ns["sysctls"], serde_json::json!(["net.ipv4.ip_forward=1"]));

    let table = sb.topo_ok(&["show", "--lab", "shown"]);
    assert!(
        table.lines().any(|l| l.starts_with("red")
            && l.contains("eth0")
            && l.contains("10.6.0.2/24")
            && l.contains("1400")
            && l.contains("yes")
            && l.ends_with("present")),
        "{table}"
    );
    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn a_lab_that_is_not_here_is_named_as_such() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    let nothing = "Nothing to destroy: no lab named `shown` on this machine.\n";

    // Before any apply.
    let out = sb.topo(&["show", "--lab", "shown"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).is_empty(), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("error: no lab named `shown` on this machine"),
        "{err}"
    );
    assert!(!err.contains("matches the file"), "{err}");
    assert_eq!(sb.topo_ok(&["destroy", "--lab", "shown"]), nothing);
    assert_eq!(sb.topo_ok(&["destroy", &lab]), nothing);
    assert_eq!(sb.topo_ok(&["-q", "destroy", &lab]), nothing);

    // With the lab applied, another name still is not here; the help names the lab that is.
    sb.topo_ok(&["apply", &lab]);
    let out = sb.topo(&["show", "--lab", "other"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("help: labs on this machine: shown"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        sb.topo_ok(&["destroy", "--lab", "other"]),
        "Nothing to destroy: no lab named `other` on this machine.\n"
    );
    sb.ping("red", "10.6.0.1");

    // Destroyed: gone by name too, and destroy again is fine.
    sb.topo_ok(&["destroy", "--lab", "shown"]);
    assert_eq!(sb.topo(&["show", "--lab", "shown"]).status.code(), Some(1));
    assert_eq!(sb.topo_ok(&["destroy", "--lab", "shown"]), nothing);
    // For programs, an empty result document.
    let doc: Value = serde_json::from_str(&sb.topo_ok(&["destroy", "--json", &lab])).unwrap();
    assert_eq!(doc["actions"], serde_json::json!([]));
    assert_eq!(sb.residue(), "");
}
