//! Names: duplicated, dangling endpoints, and interface, bridge, node and
//! lab names the kernel or topo refuse.

use super::*;
// ------------------------------------------------------- duplicate names

#[test]
fn node_and_bridge_with_the_same_name() {
    let text = "name: lab\nnodes:\n  red: {}\nbridges:\n  red: {}\n";
    let d = the_error(text);
    let help = check(&d, &["`red` names both a node and a bridge"], 5);
    assert!(help.contains("rename"), "{help}");
}

#[test]
fn network_bridge_named_like_a_node() {
    let text = "name: lab\nnodes:\n  web: {}\nnetworks:\n  web: { subnet: 10.0.0.0/24 }\n";
    let d = the_error(text);
    let help = check(&d, &["`web` names both a node and a bridge"], 5);
    assert!(help.contains("bridge: NAME"), "{help}");
}

#[test]
fn interface_created_by_a_link_and_a_network() {
    let text = "name: lab\nnodes:\n  red: {}\nlinks:\n  - endpoints: [red:eth0, host:v-red]\nnetworks:\n  net:\n    subnet: 10.0.0.0/24\n    nodes: [red]\n";
    let d = the_error(text);
    let help = check(&d, &["interface red:eth0 is already created at line 9"], 5);
    assert!(help.contains("another name"), "{help}");
}

#[test]
fn node_listed_twice_in_a_network() {
    let text = "name: lab\nnetworks:\n  net:\n    subnet: 10.0.0.0/24\n    nodes:\n      - c1\n      - c1\n";
    let d = the_error(text);
    let help = check(&d, &["`c1` is listed twice in network `net`"], 7);
    assert!(help.contains("interface:"), "{help}");
}

#[test]
fn same_node_twice_with_two_interfaces_is_fine() {
    let text = "name: lab\nnetworks:\n  net:\n    subnet: 10.0.0.0/24\n    nodes: [c1, { node: c1, interface: eth1 }]\n";
    let st = valid(text).model.state;
    assert_eq!(addresses(&st, &node_if("c1", "eth1")), ["10.0.0.3/24"]);
}

#[test]
fn interface_used_by_two_links() {
    let text = "name: lab\nnodes:\n  red: {}\n  blue: {}\nlinks:\n  - endpoints: [red:eth0, blue:eth0]\n  - endpoints: [red:eth0, blue:eth1]\n";
    let d = the_error(text);
    let help = check(&d, &["interface red:eth0 is already created at line 6"], 7);
    assert!(help.contains("one link"), "{help}");
}

#[test]
fn bridge_port_used_by_two_links() {
    let text = "name: lab\nnodes:\n  red: {}\nbridges:\n  br0: {}\nlinks:\n  - endpoints: [red:eth0, br0:p1]\n  - endpoints: [red:eth1, br0:p1]\n";
    let d = the_error(text);
    check(&d, &["interface host:p1 is already created at line 7"], 8);
}

#[test]
fn link_to_itself() {
    let text = "name: lab\nnodes:\n  red: {}\nlinks:\n  - endpoints: [red:eth0, red:eth0]\n";
    let d = the_error(text);
    check(&d, &["two different endpoints"], 5);
}

// ------------------------------------------------------ dangling endpoints

#[test]
fn endpoint_with_a_mistyped_node() {
    let text = "name: lab\nnodes:\n  red: {}\nlinks:\n  - endpoints: [rde:eth0, host:v-red]\n";
    let d = the_error(text);
    let help = check(&d, &["no node named `rde`"], 5);
    assert!(help.starts_with("did you mean `red`?"), "{help}");
}

#[test]
fn endpoint_with_a_mistyped_bridge() {
    let text = "name: lab\nnodes:\n  red: {}\nbridges:\n  v-net-0: {}\nlinks:\n  - endpoints: [red:eth0, v-net0]\n";
    let d = the_error(text);
    let help = check(&d, &["endpoint `v-net0` names no node or bridge"], 7);
    assert_eq!(help, "did you mean `v-net-0`?");
}

#[test]
fn endpoint_naming_nothing_alike() {
    let text = "name: lab\nnodes:\n  red: {}\nlinks:\n  - endpoints: [red:eth0, zzzzzz:eth0]\n";
    let d = the_error(text);
    let help = check(&d, &["no node named `zzzzzz`"], 5);
    assert!(!help.contains("did you mean"), "{help}");
}

#[test]
fn endpoint_naming_a_node_without_interface() {
    let text =
        "name: lab\nnodes:\n  red: {}\n  blue: {}\nlinks:\n  - endpoints: [red, blue:eth0]\n";
    let d = the_error(text);
    let help = check(&d, &["endpoint `red` names a node but no interface"], 6);
    assert!(help.contains("red:eth0"), "{help}");
}

#[test]
fn link_with_one_endpoint() {
    let text = "name: lab\nnodes:\n  red: {}\nlinks:\n  - endpoints: [red:eth0]\n";
    let d = the_error(text);
    check(&d, &["exactly two endpoints", "has 1"], 5);
}

#[test]
fn bridge_in_an_unknown_node() {
    let text = "name: lab\nnodes:\n  router: {}\nbridges:\n  br0: { node: ruoter }\n";
    let d = the_error(text);
    let help = check(&d, &["no node named `ruoter`"], 5);
    assert!(help.starts_with("did you mean `router`?"), "{help}");
}

