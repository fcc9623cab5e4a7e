//! DHCP served by dnsmasq: real leases to a real client (busybox udhcpc)
//! in namespaces the test makes, standing in for VMs on the lab's bridge;
//! the server as an owned process (restarted on every change, started
//! again when killed, a recycled pid never signalled, stopped by destroy).

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

#[test]
fn clients_get_leases_from_the_range_and_fixed_addresses_by_mac() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    let plan = sb.topo_ok(&["plan", &lab]);
    assert!(
        plan.contains(
            "+ dhcp host:inner  (10.0.1.100-10.0.1.150, lease 1h, router 10.0.1.1, 1 fixed)"
        ),
        "{plan}"
    );
    sb.topo_ok(&["apply", &lab]);
    vm(&sb, "vm1", "inner", "52:54:00:00:00:01");
    vm(&sb, "vm2", "inner", "52:54:00:00:00:02");
    // Right after apply: a lease, with the gateway as the router.
    assert_eq!(sb.dhcp_lease("vm1"), "10.0.1.11 router=10.0.1.1 dns=");
    let got = sb.dhcp_lease("vm2");
    let addr: std::net::Ipv4Addr = got.split(' ').next().unwrap().parse().unwrap();
    assert!((100..=150).contains(&addr.octets()[3]), "{got}");
    sb.ping("vm1", "10.0.1.1");
    sb.ping("vm2", "10.0.1.2");
    // The process: dnsmasq in the bridge's namespace, bound to it alone,
    // with nothing of the machine's.
    let p = pid(&sb, "host", "inner");
    let cmd = sb.sh_ok(&format!("tr '\\0' ' ' < /proc/{p}/cmdline"));
    for arg in [
        "--no-hosts",
        "--no-resolv",
        "--port=0",
        "--bind-interfaces",
        "--interface=inner",
        "--except-interface=lo",
        "--dhcp-leasefile=/run/topo/dh/dhcp/host/inner.leases",
        "--pid-file=/run/topo/dh/dhcp/host/inner.pid",
    ] {
        assert!(cmd.contains(arg), "{arg} in {cmd}");
    }
    assert!(
        cmd.contains("--conf-file=/run/topo/dh/dhcp/host/inner."),
        "{cmd}"
    );
    let listening = sb.sh_ok("ss -ulnp | grep dnsmasq");
    assert!(!listening.contains(":53 "), "no DNS port: {listening}");
    noop(&sb, &lab);
    sb.topo_ok(&["destroy", &lab]);
    assert!(!alive(&sb, &p), "destroy stops dnsmasq");
    assert_eq!(dnsmasqs(&sb), 0);
    drop_vm(&sb, "vm1");
    drop_vm(&sb, "vm2");
    assert_eq!(sb.residue(), "");
}

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
fn a_node_interface_serves_dhcp_and_dns_from_its_namespace() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab(
        "lab.yaml",
        r#"
name: dh
nodes:
  r1:
    interfaces:
      eth1: { addresses: [10.0.2.1/24], dhcp: { range: 10.0.2.100-10.0.2.199, router: 10.0.2.1, dns: [10.0.2.1] } }
bridges:
  br2: {}
links:
  - endpoints: [r1:eth1, br2]
"#,
    );
    sb.topo_ok(&["apply", &lab]);
    vm(&sb, "vm1", "br2", "52:54:00:00:00:01");
    let l = sb.dhcp_lease("vm1");
    assert!(
        l.starts_with("10.0.2.1") && l.ends_with("router=10.0.2.1 dns=10.0.2.1"),
        "{l}"
    );
    sb.ping("vm1", "10.0.2.1");
    // It runs inside r1, and answers DNS there (its own address is the
    // clients' name server); the host has no DHCP or DNS port open.
    let p = pid(&sb, "r1", "eth1");
    let inode = |p: &str| sb.sh_ok(&format!("readlink /proc/{p}/ns/net"));
    assert_eq!(
        inode(&p),
        sb.sh_ok("ip netns exec r1 readlink /proc/self/ns/net")
    );
    assert!(sb
        .sh_ok("ip netns exec r1 ss -uln")
        .contains("10.0.2.1:53 "));
    assert!(!sb.sh_ok("ss -uln").contains(":67 "));
    noop(&sb, &lab);
    sb.topo_ok(&["destroy", &lab]);
    assert!(!alive(&sb, &p));
    drop_vm(&sb, "vm1");
    assert_eq!(sb.residue(), "");
}

