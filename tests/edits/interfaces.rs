//! Edits of interfaces: addresses, routes and their gateways, MACs, MTUs.

use super::*;
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
