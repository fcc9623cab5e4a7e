//! Edits of the topology: nodes renamed and removed, links moved, bridges
//! replaced, losing ports, with spanning tree, inside a node.

use super::*;
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
