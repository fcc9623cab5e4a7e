//! What the server hands out: leases from the range and fixed by MAC, from
//! a node's namespace too; apply without dnsmasq; mistakes in `dhcp:`.

use super::*;
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
