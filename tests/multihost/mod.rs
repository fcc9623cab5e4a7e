//! Labs across machines: simulated hosts in one sandbox, driven over
//! OpenSSH.

use crate::common;
mod four;

use common::Sandbox;

#[test]
fn simulated_hosts_answer_over_ssh() {
    let Some(sb) = Sandbox::new() else { return };
    let hosts = sb.hosts(2);
    for i in 0..2 {
        let out = sb.sh_ok(&format!(
            "ssh -F {} h{} ip -4 -o addr show dev eth0",
            hosts.ssh_config.display(),
            i + 1
        ));
        assert!(out.contains(&hosts.addresses[i]), "{out}");
        // Each host has its own /run: its namespaces are its own.
        hosts.sh_ok(&sb, i, &format!("ip netns add only-h{}", i + 1));
    }
    assert_eq!(hosts.sh_ok(&sb, 0, "ls /run/netns"), "only-h1\n");
    assert_eq!(hosts.sh_ok(&sb, 1, "ls /run/netns"), "only-h2\n");
    assert_eq!(sb.sh_ok("ls /run/netns"), "");
    // Every process of the hosts (sshd among them) goes with them.
    let tree = hosts.processes();
    assert!(
        tree.len() >= 4,
        "each host runs its init and sshd: {tree:?}"
    );
    drop(hosts);
    for pid in tree {
        assert!(
            !common::hosts::alive(pid),
            "process {pid} outlived its host"
        );
    }
}

use common::hosts::Hosts;
use common::{text, topo_bin};

/// The seed-000 shape on two hosts: a network on each, derived routes,
/// masquerade on h2's network that must not hide lab addresses, and a
/// link between two nodes of h2.
fn two_hosts(bin: &str) -> String {
    format!(
        "name: mh
hosts:
  h1: {{ address: 192.168.0.1, ssh: h1, topo: {bin} }}
  h2: {{ address: 192.168.0.2, ssh: h2, topo: {bin} }}
networks:
  net1: {{ host: h1, subnet: 12.0.1.0/24, gateway: 12.0.1.200, nodes: [a1, a2] }}
  net6: {{ host: h2, subnet: 12.0.6.0/24, gateway: 12.0.6.200, nodes: [b1], masquerade: true }}
nodes:
  c1: {{ host: h2, interfaces: {{ eth9: {{ addresses: [10.9.0.2/24] }} }} }}
  b1: {{ interfaces: {{ eth9: {{ addresses: [10.9.0.1/24] }} }} }}
links:
  - endpoints: [b1:eth9, c1:eth9]
"
    )
}

/// `topo ARGS --all-hosts` from the sandbox, with the hosts' ssh config.
fn all(sb: &Sandbox, hosts: &Hosts, args: &[&str]) -> std::process::Output {
    let cfg = hosts.ssh_config.to_str().unwrap();
    let mut a = args.to_vec();
    a.extend(["--all-hosts", "--ssh-config", cfg]);
    sb.topo(&a)
}

