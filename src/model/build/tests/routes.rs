//! Roles and derived routes: forwarding, hosts' default routes, shortest
//! paths with their tie-break, and what the file writes winning.

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Four routers in a ring, a host on r1 and one on r3.
const RING4: &str = "name: ring4
addressing: { p2p: 10.1.0.0/16, loopback: 10.255.0.0/24 }
routing: { static: auto }
nodes:
  \"r[1-4]\": { role: router }
  \"h[1-2]\": { role: host }
links:
  - endpoints: [\"r[1-3]:eth1\", \"r[2-4]:eth2\"]
  - endpoints: [r4:eth1, r1:eth2]
  - endpoints: [h1:eth0, r1:eth0]
  - endpoints: [h2:eth0, r3:eth0]
";

#[test]
fn routers_forward_and_hosts_route_via_their_router() {
    let m = model(&RING4.replace("  - endpoints: [h2:eth0, r3:eth0]\n", ""));
    for r in ["r1", "r4"] {
        assert_eq!(sysctl(&m, r, "net.ipv4.ip_forward").as_deref(), Some("1"));
        assert_eq!(sysctl(&m, r, "net.ipv6.conf.all.forwarding"), None);
    }
    assert_eq!(sysctl(&m, "h1", "net.ipv4.ip_forward"), None);
    // h1:eth0 - r1:eth0 is the fifth /31: h1 first.
    let d = route(&m, "h1", "default").unwrap();
    assert_eq!(
        (d.via, d.dev.as_deref(), d.derived),
        (Some(ip("10.1.0.9")), Some("eth0"), true)
    );
    // h2 has no link: no router, no default route.
    assert_eq!(route(&m, "h2", "default"), None);
}

#[test]
fn shortest_paths_tie_to_the_name_that_sorts_first() {
    let m = model(RING4);
    // r1 to the r2-r3 link: r2 is on it, one hop (r4 is two).
    assert_eq!(via(&m, "r1", "10.1.0.2/31"), Some(ip("10.1.0.1")));
    // r1 to r3's loopback (loopbacks in name order: h1, h2, r1...): two
    // hops either way; r2 sorts before r4.
    assert_eq!(addrs(&m, "r3:lo"), ["10.255.0.5/32"]);
    assert_eq!(via(&m, "r1", "10.255.0.5/32"), Some(ip("10.1.0.1")));
    // r1 to the r3-r4 link: r4 is one hop (it is on it), r2 would be two.
    assert_eq!(via(&m, "r1", "10.1.0.4/31"), Some(ip("10.1.0.6")));
    // A subnet a router is on gets no route there.
    assert_eq!(route(&m, "r1", "10.1.0.0/31"), None);
    // A host's loopback is reached via the host from its router, and
    // through that router from the others.
    let h2_lo = "10.255.0.2/32";
    assert_eq!(via(&m, "r3", h2_lo), Some(ip("10.1.0.10")));
    assert_eq!(via(&m, "r2", h2_lo), Some(ip("10.1.0.3")));
    assert_eq!(via(&m, "r1", h2_lo), Some(ip("10.1.0.1")));
    // Hosts get none: their default route does.
    assert_eq!(route(&m, "h1", "10.1.0.2/31"), None);
    assert!(route(&m, "r1", "10.1.0.2/31").unwrap().derived);
}

#[test]
fn a_route_in_the_file_wins_over_the_derived_one() {
    let text = RING4.replace(
        "\"r[1-4]\": { role: router }",
        "\"r[1-4]\": { role: router }\n  r1: { role: router, routes: [{ to: 10.255.0.5/32, via: 10.1.0.6, metric: 5 }] }",
    );
    let text = text.replace("\"r[1-4]\"", "\"r[2-4]\"");
    let m = model(&text);
    let id = RouteId {
        ns: Ns::parse("r1"),
        key: RouteKey::new("10.255.0.5/32".parse().unwrap(), 5),
    };
    // r3's loopback: derived, it would go via r2 (10.1.0.1).
    assert!(!m.state.route[&id].derived);
    assert_eq!(route(&m, "r1", "10.255.0.5/32"), None);
    assert_eq!(via(&m, "r4", "10.255.0.5/32"), Some(ip("10.1.0.4")));
    // Its written sysctl wins over the role's too.
    let text = RING4.replace(
        "\"r[1-4]\": { role: router }",
        "\"r[1-4]\": { role: router, sysctls: { net.ipv4.ip_forward: 0 } }",
    );
    assert_eq!(
        sysctl(&model(&text), "r2", "net.ipv4.ip_forward").as_deref(),
        Some("0")
    );
}

#[test]
fn a_tree_of_routers_routes_up_and_down() {
    // r1 at the top, r2 and r3 under it, r4 and r5 under r2.
    let text = "name: t
addressing: { p2p: 10.1.0.0/16 }
routing: { static: auto }
nodes: { \"r[1-5]\": { role: router } }
links:
  - endpoints: [\"r[2-3]:up\", \"r1:d[2-3]\"]
  - endpoints: [\"r[4-5]:up\", \"r2:d[4-5]\"]
";
    let m = model(text);
    let net = |l: &str| {
        addrs(&m, l)[0]
            .parse::<ipnet::IpNet>()
            .unwrap()
            .trunc()
            .to_string()
    };
    let r4_up = net("r4:up");
    // r3 to r4's link: up to r1, down to r2.
    assert_eq!(via(&m, "r3", &r4_up), Some(ip("10.1.0.3")));
    assert_eq!(via(&m, "r1", &r4_up), Some(ip("10.1.0.0")));
    // r5 to r3's link: up to r2, which goes up to r1.
    let r3_up = net("r3:up");
    assert_eq!(via(&m, "r5", &r3_up), Some(ip("10.1.0.7")));
    assert_eq!(via(&m, "r2", &r3_up), Some(ip("10.1.0.1")));
    let routes = m.state.route.len();
    // Each of 5 routers reaches the 4 links minus the ones it is on.
    assert_eq!(routes, 5 * 4 - (1 + 2 + 3 + 1 + 1));
}

#[test]
fn a_clos_routes_through_the_first_spine() {
    let text = "name: c
addressing: { p2p: 10.1.0.0/16, lan: 10.2.0.0/16 }
routing: { static: auto }
nodes:
  \"spine[1-2]\": { role: router }
  \"leaf[1-2]\": { role: router, bridges: { br0: {} } }
  \"h[1-4]\": { role: host }
links:
  - endpoints: [\"spine1:eth[1-2]\", \"leaf[1-2]:eth1\"]
  - endpoints: [\"spine2:eth[1-2]\", \"leaf[1-2]:eth2\"]
  - endpoints: [\"h[1-2]:eth0\", leaf1:br0]
  - endpoints: [\"h[3-4]:eth0\", leaf2:br0]
";
    let m = model(text);
    // leaf1 reaches leaf2's LAN via spine1 (spine1 sorts before spine2).
    assert_eq!(addrs(&m, "spine1:eth2"), ["10.1.0.2/31"]);
    assert_eq!(via(&m, "leaf1", "10.2.1.0/24"), Some(ip("10.1.0.0")));
    assert_eq!(via(&m, "spine2", "10.2.1.0/24"), Some(ip("10.1.0.7")));
    // Hosts route via their leaf's bridge address.
    assert_eq!(via(&m, "h3", "default"), Some(ip("10.2.1.1")));
}

#[test]
fn several_routers_beside_a_host_are_an_error_naming_them() {
    let text = "name: x
addressing: { lan: 10.2.0.0/16 }
nodes:
  \"r[1-2]\": { role: router }
  h1: { role: host }
bridges: { s1: {} }
links:
  - endpoints: [\"r[1-2]:eth0\", s1]
  - endpoints: [h1:eth0, s1]
";
    let d = the_error(
        text,
        "h1: { role: host }",
        &[
            "h1 has `role: host` and 2 routers",
            "r1 (10.2.0.1 on h1:eth0), r2 (10.2.0.2 on h1:eth0)",
        ],
    );
    assert!(d.help.unwrap().contains("via: 10.2.0.1"));
    // A default route written for it settles it.
    let written = text.replace(
        "h1: { role: host }",
        "h1: { role: host, routes: [{ to: default, via: 10.2.0.2 }] }",
    );
    let m = model(&written);
    assert_eq!(via(&m, "h1", "default"), Some(ip("10.2.0.2")));
    assert!(!route(&m, "h1", "default").unwrap().derived);
}

#[test]
fn a_management_network_gives_addresses_and_no_route() {
    let text = "name: x
addressing: { p2p: 10.1.0.0/16 }
routing: { static: auto }
nodes:
  \"r[1-2]\": { role: router }
  h1: { role: host }
links:
  - endpoints: [r1:eth1, r2:eth1]
  - endpoints: [h1:eth1, r1:eth2]
networks:
  mgmt: { subnet: 192.168.100.0/24, default_route: false, nodes: [\"r[1-2]\", h1] }
";
    let m = model(text);
    assert_eq!(addrs(&m, "h1:eth0"), ["192.168.100.4/24"]);
    // h1's only router on a segment that routes is r1 (mgmt holds both).
    assert_eq!(via(&m, "h1", "default"), Some(ip("10.1.0.3")));
    // r2 reaches h1's link via r1 on their link, not over mgmt.
    assert_eq!(via(&m, "r2", "10.1.0.2/31"), Some(ip("10.1.0.0")));
    // With the management network routing, it would give the default.
    let routed = model(&text.replace("default_route: false, ", ""));
    assert_eq!(via(&routed, "h1", "default"), Some(ip("192.168.100.1")));
}

#[test]
fn ipv6_labs_forward_ipv6_too_and_route_it() {
    let text = "name: x
addressing: { p2p: \"fd00:1::/64\" }
routing: { static: auto }
nodes: { \"r[1-3]\": { role: router } }
links:
  - endpoints: [\"r[1-2]:eth1\", \"r[2-3]:eth2\"]
";
    let m = model(text);
    assert_eq!(
        sysctl(&m, "r1", "net.ipv6.conf.all.forwarding").as_deref(),
        Some("1")
    );
    assert_eq!(addrs(&m, "r1:eth1").len(), 2, "with its link-local address");
    let id = RouteId {
        ns: Ns::parse("r1"),
        key: RouteKey::new("fd00:1::2/127".parse().unwrap(), 0),
    };
    assert_eq!(m.state.route[&id].via, Some(ip("fd00:1::1")));
}

#[test]
fn the_short_ring_is_the_one_written_out_marked_derived() {
    let short = "name: ring
addressing: { p2p: 10.30.0.0/16, prefix: 30 }
routing: { static: auto }
nodes: { \"r[1-3]\": { role: router } }
links:
  - endpoints: [\"r[1-2]:eth1\", \"r[2-3]:eth2\"]
  - endpoints: [r3:eth1, r1:eth2]
";
    // netnslab's manual-ip-ring-3routers.yaml, with its routes worked out.
    let long = "name: ring
nodes:
  r1:
    interfaces: { eth1: { addresses: [10.30.0.1/30] }, eth2: { addresses: [10.30.0.10/30] } }
    routes: [{ to: 10.30.0.4/30, via: 10.30.0.2 }]
    sysctls: { net.ipv4.ip_forward: 1 }
  r2:
    interfaces: { eth1: { addresses: [10.30.0.5/30] }, eth2: { addresses: [10.30.0.2/30] } }
    routes: [{ to: 10.30.0.8/30, via: 10.30.0.1 }]
    sysctls: { net.ipv4.ip_forward: 1 }
  r3:
    interfaces: { eth1: { addresses: [10.30.0.9/30] }, eth2: { addresses: [10.30.0.6/30] } }
    routes: [{ to: 10.30.0.0/30, via: 10.30.0.10 }]
    sysctls: { net.ipv4.ip_forward: 1 }
links:
  - endpoints: [r1:eth1, r2:eth2]
  - endpoints: [r2:eth1, r3:eth2]
  - endpoints: [r3:eth1, r1:eth2]
";
    let mut derived = model(short).state;
    assert!(derived.route.values().all(|r| r.derived));
    for r in derived.route.values_mut() {
        r.derived = false;
    }
    assert_eq!(derived, model(long).state);
}
