//! Every lab in topologies/ on the real kernel, each in its own private
//! namespaces: apply, pings that prove the scenario, a second run that has
//! nothing to do, and a destroy that leaves nothing behind.

mod common;

use common::{text, Sandbox};

/// The labs tested here; `every_lab_file_has_a_test` keeps it complete.
const COVERED: &[&str] = &[
    "example.yaml",
    "seed-000-meganet.yaml",
    "seed-001-router.yaml",
    "seed-002-two-namespaces.yaml",
    "seed-003-bridge.yaml",
    "seed-004-red-blue.yaml",
];

fn lab_path(name: &str) -> String {
    format!("{}/topologies/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Applies the lab and checks the first run wrote something.
fn apply(sb: &Sandbox, file: &str) {
    let report: serde_json::Value =
        serde_json::from_str(&sb.topo_ok(&["apply", "--json", file])).expect("apply JSON");
    assert!(
        report["writes"].as_u64().unwrap() > 0,
        "the first apply writes: {report:#}"
    );
    assert!(
        report["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["status"] == "done"),
        "{report:#}"
    );
}

/// A ping that must go unanswered (the lab does not connect the two).
fn no_ping(sb: &Sandbox, from: &str, to: &str) {
    let out = sb.sh(&format!("ip netns exec {from} ping -c1 -W1 {to}"));
    assert!(
        !out.status.success(),
        "{from} should not reach {to}:\n{}",
        text(&out.stdout)
    );
}

/// The second run has nothing to do, then destroy leaves no residue.
fn converged_then_destroyed(sb: &Sandbox, file: &str) {
    let out = sb.topo(&["plan", "--detailed-exitcode", file]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "plan after apply is empty:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).starts_with("No changes."),
        "{}",
        text(&out.stdout)
    );
    let again: serde_json::Value =
        serde_json::from_str(&sb.topo_ok(&["apply", "--json", file])).expect("apply JSON");
    assert_eq!(
        again["writes"], 0,
        "a second apply sends no write request: {again:#}"
    );
    assert_eq!(again["actions"].as_array().unwrap().len(), 0, "{again:#}");
    sb.topo_ok(&["destroy", file]);
    assert_eq!(sb.residue(), "", "destroy leaves nothing behind");
}

#[test]
fn every_lab_file_has_a_test() {
    let mut files: Vec<String> =
        std::fs::read_dir(format!("{}/topologies", env!("CARGO_MANIFEST_DIR")))
            .expect("topologies/")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
            .collect();
    files.sort();
    assert_eq!(
        files, COVERED,
        "add a test to tests/seeds.rs for each new lab in topologies/ (and list it in COVERED)"
    );
}

#[test]
fn example() {
    let Some(sb) = Sandbox::new() else { return };
    let file = lab_path("example.yaml");
    apply(&sb, &file);
    // The four pings from the file's comment.
    sb.ping("red", "10.10.0.3"); // red -> blue, same bridge
    sb.ping("red", "10.10.0.1"); // red -> its gateway, the host
    sb.ping("green", "10.20.0.1"); // green -> the network's gateway
    sb.ping("blue", "10.20.0.10"); // blue -> green, over demo-net
    sb.ping("blue", "10.10.0.1");
    // blue's eth1 got the lowest free address of demo-net.
    sb.ping("green", "10.20.0.2");
    // As the comment says, red -> green would need the host to forward.
    no_ping(&sb, "red", "10.20.0.10");
    converged_then_destroyed(&sb, &file);
}

#[test]
fn seed_000_meganet() {
    let Some(sb) = Sandbox::new() else { return };
    let file = lab_path("seed-000-meganet.yaml");
    assert_eq!(sb.sh_ok("sysctl -n net.ipv4.ip_forward").trim(), "0");
    apply(&sb, &file);
    // c1 and c2 get the lowest free addresses, c3 its fixed one.
    sb.ping("c1", "12.0.6.2");
    sb.ping("c2", "12.0.6.1");
    sb.ping("c1", "12.0.6.50");
    sb.ping("c3", "12.0.6.1");
    // Every member reaches the gateway on the megaNet bridge.
    for c in ["c1", "c2", "c3"] {
        sb.ping(c, "12.0.6.200");
    }
    assert!(sb
        .sh_ok("ip -n c1 route show default")
        .contains("via 12.0.6.200"));
    assert_eq!(
        sb.sh_ok("sysctl -n net.ipv4.ip_forward").trim(),
        "1",
        "the host forwards"
    );
    converged_then_destroyed(&sb, &file);
    assert_eq!(
        sb.sh_ok("sysctl -n net.ipv4.ip_forward").trim(),
        "0",
        "destroy restores ip_forward"
    );
}

#[test]
fn seed_001_router() {
    let Some(sb) = Sandbox::new() else { return };
    let file = lab_path("seed-001-router.yaml");
    apply(&sb, &file);
    // Inside: the VMs see each other and their gateway r1 on br-in.
    sb.ping("vm1", "10.0.1.12");
    sb.ping("vm2", "10.0.1.11");
    sb.ping("vm1", "10.0.1.1");
    // Outside: lan1 sees r1's leg on br-ex.
    sb.ping("lan1", "172.16.100.1");
    // Through r1, which forwards, both ways.
    sb.ping("vm1", "172.16.100.10");
    sb.ping("vm2", "172.16.100.10");
    sb.ping("lan1", "10.0.1.11");
    assert_eq!(
        sb.sh_ok("ip netns exec r1 sysctl -n net.ipv4.ip_forward")
            .trim(),
        "1"
    );
    assert_eq!(
        sb.sh_ok("sysctl -n net.ipv4.ip_forward").trim(),
        "0",
        "only r1 forwards, not the host"
    );
    converged_then_destroyed(&sb, &file);
}

#[test]
fn seed_002_two_namespaces() {
    let Some(sb) = Sandbox::new() else { return };
    let file = lab_path("seed-002-two-namespaces.yaml");
    apply(&sb, &file);
    sb.ping("ns1", "172.18.0.3");
    sb.ping("ns2", "172.18.0.2");
    assert!(sb
        .sh_ok("ip -n ns1 route show default")
        .contains("dev veth0"));
    converged_then_destroyed(&sb, &file);
}

#[test]
fn seed_003_bridge() {
    let Some(sb) = Sandbox::new() else { return };
    let file = lab_path("seed-003-bridge.yaml");
    apply(&sb, &file);
    // foons reaches its gateway on foobr0, and the host reaches foons.
    sb.ping("foons", "172.18.0.1");
    sb.ping("host", "172.18.0.20");
    assert!(
        sb.sh_ok("ip -o link show veth0").contains("master foobr0"),
        "the seed's port name is kept"
    );
    // NAT, end to end: foons reaches the outside as the host, and the
    // outside reaches foons' service through both forwarded ports.
    sb.outside();
    assert_eq!(
        sb.tcp_peer("out", 9000, "foons", "10.99.0.2", 9000),
        "10.99.0.1"
    );
    assert_eq!(
        sb.tcp_peer("foons", 10050, "out", "10.99.0.1", 10050),
        "10.99.0.2"
    );
    assert_eq!(
        sb.tcp_peer("foons", 10050, "out", "10.99.0.1", 50010),
        "10.99.0.2"
    );
    sb.drop_outside();
    converged_then_destroyed(&sb, &file);
}

#[test]
fn seed_004_red_blue() {
    let Some(sb) = Sandbox::new() else { return };
    let file = lab_path("seed-004-red-blue.yaml");
    apply(&sb, &file);
    sb.ping("red", "192.168.15.2");
    sb.ping("blue", "192.168.15.1");
    sb.ping("red", "192.168.15.5");
    sb.ping("blue", "192.168.15.5");
    sb.ping("host", "192.168.15.1");
    assert!(sb
        .sh_ok("ip -n blue route show 192.168.1.0/24")
        .contains("via 192.168.15.5"));
    assert_eq!(
        sb.sh_ok("sysctl -n net.ipv4.ip_forward").trim(),
        "1",
        "the host forwards"
    );
    // NAT, end to end: red reaches the outside as the host; the outside and
    // the host itself reach blue's web server through the host's port 80.
    sb.outside();
    assert_eq!(
        sb.tcp_peer("out", 9000, "red", "10.99.0.2", 9000),
        "10.99.0.1"
    );
    assert_eq!(sb.tcp_peer("blue", 80, "out", "10.99.0.1", 80), "10.99.0.2");
    assert_eq!(
        sb.tcp_peer("blue", 80, "host", "10.99.0.1", 80),
        "10.99.0.1"
    );
    // Still bridged, not masqueraded, between the namespaces.
    assert_eq!(
        sb.tcp_peer("blue", 8000, "red", "192.168.15.2", 8000),
        "192.168.15.1"
    );
    sb.drop_outside();
    converged_then_destroyed(&sb, &file);
    assert_eq!(
        sb.sh_ok("sysctl -n net.ipv4.ip_forward").trim(),
        "0",
        "destroy restores ip_forward"
    );
}
