//! Addresses and subnets: outside the link's subnet, duplicated, overlapping
//! networks, gateways, fixed member addresses, IPv6 link-local addresses.

use super::*;
#[test]
fn address_outside_the_bridge_subnet() {
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { addresses: [10.0.0.1/24] }\nbridges:\n  br0: { addresses: [192.168.1.1/24] }\nlinks:\n  - endpoints: [red:eth0, br0]\n";
    let d = the_error(text);
    let help = check(
        &d,
        &["address 10.0.0.1/24 on red:eth0 is outside the link's subnet (192.168.1.0/24)"],
        5,
    );
    assert!(help.contains("subnet"), "{help}");
}

#[test]
fn address_outside_the_network_subnet() {
    // The member also has its allocated address in the subnet: a second
    // subnet on the segment is legal, and warned about.
    let text = "name: lab\nnodes:\n  c1:\n    interfaces:\n      eth0: { addresses: [10.9.0.1/24] }\nnetworks:\n  net:\n    subnet: 10.0.0.0/24\n    nodes: [c1]\n";
    let d = the_warning(text);
    check(
        &d,
        &["address 10.9.0.1/24 on c1:eth0 is outside the link's subnet (10.0.0.0/24)"],
        5,
    );
}

#[test]
fn address_outside_the_peer_subnet() {
    // No subnet shared at all: an error.
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      e1: { addresses: [10.0.0.1/24] }\n  blue:\n    interfaces:\n      e1: { addresses: [10.0.1.2/24] }\nlinks:\n  - endpoints: [red:e1, blue:e1]\n";
    let ds = errors(text);
    assert!(
        ds.iter().any(|d| d.message
            == "address 10.0.1.2/24 on blue:e1 is outside the link's subnet (10.0.0.0/24)"),
        "{ds:#?}"
    );
    // One subnet shared, a second one beside it: legal, with a warning.
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      e1: { addresses: [10.0.0.1/24] }\n  blue:\n    interfaces:\n      e1: { addresses: [10.0.0.2/24, 10.0.1.2/24] }\nlinks:\n  - endpoints: [red:e1, blue:e1]\n";
    let d = the_warning(text);
    check(
        &d,
        &["address 10.0.1.2/24 on blue:e1 is outside the link's subnet (10.0.0.0/24)"],
        8,
    );
}

