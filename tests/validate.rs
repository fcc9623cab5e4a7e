//! Validation of lab files without a kernel: parse with `load_str`, resolve
//! with `model::build`, and check every diagnostic's message, line and help.

use std::net::IpAddr;
use topo::diag::{Diagnostic, Level};
use topo::kinds::{
    AddressId, Bridge, BridgeId, Link, LinkId, Netns, NetnsId, Route, RouteId, Sysctl, SysctlId,
    VethId,
};
use topo::model::{build, Id, IfRef, Mac, Ns, Prior, Res, RouteKey, Scope, State, Validated};
use topo::spec::{load_str, LabSpec};

/// The example lab from the file format's contract.
const EXAMPLE: &str = r#"name: lab1
nodes:
  red:
    interfaces:
      eth0: { addresses: [192.168.15.1/24, "fd00:15::1/64"], mtu: 1500, mac: "02:00:00:00:15:01" }
    routes:
      - { to: default, via: 192.168.15.5 }
      - { to: 10.9.0.0/16, dev: eth0, metric: 100 }
    sysctls: { net.ipv4.ip_forward: 1 }
  blue:
    interfaces:
      eth0: { addresses: [192.168.15.2/24] }
    routes: [ { to: default, via: 192.168.15.5 } ]
bridges:
  v-net-0: { addresses: [192.168.15.5/24], stp: false }
links:
  - endpoints: [red:eth0, v-net-0]
  - endpoints: [blue:eth0, v-net-0:veth-blue-br]
  - endpoints: [red:e1, host:veth-red]
networks:
  megaNet:
    subnet: 12.0.6.0/24
    gateway: 12.0.6.200
    nodes: [c1, c2, { node: c3, address: 12.0.6.50 }]
host:
  sysctls: { net.ipv4.ip_forward: 1 }
  routes: [ { to: 12.0.1.0/24, via: 192.168.0.1 } ]
"#;

// ---------------------------------------------------------------- helpers

fn parse(text: &str) -> LabSpec {
    match load_str("lab.yaml", text) {
        Ok(s) => s,
        Err(e) => panic!("expected the file to parse:\n{}", e.report.render(false)),
    }
}

fn valid_with(text: &str, prior: &Prior) -> Validated {
    match build(&parse(text), prior) {
        Ok(v) => v,
        Err(ds) => panic!("expected the lab to be valid, got {ds:#?}"),
    }
}

fn valid(text: &str) -> Validated {
    valid_with(text, &Default::default())
}

/// The one diagnostic the parser gives for `text`.
fn load_error(text: &str) -> Diagnostic {
    let e = load_str("lab.yaml", text).expect_err("expected a parse error");
    assert_eq!(e.report.diagnostics.len(), 1, "{:#?}", e.report.diagnostics);
    e.report.diagnostics[0].clone()
}

/// All errors of a file that parses but does not validate.
fn errors(text: &str) -> Vec<Diagnostic> {
    let ds = build(&parse(text), &Default::default()).expect_err("expected validation errors");
    ds.into_iter().filter(|d| d.level == Level::Error).collect()
}

/// The single warning of a valid `text`.
fn the_warning(text: &str) -> Diagnostic {
    let v = valid(text);
    assert_eq!(
        v.warnings.len(),
        1,
        "expected exactly one warning, got {:#?}",
        v.warnings
    );
    v.warnings[0].clone()
}

/// The single validation error of `text`.
fn the_error(text: &str) -> Diagnostic {
    let mut ds = errors(text);
    assert_eq!(ds.len(), 1, "expected exactly one error, got {ds:#?}");
    ds.remove(0)
}

/// The 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> u32 {
    let i = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not in the text"));
    i as u32 + 1
}

