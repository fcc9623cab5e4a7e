//! Nodes declared in several places, network defaults, address allocation
//! (IPAM), and the default routes and MACs the model derives.

use super::*;
// ------------------------------------------------------ merging, defaults

#[test]
fn node_under_nodes_and_in_a_network_is_one_node() {
    let text = "name: lab\nnodes:\n  c1: {}\n  c2: { interfaces: { eth0: { mtu: 9000 } } }\nnetworks:\n  net:\n    subnet: 10.1.0.0/24\n    nodes: [c1, c2]\n";
    let v = valid(text);
    let nodes: Vec<&str> = v.model.nodes.iter().map(String::as_str).collect();
    assert_eq!(nodes, ["c1", "c2"]);
    let st = v.model.state;
    assert_eq!(
        st.ids()
            .filter(|id| matches!(id, Id::Netns(NetnsId { .. })))
            .count(),
        2
    );
    assert_eq!(addresses(&st, &node_if("c1", "eth0")), ["10.1.0.2/24"]);
    // Settings under `nodes:` apply to the interface the network creates.
    assert_eq!(
        link_res(&st, &node_if("c2", "eth0")),
        Link {
            up: true,
            mtu: Some(9000),
            mac: Some(Mac::stable("lab", &node_if("c2", "eth0"))),
            master: None
        }
    );
    assert_eq!(addresses(&st, &node_if("c2", "eth0")), ["10.1.0.3/24"]);
    // The default gateway is the first usable address.
    assert_eq!(addresses(&st, &host_if("net")), ["10.1.0.1/24"]);
    assert!(v.model.allocated.contains(&node_if("c1", "eth0")));
}

#[test]
fn explicit_default_route_wins_over_the_network_gateway() {
    let text = "name: lab\nnodes:\n  c1:\n    routes: [ { to: default, via: 10.1.0.254 } ]\nnetworks:\n  net:\n    subnet: 10.1.0.0/24\n    nodes: [c1]\n";
    let st = valid(text).model.state;
    assert_eq!(
        route(&st, Ns::Node("c1".into()), "0.0.0.0/0", 0),
        Some(default_via("10.1.0.254", None))
    );
}

#[test]
fn network_member_options_and_bridge_name() {
    let text = "name: lab\nnetworks:\n  net:\n    subnet: 10.1.0.0/24\n    bridge: br-net\n    nodes: [ { node: a, interface: lan0 }, { node: b, address: 10.1.0.9 } ]\n";
    let st = valid(text).model.state;
    assert_eq!(addresses(&st, &node_if("a", "lan0")), ["10.1.0.2/24"]);
    assert_eq!(addresses(&st, &node_if("b", "eth0")), ["10.1.0.9/24"]);
    assert_eq!(
        master(&st, &peer(&st, &node_if("a", "lan0"))).as_deref(),
        Some("br-net")
    );
    assert!(st.contains(&Id::Bridge(BridgeId {
        link: host_if("br-net")
    })));
}

// ---------------------------------------------------------------- IPAM

const THREE: &str = "name: lab\nnetworks:\n  net:\n    subnet: 10.2.0.0/24\n    nodes: [a, b, c]\n";
const TWO: &str = "name: lab\nnetworks:\n  net:\n    subnet: 10.2.0.0/24\n    nodes: [b, c]\n";

#[test]
fn ipam_allocates_in_order() {
    let st = valid(THREE).model.state;
    assert_eq!(addresses(&st, &node_if("a", "eth0")), ["10.2.0.2/24"]);
    assert_eq!(addresses(&st, &node_if("b", "eth0")), ["10.2.0.3/24"]);
    assert_eq!(addresses(&st, &node_if("c", "eth0")), ["10.2.0.4/24"]);
}

#[test]
fn ipam_keeps_prior_addresses_when_an_earlier_member_goes() {
    let prior: Prior = [
        (node_if("b", "eth0"), vec![ip("10.2.0.3")]),
        (node_if("c", "eth0"), vec![ip("10.2.0.4"), ip("fe80::1")]),
    ]
    .into();
    let st = valid_with(TWO, &prior).model.state;
    assert_eq!(addresses(&st, &node_if("b", "eth0")), ["10.2.0.3/24"]);
    assert_eq!(addresses(&st, &node_if("c", "eth0")), ["10.2.0.4/24"]);
    // Without the prior state the survivors would move down.
    let fresh = valid(TWO).model.state;
    assert_eq!(addresses(&fresh, &node_if("b", "eth0")), ["10.2.0.2/24"]);
}

#[test]
fn ipam_newcomer_takes_the_lowest_free_address() {
    let text = "name: lab\nnetworks:\n  net:\n    subnet: 10.2.0.0/24\n    nodes: [d, b, c]\n";
    let prior: Prior = [
        (node_if("b", "eth0"), vec![ip("10.2.0.3")]),
        (node_if("c", "eth0"), vec![ip("10.2.0.4")]),
    ]
    .into();
    let st = valid_with(text, &prior).model.state;
    assert_eq!(addresses(&st, &node_if("d", "eth0")), ["10.2.0.2/24"]);
    assert_eq!(addresses(&st, &node_if("b", "eth0")), ["10.2.0.3/24"]);
}

