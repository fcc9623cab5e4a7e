//! Every lab in topologies/ carries `tests:` of its own, and they pass:
//! each lab applied in its own sandbox, `topo test`, then destroyed with
//! nothing left behind.

use crate::common;

use common::{text, Sandbox};

fn lab_path(name: &str) -> String {
    format!("{}/topologies/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The labs tested here, each by a test of its own below.
const COVERED: &[&str] = &[
    "clos-2-2-2.yaml",
    "example.yaml",
    "mininet-tree-2-3.yaml",
    "netnslab-demo.yaml",
    "netnslab-ring-3-routers.yaml",
    "seed-000-containers.yaml",
    "seed-000-meganet.yaml",
    "seed-000-two-hosts.yaml",
    "seed-001-dhcp.yaml",
    "seed-001-router.yaml",
    "seed-002-two-namespaces.yaml",
    "seed-003-bridge.yaml",
    "seed-004-red-blue.yaml",
];

#[test]
fn every_lab_file_declares_tests() {
    let mut files: Vec<String> = std::fs::read_dir(lab_path(""))
        .expect("topologies/")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    assert_eq!(
        files, COVERED,
        "add each new lab to COVERED, with a test below"
    );
    for f in files {
        let l = topo::load(&lab_path(&f)).expect("loads");
        if !l.spec.hosts.is_empty() {
            // Across machines: every host's share carries its checks.
            let mut n = 0;
            for h in topo::model::hosts::host_names(&l.spec) {
                let share = topo::load(&lab_path(&f))
                    .unwrap()
                    .for_host(Some(&h))
                    .expect("share");
                let v = topo::validate(&share, &Default::default()).expect("valid");
                n += topo::model::checks::resolve(&share.spec, &v.model)
                    .expect("resolves")
                    .len();
            }
            assert!(n >= 2, "{f} declares {n} checks");
            continue;
        }
        let v = topo::validate(&l, &Default::default()).expect("valid");
        let checks = topo::model::checks::resolve(&l.spec, &v.model).expect("resolves");
        assert!(checks.len() >= 2, "{f} declares {} checks", checks.len());
    }
}

/// Applies `file` (after `world`, what the sandbox holds that is not the
/// lab's), runs its tests, destroys it, and checks nothing of it is left.
fn passes_its_tests(file: &str, world: &str) {
    let Some(sb) = Sandbox::new() else { return };
    if !world.is_empty() {
        sb.sh_ok(world);
    }
    let before = sb.residue();
    let lab = lab_path(file);
    sb.topo_ok(&["apply", "-q", &lab]);
    let out = sb.topo(&["test", &lab]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("test result: ok."), "{stdout}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
    sb.topo_ok(&["destroy", "-q", &lab]);
    assert_eq!(sb.residue(), before, "{file} left something behind");
}

#[test]
fn example() {
    passes_its_tests("example.yaml", "");
}

#[test]
fn clos_2_2_2() {
    passes_its_tests("clos-2-2-2.yaml", "");
}

#[test]
fn mininet_tree_2_3() {
    passes_its_tests("mininet-tree-2-3.yaml", "");
}

#[test]
fn netnslab_demo() {
    passes_its_tests("netnslab-demo.yaml", "");
}

#[test]
fn netnslab_ring_3_routers() {
    passes_its_tests("netnslab-ring-3-routers.yaml", "");
}

#[test]
fn seed_000_meganet() {
    // Its host route goes via the tutorial's host B, 192.168.0.1: a
    // namespace on a veth stands in for it.
    passes_its_tests(
        "seed-000-meganet.yaml",
        "ip netns add hostb && ip link add lan0 type veth peer name eth0 netns hostb \
         && ip addr add 192.168.0.2/24 dev lan0 && ip link set lan0 up \
         && ip -n hostb addr add 192.168.0.1/24 dev eth0 && ip -n hostb link set eth0 up",
    );
}

#[test]
fn seed_001_router() {
    passes_its_tests("seed-001-router.yaml", "");
}

#[test]
fn seed_001_dhcp() {
    // The machine's NIC (lan0) and the LAN machine behind it.
    passes_its_tests(
        "seed-001-dhcp.yaml",
        "ip netns add lan1 && ip -n lan1 link set lo up \
         && ip link add lan0 type veth peer name eth0 netns lan1 \
         && ip -n lan1 addr add 172.16.100.10/24 dev eth0 && ip -n lan1 link set eth0 up",
    );
}

#[test]
fn seed_000_containers() {
    // The running containers' namespaces, linked into /run/netns.
    passes_its_tests(
        "seed-000-containers.yaml",
        "ip netns add c1 && ip netns add c2",
    );
}

#[test]
fn seed_002_two_namespaces() {
    passes_its_tests("seed-002-two-namespaces.yaml", "");
}

#[test]
fn seed_003_bridge() {
    passes_its_tests("seed-003-bridge.yaml", "");
}

#[test]
fn seed_004_red_blue() {
    passes_its_tests("seed-004-red-blue.yaml", "");
}

#[test]
fn seed_000_two_hosts() {
    // Two simulated hosts, each with its own sshd; topo drives both.
    let Some(sb) = Sandbox::new() else { return };
    let hosts = sb.hosts(2);
    let lab = lab_path("seed-000-two-hosts.yaml");
    let cfg = hosts.ssh_config.to_str().unwrap().to_string();
    let all = |verb: &str| sb.topo(&[verb, "-q", &lab, "--all-hosts", "--ssh-config", &cfg]);
    let out = all("apply");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = all("test");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert_eq!(stdout.matches("test result: ok.").count(), 2, "{stdout}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
    let out = all("destroy");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for i in 0..2 {
        let left = hosts.sh_ok(
            &sb,
            i,
            "ip netns list; nft list tables; ls -A /run/topo; ip route show proto 157",
        );
        assert_eq!(left, "", "host {} keeps something", i + 1);
    }
}
