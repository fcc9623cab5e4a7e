//! The labs in topologies/ that need more than the lab itself to show what
//! they do: seed 001's whole scenario (namespaces standing in for the VMs
//! on the taps' bridge lease their addresses from dnsmasq in r1, reach the
//! LAN behind the NIC through SNAT), and seed 000's containers (namespaces
//! someone else made, attached, resolving names and reaching the host's
//! name server, with replies let in and new connections not).

use crate::common;

use common::{actions, text, Sandbox};

fn lab_path(name: &str) -> String {
    format!("{}/topologies/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The machine's NIC of seed 001 (lan0) and the LAN machine behind it.
pub const WORLD_001: &str = "ip netns add lan1 && ip -n lan1 link set lo up \
     && ip link add lan0 type veth peer name eth0 netns lan1 \
     && ip -n lan1 addr add 172.16.100.10/24 dev eth0 && ip -n lan1 link set eth0 up";

/// Seed 000's running containers: namespaces linked into /run/netns.
pub const WORLD_000: &str = "ip netns add c1 && ip netns add c2";

fn converged(sb: &Sandbox, file: &str) {
    assert!(actions(&sb.plan_json(file)).is_empty(), "plan is empty");
    let again: serde_json::Value =
        serde_json::from_str(&sb.topo_ok(&["apply", "--json", file])).unwrap();
    assert_eq!(again["writes"], 0);
}

/// A namespace standing in for a VM: its NIC (`mac`) on br-in, where the
/// VM's tap would be.
fn vm(sb: &Sandbox, name: &str, mac: &str) {
    sb.sh_ok(&format!(
        "ip netns add {name} && ip link add {name}-nic type veth peer name eth0 netns {name} \
         && ip -n {name} link set eth0 address {mac} && ip link set {name}-nic master br-in up \
         && ip -n {name} link set eth0 up && ip -n {name} link set lo up"
    ));
}

/// The address udhcpc leases in `name`, configured with its route.
fn lease_address(sb: &Sandbox, name: &str) -> String {
    let l = sb.dhcp_lease(name);
    l.split_whitespace().next().unwrap_or_default().to_string()
}

#[test]
fn seed_001_dhcp_leases_to_the_vms_and_snats_them_to_the_lan() {
    let Some(sb) = Sandbox::new() else { return };
    sb.sh_ok(WORLD_001);
    let before = sb.residue();
    let file = lab_path("seed-001-dhcp.yaml");
    sb.topo_ok(&["apply", &file]);
    vm(&sb, "vm1", "52:54:00:aa:bb:cc");
    vm(&sb, "vm2", "52:54:00:aa:bb:dd");
    assert_eq!(
        lease_address(&sb, "vm1"),
        "10.0.1.11",
        "vm1's MAC gets its fixed address"
    );
    let vm2 = lease_address(&sb, "vm2");
    let last: u8 = vm2.rsplit('.').next().unwrap().parse().unwrap();
    assert!((100..=120).contains(&last), "{vm2}");
    // Through r1 and the uplink the VMs reach the LAN, which sees r1.
    assert_eq!(
        sb.tcp_peer("lan1", 9000, "vm1", "172.16.100.10", 9000),
        "172.16.100.1"
    );
    assert_eq!(
        sb.tcp_peer("lan1", 9000, "vm2", "172.16.100.10", 9000),
        "172.16.100.1"
    );
    // The exclusion: r1's own connections into the VMs' network keep their
    // address (without `exclude` they would leave as 172.16.100.1).
    assert_eq!(
        sb.tcp_peer("vm1", 9001, "r1", "10.0.1.11", 9001),
        "10.0.1.1"
    );
    let out = sb.topo(&["test", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(sb.sh_ok("ip -o link show lan0").contains("master br-ex"));
    converged(&sb, &file);
    sb.topo_ok(&["destroy", &file]);
    assert!(sb.pids_of("dnsmasq").is_empty());
    sb.sh_ok("ip link del vm1-nic && ip link del vm2-nic && ip netns del vm1 && ip netns del vm2");
    assert!(
        !sb.sh_ok("ip -o link show lan0").contains("master"),
        "the NIC is detached"
    );
    assert_eq!(sb.residue(), before);
}

#[test]
fn seed_000_containers_resolve_names_and_keep_new_connections_out() {
    let Some(sb) = Sandbox::new() else { return };
    sb.sh_ok(WORLD_000);
    sb.outside();
    // The outside knows the way to the containers, and tries them.
    sb.sh_ok("ip -n out route add 12.0.7.0/24 via 10.99.0.1");
    let before = sb.residue();
    let file = lab_path("seed-000-containers.yaml");
    sb.topo_ok(&["apply", &file]);
    // Names, from the hosts file; the containers' own resolver config.
    let c2 = sb.topo_ok(&["exec", &file, "c1", "--", "getent", "hosts", "c2"]);
    assert_eq!(
        c2.split_whitespace().collect::<Vec<_>>(),
        ["12.0.7.2", "c2", "c2.seed-000-containers"]
    );
    let ip = sb.sh_ok("ip netns exec c2 getent hosts c1.seed-000-containers");
    assert!(ip.starts_with("12.0.7.1 "), "{ip}");
    // A lookup leaves for the host's address on nsNet: a listener there
    // sees the query.
    let seen = sb.dir.path().join("query");
    sb.sh_ok(&format!(
        "timeout 4 socat -u UDP-RECV:53,bind=12.0.7.200 OPEN:{},creat,append & l=$!\n\
         for i in $(seq 100); do ss -uln | grep -q '12.0.7.200:53 ' && break; sleep 0.05; done\n\
         {} exec {file} c1 -- getent hosts example.org; kill $l; wait $l; true",
        seen.display(),
        common::topo_bin().display()
    ));
    let q = String::from_utf8_lossy(&std::fs::read(&seen).expect("a query arrived")).into_owned();
    assert!(q.contains("example") && q.contains("org"), "{q:?}");
    // Replies come back in; new connections from outside do not.
    assert_eq!(
        sb.tcp_peer("out", 9000, "c1", "10.99.0.2", 9000),
        "10.99.0.1"
    );
    assert_eq!(sb.tcp_peer("c1", 9001, "out", "12.0.7.1", 9001), "");
    let out = sb.topo(&["test", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    converged(&sb, &file);
    sb.topo_ok(&["destroy", &file]);
    for c in ["c1", "c2"] {
        assert_eq!(
            sb.sh_ok(&format!("ip -n {c} -o link | wc -l")).trim(),
            "1",
            "{c} has its lo only"
        );
    }
    assert_eq!(sb.residue(), before);
}