#[test]
fn ipam_ignores_prior_addresses_outside_the_subnet() {
    let prior: Prior = [(node_if("b", "eth0"), vec![ip("10.9.9.9")])].into();
    let st = valid_with(TWO, &prior).model.state;
    assert_eq!(addresses(&st, &node_if("b", "eth0")), ["10.2.0.2/24"]);
}

#[test]
fn ipam_skips_addresses_written_elsewhere_in_the_file() {
    // The bridge already carries .2 besides the gateway, and node c writes .3
    // on its own: allocation must not hand them out again.
    let text = "name: lab\nbridges:\n  net: { addresses: [10.2.0.2/24] }\nnodes:\n  c: { interfaces: { eth1: { addresses: [10.2.0.3/24] } } }\nlinks:\n  - endpoints: [c:eth1, net]\nnetworks:\n  net:\n    subnet: 10.2.0.0/24\n    nodes: [a, b]\n";
    let st = valid(text).model.state;
    assert_eq!(
        addresses(&st, &host_if("net")),
        ["10.2.0.1/24", "10.2.0.2/24"]
    );
    assert_eq!(addresses(&st, &node_if("a", "eth0")), ["10.2.0.4/24"]);
    assert_eq!(addresses(&st, &node_if("b", "eth0")), ["10.2.0.5/24"]);
}

#[test]
fn ipam_full_subnet_is_an_error() {
    let text = "name: lab\nnetworks:\n  net:\n    subnet: 10.2.0.0/30\n    nodes: [a, b]\n";
    let d = the_error(text);
    check(
        &d,
        &["network `net` has no free address left in 10.2.0.0/30"],
        line_of(text, "nodes:"),
    );
}

// ----------------------------------------- default routes, stable MACs

#[test]
fn networks_give_one_default_route_per_family() {
    let yaml = "name: lab\nnetworks:\n  v6:\n    subnet: fd00:1::/64\n    gateway: fd00:1::1\n    nodes: [{ node: a, interface: eth1 }]\n  v4:\n    subnet: 10.1.0.0/24\n    nodes: [a]\n";
    let spec = topo::spec::load_str("lab.yaml", yaml).unwrap();
    let m = topo::model::build(&spec, &Default::default())
        .unwrap()
        .model;
    let defaults: Vec<String> = m
        .state
        .route
        .iter()
        .filter(|(id, _)| id.key.to.prefix_len() == 0)
        .filter_map(|(id, r)| r.via.map(|v| format!("{} via {v}", id.key.to)))
        .collect();
    assert_eq!(
        defaults,
        vec!["0.0.0.0/0 via 10.1.0.1", "::/0 via fd00:1::1"]
    );
}

#[test]
fn an_ipv6_network_gateway_defaults_to_the_first_usable_address() {
    let yaml = "name: lab\nnetworks:\n  v6:\n    subnet: fd00:1::/64\n    nodes: [a]\n";
    let spec = topo::spec::load_str("lab.yaml", yaml).unwrap();
    let m = topo::model::build(&spec, &Default::default())
        .unwrap()
        .model;
    let addrs: Vec<String> = m
        .state
        .ids()
        .filter_map(|id| match id {
            topo::model::Id::Address(AddressId { link, address })
                if !matches!(address, ipnet::IpNet::V6(v) if v.addr().is_unicast_link_local()) =>
            {
                Some(format!("{link} {address}"))
            }
            _ => None,
        })
        .collect();
    assert_eq!(addrs, vec!["host:v6 fd00:1::1/64", "a:eth0 fd00:1::2/64"]);
}

#[test]
fn stable_macs_are_local_unicast_distinct_and_spread() {
    let mut seen = std::collections::BTreeSet::new();
    for n in 0..200 {
        for i in 0..50 {
            let link = node_if(&format!("n{n}"), &format!("eth{i}"));
            let m = Mac::stable("lab", &link).0;
            assert_eq!(m[0] & 0x03, 0x02, "{link}: locally administered unicast");
            assert!(seen.insert(m), "{link}: a MAC given twice");
            // Names one character apart still differ in most bytes.
            let next = Mac::stable("lab", &node_if(&format!("n{n}"), &format!("eth{}", i + 1))).0;
            let same = m.iter().zip(next).filter(|(a, b)| **a == *b).count();
            assert!(same <= 2, "{link}: {m:02x?} vs {next:02x?}");
        }
    }
    // The same lab, namespace and name give the same MAC; another lab not.
    let l = node_if("red", "eth0");
    assert_eq!(Mac::stable("lab", &l), Mac::stable("lab", &l));
    assert_ne!(Mac::stable("lab", &l), Mac::stable("lab2", &l));
}
