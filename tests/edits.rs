//! Editing a running lab, the whole class: every kind of edit is applied to
//! a live lab and undone again. After each apply the plan must be empty
//! and the lab must carry packets at once, with no sleep: neighbours'
//! caches were warmed before the edit, so a stale MAC, a route the kernel
//! dropped, a tentative IPv6 address or a port that does not forward yet
//! all show as a failed first ping.

use crate::common;

use common::{text, Sandbox};

/// Router `r` between bridge `br0` (a, b, r:eth0) and a direct veth to c.
const BASE: &str = r#"
name: edits
nodes:
  a:
    interfaces: { eth0: { addresses: [10.5.0.2/24] } }
    routes: [{ to: default, via: 10.5.0.1 }]
  b:
    interfaces: { eth0: { addresses: [10.5.0.3/24] } }
    routes: [{ to: default, via: 10.5.0.1 }]
  r:
    interfaces:
      eth0: { addresses: [10.5.0.1/24] }
      eth1: { addresses: [10.6.0.1/24] }
    sysctls: { net.ipv4.ip_forward: 1 }
  c:
    interfaces: { eth0: { addresses: [10.6.0.2/24] } }
    routes: [{ to: default, via: 10.6.0.1 }]
bridges:
  br0: {}
links:
  - endpoints: [a:eth0, br0]
  - endpoints: [b:eth0, br0]
  - endpoints: [r:eth0, br0]
  - endpoints: [r:eth1, c:eth0]
"#;

/// Pings that work in BASE: same bridge, routed, direct veth.
const BASE_PINGS: &[(&str, &str)] = &[
    ("a", "10.5.0.3"),
    ("b", "10.5.0.2"),
    ("a", "10.6.0.2"),
    ("c", "10.5.0.2"),
    ("c", "10.5.0.3"),
    ("r", "10.6.0.2"),
];

fn replaced(base: &str, edits: &[(&str, &str)]) -> String {
    let mut s = base.to_string();
    for (from, to) in edits {
        assert!(s.contains(from), "edit `{from}` does not apply");
        s = s.replacen(from, to, 1);
    }
    s
}

fn pings(sb: &Sandbox, what: &str, list: &[(&str, &str)]) {
    for (from, to) in list {
        let out = sb.sh(&format!("ip netns exec {from} ping -c1 -W2 {to}"));
        assert!(
            out.status.success(),
            "{what}: {from} cannot reach {to} at the first ping:\n{}",
            text(&out.stdout)
        );
    }
}

