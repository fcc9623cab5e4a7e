//! The server as an owned process: restarted on every change, started again
//! when killed or stale, stopped by destroy, others' processes left alone.

use super::*;
#[test]
fn every_change_of_the_server_restarts_it_with_the_new_configuration() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    sb.topo_ok(&["apply", &lab]);
    vm(&sb, "vm1", "inner", "52:54:00:00:00:01");
    let edits = [
        (
            "range",
            "range: 10.0.1.100-10.0.1.150",
            "range: 10.0.1.160-10.0.1.170",
            "10.0.1.11 router=10.0.1.1 dns=",
        ),
        (
            "lease",
            "lease: 1h",
            "lease: 30m",
            "10.0.1.11 router=10.0.1.1 dns=",
        ),
        (
            "router",
            "lease: 30m,",
            "lease: 30m, router: 10.0.1.2,",
            "10.0.1.11 router=10.0.1.2 dns=",
        ),
        (
            "dns",
            "router: 10.0.1.2,",
            "router: 10.0.1.2, dns: [10.0.1.53],",
            "10.0.1.11 router=10.0.1.2 dns=10.0.1.53",
        ),
        (
            "hosts",
            "address: 10.0.1.11",
            "address: 10.0.1.12",
            "10.0.1.12 router=10.0.1.2 dns=10.0.1.53",
        ),
        (
            "hosts",
            "52:54:00:00:00:01",
            "52:54:00:00:00:09",
            "10.0.1.16",
        ),
    ];
    let mut yaml = LAB.to_string();
    for (attr, from, to, got) in edits {
        assert!(yaml.contains(from), "{from}");
        yaml = yaml.replace(from, to);
        let file = sb.lab("lab.yaml", &yaml);
        let before = pid(&sb, "host", "inner");
        let p = sb.plan_json(&file);
        assert_eq!(actions(&p), vec!["update dhcp host:inner"], "{attr}");
        let changed: Vec<&str> = p["actions"][0]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["attr"].as_str().unwrap())
            .collect();
        assert!(
            changed.contains(&attr) && changed.contains(&"config"),
            "{attr}: {changed:?}"
        );
        sb.topo_ok(&["apply", &file]);
        let after = pid(&sb, "host", "inner");
        assert_ne!(before, after, "{attr}: restarted");
        assert!(!alive(&sb, &before), "{attr}: the old one is gone");
        assert_eq!(dnsmasqs(&sb), 1);
        let l = sb.dhcp_lease("vm1");
        assert!(l.starts_with(got), "{attr}: {l}");
        noop(&sb, &file);
    }
    sb.topo_ok(&["destroy", &lab]);
    drop_vm(&sb, "vm1");
    assert_eq!(dnsmasqs(&sb), 0);
    assert_eq!(sb.residue(), "");
}

#[test]
fn a_killed_server_comes_back_and_a_recycled_pid_is_never_signalled() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    sb.topo_ok(&["apply", &lab]);
    vm(&sb, "vm1", "inner", "52:54:00:00:00:01");
    // Killed by hand.
    let p = pid(&sb, "host", "inner");
    sb.sh_ok(&format!(
        "kill -9 {p}; while kill -0 {p} 2>/dev/null; do sleep 0.01; done"
    ));
    let plan = sb.plan_json(&lab);
    assert_eq!(actions(&plan), vec!["create dhcp host:inner"]);
    assert_eq!(plan["actions"][0]["drift"], true);
    sb.topo_ok(&["apply", &lab]);
    assert_eq!(sb.dhcp_lease("vm1"), "10.0.1.11 router=10.0.1.1 dns=");
    // Its pid file names a process that is not the lab's dnsmasq: a
    // stranger, left alone (neither reported as the server nor signalled).
    let p = pid(&sb, "host", "inner");
    sb.sh_ok(&format!(
        "kill -9 {p}; while kill -0 {p} 2>/dev/null; do sleep 0.01; done"
    ));
    let stranger = sb.sh_ok("sleep 60 >/dev/null 2>&1 & echo $!");
    let stranger = stranger.trim();
    sb.sh_ok(&format!(
        "echo {stranger} > /run/topo/dh/dhcp/host/inner.pid"
    ));
    assert_eq!(actions(&sb.plan_json(&lab)), vec!["create dhcp host:inner"]);
    sb.topo_ok(&["apply", &lab]);
    assert!(alive(&sb, stranger), "the stranger was not signalled");
    assert_ne!(pid(&sb, "host", "inner"), stranger);
    assert_eq!(sb.dhcp_lease("vm1"), "10.0.1.11 router=10.0.1.1 dns=");
    // And destroy does not signal it either (the server it replaced in
    // the pid file is ended by the test).
    let p = pid(&sb, "host", "inner");
    sb.sh_ok(&format!(
        "kill {p}; echo {stranger} > /run/topo/dh/dhcp/host/inner.pid"
    ));
    sb.topo_ok(&["destroy", &lab]);
    assert!(alive(&sb, stranger), "destroy left the stranger alone");
    sb.sh_ok(&format!("kill {stranger}"));
    // The walk: without DHCP, with it, without.
    let without = sb.lab("without.yaml", &LAB.replace(
        "    dhcp: { range: 10.0.1.100-10.0.1.150, lease: 1h, hosts: { vm1: { mac: \"52:54:00:00:00:01\", address: 10.0.1.11 } } }\n",
        "",
    ));
    for (file, servers) in [(&without, 0), (&lab, 1), (&without, 0)] {
        sb.topo_ok(&["apply", file]);
        noop(&sb, file);
        assert_eq!(dnsmasqs(&sb), servers, "{file}");
    }
    sb.topo_ok(&["destroy", &lab]);
    drop_vm(&sb, "vm1");
    assert_eq!(sb.residue(), "");
}