#[test]
fn labs_with_ipv6_get_a_link_local_address_from_each_mac() {
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { addresses: [\"fd00::1/64\"], mac: \"02:00:00:00:15:01\" }\n  blue:\n    interfaces:\n      eth0: { addresses: [\"fd00::2/64\", \"fe80::2/64\"] }\nlinks:\n  - endpoints: [red:eth0, blue:eth0]\n";
    let st = valid(text).model.state;
    let all = |l: &IfRef| -> Vec<String> {
        st.address
            .keys()
            .filter(|id| id.link == *l)
            .map(|id| id.address.to_string())
            .collect()
    };
    // Modified EUI-64 of the MAC, as the kernel would make it.
    assert_eq!(
        all(&node_if("red", "eth0")),
        ["fd00::1/64", "fe80::ff:fe00:1501/64"]
    );
    // One written in the file replaces the generated one.
    assert_eq!(all(&node_if("blue", "eth0")), ["fd00::2/64", "fe80::2/64"]);
    // Without IPv6 there is none.
    let v4 = "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { addresses: [10.0.0.1/24] }\n  blue:\n    interfaces:\n      eth0: { addresses: [10.0.0.2/24] }\nlinks:\n  - endpoints: [red:eth0, blue:eth0]\n";
    assert_eq!(all_v6(&valid(v4).model.state), 0);
}

fn all_v6(st: &State) -> usize {
    st.ids()
        .filter(
            |id| matches!(id, Id::Address(AddressId { address, .. }) if address.addr().is_ipv6()),
        )
        .count()
}

#[test]
fn ipv6_off_with_ipv6_addresses_is_an_error() {
    let text = "name: lab\nipv6: false\nnodes:\n  red:\n    interfaces:\n      eth0: { addresses: [\"fd00::1/64\"] }\n  blue: {}\nlinks:\n  - endpoints: [red:eth0, blue:eth0]\n";
    let d = the_error(text);
    check(&d, &["`ipv6: false`", "IPv6 addresses"], 2);
}

#[test]
fn other_family_addresses_are_not_compared() {
    // IPv6 on the node, IPv4 only on the bridge (as in the example).
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { addresses: [\"fd00::1/64\"] }\nbridges:\n  br0: { addresses: [192.168.1.1/24] }\nlinks:\n  - endpoints: [red:eth0, br0]\n";
    valid(text);
}

#[test]
fn address_without_prefix_length() {
    let text = "name: lab\nbridges:\n  br0: { addresses: [10.0.0.1] }\n";
    let d = the_error(text);
    let help = check(&d, &["`10.0.0.1` is not an address with prefix length"], 3);
    assert!(help.contains("10.0.0.1/24"), "{help}");
}

#[test]
fn same_address_twice_in_a_namespace() {
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      e1: { addresses: [10.0.0.1/24] }\n      e2: { addresses: [10.0.0.1/24] }\nlinks:\n  - endpoints: [red:e1, host:a]\n  - endpoints: [red:e2, host:b]\n";
    let d = the_error(text);
    check(&d, &["address 10.0.0.1 is already on red:e1"], 6);
}

#[test]
fn same_address_on_two_nodes_of_one_bridge() {
    let text = "name: lab\nnodes:\n  red: { interfaces: { eth0: { addresses: [10.0.0.1/24] } } }\n  blue: { interfaces: { eth0: { addresses: [10.0.0.1/24] } } }\nbridges:\n  br: {}\nlinks:\n  - endpoints: [red:eth0, br]\n  - endpoints: [blue:eth0, br]\n";
    let d = the_error(text);
    let help = check(
        &d,
        &[
            "address 10.0.0.1 on blue:eth0 is also on red:eth0 (line 3)",
            "bridge br",
        ],
        4,
    );
    assert!(help.contains("own address"), "{help}");
}

#[test]
fn same_address_on_both_ends_of_a_veth() {
    let text = "name: lab\nnodes:\n  red: { interfaces: { e1: { addresses: [10.0.0.1/24] } } }\n  blue: { interfaces: { e1: { addresses: [10.0.0.1/24] } } }\nlinks:\n  - endpoints: [red:e1, blue:e1]\n";
    let d = the_error(text);
    check(
        &d,
        &["address 10.0.0.1 on blue:e1 is also on red:e1", "veth pair"],
        4,
    );
}

#[test]
fn overlapping_networks() {
    let text =
        "name: lab\nnetworks:\n  a:\n    subnet: 10.0.0.0/16\n  b:\n    subnet: 10.0.5.0/24\n";
    let d = the_error(text);
    let help = check(&d, &["network `b` (10.0.5.0/24) overlaps network `a`"], 6);
    assert!(help.contains("own subnet"), "{help}");
}

#[test]
fn subnet_with_host_bits() {
    let text = "name: lab\nnetworks:\n  a:\n    subnet: 10.0.0.1/24\n";
    let d = the_error(text);
    let help = check(&d, &["host bits"], 4);
    assert!(help.contains("10.0.0.0/24"), "{help}");
}

#[test]
fn gateway_outside_its_subnet() {
    let text = "name: lab\nnetworks:\n  a:\n    subnet: 10.0.0.0/24\n    gateway: 10.0.1.1\n";
    let d = the_error(text);
    let help = check(
        &d,
        &["gateway 10.0.1.1 is not a usable address of 10.0.0.0/24"],
        5,
    );
    assert!(help.contains("gateway: 10.0.0.1"), "{help}");
}

#[test]
fn gateway_on_the_broadcast_address() {
    let text = "name: lab\nnetworks:\n  a:\n    subnet: 10.0.0.0/24\n    gateway: 10.0.0.255\n";
    let d = the_error(text);
    check(&d, &["gateway 10.0.0.255 is not a usable address"], 5);
}

#[test]
fn member_address_outside_the_subnet() {
    let text = "name: lab\nnetworks:\n  a:\n    subnet: 10.0.0.0/24\n    nodes:\n      - { node: c1, address: 10.0.1.5 }\n";
    let d = the_error(text);
    let help = check(
        &d,
        &["address 10.0.1.5 of `c1` is not a usable address of 10.0.0.0/24"],
        6,
    );
    assert!(help.contains("address: 10.0.0.2"), "{help}");
}

#[test]
fn member_address_is_the_gateway() {
    let text = "name: lab\nnetworks:\n  a:\n    subnet: 10.0.0.0/24\n    nodes:\n      - { node: c1, address: 10.0.0.1 }\n";
    let d = the_error(text);
    check(
        &d,
        &["address 10.0.0.1 of `c1` is the gateway of network `a`"],
        6,
    );
}

#[test]
fn two_members_with_one_fixed_address() {
    let text = "name: lab\nnetworks:\n  a:\n    subnet: 10.0.0.0/24\n    nodes:\n      - { node: c1, address: 10.0.0.5 }\n      - { node: c2, address: 10.0.0.5 }\n";
    let d = the_error(text);
    check(
        &d,
        &["address 10.0.0.5 of `c2` is already given to `c1`"],
        7,
    );
}

#[test]
fn member_address_written_on_the_bridge() {
    let text = "name: lab\nbridges:\n  a: { addresses: [10.0.0.7/24] }\nnetworks:\n  a:\n    subnet: 10.0.0.0/24\n    nodes:\n      - { node: c1, address: 10.0.0.7 }\n";
    let d = the_error(text);
    check(&d, &["address 10.0.0.7 of `c1` is already written"], 8);
}
