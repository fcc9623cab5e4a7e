//! Edits of networks and IP families: a subnet renumbered, IPv6 added and
//! taken away again, IPv6 routes changed.

use super::*;
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
