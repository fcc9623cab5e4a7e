//! Address pools: who gets what, that nothing already numbered moves, and
//! every mistake at its line.

use super::*;

const RING: &str = "name: ring
addressing: { p2p: 10.1.0.0/16, loopback: 10.255.0.0/24 }
nodes: { \"r[1-3]\": {} }
links:
  - endpoints: [\"r[1-2]:eth1\", \"r[2-3]:eth2\"]
  - endpoints: [r3:eth1, r1:eth2]
";

#[test]
fn p2p_links_get_a_31_each_first_endpoint_lower_in_file_order() {
    let m = model(RING);
    assert_eq!(addrs(&m, "r1:eth1"), ["10.1.0.0/31"]);
    assert_eq!(addrs(&m, "r2:eth2"), ["10.1.0.1/31"]);
    assert_eq!(addrs(&m, "r2:eth1"), ["10.1.0.2/31"]);
    assert_eq!(addrs(&m, "r3:eth2"), ["10.1.0.3/31"]);
    assert_eq!(addrs(&m, "r3:eth1"), ["10.1.0.4/31"]);
    assert_eq!(addrs(&m, "r1:eth2"), ["10.1.0.5/31"]);
    // Loopbacks skip the pool's own network address.
    assert_eq!(addrs(&m, "r1:lo"), ["10.255.0.1/32"]);
    assert_eq!(addrs(&m, "r3:lo"), ["10.255.0.3/32"]);
    let from = |l: &str| {
        let id = m
            .state
            .address
            .keys()
            .find(|id| id.link == iface(l))
            .unwrap();
        m.address_from[id].clone()
    };
    assert_eq!(from("r1:eth1"), "p2p pool");
    assert_eq!(from("r1:lo"), "loopback pool");
    assert!(m.allocated.contains(&iface("r1:lo")));
}

#[test]
fn a_30_gives_the_two_usable_addresses() {
    let m = model(&RING.replace("p2p: 10.1.0.0/16", "p2p: 10.1.0.0/16, prefix: 30"));
    assert_eq!(addrs(&m, "r1:eth1"), ["10.1.0.1/30"]);
    assert_eq!(addrs(&m, "r2:eth2"), ["10.1.0.2/30"]);
    assert_eq!(addrs(&m, "r2:eth1"), ["10.1.0.5/30"]);
}

#[test]
fn links_with_addresses_and_host_links_are_left_alone() {
    let text = "name: x
addressing: { p2p: 10.1.0.0/16 }
nodes:
  a: { interfaces: { eth1: { addresses: [10.1.0.1/31] } } }
  b: { interfaces: { eth1: { addresses: [10.1.0.0/31] } } }
  c: {}
links:
  - endpoints: [a:eth1, b:eth1]
  - endpoints: [a:eth2, c:eth2]
  - endpoints: [c:eth0, host:c0]
";
    let m = model(text);
    assert_eq!(addrs(&m, "a:eth1"), ["10.1.0.1/31"]);
    // The written 10.1.0.0/31 is taken: the next link gets the next /31.
    assert_eq!(addrs(&m, "a:eth2"), ["10.1.0.2/31"]);
    assert!(addrs(&m, "c:eth0").is_empty());
    assert!(addrs(&m, "host:c0").is_empty());
}

#[test]
fn adding_or_removing_a_link_renumbers_no_other() {
    let first = model(RING);
    let prior = prior_of(&first);
    // The first link goes (r1-r2): the others keep their addresses.
    let fewer = RING.replace("\"r[1-2]:eth1\", \"r[2-3]:eth2\"", "r2:eth1, r3:eth2");
    let m = model_with(&fewer, &prior);
    for l in ["r2:eth1", "r3:eth2", "r3:eth1", "r1:eth2", "r1:lo", "r2:lo"] {
        assert_eq!(addrs(&m, l), addrs(&first, l), "{l}");
    }
    // A new link, written first, takes the lowest free /31 and moves nobody.
    let more = RING.replace("links:\n", "links:\n  - endpoints: [r1:eth9, r3:eth9]\n");
    let m = model_with(&more, &prior);
    for l in ["r1:eth1", "r2:eth1", "r3:eth1", "r1:eth2"] {
        assert_eq!(addrs(&m, l), addrs(&first, l), "{l}");
    }
    assert_eq!(addrs(&m, "r1:eth9"), ["10.1.0.6/31"]);
    // A new node's loopback too.
    let m = model_with(&more.replace("r[1-3]", "r[0-3]"), &prior);
    assert_eq!(addrs(&m, "r1:lo"), addrs(&first, "r1:lo"));
    assert_eq!(addrs(&m, "r0:lo"), ["10.255.0.4/32"]);
}

const LANS: &str = "name: lans
addressing: { lan: 10.2.0.0/16 }
nodes:
  \"h[1-3]\": {}
  r1: { role: router }
bridges: { \"s[1-2]\": {}, lone: { addresses: [10.9.0.1/24] } }
links:
  - endpoints: [s1, s2]
  - endpoints: [\"h[1-2]:eth0\", s1]
  - endpoints: [r1:eth0, s2]
  - endpoints: [h3:eth0, lone]
";

#[test]
fn a_segment_of_bridges_is_one_lan_its_router_first() {
    let m = model(LANS);
    assert_eq!(addrs(&m, "r1:eth0"), ["10.2.0.1/24"]);
    assert_eq!(addrs(&m, "h1:eth0"), ["10.2.0.2/24"]);
    assert_eq!(addrs(&m, "h2:eth0"), ["10.2.0.3/24"]);
    // A bridge with an address of its own gives its segment's subnet.
    assert!(addrs(&m, "h3:eth0").is_empty());
    // Bridges themselves (in the host) get none.
    assert!(addrs(&m, "host:s1").is_empty());
    // h1 goes: the others stay.
    let m2 = model_with(
        &LANS
            .replace("\"h[1-2]:eth0\"", "h2:eth0")
            .replace("h[1-3]", "h[2-3]"),
        &prior_of(&m),
    );
    assert_eq!(addrs(&m2, "h2:eth0"), ["10.2.0.3/24"]);
    assert_eq!(addrs(&m2, "r1:eth0"), ["10.2.0.1/24"]);
}

#[test]
fn a_routers_own_bridge_takes_its_lan_address() {
    let text = "name: x
addressing: { lan: 10.2.0.0/16 }
nodes:
  \"leaf[1-2]\": { role: router, bridges: { br0: {} } }
  \"h[1-4]\": {}
links:
  - endpoints: [\"h[1-2]:eth0\", leaf1:br0]
  - endpoints: [\"h[3-4]:eth0\", leaf2:br0]
";
    let m = model(text);
    assert_eq!(addrs(&m, "leaf1:br0"), ["10.2.0.1/24"]);
    assert_eq!(addrs(&m, "h2:eth0"), ["10.2.0.3/24"]);
    assert_eq!(addrs(&m, "leaf2:br0"), ["10.2.1.1/24"]);
    assert_eq!(addrs(&m, "h4:eth0"), ["10.2.1.3/24"]);
}

#[test]
fn every_pool_mistake_points_at_its_line() {
    let base =
        "name: x\nnodes: { \"n[1-3]\": {} }\nlinks:\n  - endpoints: [\"n[1-2]:e\", \"n[2-3]:f\"]\n";
    let with = |a: &str| format!("{base}addressing: {a}\n");
    the_error(&with("{ p2p: 10.1.0.1/16 }"), "addressing", &["host bits"]);
    the_error(
        &with("{ p2p: 10.1.0.0/16, prefix: 29 }"),
        "addressing",
        &["/29", "/30 to /31"],
    );
    the_error(
        &with("{ p2p: \"fd00::/48\", prefix: 31 }"),
        "addressing",
        &["/64 to /127"],
    );
    the_error(
        &with("{ prefix: 31 }"),
        "addressing",
        &["`p2p` pool", "there is none"],
    );
    the_error(
        &with("{ lan: 10.2.0.0/24, lan_prefix: 16 }"),
        "addressing",
        &["/16", "/24 to /30"],
    );
    the_error(
        &with("{ p2p: 10.1.0.0/16, loopback: 10.1.255.0/24 }"),
        "addressing",
        &["`loopback` pool 10.1.255.0/24 overlaps the `p2p` pool 10.1.0.0/16"],
    );
    // A full pool: at the link that found it so.
    let text = format!(
        "{base}  - endpoints: [n1:g, n3:g]\n{}",
        "addressing: { p2p: 10.1.0.0/30 }\n"
    );
    the_error(&text, "n1:g", &["`p2p` pool 10.1.0.0/30 has no free /31"]);
}

#[test]
fn the_short_tree_is_the_one_written_out() {
    let short = include_str!("../../../../topologies/mininet-tree-2-3.yaml");
    let mut long = String::from("name: tree-2-3\nnodes:\n");
    for i in 1..=9 {
        long +=
            &format!("  h{i}: {{ interfaces: {{ eth0: {{ addresses: [10.0.0.{i}/24] }} }} }}\n");
    }
    long += "bridges: { s1: {}, s2: {}, s3: {}, s4: {} }\nlinks:\n";
    for s in 2..=4 {
        long += &format!("  - endpoints: [s{s}, s1]\n");
    }
    for h in 1..=9 {
        long += &format!("  - endpoints: [h{h}:eth0, s{}]\n", 2 + (h - 1) % 3);
    }
    assert_eq!(model(short).state, model(&long).state);
}
