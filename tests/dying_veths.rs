//! A node's namespace deleted by hand takes its veths along, but a little
//! later; and while a process still holds it, the namespace (and every veth
//! end in it) lives on without its name. Either way the surviving ends are
//! read as gone: apply makes the node again, waits for the old ends (and
//! deletes those that stay), and the lab carries packets at once.

use crate::common;

use common::Sandbox;

const LAB: &str = r#"
name: dying
nodes:
  a:
    interfaces: { eth0: { addresses: [10.5.0.2/24] } }
    routes: [{ to: default, via: 10.5.0.1 }]
  r:
    interfaces:
      eth0: { addresses: [10.5.0.1/24] }
      eth1: { addresses: [10.6.0.1/24] }
    sysctls: { net.ipv4.ip_forward: 1 }
  c:
    interfaces: { eth0: { addresses: [10.6.0.2/24] } }
    routes: [{ to: default, via: 10.6.0.1 }]
bridges:
  br0: {}
links:
  - endpoints: [a:eth0, br0]
  - endpoints: [r:eth0, br0]
  - endpoints: [r:eth1, c:eth0]
"#;

/// Every node whose namespace can lose its name: one with a veth into the
/// host's bridge (a), one with a veth to another node only (c), and the
/// router with both (r).
const NODES: [&str; 3] = ["a", "c", "r"];

fn pings(sb: &Sandbox, when: &str) {
    for (from, to) in [("a", "10.6.0.2"), ("c", "10.5.0.2"), ("r", "10.5.0.2")] {
        let out = sb.sh(&format!("ip netns exec {from} ping -c1 -W1 {to}"));
        assert!(out.status.success(), "{when}: {from} → {to}");
    }
}

#[test]
fn a_namespace_held_by_a_process_after_its_name_went_is_replaced() {
    let Some(sb) = Sandbox::new() else { return };
    let f = sb.lab("lab.yaml", LAB);
    sb.topo_ok(&["apply", &f]);
    for node in NODES {
        // The process keeps the namespace, and its veths, alive.
        let pid = sb.sh_ok(&format!(
            "ip netns exec {node} sleep 600 >/dev/null 2>&1 & echo $!"
        ));
        let pid = pid.trim().to_string();
        sb.sh_ok(&format!("ip netns del {node}"));
        let plan = sb.topo_ok(&["plan", &f]);
        assert!(plan.contains(&format!("+ netns {node}")), "{node}: {plan}");
        sb.topo_ok(&["apply", &f]);
        pings(&sb, &format!("after {node} came back"));
        let again = sb.topo_ok(&["plan", &f]);
        assert!(again.contains("No changes"), "{node}: {again}");
        sb.sh_ok(&format!("kill {pid}"));
    }
    sb.topo_ok(&["destroy", &f]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn apply_right_after_a_namespace_was_deleted_converges() {
    let Some(sb) = Sandbox::new() else { return };
    let f = sb.lab("lab.yaml", LAB);
    sb.topo_ok(&["apply", &f]);
    for node in NODES {
        // No pause: topo reads the machine while the kernel still tears
        // the namespace's veths down.
        sb.sh_ok(&format!("ip netns del {node}"));
        sb.topo_ok(&["apply", &f]);
        pings(&sb, &format!("after {node} came back"));
    }
    sb.topo_ok(&["destroy", &f]);
    assert_eq!(sb.residue(), "");
}