#[test]
fn a_server_whose_interface_or_configuration_changed_under_it_is_restarted() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    sb.topo_ok(&["apply", &lab]);
    // The bridge deleted by hand: dnsmasq still runs, serving nothing.
    let before = pid(&sb, "host", "inner");
    sb.sh_ok("ip link del inner");
    let mut got = actions(&sb.plan_json(&lab));
    got.retain(|a| a.contains("dhcp") || a.contains("bridge"));
    assert_eq!(
        got,
        vec!["create bridge host:inner", "create dhcp host:inner"]
    );
    sb.topo_ok(&["apply", &lab]);
    assert!(!alive(&sb, &before), "the stale server was stopped");
    vm(&sb, "vm1", "inner", "52:54:00:00:00:01");
    assert_eq!(sb.dhcp_lease("vm1"), "10.0.1.11 router=10.0.1.1 dns=");
    noop(&sb, &lab);
    // Its configuration file edited by hand: what it runs with is unknown.
    sb.sh_ok("for f in /run/topo/dh/dhcp/host/inner.*.conf; do echo 'dhcp-range=10.0.1.200,10.0.1.210' >> $f; done");
    let p = sb.plan_json(&lab);
    assert_eq!(actions(&p), vec!["update dhcp host:inner"]);
    let before = pid(&sb, "host", "inner");
    sb.topo_ok(&["apply", &lab]);
    assert_ne!(pid(&sb, "host", "inner"), before);
    assert_eq!(sb.dhcp_lease("vm1"), "10.0.1.11 router=10.0.1.1 dns=");
    noop(&sb, &lab);
    sb.topo_ok(&["destroy", &lab]);
    drop_vm(&sb, "vm1");
    assert_eq!(dnsmasqs(&sb), 0);
    assert_eq!(sb.residue(), "");
}

#[test]
fn what_a_server_no_longer_serving_leaves_is_removed_by_destroy() {
    // dnsmasq killed by hand leaves its files; dnsmasq whose bridge was
    // deleted by hand runs on, serving nothing. Neither is the lab's
    // server any more, and destroy left both behind (the files under
    // /run/topo, the second process too). Now its plan says so and
    // removes them.
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    for by_hand in ["kill -9 {pid}", "ip link del inner"] {
        sb.topo_ok(&["apply", &lab]);
        let p = pid(&sb, "host", "inner");
        sb.sh_ok(&by_hand.replace("{pid}", &p));
        if by_hand.starts_with("kill") {
            sb.sh_ok(&format!(
                "while kill -0 {p} 2>/dev/null; do sleep 0.01; done"
            ));
        }
        let without = sb.lab("without.yaml", &LAB.replace("    dhcp:", "    #dhcp:"));
        let plan = actions(&sb.plan_json(&without));
        assert!(
            plan.contains(&"delete dhcp host:inner".to_string()),
            "{by_hand}: {plan:?}"
        );
        let said = sb.topo_ok(&["destroy", &lab]);
        assert!(said.contains("not serving"), "{by_hand}: {said}");
        assert!(!alive(&sb, &p), "{by_hand}: the lab's dnsmasq was stopped");
        assert_eq!(dnsmasqs(&sb), 0, "{by_hand}");
        assert_eq!(sb.residue(), "", "{by_hand}");
    }
}

#[test]
fn a_dnsmasq_that_only_names_the_labs_pid_file_is_never_signalled() {
    // A dnsmasq of someone else's, started with the pid file of the lab's
    // server on `inner` (and its own configuration): it named the pid
    // file, it was dnsmasq, and removing the server or destroy killed it.
    // A server is the lab's only with a configuration topo wrote for it.
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    let without = sb.lab("without.yaml", &LAB.replace("    dhcp:", "    #dhcp:"));
    for last in [&without, &lab] {
        sb.topo_ok(&["apply", &lab]);
        let p = pid(&sb, "host", "inner");
        sb.sh_ok(&format!(
            "kill {p}; while kill -0 {p} 2>/dev/null; do sleep 0.01; done"
        ));
        let other = sb.sh_ok(
            "dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 --interface=lo \
             --bind-interfaces --pid-file=/run/topo/dh/dhcp/host/inner.pid >/dev/null 2>&1 & echo $!",
        );
        let other = other.trim();
        sb.sh_ok("while [ ! -s /run/topo/dh/dhcp/host/inner.pid ]; do sleep 0.01; done");
        if last == &lab {
            sb.topo_ok(&["destroy", &lab]);
        } else {
            sb.topo_ok(&["apply", &without]);
            sb.topo_ok(&["destroy", &lab]);
        }
        assert!(alive(&sb, other), "the other dnsmasq was left alone");
        sb.sh_ok(&format!(
            "kill {other}; while kill -0 {other} 2>/dev/null; do sleep 0.01; done"
        ));
        assert_eq!(sb.residue(), "");
    }
}
