//! Core verbs on the real kernel, each test in its own private namespaces.

use crate::common;

use common::{actions, text, Sandbox};

const LAB: &str = r#"
name: core
nodes:
  red:
    interfaces:
      eth0: { addresses: [192.168.15.1/24] }
    routes:
      - { to: default, via: 192.168.15.5 }
      - { to: 10.9.0.0/16, dev: eth0, metric: 100 }
  blue:
    interfaces:
      eth0: { addresses: [192.168.15.2/24] }
    routes: [ { to: default, via: 192.168.15.5 } ]
bridges:
  v-net-0: { addresses: [192.168.15.5/24] }
links:
  - endpoints: [red:eth0, v-net-0]
  - endpoints: [blue:eth0, v-net-0:veth-blue-br]
networks:
  megaNet:
    subnet: 12.0.6.0/24
    gateway: 12.0.6.200
    nodes: [c1, c2, { node: c3, address: 12.0.6.50 }]
host:
  sysctls: { net.ipv4.ip_forward: 1 }
"#;

fn apply_json(sb: &Sandbox, file: &str) -> serde_json::Value {
    serde_json::from_str(&sb.topo_ok(&["apply", "--json", file])).expect("apply JSON")
}

#[test]
fn apply_reapply_destroy() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    let first = apply_json(&sb, &lab);
    assert!(first["writes"].as_u64().unwrap() > 0);
    sb.ping("red", "192.168.15.2");
    sb.ping("blue", "192.168.15.5");
    sb.ping("c1", "12.0.6.50");
    sb.ping("c2", "12.0.6.200");
    // Across the host, which forwards: red → c3.
    sb.ping("red", "12.0.6.50");

    // Nothing to do: exit 0 with --detailed-exitcode, and zero writes.
    let out = sb.topo(&["plan", "--detailed-exitcode", &lab]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let again = apply_json(&sb, &lab);
    assert_eq!(again["writes"], 0, "a no-op apply sends no write request");
    assert_eq!(again["actions"].as_array().unwrap().len(), 0);

    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(sb.residue(), "");
    assert_eq!(
        sb.sh_ok("sysctl -n net.ipv4.ip_forward").trim(),
        "0",
        "destroy restores sysctls"
    );
    // Destroying again is fine.
    sb.topo_ok(&["destroy", &lab]);
}

#[test]
fn drift_is_planned_exactly_and_repaired() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    sb.topo_ok(&["apply", &lab]);
    sb.sh_ok("ip link del veth-blue-br && ip -n red addr del 192.168.15.1/24 dev eth0 && ip -n c1 route del default");
    let plan = sb.plan_json(&lab);
    assert!(
        plan["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["drift"] == true),
        "the file did not change: all of it is drift"
    );
    assert!(sb
        .topo_ok(&["plan", &lab])
        .contains("[drift: changed outside topo]"));
    let mut got = actions(&plan);
    got.sort();
    // Deleting the veth takes blue's address and default route with it, and
    // the kernel drops red's routes through the address that went.
    assert_eq!(
        got,
        vec![
            "create address 192.168.15.1/24 on red:eth0",
            "create address 192.168.15.2/24 on blue:eth0",
            "create link blue:eth0",
            "create link host:veth-blue-br",
            "create route 10.9.0.0/16 in red metric 100",
            "create route default in blue",
            "create route default in c1",
            "create route default in red",
            "create veth host:veth-blue-br",
        ],
        "{plan:#}"
    );
    let out = sb.topo(&["plan", "--detailed-exitcode", &lab]);
    assert_eq!(out.status.code(), Some(2));
    sb.topo_ok(&["apply", &lab]);
    assert_eq!(actions(&sb.plan_json(&lab)), Vec::<String>::new());
    sb.ping("red", "192.168.15.2");
    sb.ping("c1", "192.168.15.1");
    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn changing_one_attribute_changes_only_it() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    sb.topo_ok(&["apply", &lab]);
    let edited = sb.lab(
        "lab.yaml",
        &LAB.replace(
            "eth0: { addresses: [192.168.15.2/24] }",
            "eth0: { addresses: [192.168.15.2/24], mtu: 1400 }",
        ),
    );
    let plan = sb.plan_json(&edited);
    // Both ends of a veth carry the MTU one end is given, and the bridge
    // without an MTU of its own takes its smallest port's, as the kernel
    // gives it.
    assert_eq!(
        actions(&plan),
        vec![
            "update link host:v-net-0",
            "update link host:veth-blue-br",
            "update link blue:eth0"
        ]
    );
    assert_eq!(
        plan["actions"][0]["drift"], false,
        "the file changed: not drift"
    );
    let change = &plan["actions"][0]["changes"][0];
    assert_eq!(
        (
            change["attr"].as_str(),
            change["before"].as_str(),
            change["after"].as_str()
        ),
        (Some("mtu"), Some("1500"), Some("1400"))
    );
    sb.topo_ok(&["apply", &edited]);
    assert!(sb.sh_ok("ip -n blue link show eth0").contains("mtu 1400"));
    sb.topo_ok(&["destroy", &edited]);
}