#[test]
fn settings_for_an_interface_nothing_creates() {
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      eht0: { mtu: 1400 }\n";
    let d = the_error(text);
    let help = check(
        &d,
        &["interface red:eht0 is not created by any link or network"],
        5,
    );
    assert!(help.contains("red:eht0"), "{help}");
}

// ------------------------------------------------------ interface names

#[test]
fn interface_name_over_15_bytes() {
    let text = "name: lab\nnodes:\n  red: {}\nlinks:\n  - endpoints: [red:averyveryverylong, host:v-red]\n";
    let d = the_error(text);
    let help = check(&d, &["`averyveryverylong` has 17 bytes", "at most 15"], 5);
    assert!(help.contains("15 bytes"), "{help}");
}

/// A bridge whose name Linux refuses is reported once, at its name: the
/// links to it are not also "an endpoint that names no bridge".
#[test]
fn a_misnamed_bridge_is_one_error_not_one_per_link() {
    let text = "name: lab\nnodes:\n  a: {}\n  b: {}\nlinks:\n  - endpoints: [a:eth0, br-very-long-name]\n  - endpoints: [b:eth0, br-very-long-name]\nbridges:\n  br-very-long-name: {}\n";
    let d = the_error(text);
    check(&d, &["bridge `br-very-long-name`", "has 17 bytes"], 9);
}

#[test]
fn interface_name_of_exactly_15_bytes_is_fine() {
    let text =
        "name: lab\nnodes:\n  red: {}\nlinks:\n  - endpoints: [red:abcdefghijklmno, host:v-red]\n";
    let st = valid(text).model.state;
    assert!(st.contains(&Id::Link(LinkId {
        link: node_if("red", "abcdefghijklmno")
    })));
}

#[test]
fn interface_name_with_a_slash() {
    let text = "name: lab\nnodes:\n  red: {}\nlinks:\n  - endpoints: [red:eth/0, host:v-red]\n";
    let d = the_error(text);
    check(&d, &["endpoint `red:eth/0`", "contains '/'"], 5);
}

#[test]
fn interface_name_with_whitespace() {
    let text = "name: lab\nnodes:\n  red: {}\nlinks:\n  - endpoints: [\"red:eth 0\", host:v-red]\n";
    let d = the_error(text);
    check(&d, &["endpoint `red:eth 0`", "whitespace"], 5);
}

#[test]
fn network_member_interface_name_too_long() {
    let text = "name: lab\nnetworks:\n  net:\n    subnet: 10.0.0.0/24\n    nodes: [ { node: c1, interface: averyverylongifname } ]\n";
    let d = the_error(text);
    let help = check(&d, &["interface of `c1` in network `net`", "19 bytes"], 5);
    assert!(help.contains("interface:"), "{help}");
}

#[test]
fn bridge_name_too_long() {
    let text = "name: lab\nbridges:\n  averyverylongbridge: {}\n";
    let d = the_error(text);
    check(&d, &["bridge `averyverylongbridge`", "19 bytes"], 3);
}

#[test]
fn network_name_too_long_for_its_bridge() {
    let text = "name: lab\nnetworks:\n  averyverylongnetwork: { subnet: 10.0.0.0/24 }\n";
    let d = the_error(text);
    let help = check(
        &d,
        &["network bridge `averyverylongnetwork`", "20 bytes"],
        3,
    );
    assert!(help.contains("bridge: NAME"), "{help}");
}

// ----------------------------------------------------------- node names

#[test]
fn node_named_dot_dot() {
    let d = the_error("name: lab\nnodes:\n  ..: {}\n");
    let help = check(&d, &["node `..`", "must not start with '.'"], 3);
    assert!(help.contains("rename"), "{help}");
}

#[test]
fn node_name_with_a_slash() {
    let d = the_error("name: lab\nnodes:\n  a/b: {}\n");
    check(&d, &["node `a/b`", "/run/netns"], 3);
}

#[test]
fn node_name_starting_with_a_dot() {
    let d = the_error("name: lab\nnodes:\n  .hidden: {}\n");
    check(&d, &["node `.hidden`", "must not start with '.'"], 3);
}

#[test]
fn node_named_host_is_reserved() {
    let d = the_error("name: lab\nnodes:\n  host: {}\n");
    check(&d, &["node `host`", "reserved"], 3);
}

#[test]
fn network_member_with_an_unsafe_name() {
    let text = "name: lab\nnetworks:\n  net:\n    subnet: 10.0.0.0/24\n    nodes: [\"../etc\"]\n";
    let d = the_error(text);
    check(&d, &["node `../etc`"], 5);
}

#[test]
fn host_as_a_network_member() {
    let text = "name: lab\nnetworks:\n  net:\n    subnet: 10.0.0.0/24\n    nodes: [host]\n";
    let ds = errors(text);
    assert!(
        ds.iter().all(|d| d.pos.line == 5 && d.help.is_some()),
        "{ds:#?}"
    );
    assert!(
        ds.iter().any(|d| d.message.contains("not `host`")),
        "{ds:#?}"
    );
}

#[test]
fn bad_lab_name() {
    let d = the_error("name: Lab_1\n");
    let help = check(&d, &["lowercase"], 1);
    assert!(help.contains("name: lab1"), "{help}");
}