fn all_ok(sb: &Sandbox, hosts: &Hosts, args: &[&str]) -> String {
    let out = all(sb, hosts, args);
    assert!(
        out.status.success(),
        "topo {args:?} --all-hosts failed:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// What a lab could leave on host `i`.
fn residue(sb: &Sandbox, hosts: &Hosts, i: usize) -> String {
    hosts.sh_ok(sb, i, "ip netns list; ip -o link show | grep -v -e ': lo:' -e ': eth0@'; nft list tables; ls -A /run/topo; ip route show proto 157")
}

/// ssh processes this test's runs left (they name its ssh config).
fn ssh_left(sb: &Sandbox, hosts: &Hosts) -> String {
    let cfg = hosts.ssh_config.display();
    text(
        &sb.sh(&format!("pgrep -af -- '-F {cfg}' | grep -v pgrep"))
            .stdout,
    )
}

#[test]
fn two_hosts_apply_everywhere_and_route_between_them() {
    let Some(sb) = Sandbox::new() else { return };
    let hosts = sb.hosts(2);
    let bin = topo_bin();
    let lab = sb.lab("mh.yaml", &two_hosts(bin.to_str().unwrap()));
    let before: Vec<usize> = (0..2).map(|i| hosts.connections(i)).collect();
    let sessions: Vec<usize> = (0..2).map(|i| hosts.sessions(i)).collect();
    let out = all_ok(&sb, &hosts, &["apply", &lab]);
    assert!(
        out.contains("Host h1:") && out.contains("Host h2:"),
        "{out}"
    );
    assert!(out.contains("Apply complete on all 2 hosts"), "{out}");
    // One ssh connection per host for the whole run, and in it one
    // session (the version check, the plan and the apply in one run of
    // topo there); none left open.
    for (i, b) in before.iter().enumerate() {
        assert_eq!(hosts.connections(i) - b, 1, "connections to h{}", i + 1);
        assert_eq!(hosts.sessions(i) - sessions[i], 1, "sessions on h{}", i + 1);
    }
    assert_eq!(ssh_left(&sb, &hosts), "");
    // At once, over the derived routes: a1 on h1 reaches b1 on h2.
    hosts.sh_ok(&sb, 0, "ip netns exec a1 ping -c1 -W2 12.0.6.1");
    hosts.sh_ok(&sb, 1, "ip netns exec c1 ping -c1 -W2 10.9.0.1");
    // h2 masquerades its network, but not toward the lab: a1 sees b1 itself.
    let seen = hosts.tcp_peer(
        &sb,
        (0, "a1"),
        7001,
        (1, "b1"),
        "12.0.6.1".replace("6.1", "1.1").as_str(),
    );
    assert_eq!(seen, "12.0.6.1", "a1 saw b1 as {seen}");
    // Each host's share only.
    assert_eq!(
        hosts.sh_ok(&sb, 0, "ip netns list | cut -d' ' -f1 | sort"),
        "a1\na2\n"
    );
    assert_eq!(
        hosts.sh_ok(&sb, 1, "ip netns list | cut -d' ' -f1 | sort"),
        "b1\nc1\n"
    );
    // Applied again: nothing to do anywhere.
    let sessions: Vec<usize> = (0..2).map(|i| hosts.sessions(i)).collect();
    let out = all(&sb, &hosts, &["plan", &lab, "--detailed-exitcode"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    for (i, b) in sessions.iter().enumerate() {
        assert_eq!(hosts.sessions(i) - b, 1, "plan: sessions on h{}", i + 1);
    }
    let json = all_ok(&sb, &hosts, &["plan", &lab, "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    for h in ["h1", "h2"] {
        assert_eq!(
            doc["hosts"][h]["actions"].as_array().unwrap().len(),
            0,
            "{json}"
        );
    }
    all_ok(&sb, &hosts, &["destroy", &lab]);
    for i in 0..2 {
        assert_eq!(residue(&sb, &hosts, i), "", "h{} keeps something", i + 1);
    }
    assert_eq!(ssh_left(&sb, &hosts), "");
    // A mistake in a host's share (found while the masters come up) is
    // the error, and stops them: no ssh process is left.
    let bad = two_hosts(bin.to_str().unwrap()).replace("10.9.0.2/24", "10.9.0.1/24");
    let bad = sb.lab("bad.yaml", &bad);
    for verb in ["plan", "apply", "destroy"] {
        let out = all(&sb, &hosts, &[verb, &bad]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{verb}: {err}");
        assert!(
            err.contains("address 10.9.0.1 on b1:eth9 is also on c1:eth9"),
            "{err}"
        );
        assert!(!err.contains("ssh"), "{verb}: {err}");
        assert_eq!(ssh_left(&sb, &hosts), "", "{verb}");
    }
}

#[test]
fn one_host_runs_its_own_share_and_exec_reaches_any_node() {
    let Some(sb) = Sandbox::new() else { return };
    let hosts = sb.hosts(2);
    let bin = topo_bin();
    let bin = bin.to_str().unwrap();
    let lab = sb.lab("mh.yaml", &two_hosts(bin));
    // Without saying which host: refused, with what to write.
    let out = sb.topo(&["plan", &lab]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("lab `mh` runs on hosts h1, h2: say which this is"),
        "{err}"
    );
    assert!(
        err.contains("--host NAME") && err.contains("--all-hosts"),
        "{err}"
    );
    let out = sb.topo(&["plan", &lab, "--host", "h9"]);
    assert!(text(&out.stderr).contains("lab `mh` has no host `h9`"));
    // On h2 itself, h2's share only; h1 is not asked.
    let before = hosts.connections(0);
    let plan = hosts.sh_ok(&sb, 1, &format!("{bin} plan {lab} --host h2"));
    assert!(
        plan.contains("+ netns b1") && plan.contains("+ netns c1"),
        "{plan}"
    );
    assert!(!plan.contains("netns a1"), "{plan}");
    assert!(
        plan.contains("+ route 12.0.1.0/24 in host  (via 192.168.0.1)"),
        "{plan}"
    );
    hosts.sh_ok(&sb, 1, &format!("{bin} apply {lab} --host h2"));
    assert_eq!(hosts.connections(0), before);
    assert_eq!(hosts.sh_ok(&sb, 0, "ip netns list"), "");
    // exec from the sandbox runs on the node's host, input, output and
    // exit code passed through.
    let cfg = hosts.ssh_config.to_str().unwrap();
    let out = sb.sh_ok(&format!(
        "echo hello | {bin} exec {lab} b1 --ssh-config {cfg} -- sh -c 'cat; ip -4 -o addr show eth0'"
    ));
    assert!(
        out.starts_with("hello\n") && out.contains("12.0.6.1/24"),
        "{out}"
    );
    let out = sb.sh(&format!(
        "{bin} exec {lab} c1 --ssh-config {cfg} -- sh -c 'exit 7'"
    ));
    assert_eq!(out.status.code(), Some(7));
    // On the node's own host, with --host, exec runs there directly.
    let out = hosts.sh_ok(
        &sb,
        1,
        &format!("{bin} exec {lab} c1 --host h2 -- ip -o link show eth9"),
    );
    assert!(out.contains("eth9"), "{out}");
    hosts.sh_ok(&sb, 1, &format!("{bin} destroy {lab} --host h2"));
    assert_eq!(residue(&sb, &hosts, 1), "");
    assert_eq!(ssh_left(&sb, &hosts), "");
}

/// The lab: a network on each host, one stretched over both, and
/// a link between nodes of the two hosts.
fn stretched(bin: &str) -> String {
    format!(
        "name: mega
hosts:
  h1: {{ address: 192.168.0.1, ssh: h1, topo: {bin} }}
  h2: {{ address: 192.168.0.2, ssh: h2, topo: {bin} }}
networks:
  net1: {{ host: h1, subnet: 12.0.1.0/24, gateway: 12.0.1.200, nodes: [a1, a2] }}
  net6: {{ host: h2, subnet: 12.0.6.0/24, gateway: 12.0.6.200, nodes: [b1] }}
  stretched: {{ hosts: [h1, h2], subnet: 10.50.0.0/24, nodes: [{{ node: a1, interface: eth1 }}, {{ node: b1, interface: eth1 }}] }}
nodes:
  c1: {{ host: h2, interfaces: {{ eth9: {{ addresses: [10.60.0.2/24] }} }} }}
  a2: {{ interfaces: {{ eth9: {{ addresses: [10.60.0.1/24] }} }} }}
links:
  - endpoints: [a2:eth9, c1:eth9]
"
    )
}

#[test]
fn stretched_networks_and_links_between_hosts_carry_full_frames_at_once() {
    let Some(sb) = Sandbox::new() else { return };
    let hosts = sb.hosts(2);
    let bin = topo_bin();
    let lab = sb.lab("mega.yaml", &stretched(bin.to_str().unwrap()));
    all_ok(&sb, &hosts, &["apply", &lab]);
    // One segment: a1 (10.50.0.1, on h1) and b1 (10.50.0.2, on h2) see
    // each other's MAC, at once; a full-size frame fits (overlay 1450).
    hosts.sh_ok(
        &sb,
        0,
        "ip netns exec a1 ping -c1 -W2 -M do -s 1422 10.50.0.2",
    );
    let neigh = hosts.sh_ok(&sb, 0, "ip -n a1 neigh show 10.50.0.2");
    let b1_mac = hosts.sh_ok(&sb, 1, "ip -n b1 -br link show eth1 | awk '{print $3}'");
    assert!(
        neigh.contains(b1_mac.trim()),
        "ARP across the tunnel: {neigh} vs {b1_mac}"
    );
    // One byte more does not fit, and says so (no silent loss).
    let too_big = hosts.sh(
        &sb,
        0,
        "ip netns exec a1 ping -c1 -W1 -M do -s 1423 10.50.0.2",
    );
    assert!(!too_big.status.success());
    // The link between hosts, over its own tunnel, full size too.
    hosts.sh_ok(
        &sb,
        0,
        "ip netns exec a2 ping -c1 -W2 -M do -s 1422 10.60.0.2",
    );
    hosts.sh_ok(&sb, 1, "ip netns exec c1 ping -c1 -W2 10.60.0.1");
    // Every interface of the segment has the overlay's MTU.
    for (i, node, dev) in [
        (0, "a1", "eth1"),
        (1, "b1", "eth1"),
        (0, "a2", "eth9"),
        (1, "c1", "eth9"),
    ] {
        let mtu = hosts.sh_ok(&sb, i, &format!("ip -n {node} -o link show {dev}"));
        assert!(mtu.contains("mtu 1450"), "{node}:{dev}: {mtu}");
    }
    // Learning off, one forwarding entry per remote host.
    let vx = hosts.sh_ok(&sb, 0, "ip -d -j link show type vxlan");
    let doc: serde_json::Value = serde_json::from_str(&vx).unwrap();
    assert_eq!(doc.as_array().unwrap().len(), 2, "{vx}");
    for d in doc.as_array().unwrap() {
        let info = &d["linkinfo"]["info_data"];
        assert_eq!(info["port"], 4789, "{vx}");
        assert_eq!(info["learning"], false, "{vx}");
        assert_eq!(d["mtu"], 1450, "{vx}");
    }
    // Both hosts planned alike: applied again, nothing to do anywhere.
    let out = all(&sb, &hosts, &["plan", &lab, "--detailed-exitcode"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    all_ok(&sb, &hosts, &["destroy", &lab]);
    for i in 0..2 {
        assert_eq!(residue(&sb, &hosts, i), "", "h{} keeps something", i + 1);
    }
}