#[test]
fn removing_a_node_removes_only_it() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    sb.topo_ok(&["apply", &lab]);
    let before_c2 = sb.sh_ok("ip -n c2 -br addr show eth0");
    let edited = sb.lab("lab.yaml", &LAB.replace("nodes: [c1, c2,", "nodes: [c2,"));
    let plan = sb.plan_json(&edited);
    assert_eq!(actions(&plan), vec!["delete netns c1"], "{plan:#}");
    sb.topo_ok(&["apply", &edited]);
    assert_eq!(
        sb.sh_ok("ip -n c2 -br addr show eth0"),
        before_c2,
        "c2 keeps its address"
    );
    assert!(
        !sb.sh_ok("ip -o link").contains("c1-eth0"),
        "c1's bridge port is gone"
    );
    sb.ping("c2", "12.0.6.50");
    sb.topo_ok(&["destroy", &edited]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn destroy_with_an_edited_file_removes_what_the_lab_still_owns() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    sb.topo_ok(&["apply", &lab]);
    let edited = sb.lab("lab.yaml", "name: core\nnodes:\n  red: {}\n");
    sb.topo_ok(&["destroy", &edited]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn foreign_clashes_stop_plan_and_stay_untouched() {
    let Some(sb) = Sandbox::new() else { return };
    sb.sh_ok(
        "ip netns add red && ip link add v-net-0 type bridge && ip link add other0 type bridge",
    );
    let before = sb.sh_ok("ip -d -j link show; ip netns list");
    let lab = sb.lab("lab.yaml", LAB);
    for verb in ["plan", "apply"] {
        let out = sb.topo(&[verb, &lab]);
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        assert!(
            err.contains("namespace red exists and is not owned by lab core"),
            "{err}"
        );
        assert!(
            err.contains("bridge host:v-net-0 exists and is not owned by lab core"),
            "{err}"
        );
    }
    assert_eq!(
        sb.sh_ok("ip -d -j link show; ip netns list"),
        before,
        "nothing changed"
    );
    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(
        sb.sh_ok("ip -d -j link show; ip netns list"),
        before,
        "destroy leaves foreign objects alone"
    );
}

#[test]
fn labs_without_ipv6_create_interfaces_without_it() {
    let Some(sb) = Sandbox::new() else { return };
    let v4 = sb.lab("v4.yaml", "name: v4\nlinks: [{ endpoints: [a:eth0, b:eth0] }]\nnodes:\n  a: { interfaces: { eth0: { addresses: [10.0.0.1/24] } } }\n  b: { interfaces: { eth0: { addresses: [10.0.0.2/24] } } }\n");
    sb.topo_ok(&["apply", &v4]);
    assert!(
        !sb.sh_ok("ip -n a -6 addr show dev eth0").contains("fe80"),
        "no link-local without IPv6"
    );
    sb.ping("a", "10.0.0.2");
    sb.topo_ok(&["destroy", &v4]);
    let v6 = sb.lab("v6.yaml", "name: v6\nlinks: [{ endpoints: [a:eth0, b:eth0] }]\nnodes:\n  a: { interfaces: { eth0: { addresses: [10.0.0.1/24, 'fd00::1/64'] } } }\n  b: { interfaces: { eth0: { addresses: [10.0.0.2/24, 'fd00::2/64'] } } }\n");
    sb.topo_ok(&["apply", &v6]);
    assert!(
        sb.sh_ok("ip -n a -6 addr show dev eth0").contains("fe80"),
        "IPv6 labs keep link-local"
    );
    // Lab addresses skip duplicate address detection: usable at once.
    sb.ping("a", "fd00::2");
    sb.topo_ok(&["destroy", &v6]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn renaming_an_interface_replans_the_routes_that_go_with_it() {
    let Some(sb) = Sandbox::new() else { return };
    let yaml = "name: ren\nnodes:\n  red:\n    interfaces:\n      eth0: { addresses: [10.10.0.2/24] }\n    routes:\n      - { to: default, via: 10.10.0.1 }\nbridges:\n  br0: { addresses: [10.10.0.1/24] }\nlinks:\n  - endpoints: [red:eth0, br0]\n";
    let lab = sb.lab("lab.yaml", yaml);
    sb.topo_ok(&["apply", &lab]);
    let renamed = sb.lab("lab.yaml", &yaml.replace("eth0", "eth1"));
    let mut got = actions(&sb.plan_json(&renamed));
    got.sort();
    assert!(
        got.contains(&"create route default in red".to_string()),
        "{got:?}"
    );
    sb.topo_ok(&["apply", &renamed]);
    sb.ping("red", "10.10.0.1");
    sb.topo_ok(&["destroy", &renamed]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn a_saved_plan_applies_exactly_and_refuses_when_stale() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    let saved = format!("{}/plan.json", sb.dir.path().display());
    sb.topo_ok(&["plan", "-o", &saved, &lab]);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(doc["kind"], "topo-saved-plan");
    // The saved plan, applied: exactly its actions, and the lab is up.
    let applied: serde_json::Value =
        serde_json::from_str(&sb.topo_ok(&["apply", "--json", &saved])).unwrap();
    assert_eq!(
        applied["actions"].as_array().unwrap().len(),
        doc["plan"]["actions"].as_array().unwrap().len()
    );
    sb.ping("red", "192.168.15.2");
    assert_eq!(actions(&sb.plan_json(&lab)), Vec::<String>::new());

    // A plan made, then the kernel changes under it: apply refuses, naming
    // the object, and changes nothing.
    let edited = sb.lab(
        "lab.yaml",
        &LAB.replace(
            "eth0: { addresses: [192.168.15.2/24] }",
            "eth0: { addresses: [192.168.15.2/24], mtu: 1400 }",
        ),
    );
    sb.topo_ok(&["plan", "-o", &saved, &edited]);
    sb.sh_ok("ip -n blue link set eth0 mtu 1300");
    let before = sb.sh_ok("ip -o link; ip -n blue -o link");
    let out = sb.topo(&["apply", &saved]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("the saved plan is stale") && err.contains("link blue:eth0"),
        "{err}"
    );
    assert_eq!(
        sb.sh_ok("ip -o link; ip -n blue -o link"),
        before,
        "nothing changed"
    );
    // A fresh plan applies.
    sb.topo_ok(&["apply", &edited]);
    assert!(sb.sh_ok("ip -n blue link show eth0").contains("mtu 1400"));
    sb.topo_ok(&["destroy", &edited]);
    assert_eq!(sb.residue(), "");
}

/// A lab renamed in its file finds its old objects under the old name:
/// each clash says which lab holds it and how to remove that lab.
#[test]
fn a_clash_with_another_lab_names_that_lab() {
    let Some(sb) = Sandbox::new() else { return };
    let one = "name: one\nnodes:\n  red: { interfaces: { eth0: { addresses: [10.3.0.1/24] } } }\nbridges:\n  br0: {}\nlinks:\n  - endpoints: [red:eth0, br0]\n";
    let first = sb.lab("one.yaml", one);
    let renamed = sb.lab("two.yaml", &one.replace("name: one", "name: two"));
    sb.topo_ok(&["apply", "-q", &first]);
    let out = sb.topo(&["plan", &renamed]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    let whose = "(it is lab `one`'s: `topo destroy --lab one` removes that lab)";
    for what in ["namespace red", "bridge host:br0"] {
        assert!(
            err.contains(&format!(
                "{what} exists and is not owned by lab two {whose}"
            )),
            "{what}: {err}"
        );
    }
    sb.topo_ok(&["destroy", "-q", "--lab", "one"]);
    sb.topo_ok(&["apply", "-q", &renamed]);
    sb.topo_ok(&["destroy", "-q", &renamed]);
    assert_eq!(sb.residue(), "");
}
