//! The example lab from the file format's contract: what it builds, and
//! the declaration each object comes from.

use super::*;
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