#[test]
fn without_dnsmasq_apply_names_the_package_and_changes_nothing() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    let out = sb.sh(&format!(
        "TOPO_DNSMASQ=/nonexistent/dnsmasq {} apply {lab}",
        common::topo_bin().display()
    ));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("lab.yaml:7:"), "{err}");
    assert!(err.contains("dnsmasq-base"), "{err}");
    assert_eq!(sb.residue(), "", "nothing was made");
}

#[test]
fn dhcp_mistakes_point_at_their_line_and_column() {
    let cases = [
        ("range: 10.0.2.100-10.0.2.150", "range 10.0.2.100-10.0.2.150: 10.0.2.100 is not a usable address of 10.0.1.0/24"),
        ("range: 10.0.1.150-10.0.1.100", "ends below its start"),
        ("range: 10.0.1.1-10.0.1.9", "range 10.0.1.1-10.0.1.9 holds 10.0.1.1, an address of host:inner"),
        ("range: ten", "`ten` is not a range of IPv4 addresses"),
        ("range: 10.0.1.100-10.0.1.150, hosts: { vm1: { mac: \"52:54:00:00:01\", address: 10.0.1.11 } }", "`52:54:00:00:01` is not a MAC address"),
        ("range: 10.0.1.100-10.0.1.150, hosts: { vm1: { mac: \"52:54:00:00:00:01\", address: 10.0.1.120 } }", "10.0.1.120 is inside the range"),
        ("range: 10.0.1.100-10.0.1.150, hosts: { vm1: { mac: \"52:54:00:00:00:01\", address: 10.0.9.1 } }", "is not a usable address of 10.0.1.0/24"),
        ("range: 10.0.1.100-10.0.1.150, lease: 60", "a lease lasts at least 2 minutes"),
        ("range: 10.0.1.100-10.0.1.150, lease: soon", "not a lease time"),
        ("range: 10.0.1.100-10.0.1.150, router: 10.0.9.1", "router `10.0.9.1` is not an address of 10.0.1.0/24"),
        ("range: 10.0.1.100-10.0.1.150, dns: [ns.example]", "name server `ns.example` is not an address"),
    ];
    for (dhcp, want) in cases {
        let yaml = LAB.replace(
            "{ range: 10.0.1.100-10.0.1.150, lease: 1h, hosts: { vm1: { mac: \"52:54:00:00:00:01\", address: 10.0.1.11 } } }",
            &format!("{{ {dhcp} }}"),
        );
        let spec = topo::spec::load_str("lab.yaml", &yaml).unwrap();
        let errs = topo::model::build(&spec, &Default::default()).unwrap_err();
        let d = errs
            .iter()
            .find(|d| d.message.contains(want))
            .unwrap_or_else(|| panic!("{want}: {errs:?}"));
        assert!(d.help.is_some(), "{d:?}");
        assert_eq!(d.pos.line, 7, "{d:?}");
        assert!(d.pos.col > 12, "{d:?}");
    }
    // A member's fixed address inside the range.
    let yaml = LAB.replace("address: 10.0.1.2 }", "address: 10.0.1.120 }");
    let spec = topo::spec::load_str("lab.yaml", &yaml).unwrap();
    let errs = topo::model::build(&spec, &Default::default()).unwrap_err();
    assert!(
        errs.iter()
            .any(|d| d.message.contains(
                "address 10.0.1.120 of `r1` is inside the DHCP range 10.0.1.100-10.0.1.150"
            ) && d.pos.line == 8),
        "{errs:?}"
    );
    // Members are never allocated from the range.
    let yaml = format!(
        "{}\n",
        LAB.replace(
            "[ { node: r1, address: 10.0.1.2 } ]",
            &format!(
                "[{}]",
                (1..=120)
                    .map(|i| format!("n{i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        )
    );
    let spec = topo::spec::load_str("lab.yaml", &yaml).unwrap();
    let m = topo::model::build(&spec, &Default::default())
        .unwrap()
        .model;
    for a in m.state.address.keys() {
        if let std::net::IpAddr::V4(v) = a.address.addr() {
            let o = v.octets()[3];
            assert!(!(100..=150).contains(&o) && o != 11, "{a:?} allocated");
        }
    }
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
