//! DHCP served by dnsmasq: real leases to a real client (busybox udhcpc)
//! in namespaces the test makes, standing in for VMs on the lab's bridge;
//! the server as an owned process (restarted on every change, started
//! again when killed, a recycled pid never signalled, stopped by destroy).
//!
//! The lab and the helpers for its VMs and its server are here.

mod lifecycle;
mod serving;

use crate::common;

use common::{actions, text, Sandbox};

const LAB: &str = r#"
name: dh
networks:
  inner:
    subnet: 10.0.1.0/24
    gateway: 10.0.1.1
    dhcp: { range: 10.0.1.100-10.0.1.150, lease: 1h, hosts: { vm1: { mac: "52:54:00:00:00:01", address: 10.0.1.11 } } }
    nodes: [ { node: r1, address: 10.0.1.2 } ]
"#;

/// A namespace `name` with eth0 (MAC `mac`) on the lab's bridge `bridge`,
/// not the lab's: a VM's NIC.
fn vm(sb: &Sandbox, name: &str, bridge: &str, mac: &str) {
    sb.sh_ok(&format!(
        "ip netns add {name} && ip link add {name}-nic type veth peer name eth0 netns {name} \
         && ip -n {name} link set eth0 address {mac} && ip link set {name}-nic master {bridge} up \
         && ip -n {name} link set eth0 up && ip -n {name} link set lo up"
    ));
}

fn drop_vm(sb: &Sandbox, name: &str) {
    sb.sh_ok(&format!(
        "ip netns del {name}; ip link del {name}-nic 2>/dev/null; true"
    ));
}

/// The pid of the lab's dnsmasq on `ns/ifname`, from its pid file.
fn pid(sb: &Sandbox, ns: &str, ifname: &str) -> String {
    sb.sh_ok(&format!("cat /run/topo/dh/dhcp/{ns}/{ifname}.pid"))
        .trim()
        .to_string()
}

/// Whether `pid` runs (a zombie does not: this machine's init may leave
/// the daemons it inherits unreaped).
fn alive(sb: &Sandbox, pid: &str) -> bool {
    let stat = text(&sb.sh(&format!("cat /proc/{pid}/stat 2>/dev/null")).stdout);
    let state = stat.rsplit_once(") ").map(|(_, r)| r.chars().next());
    matches!(state, Some(Some(s)) if s != 'Z')
}

fn noop(sb: &Sandbox, lab: &str) {
    assert!(actions(&sb.plan_json(lab)).is_empty(), "plan is empty");
    let again: serde_json::Value =
        serde_json::from_str(&sb.topo_ok(&["apply", "--json", lab])).unwrap();
    assert_eq!(again["writes"], 0);
}

/// dnsmasq processes running in the sandbox.
fn dnsmasqs(sb: &Sandbox) -> usize {
    sb.pids_of("dnsmasq").len()
}