/// The plan is empty and says so with exit 0.
fn converged(sb: &Sandbox, file: &str, what: &str) {
    let out = sb.topo(&["plan", "--detailed-exitcode", file]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: the plan after apply is not empty:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Applies `before`, then `after`, then `before` again: each apply must
/// converge in one run, mark nothing as drift (the file changed, the
/// kernel did not), and leave the lab carrying packets at once.
fn walk(before: &str, before_pings: &[(&str, &str)], after: &str, after_pings: &[(&str, &str)]) {
    let Some(sb) = Sandbox::new() else { return };
    let b = sb.lab("before.yaml", before);
    let a = sb.lab("after.yaml", after);
    sb.topo_ok(&["apply", &b]);
    converged(&sb, &b, "first apply");
    pings(&sb, "before the edit", before_pings);
    for (file, list, what) in [
        (&a, after_pings, "the edit"),
        (&b, before_pings, "its undo"),
    ] {
        let plan = sb.plan_json(file);
        let drift: Vec<&serde_json::Value> = plan["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["drift"] == true)
            .collect();
        assert!(
            drift.is_empty(),
            "{what}: only the file changed, yet drift: {drift:#?}"
        );
        sb.topo_ok(&["apply", file]);
        converged(&sb, file, what);
        pings(&sb, &format!("after {what}"), list);
    }
    sb.topo_ok(&["destroy", &b]);
    assert_eq!(sb.residue(), "");
}

fn walk_base(edits: &[(&str, &str)], after_pings: &[(&str, &str)]) {
    walk(BASE, BASE_PINGS, &replaced(BASE, edits), after_pings);
}

#[test]
fn address_change_keeps_the_routes() {
    walk_base(
        &[("[10.5.0.2/24]", "[10.5.0.4/24]")],
        &[("a", "10.6.0.2"), ("c", "10.5.0.4"), ("b", "10.5.0.4")],
    );
}

#[test]
fn second_address_removed_and_primary_swapped() {
    let two = replaced(BASE, &[("[10.5.0.2/24]", "[10.5.0.2/24, 10.5.0.9/24]")]);
    walk(
        &two,
        &[("c", "10.5.0.9"), ("c", "10.5.0.2")],
        &replaced(BASE, &[("[10.5.0.2/24]", "[10.5.0.9/24]")]),
        &[("c", "10.5.0.9"), ("a", "10.6.0.2")],
    );
}

#[test]
fn route_change_gateway_prefix_and_metric() {
    walk_base(
        &[(
            "routes: [{ to: default, via: 10.6.0.1 }]",
            "routes: [{ to: 10.5.0.0/24, via: 10.6.0.1, metric: 50 }]",
        )],
        &[("c", "10.5.0.2"), ("a", "10.6.0.2")],
    );
}

#[test]
fn gateway_behind_a_route_onto_a_device() {
    walk_base(
        &[
            (
                "eth1: { addresses: [10.6.0.1/24] }",
                "eth1: { addresses: [10.6.0.1/24, 10.7.0.1/24] }",
            ),
            (
                "routes: [{ to: default, via: 10.6.0.1 }]",
                "routes: [{ to: 10.7.0.0/24, dev: eth0 }, { to: default, via: 10.7.0.1 }]",
            ),
        ],
        &[("c", "10.5.0.2"), ("a", "10.6.0.2")],
    );
}

#[test]
fn mac_change_is_seen_by_neighbours_at_once() {
    walk_base(
        &[(
            "{ eth0: { addresses: [10.5.0.2/24] } }",
            "{ eth0: { addresses: [10.5.0.2/24], mac: '02:00:00:00:0a:01' } }",
        )],
        &[("b", "10.5.0.2"), ("c", "10.5.0.2"), ("a", "10.6.0.2")],
    );
}

#[test]
fn mtu_change_of_an_interface_and_a_link() {
    let after = replaced(
        BASE,
        &[
            (
                "{ eth0: { addresses: [10.5.0.2/24] } }",
                "{ eth0: { addresses: [10.5.0.2/24], mtu: 1400 } }",
            ),
            (
                "- endpoints: [r:eth1, c:eth0]",
                "- { endpoints: [r:eth1, c:eth0], mtu: 9000 }",
            ),
        ],
    );
    walk(
        BASE,
        BASE_PINGS,
        &after,
        &[("a", "10.5.0.3"), ("c", "10.5.0.2")],
    );
    // The MTUs are the file's: a full-size unfragmentable packet passes,
    // one byte more does not.
    let Some(sb) = Sandbox::new() else { return };
    let f = sb.lab("after.yaml", &after);
    sb.topo_ok(&["apply", &f]);
    sb.sh_ok("ip netns exec a ping -c1 -W2 -M do -s 1372 10.5.0.3");
    assert!(!sb
        .sh("ip netns exec a ping -c1 -W1 -M do -s 1373 10.5.0.3")
        .status
        .success());
    sb.sh_ok("ip netns exec c ping -c1 -W2 -M do -s 8972 10.6.0.1");
    sb.topo_ok(&["destroy", &f]);
}

#[test]
fn renamed_node_is_reached_at_its_old_addresses() {
    walk_base(
        &[("  a:\n", "  a2:\n"), ("[a:eth0, br0]", "[a2:eth0, br0]")],
        &[("b", "10.5.0.2"), ("c", "10.5.0.2"), ("a2", "10.6.0.2")],
    );
}

#[test]
fn removed_node_with_a_direct_link_leaves_its_peer_clean() {
    walk_base(
        &[
            (
                "  c:\n    interfaces: { eth0: { addresses: [10.6.0.2/24] } }\n    routes: [{ to: default, via: 10.6.0.1 }]\n",
                "",
            ),
            ("      eth1: { addresses: [10.6.0.1/24] }\n", ""),
            ("  - endpoints: [r:eth1, c:eth0]\n", ""),
        ],
        &[("a", "10.5.0.1"), ("b", "10.5.0.2")],
    );
}

#[test]
fn direct_link_moved_to_another_node() {
    // The moved end keeps its name, so the old pair must be gone before
    // the new one is made (the plan deletes first).
    let before = r#"
name: rewire
nodes:
  a: { interfaces: { eth0: { addresses: [10.9.0.1/24] } } }
  b: { interfaces: { eth0: { addresses: [10.9.0.2/24] } } }
  c: { interfaces: { eth0: { addresses: [10.9.0.2/24] } } }
links:
  - endpoints: [a:eth0, b:eth0]
  - endpoints: [c:eth0, host:c0]
host:
  interfaces: { c0: { addresses: [10.9.0.1/24] } }
"#;
    let after = replaced(
        before,
        &[
            ("[a:eth0, b:eth0]", "[a:eth0, c:eth0]"),
            ("[c:eth0, host:c0]", "[b:eth0, host:b0]"),
            ("{ c0: {", "{ b0: {"),
        ],
    );
    walk(
        before,
        &[("a", "10.9.0.2"), ("c", "10.9.0.1")],
        &after,
        &[("a", "10.9.0.2"), ("c", "10.9.0.1"), ("b", "10.9.0.1")],
    );
}

#[test]
fn bridge_replaced_by_another_takes_its_ports() {
    walk_base(
        &[
            ("  br0: {}", "  br1: {}"),
            ("[a:eth0, br0]", "[a:eth0, br1]"),
            ("[b:eth0, br0]", "[b:eth0, br1]"),
            ("[r:eth0, br0]", "[r:eth0, br1]"),
        ],
        BASE_PINGS,
    );
}

#[test]
fn bridge_losing_its_lowest_port_keeps_its_mac() {
    // The bridge carries an address; a removed port must not change the
    // MAC the nodes have cached for it.
    let before = replaced(
        BASE,
        &[("  br0: {}", "  br0: { addresses: [10.5.0.254/24] }")],
    );
    let after = replaced(
        &before,
        &[
            ("  - endpoints: [a:eth0, br0]\n", ""),
            (
                "  a:\n    interfaces: { eth0: { addresses: [10.5.0.2/24] } }\n    routes: [{ to: default, via: 10.5.0.1 }]\n",
                "",
            ),
        ],
    );
    walk(
        &before,
        &[
            ("b", "10.5.0.254"),
            ("r", "10.5.0.254"),
            ("a", "10.5.0.254"),
        ],
        &after,
        &[("b", "10.5.0.254"), ("r", "10.5.0.254")],
    );
}

#[test]
fn bridge_spanning_tree_switched_on_and_off() {
    walk_base(&[("  br0: {}", "  br0: { stp: true }")], BASE_PINGS);
}

#[test]
fn new_ports_of_a_spanning_tree_bridge_forward_when_apply_returns() {
    // Ports listen and learn for two forward delays before they forward:
    // apply waits for that, so the first ping after it arrives.
    let stp = replaced(
        BASE,
        &[("  br0: {}", "  br0: { stp: true, forward_delay: 2 }")],
    );
    let more = replaced(
        &stp,
        &[
            (
                "  - endpoints: [a:eth0, br0]\n",
                "  - endpoints: [a:eth0, br0]\n  - endpoints: [d:eth0, br0]\n",
            ),
            (
                "  c:\n",
                "  d:\n    interfaces: { eth0: { addresses: [10.5.0.8/24] } }\n  c:\n",
            ),
        ],
    );
    walk(
        &stp,
        BASE_PINGS,
        &more,
        &[("d", "10.5.0.2"), ("a", "10.5.0.8")],
    );
}

#[test]
fn bridge_inside_a_node() {
    let lab = r#"
name: inner
nodes:
  sw: {}
  a: { interfaces: { eth0: { addresses: [10.3.0.2/24] } } }
  b: { interfaces: { eth0: { addresses: [10.3.0.3/24] } } }
bridges:
  br1: { node: sw, addresses: [10.3.0.1/24] }
links:
  - endpoints: [a:eth0, br1]
  - endpoints: [b:eth0, br1]
"#;
    let after = replaced(
        lab,
        &[
            (
                "  sw: {}",
                "  sw: {}\n  c: { interfaces: { eth0: { addresses: [10.3.0.4/24] } } }",
            ),
            (
                "  - endpoints: [b:eth0, br1]",
                "  - endpoints: [b:eth0, br1]\n  - endpoints: [c:eth0, br1]",
            ),
        ],
    );
    walk(
        lab,
        &[("a", "10.3.0.3"), ("b", "10.3.0.1"), ("sw", "10.3.0.2")],
        &after,
        &[("c", "10.3.0.2"), ("a", "10.3.0.4"), ("sw", "10.3.0.4")],
    );
}

const NET: &str = r#"
name: nets
networks:
  n1:
    subnet: 10.8.0.0/24
    nodes: [x, y, { node: z, address: 10.8.0.50 }]
"#;

#[test]
fn network_subnet_change_renumbers_members_and_routes() {
    walk(
        NET,
        &[("x", "10.8.0.50"), ("z", "10.8.0.1")],
        &replaced(
            NET,
            &[("10.8.0.0/24", "10.18.0.0/24"), ("10.8.0.50", "10.18.0.50")],
        ),
        &[("x", "10.18.0.50"), ("z", "10.18.0.1"), ("y", "10.18.0.2")],
    );
}

#[test]
fn ipv4_lab_becomes_dual_stack_and_back() {
    let v6 = replaced(
        BASE,
        &[
            ("[10.5.0.2/24]", "[10.5.0.2/24, 'fd05::2/64']"),
            ("[10.5.0.3/24]", "[10.5.0.3/24, 'fd05::3/64']"),
            (
                "eth0: { addresses: [10.5.0.1/24] }",
                "eth0: { addresses: [10.5.0.1/24, 'fd05::1/64'] }",
            ),
            (
                "eth1: { addresses: [10.6.0.1/24] }",
                "eth1: { addresses: [10.6.0.1/24, 'fd06::1/64'] }",
            ),
            ("[10.6.0.2/24]", "[10.6.0.2/24, 'fd06::2/64']"),
            (
                "routes: [{ to: default, via: 10.6.0.1 }]",
                "routes: [{ to: default, via: 10.6.0.1 }, { to: default, via: 'fd06::1' }]",
            ),
            (
                "sysctls: { net.ipv4.ip_forward: 1 }",
                "sysctls: { net.ipv4.ip_forward: 1, net.ipv6.conf.all.forwarding: 1 }",
            ),
        ],
    );
    let v6 = v6.replacen(
        "routes: [{ to: default, via: 10.5.0.1 }]",
        "routes: [{ to: default, via: 10.5.0.1 }, { to: default, via: 'fd05::1' }]",
        2,
    );
    walk(
        BASE,
        BASE_PINGS,
        &v6,
        &[
            ("a", "fd05::3"),
            ("a", "fd06::2"),
            ("c", "fd05::2"),
            ("c", "10.5.0.2"),
        ],
    );
}

#[test]
fn ipv6_routes_converge_and_carry_packets() {
    // IPv6 from the start: metric 0 is the kernel's 1024, link-local on.
    let lab = r#"
name: six
nodes:
  a:
    interfaces: { eth0: { addresses: ['fd05::2/64'] } }
    routes: [{ to: default, via: 'fd05::1' }]
  r:
    interfaces: { eth0: { addresses: ['fd05::1/64'] }, eth1: { addresses: ['fd06::1/64'] } }
    sysctls: { net.ipv6.conf.all.forwarding: 1 }
  c:
    interfaces: { eth0: { addresses: ['fd06::2/64'] } }
    routes: [{ to: 'fd05::/64', via: 'fd06::1', metric: 7 }]
links:
  - endpoints: [a:eth0, r:eth0]
  - endpoints: [r:eth1, c:eth0]
"#;
    let after = replaced(
        lab,
        &[("metric: 7", "metric: 8"), ("'fd05::2/64'", "'fd05::4/64'")],
    );
    walk(
        lab,
        &[("a", "fd06::2"), ("c", "fd05::2")],
        &after,
        &[("a", "fd06::2"), ("c", "fd05::4")],
    );
}

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
