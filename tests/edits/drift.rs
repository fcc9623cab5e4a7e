//! Drift: the lab changed by hand under topo, planned as drift only and
//! repaired in one apply.

use super::*;
/// Drift of one kind of object: broken by hand, planned as drift only,
/// repaired in one apply, and the lab carries packets at once.
fn repair(break_it: &str, expect_in_plan: &str) {
    let Some(sb) = Sandbox::new() else { return };
    let f = sb.lab("lab.yaml", BASE);
    sb.topo_ok(&["apply", &f]);
    pings(&sb, "before", BASE_PINGS);
    sb.sh_ok(break_it);
    let plan = sb.plan_json(&f);
    let actions = plan["actions"].as_array().unwrap();
    assert!(!actions.is_empty(), "`{break_it}` is seen");
    assert!(
        actions.iter().all(|a| a["drift"] == true),
        "`{break_it}`: all of it is drift: {plan:#}"
    );
    assert!(
        actions
            .iter()
            .any(|a| a["address"].as_str().unwrap().contains(expect_in_plan)),
        "`{break_it}` shows as `{expect_in_plan}`: {plan:#}"
    );
    sb.topo_ok(&["apply", &f]);
    converged(&sb, &f, break_it);
    pings(&sb, &format!("after repairing `{break_it}`"), BASE_PINGS);
    sb.topo_ok(&["destroy", &f]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn drift_veth_deleted() {
    repair("ip -n r link del eth1", "veth c:eth0");
}

#[test]
fn drift_bridge_port_deleted() {
    let port = "ip -o link show master br0 | head -1 | cut -d' ' -f2 | cut -d@ -f1";
    repair(&format!("ip link del $({port})"), "veth");
}

#[test]
fn drift_bridge_deleted() {
    repair("ip link del br0", "bridge host:br0");
}

#[test]
fn drift_namespace_deleted() {
    repair("ip netns del c", "netns c");
}

#[test]
fn drift_address_deleted() {
    repair(
        "ip -n r addr del 10.5.0.1/24 dev eth0",
        "address 10.5.0.1/24 on r:eth0",
    );
}

#[test]
fn drift_route_deleted() {
    repair("ip -n c route del default", "route default in c");
}

#[test]
fn drift_mac_changed() {
    repair(
        "ip -n b link set eth0 address 02:11:22:33:44:55",
        "link b:eth0",
    );
}

#[test]
fn drift_link_down() {
    repair("ip -n r link set eth1 down", "link r:eth1");
}

#[test]
fn drift_port_detached() {
    let port = "ip -o link show master br0 | head -1 | cut -d' ' -f2 | cut -d@ -f1";
    repair(&format!("ip link set $({port}) nomaster"), "link host:");
}

#[test]
fn drift_sysctl_changed() {
    repair(
        "ip netns exec r sysctl -qw net.ipv4.ip_forward=0",
        "sysctl net.ipv4.ip_forward in r",
    );
}

#[test]
fn drift_mtu_changed() {
    repair("ip -n a link set eth0 mtu 1280", "link a:eth0");
}

/// The nft table of the lab: flushed by hand, a rule deleted, a rule
/// added; each repaired in one apply, and the port forward and the
/// masquerade carry a connection at once.
#[test]
fn drift_nft_rules_repaired() {
    let Some(sb) = Sandbox::new() else { return };
    sb.outside();
    let lab = format!(
        "{BASE}host:\n  sysctls: {{ net.ipv4.ip_forward: 1 }}\n  nat:\n    masquerade: [ {{ source: 10.5.0.0/24, out: uplink0 }} ]\n    dnat: [ {{ proto: tcp, port: 8080, to: \"a:80\" }} ]\n"
    )
    .replace("  br0: {}", "  br0: { addresses: [10.5.0.254/24] }")
    .replacen("via: 10.5.0.1 }", "via: 10.5.0.254 }", 1);
    let f = sb.lab("lab.yaml", &lab);
    sb.topo_ok(&["apply", &f]);
    let check = |what: &str| {
        // outside → host:8080 reaches a, which sees the outside's address.
        assert_eq!(
            sb.tcp_peer("a", 80, "out", "10.99.0.1", 8080),
            "10.99.0.2",
            "{what}"
        );
        // a → outside leaves as the host.
        assert_eq!(
            sb.tcp_peer("out", 9000, "a", "10.99.0.2", 9000),
            "10.99.0.1",
            "{what}"
        );
    };
    check("before");
    for (break_it, seen) in [
        ("nft flush ruleset", "nft chain"),
        ("nft -a list chain inet topo-edits prerouting | awk '/dnat/ {print $NF}' | head -1 | xargs -r -I{} nft delete rule inet topo-edits prerouting handle {}", "nft rule prerouting"),
        ("nft add rule inet topo-edits prerouting tcp dport 9999 drop", "unmanaged rule"),
    ] {
        sb.sh_ok(break_it);
        let plan = sb.plan_json(&f);
        let actions = plan["actions"].as_array().unwrap();
        assert!(
            actions.iter().any(|a| a["address"].as_str().unwrap().contains(seen)),
            "`{break_it}` shows as `{seen}`: {plan:#}"
        );
        assert!(actions.iter().all(|a| a["drift"] == true), "{plan:#}");
        sb.topo_ok(&["apply", &f]);
        converged(&sb, &f, break_it);
        check(&format!("after repairing `{break_it}`"));
    }
    sb.topo_ok(&["destroy", &f]);
    sb.drop_outside();
    assert_eq!(sb.residue(), "");
}

/// Addresses added by hand to a lab interface, in every form the kernel
/// keeps: each is planned for deletion and gone after one apply. An IPv4
/// address with a peer was "deleted" and stayed: the kernel matches a
/// deletion against the peer, which topo's request did not carry.
#[test]
fn drift_stray_addresses_of_every_form_are_removed() {
    for (add, shown) in [
        ("10.60.0.1/24", "10.60.0.1/24"),
        ("10.60.0.1 peer 10.60.0.2/32", "10.60.0.1/32"),
        ("10.60.0.1 peer 10.60.0.2/30", "10.60.0.1/30"),
        ("10.5.0.99/24", "10.5.0.99/24"),
        ("10.60.0.1/24 label eth0:x", "10.60.0.1/24"),
        (
            "10.60.0.1/24 valid_lft 600 preferred_lft 300",
            "10.60.0.1/24",
        ),
        ("fd60::1/64 nodad", "fd60::1/64"),
        ("fd60::1 peer fd60::2/128 nodad", "fd60::1/128"),
    ] {
        repair(
            &format!("ip -n a addr add {add} dev eth0"),
            &format!("address {shown} on a:eth0"),
        );
    }
}
