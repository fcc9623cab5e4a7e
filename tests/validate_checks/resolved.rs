//! Valid checks, resolved: node names to addresses, listeners behind the
//! lab's port forwards, pingall's pairs, timeouts.

use super::*;
#[test]
fn a_node_name_means_its_first_ipv4_address() {
    let c = checks("  - { from: red, ping: blue }\n  - { from: blue, ping: red }\n  - { from: red, ping: host }\n");
    // blue: eth0 comes before eth1, and IPv4 before IPv6.
    assert_eq!(c[0].probe, Probe::Ping { to: ip("10.0.0.3") });
    assert_eq!(c[0].from, Ns::Node("red".into()));
    assert_eq!(c[0].target, "blue");
    assert_eq!(c[0].pos.line, FIRST);
    assert_eq!(c[1].probe, Probe::Ping { to: ip("10.0.0.2") });
    assert_eq!(c[2].probe, Probe::Ping { to: ip("10.0.0.1") });
    assert_eq!(c[0].name(), "ping red → blue (10.0.0.3)");
    assert!(c
        .iter()
        .all(|c| c.expect_ok && c.timeout == Duration::from_secs(1)));
}

#[test]
fn listeners_follow_the_labs_port_forwards() {
    let c = checks(
        "  - { from: red, tcp: \"10.0.0.1:8080\", reaches: blue, sees: 10.0.0.2 }\n\
         \x20 - { from: red, udp: \"10.0.0.1:5003\", sees: 10.0.0.2 }\n\
         \x20 - { from: red, tcp: \"blue:22\", reaches: blue }\n\
         \x20 - { from: red, tcp: \"[fd00::3]:80\", reaches: blue }\n\
         \x20 - { from: red, tcp: \"10.9.9.9:443\", expect: fail }\n",
    );
    let listener = |c: &Check| c.probe.listener().cloned();
    assert_eq!(
        listener(&c[0]),
        Some(Listener {
            ns: Ns::Node("blue".into()),
            addr: sock("10.0.0.3:80"),
            sees: Some(ip("10.0.0.2")),
            forward: Some(21),
        })
    );
    // A forwarded range keeps its ports; `sees` alone puts the listener
    // where the address arrives.
    assert_eq!(listener(&c[1]).unwrap().addr, sock("10.0.0.3:5003"));
    assert_eq!(listener(&c[1]).unwrap().ns, Ns::Node("blue".into()));
    assert_eq!(listener(&c[2]).unwrap().addr, sock("10.0.0.3:22"));
    assert_eq!(listener(&c[2]).unwrap().forward, None);
    assert_eq!(listener(&c[3]).unwrap().addr, sock("[fd00::3]:80"));
    assert_eq!(
        c[4].probe,
        Probe::Tcp {
            to: sock("10.9.9.9:443"),
            listener: None
        }
    );
    assert!(!c[4].expect_ok);
}

#[test]
fn pingall_is_every_ordered_pair() {
    let c = checks("  - { pingall: [red, blue, host], timeout: 250ms }\n");
    let pairs: Vec<String> = c.iter().map(Check::name).collect();
    assert_eq!(
        pairs,
        [
            "ping red → blue (10.0.0.3)",
            "ping red → host (10.0.0.1)",
            "ping blue → red (10.0.0.2)",
            "ping blue → host (10.0.0.1)",
            "ping host → red (10.0.0.2)",
            "ping host → blue (10.0.0.3)",
        ]
    );
    assert!(c.iter().all(|c| c.timeout == Duration::from_millis(250)));
}

#[test]
fn the_lab_wide_timeout_is_the_default() {
    let c = checks("  timeout: 2\n  checks:\n    - { from: red, ping: blue }\n    - { from: red, ping: blue, timeout: 0.5 }\n");
    assert_eq!(c[0].timeout, Duration::from_secs(2));
    assert_eq!(c[1].timeout, Duration::from_millis(500));
}