/// Asserts message fragments, the line, and that a help line is given;
/// returns the help for further checks.
fn check(d: &Diagnostic, fragments: &[&str], line: u32) -> String {
    for f in fragments {
        assert!(d.message.contains(f), "message {:?} lacks {f:?}", d.message);
    }
    assert_eq!(d.pos.line, line, "wrong line for {d:?}");
    assert!(d.pos.col > 0, "no column for {d:?}");
    let help = d
        .help
        .clone()
        .unwrap_or_else(|| panic!("no help for {d:?}"));
    assert!(!help.trim().is_empty());
    help
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn node_if(node: &str, name: &str) -> IfRef {
    IfRef::new(Ns::Node(node.into()), name)
}

fn host_if(name: &str) -> IfRef {
    IfRef::new(Ns::Host, name)
}

/// The addresses (with prefix) the state puts on `link`.
/// The addresses the file gives `link` (without the link-local address
/// topo generates for labs with IPv6).
fn addresses(state: &State, link: &IfRef) -> Vec<String> {
    state
        .address
        .keys()
        .filter(|id| id.link == *link)
        .map(|id| id.address)
        .filter(|a| !matches!(a, ipnet::IpNet::V6(v) if v.addr().is_unicast_link_local()))
        .map(|a| a.to_string())
        .collect()
}

fn link_res(state: &State, link: &IfRef) -> Link {
    state
        .link
        .get(&LinkId { link: link.clone() })
        .unwrap_or_else(|| panic!("no link {link}"))
        .clone()
}

fn master(state: &State, link: &IfRef) -> Option<String> {
    link_res(state, link).master.map(String::from)
}

/// The other end of the veth that `link` belongs to.
fn peer(state: &State, link: &IfRef) -> IfRef {
    state
        .veth
        .iter()
        .find_map(|(id, v)| {
            if id.link == *link {
                Some(v.peer.clone())
            } else if v.peer == *link {
                Some(id.link.clone())
            } else {
                None
            }
        })
        .unwrap_or_else(|| panic!("{link} is in no veth pair"))
}

fn route(state: &State, ns: Ns, to: &str, metric: u32) -> Option<Res> {
    state.get(&Id::Route(RouteId {
        ns,
        key: RouteKey {
            to: to.parse().unwrap(),
            metric,
        },
    }))
}

fn default_via(gw: &str, dev: Option<&str>) -> Res {
    Res::Route(Route {
        via: Some(ip(gw)),
        dev: dev.map(Into::into),
        scope: Scope::Global,
        derived: false,
    })
}

// ------------------------------------------------------- the example lab

#[test]
fn example_builds_without_warnings() {
    let v = valid(EXAMPLE);
    assert!(v.warnings.is_empty(), "{:#?}", v.warnings);
    assert_eq!(v.model.lab, "lab1");
    let nodes: Vec<&str> = v.model.nodes.iter().map(String::as_str).collect();
    assert_eq!(nodes, ["blue", "c1", "c2", "c3", "red"]);
    // An IPv6 address anywhere turns IPv6 on.
    assert!(v.model.ipv6);
}

#[test]
fn example_network_allocates_addresses_and_default_routes() {
    let st = valid(EXAMPLE).model.state;
    assert_eq!(addresses(&st, &node_if("c1", "eth0")), ["12.0.6.1/24"]);
    assert_eq!(addresses(&st, &node_if("c2", "eth0")), ["12.0.6.2/24"]);
    assert_eq!(addresses(&st, &node_if("c3", "eth0")), ["12.0.6.50/24"]);
    assert_eq!(
        st.get(&Id::Bridge(BridgeId {
            link: host_if("megaNet")
        })),
        Some(Res::Bridge(Bridge {
            stp: false,
            forward_delay: None
        }))
    );
    assert_eq!(addresses(&st, &host_if("megaNet")), ["12.0.6.200/24"]);
    for c in ["c1", "c2", "c3"] {
        assert_eq!(
            st.get(&Id::Netns(NetnsId { name: c.into() })),
            Some(Res::Netns(Netns::default()))
        );
        assert_eq!(
            route(&st, Ns::Node(c.into()), "0.0.0.0/0", 0),
            Some(default_via("12.0.6.200", Some("eth0"))),
            "{c}"
        );
        // Each member's eth0 pairs with a port of megaNet in the host.
        let port = peer(&st, &node_if(c, "eth0"));
        assert_eq!(port, host_if(&format!("{c}-eth0")));
        assert_eq!(master(&st, &port).as_deref(), Some("megaNet"));
        assert_eq!(master(&st, &node_if(c, "eth0")), None);
    }
}

#[test]
fn example_bridge_endpoint_gets_a_generated_port() {
    let st = valid(EXAMPLE).model.state;
    let port = peer(&st, &node_if("red", "eth0"));
    assert_eq!(port, host_if("red-eth0"));
    assert_eq!(master(&st, &port).as_deref(), Some("v-net-0"));
    assert_eq!(master(&st, &node_if("red", "eth0")), None);
    assert_eq!(
        st.get(&Id::Bridge(BridgeId {
            link: host_if("v-net-0")
        })),
        Some(Res::Bridge(Bridge {
            stp: false,
            forward_delay: None
        }))
    );
    assert_eq!(addresses(&st, &host_if("v-net-0")), ["192.168.15.5/24"]);
}

#[test]
fn example_named_bridge_port_lives_in_the_bridge_namespace() {
    let st = valid(EXAMPLE).model.state;
    let port = peer(&st, &node_if("blue", "eth0"));
    assert_eq!(port, host_if("veth-blue-br"));
    assert_eq!(master(&st, &port).as_deref(), Some("v-net-0"));
    assert_eq!(
        addresses(&st, &node_if("blue", "eth0")),
        ["192.168.15.2/24"]
    );
}

#[test]
fn example_host_veth_has_no_master() {
    let st = valid(EXAMPLE).model.state;
    assert_eq!(peer(&st, &node_if("red", "e1")), host_if("veth-red"));
    assert_eq!(master(&st, &host_if("veth-red")), None);
    assert_eq!(master(&st, &node_if("red", "e1")), None);
}

#[test]
fn example_interface_settings_routes_and_sysctls() {
    let st = valid(EXAMPLE).model.state;
    let red = node_if("red", "eth0");
    let mac = Mac([0x02, 0, 0, 0, 0x15, 0x01]);
    assert_eq!(
        link_res(&st, &red),
        Link {
            up: true,
            mtu: Some(1500),
            mac: Some(mac),
            master: None
        }
    );
    assert_eq!(addresses(&st, &red), ["192.168.15.1/24", "fd00:15::1/64"]);

    let red_ns = Ns::Node("red".into());
    assert_eq!(
        route(&st, red_ns.clone(), "0.0.0.0/0", 0),
        Some(default_via("192.168.15.5", None))
    );
    let dev_route = Res::Route(Route {
        via: None,
        dev: Some("eth0".into()),
        scope: Scope::Link,
        derived: false,
    });
    assert_eq!(
        route(&st, red_ns.clone(), "10.9.0.0/16", 100),
        Some(dev_route)
    );
    assert_eq!(
        route(&st, Ns::Node("blue".into()), "0.0.0.0/0", 0),
        Some(default_via("192.168.15.5", None))
    );
    let host_route = Res::Route(Route {
        via: Some(ip("192.168.0.1")),
        dev: None,
        scope: Scope::Global,
        derived: false,
    });
    assert_eq!(route(&st, Ns::Host, "12.0.1.0/24", 0), Some(host_route));

    let one = Some(Res::Sysctl(Sysctl { value: "1".into() }));
    assert_eq!(
        st.get(&Id::Sysctl(SysctlId {
            ns: red_ns,
            key: "net.ipv4.ip_forward".into()
        })),
        one
    );
    assert_eq!(
        st.get(&Id::Sysctl(SysctlId {
            ns: Ns::Host,
            key: "net.ipv4.ip_forward".into()
        })),
        one
    );
    // Nodes not mentioned get no sysctls.
    assert!(!st.contains(&Id::Sysctl(SysctlId {
        ns: Ns::Node("blue".into()),
        key: "net.ipv4.ip_forward".into()
    })));
}

#[test]
fn example_origins_point_at_declarations() {
    let v = valid(EXAMPLE);
    let origin = |id: Id| {
        v.model
            .origins
            .get(&id)
            .unwrap_or_else(|| panic!("no origin for {id}"))
            .line
    };
    assert_eq!(
        origin(Id::Bridge(BridgeId {
            link: host_if("v-net-0")
        })),
        line_of(EXAMPLE, "v-net-0: {")
    );
    assert_eq!(
        origin(Id::Veth(VethId {
            link: host_if("veth-red")
        })),
        line_of(EXAMPLE, "red:e1")
    );
    let addr = Id::Address(AddressId {
        link: node_if("red", "eth0"),
        address: "fd00:15::1/64".parse().unwrap(),
    });
    assert_eq!(origin(addr), line_of(EXAMPLE, "fd00:15::1/64"));
}

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

// ------------------------------------------------- parse errors (load_str)

#[test]
fn unknown_top_level_field_suggests_the_right_one() {
    let text = "name: lab\nnode:\n  red: {}\n";
    let d = load_error(text);
    assert_eq!(d.message, "unknown field `node`");
    let help = check(&d, &[], 2);
    assert!(help.starts_with("did you mean `nodes`?"), "{help}");
    assert!(
        help.contains("bridges"),
        "the help lists the allowed fields: {help}"
    );
}

#[test]
fn unknown_interface_field_suggests_the_right_one() {
    let text =
        "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { adresses: [10.0.0.1/24] }\n";
    let d = load_error(text);
    let help = check(&d, &["unknown field `adresses`"], 5);
    assert!(help.starts_with("did you mean `addresses`?"), "{help}");
}

#[test]
fn unknown_network_member_field_suggests_the_right_one() {
    let text = "name: lab\nnetworks:\n  net:\n    subnet: 10.0.0.0/24\n    nodes:\n      - c1\n      - node: c3\n        adress: 10.0.0.5\n";
    let d = load_error(text);
    let help = check(&d, &["unknown field `adress`"], 8);
    assert!(help.starts_with("did you mean `address`?"), "{help}");
}

#[test]
fn unknown_field_far_from_any_gets_the_list() {
    let d = load_error("name: lab\nbridges:\n  br0: { colour: red }\n");
    let help = check(&d, &["unknown field `colour`"], 3);
    assert!(!help.contains("did you mean"), "{help}");
    assert!(help.contains("stp"), "{help}");
}

#[test]
fn wrong_type_number() {
    let d = load_error("name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { mtu: big }\n");
    let help = check(&d, &["expected a whole number from 0 to 4294967295"], 5);
    assert!(help.contains("whole number"), "{help}");
}

#[test]
fn wrong_type_negative_number() {
    let d = load_error("name: lab\nlinks:\n  - endpoints: [a:e, b:e]\n    mtu: -1500\n");
    let help = check(&d, &["expected a whole number from 0 to 4294967295"], 4);
    assert!(help.contains("whole number"), "{help}");
}

#[test]
fn wrong_type_scalar_for_a_list() {
    let d = load_error("name: lab\nbridges:\n  br0:\n    addresses: 10.0.0.1/24\n");
    let help = check(&d, &["expected a list"], 4);
    assert!(help.contains("list"), "{help}");
}

#[test]
fn wrong_type_list_for_a_mapping() {
    let d = load_error("name: lab\nnodes:\n  red: []\n");
    let help = check(&d, &["mapping"], 3);
    assert!(help.contains("mapping"), "{help}");
}

#[test]
fn wrong_type_list_for_a_name() {
    let d = load_error("name: [lab]\n");
    let help = check(&d, &["expected a single value"], 1);
    assert!(help.contains("single value"), "{help}");
}

#[test]
fn wrong_type_boolean_is_strict() {
    let d = load_error("name: lab\nbridges:\n  br0: { stp: yes }\n");
    let help = check(&d, &["boolean"], 3);
    assert!(help.contains("`true` or `false`"), "{help}");
}

#[test]
fn wrong_type_sysctl_value() {
    let d = load_error("name: lab\nhost:\n  sysctls:\n    net.ipv4.ip_forward: [1]\n");
    let help = check(
        &d,
        &["a sysctl value is a whole number or a string, not a list"],
        4,
    );
    assert!(help.contains("number or a string"), "{help}");
}

#[test]
fn wrong_type_network_member_list() {
    // A list must not be read as `{ node, address, interface }` in order.
    let d =
        load_error("name: lab\nnetworks:\n  net:\n    subnet: 10.0.0.0/24\n    nodes: [ [c3] ]\n");
    check(&d, &["sequence", "node name"], 5);
}

#[test]
fn wrong_type_links_as_mapping() {
    let d = load_error("name: lab\nlinks: { endpoints: [a:e, b:e] }\n");
    check(&d, &[], 2);
}

#[test]
fn missing_required_field() {
    let d = load_error("nodes:\n  red: {}\n");
    let help = check(&d, &["missing field `name`"], 1);
    assert!(help.contains("add the field"), "{help}");
}

#[test]
fn missing_network_member_node() {
    let d = load_error("name: lab\nnetworks:\n  net:\n    subnet: 10.0.0.0/24\n    nodes: [ { address: 10.0.0.9 } ]\n");
    check(&d, &["missing field `node`"], 5);
}

#[test]
fn duplicate_top_level_key() {
    let d = load_error("name: lab\nnodes:\n  red: {}\nnodes:\n  blue: {}\n");
    assert_eq!(d.message, "duplicate key `nodes`");
    let help = check(&d, &[], 4);
    assert!(help.contains("once"), "{help}");
}

#[test]
fn duplicate_node_key() {
    let d = load_error("name: lab\nnodes:\n  red: {}\n  blue: {}\n  red: {}\n");
    assert_eq!(d.message, "duplicate key `red`");
    check(&d, &[], 5);
}

#[test]
fn duplicate_sysctl_key() {
    let d = load_error("name: lab\nnodes:\n  red:\n    sysctls:\n      net.a: 1\n      net.a: 2\n");
    check(&d, &["duplicate key `net.a`"], 6);
}

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

// ------------------------------------------------------ addresses, subnets

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

// ---------------------------------------------------------------- routes

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

// ---------------------------------------------------------- bridge ports

fn network_of(n: usize) -> String {
    let members: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
    format!(
        "name: lab\nnetworks:\n  big: {{ subnet: 10.100.0.0/16, nodes: [{}] }}\n",
        members.join(", ")
    )
}

#[test]
fn bridge_with_1025_ports() {
    let text = network_of(1025);
    let d = the_error(&text);
    let help = check(
        &d,
        &["bridge `big` would have 1025 ports; Linux allows 1024"],
        3,
    );
    assert!(help.contains("split"), "{help}");
}

#[test]
fn bridge_with_1024_ports_is_fine() {
    let st = valid(&network_of(1024)).model.state;
    let ports = st
        .link
        .values()
        .filter(|l| l.master.as_deref() == Some("big"))
        .count();
    assert_eq!(ports, 1024);
}

#[test]
fn bridge_ports_count_links_and_network_members_together() {
    let mut text = network_of(1024);
    text.push_str("nodes:\n  extra: {}\nlinks:\n  - endpoints: [extra:eth0, big]\n");
    let d = the_error(&text);
    check(&d, &["would have 1025 ports"], 3);
}

// ------------------------------------------------------------ MTU and MAC

#[test]
fn interface_mtu_too_small() {
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { mtu: 20 }\nlinks:\n  - endpoints: [red:eth0, host:v-red]\n";
    let d = the_error(text);
    let help = check(&d, &["mtu 20 is out of range"], 5);
    assert!(help.contains("68 and 65535"), "{help}");
}

#[test]
fn bridge_mtu_too_large() {
    let d = the_error("name: lab\nbridges:\n  br0:\n    mtu: 70000\n");
    check(&d, &["mtu 70000 is out of range"], 4);
}

#[test]
fn link_mtu_zero() {
    let text =
        "name: lab\nnodes:\n  red: {}\nlinks:\n  - endpoints: [red:eth0, host:v-red]\n    mtu: 0\n";
    let d = the_error(text);
    check(&d, &["mtu 0 is out of range"], 6);
}

#[test]
fn mtu_bounds_are_accepted() {
    // Both ends of b override the link's mtu, as they must (tests/veth_mtu.rs).
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      a: { mtu: 68 }\n      b: { mtu: 65535 }\nhost:\n  interfaces:\n    v-b: { mtu: 65535 }\nlinks:\n  - endpoints: [red:a, host:v-a]\n  - endpoints: [red:b, host:v-b]\n    mtu: 9000\n  - endpoints: [red:c, host:v-c]\n    mtu: 9000\n";
    let st = valid(text).model.state;
    let mtu = |l: IfRef| link_res(&st, &l).mtu;
    assert_eq!(mtu(node_if("red", "a")), Some(68));
    assert_eq!(mtu(node_if("red", "b")), Some(65535));
    assert_eq!(mtu(host_if("v-b")), Some(65535));
    // The link's mtu applies to both ends unless interfaces override it.
    assert_eq!(mtu(node_if("red", "c")), Some(9000));
    assert_eq!(mtu(host_if("v-c")), Some(9000));
}

#[test]
fn mac_with_a_bad_format() {
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { mac: \"02:00:00:00:15\" }\nlinks:\n  - endpoints: [red:eth0, host:v-red]\n";
    let d = the_error(text);
    let help = check(&d, &["`02:00:00:00:15` is not a MAC address"], 5);
    assert!(help.contains("six hex pairs"), "{help}");
}

#[test]
fn mac_with_bad_hex() {
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { mac: \"02:00:00:00:15:zz\" }\nlinks:\n  - endpoints: [red:eth0, host:v-red]\n";
    let d = the_error(text);
    check(&d, &["is not a MAC address"], 5);
}

#[test]
fn mac_multicast() {
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { mac: \"01:00:5e:00:00:01\" }\nlinks:\n  - endpoints: [red:eth0, host:v-red]\n";
    let d = the_error(text);
    let help = check(&d, &["01:00:5e:00:00:01 is not a unicast MAC address"], 5);
    assert!(help.contains("02:00:00:00:00:01"), "{help}");
}

#[test]
fn mac_all_zero() {
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { mac: \"00:00:00:00:00:00\" }\nlinks:\n  - endpoints: [red:eth0, host:v-red]\n";
    let d = the_error(text);
    check(&d, &["not a unicast MAC address"], 5);
}

// ------------------------------------------------------- many at once

#[test]
fn several_errors_are_reported_together_in_file_order() {
    let text = "\
name: lab
nodes:
  red:
    interfaces:
      eth0: { mtu: 10, mac: \"zz\" }
  ..: {}
bridges:
  red: {}
links:
  - endpoints: [red:eth0, host:v-red]
  - endpoints: [rde:eth1, host:v-x]
networks:
  a: { subnet: 10.0.0.0/16 }
  b: { subnet: 10.0.1.0/24, gateway: 10.0.1.1 }
";
    let ds = errors(text);
    let lines: Vec<u32> = ds.iter().map(|d| d.pos.line).collect();
    assert_eq!(lines, [5, 5, 6, 8, 11, 14], "{ds:#?}");
    let expect = [
        "mtu 10 is out of range",
        "`zz` is not a MAC address",
        "node `..`",
        "names both a node and a bridge",
        "no node named `rde`",
        "overlaps network `a`",
    ];
    for (d, e) in ds.iter().zip(expect) {
        assert!(d.message.contains(e), "{:?} lacks {e:?}", d.message);
        assert!(d.help.is_some(), "{d:?}");
    }
    // Sorted by column within a line.
    assert!(ds[0].pos.col < ds[1].pos.col);
}

#[test]
fn errors_render_with_file_line_and_help() {
    let text = "name: lab\nnodes:\n  red: {}\nlinks:\n  - endpoints: [rde:eth0, host:v-red]\n";
    let diagnostics = errors(text);
    let report = topo::diag::Report {
        file: "lab.yaml".into(),
        source: text.into(),
        diagnostics,
    };
    assert!(report.has_errors());
    let out = report.render(false);
    assert!(out.contains("lab.yaml:5:"), "{out}");
    assert!(out.contains("no node named `rde`"), "{out}");
    assert!(out.contains("did you mean `red`?"), "{out}");
}

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
