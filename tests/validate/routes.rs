//! Routes (gateways, devices, destinations, the same route twice) and
//! sysctls.

use super::*;
#[test]
fn route_via_unreachable_gateway() {
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { addresses: [10.0.0.1/24] }\n    routes:\n      - { to: default, via: 10.0.1.1 }\nlinks:\n  - endpoints: [red:eth0, host:v-red]\n";
    let d = the_error(text);
    let help = check(
        &d,
        &["gateway 10.0.1.1 is not reachable from any address of red"],
        7,
    );
    assert!(
        help.contains("10.0.0.1/24"),
        "the help lists the node's addresses: {help}"
    );
}

#[test]
fn route_via_a_node_without_addresses() {
    let text = "name: lab\nnodes:\n  red:\n    routes: [ { to: 10.5.0.0/16, via: 10.0.0.1 } ]\n";
    let d = the_error(text);
    let help = check(
        &d,
        &["gateway 10.0.0.1 is not reachable from any address of red"],
        4,
    );
    assert!(help.contains("give red an address"), "{help}");
}

#[test]
fn route_via_an_allocated_address_is_reachable() {
    let text = "name: lab\nnodes:\n  c1:\n    routes: [ { to: 10.5.0.0/16, via: 10.0.0.254 } ]\nnetworks:\n  net:\n    subnet: 10.0.0.0/24\n    nodes: [c1]\n";
    let st = valid(text).model.state;
    assert_eq!(
        route(&st, Ns::Node("c1".into()), "10.5.0.0/16", 0),
        Some(default_via("10.0.0.254", None))
    );
}

#[test]
fn route_without_via_or_dev() {
    let d = the_error("name: lab\nnodes:\n  red:\n    routes: [ { to: default } ]\n");
    check(&d, &["needs `via`, `dev` or both"], 4);
}

#[test]
fn route_through_an_unknown_device() {
    let text = "name: lab\nnodes:\n  red:\n    routes:\n      - { to: 10.5.0.0/16, dev: eth9 }\n";
    let d = the_error(text);
    check(&d, &["`eth9` is no interface of red"], 5);
}

#[test]
fn route_destination_with_host_bits() {
    let text = "name: lab\nhost:\n  routes:\n    - { to: 10.5.0.1/16, via: 192.168.0.1 }\n";
    let d = the_error(text);
    let help = check(&d, &["`10.5.0.1/16` has host bits set"], 4);
    assert!(help.contains("10.5.0.0/16"), "{help}");
}

#[test]
fn route_mixing_families() {
    let text = "name: lab\nhost:\n  routes:\n    - { to: \"fd00::/64\", via: 192.168.0.1 }\n";
    let d = the_error(text);
    check(&d, &["mixes IPv4 and IPv6"], 4);
}

#[test]
fn the_same_route_twice() {
    let text = "name: lab\nhost:\n  routes:\n    - { to: 10.5.0.0/16, via: 192.168.0.1 }\n    - { to: 10.5.0.0/16, via: 192.168.0.2 }\n";
    let d = the_error(text);
    let help = check(&d, &["already declared at line 4"], 5);
    assert!(help.contains("metric"), "{help}");
}

#[test]
fn sysctl_outside_net() {
    let d = the_error("name: lab\nhost:\n  sysctls:\n    kernel.panic: 1\n");
    check(&d, &["sysctl `kernel.panic` is not a network sysctl"], 4);
}
