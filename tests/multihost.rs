//! Labs across machines: simulated hosts in one sandbox, driven over
//! OpenSSH.

mod common;

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
