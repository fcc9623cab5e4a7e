//! `defaults:`, bridges inside nodes, ranges across machines, and the
//! builder's mistakes in expanded entries at the line that was written.

use super::*;

#[test]
fn defaults_reach_every_node_interface_and_link_unless_they_say_otherwise() {
    let text = "name: x
defaults:
  node: { role: router, sysctls: { net.ipv4.conf.all.rp_filter: 2 } }
  interface: { mtu: 9000 }
  link: { mtu: 1400 }
nodes:
  a: { role: host, sysctls: { net.ipv4.conf.all.rp_filter: 0 } }
  b: {}
links:
  - endpoints: [a:eth1, b:eth1]
  - endpoints: [a:eth2, b:eth2]
    mtu: 1300
networks:
  n: { subnet: 10.0.0.0/24, nodes: [c] }
";
    let m = model(text);
    let key = "net.ipv4.conf.all.rp_filter";
    assert_eq!(sysctl(&m, "a", key).as_deref(), Some("0"));
    assert_eq!(sysctl(&m, "b", key).as_deref(), Some("2"));
    // c is only a network member: a node all the same.
    assert_eq!(sysctl(&m, "c", key).as_deref(), Some("2"));
    assert_eq!(sysctl(&m, "c", "net.ipv4.ip_forward").as_deref(), Some("1"));
    assert_eq!(sysctl(&m, "a", "net.ipv4.ip_forward"), None);
    let mtu = |l: &str| m.state.link[&crate::kinds::LinkId { link: iface(l) }].mtu;
    assert_eq!(mtu("a:eth1"), Some(1400));
    assert_eq!(mtu("b:eth2"), Some(1300));
    // Nothing else sets the network member's: the lab's default does.
    assert_eq!(mtu("c:eth0"), Some(9000));
}

#[test]
fn a_sysctl_only_the_initial_namespace_has_is_no_nodes() {
    let key = "net.ipv4.neigh.default.gc_thresh3";
    let text = format!("name: x\nnodes:\n  a: {{ sysctls: {{ {key}: 4096 }} }}\n");
    the_error(
        &text,
        "a: {",
        &[
            key,
            "exists only in the machine's initial network namespace: no node has it",
        ],
    );
    let text = format!(
        "name: x\ndefaults: {{ node: {{ sysctls: {{ {key}: 1 }} }} }}\nnodes: {{ a: {{}} }}\n"
    );
    the_error(&text, "defaults:", &[key]);
    // Under `host:` it is the machine's to refuse, at plan time.
    model(&format!(
        "name: x\nhost: {{ sysctls: {{ {key}: 4096 }} }}\n"
    ));
}

#[test]
fn two_nodes_may_each_have_a_br0() {
    let text = "name: x
nodes:
  \"sw[1-2]\": { bridges: { br0: {} } }
  \"h[1-2]\": { interfaces: { eth0: { addresses: [10.0.0.1/24] } } }
links:
  - endpoints: [\"h[1-2]:eth0\", \"sw[1-2]:br0\"]
  - endpoints: [sw1:br0:up, sw2:br0:up]
";
    let m = model(&text.replace("[10.0.0.1/24]", "[]"));
    for sw in ["sw1", "sw2"] {
        let br = crate::kinds::BridgeId {
            link: iface(&format!("{sw}:br0")),
        };
        assert!(m.state.bridge.contains_key(&br), "{sw}");
        let up = crate::kinds::LinkId {
            link: iface(&format!("{sw}:up")),
        };
        assert_eq!(m.state.link[&up].master.as_deref(), Some("br0"));
    }
    let port = crate::kinds::LinkId {
        link: iface("sw2:h2-eth0"),
    };
    assert_eq!(m.state.link[&port].master.as_deref(), Some("br0"));
    // The same address on two segments is fine; on one it is not.
    model(text);
    let one = text.replace("[sw1:br0:up, sw2:br0:up]", "[sw1:br0:up, sw1:br0:up2]");
    let e = errors(&one.replace("\"sw[1-2]:br0\"", "sw1:br0"));
    assert!(e.iter().any(|d| d.message.contains("10.0.0.1")), "{e:#?}");
    the_error(
        "name: x\nnodes: { a: {}, b: {} }\nlinks:\n  - endpoints: [a:br9:p, b:e]\n",
        "a:br9:p",
        &["a has no bridge `br9`"],
    );
    the_error(
        "name: x\nnodes:\n  a: { bridges: { br0: { node: b } } }\n  b: {}\n",
        "br0: { node: b }",
        &["bridge a:br0 is declared under its node: `node:` has no place here"],
    );
}

#[test]
fn a_mistake_in_an_expanded_entry_names_it_at_the_written_line() {
    let text = "name: x
nodes: { \"h[1-3]\": {} }
links:
  - endpoints: [\"h[1-3]:eth0\", \"s[1-3]\"]
";
    let e = errors(text);
    assert_eq!(e.len(), 3, "{e:#?}");
    for (d, n) in e.iter().zip(1..) {
        assert_eq!(d.pos.line, 4);
        assert!(d.message.contains(&format!("`s{n}`")), "{}", d.message);
    }
    // A range with a bad route: each node's error at the one line.
    let text = "name: x\nnodes:\n  \"r[1-2]\": { routes: [{ to: 10.9.0.0/16, via: 10.0.0.1 }] }\n";
    let e = errors(text);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e.iter().all(|d| d.pos.line == 3));
    assert!(
        e[0].message.contains("r1") && e[1].message.contains("r2"),
        "{e:#?}"
    );
}

#[test]
fn ranges_and_defaults_work_across_machines_and_pools_do_not_yet() {
    let text = "name: x
hosts:
  m1: { address: 192.168.0.1 }
  m2: { address: 192.168.0.2 }
defaults:
  node: { role: router, sysctls: { net.ipv4.conf.all.rp_filter: 2 } }
nodes:
  \"a[1-2]\": { host: m1 }
  \"b[1-2]\": { host: m2 }
links:
  - endpoints: [\"a[1-2]:eth0\", \"b[1-2]:eth0\"]
";
    let spec = load_str("lab.yaml", text).unwrap();
    let shares = crate::model::hosts::shares(&spec).expect("placed");
    for (host, share) in shares {
        let mine = if host == "m1" {
            ["a1", "a2"]
        } else {
            ["b1", "b2"]
        };
        let keys: Vec<&String> = share.nodes.keys().collect();
        assert_eq!(keys, mine, "{host}");
        let m = build(&share, &Prior::new()).expect("builds").model;
        for n in mine {
            assert_eq!(
                sysctl(&m, n, "net.ipv4.conf.all.rp_filter").as_deref(),
                Some("2")
            );
            assert_eq!(sysctl(&m, n, "net.ipv4.ip_forward").as_deref(), Some("1"));
        }
    }
    let pooled = text.replace(
        "defaults:",
        "addressing: { p2p: 10.1.0.0/16 }\nrouting: { static: auto }\ndefaults:",
    );
    let spec = load_str("lab.yaml", &pooled).unwrap();
    let e = crate::model::hosts::shares(&spec).expect_err("refused");
    assert_eq!(e.len(), 2, "{e:#?}");
    assert_eq!(e[0].pos.line, line_of(&pooled, "addressing:"));
    assert!(e[0].message.contains("address pools are not available"));
    assert_eq!(e[1].pos.line, line_of(&pooled, "routing:"));
}
