//! NAT, port forwards and filter rules, proven with real packets. The
//! "outside" is a namespace `out` joined to the host by a veth the test makes.

use crate::common;

use common::{actions, text, Sandbox};

const BASE: &str = r#"
name: nat
nodes:
  red:
    interfaces: { eth0: { addresses: [192.168.15.1/24] } }
    routes: [ { to: default, via: 192.168.15.5 } ]
  blue:
    interfaces: { eth0: { addresses: [192.168.15.2/24] } }
    routes: [ { to: default, via: 192.168.15.5 } ]
bridges:
  v-net-0: { addresses: [192.168.15.5/24] }
links:
  - endpoints: [red:eth0, v-net-0]
  - endpoints: [blue:eth0, v-net-0]
"#;

fn lab_with(sb: &Sandbox, host: &str) -> String {
    sb.lab(
        "lab.yaml",
        &format!("{BASE}host:\n  sysctls: {{ net.ipv4.ip_forward: 1 }}\n{host}"),
    )
}

fn reapply_is_noop_and_destroy_is_clean(sb: &Sandbox, lab: &str) {
    let again: serde_json::Value =
        serde_json::from_str(&sb.topo_ok(&["apply", "--json", lab])).unwrap();
    assert_eq!(again["writes"], 0, "re-apply changes nothing");
    let unrelated_before = sb.sh_ok("nft list table inet unrelated");
    sb.topo_ok(&["destroy", lab]);
    assert_eq!(
        sb.sh_ok("nft list table inet unrelated"),
        unrelated_before,
        "an unrelated table is untouched"
    );
    sb.sh_ok("nft delete table inet unrelated && ip link del uplink0 && ip netns del out");
    assert_eq!(sb.residue(), "");
}

/// A table someone else keeps in the same namespace.
fn unrelated_table(sb: &Sandbox) {
    sb.sh_ok("nft add table inet unrelated && nft add chain inet unrelated c '{ type filter hook input priority 10; }' && nft add rule inet unrelated c tcp dport 12345 counter accept");
}

#[test]
fn masquerade_hides_nodes_behind_the_host_address() {
    let Some(sb) = Sandbox::new() else { return };
    sb.outside();
    unrelated_table(&sb);
    let lab = lab_with(
        &sb,
        "  nat:\n    masquerade: [ { source: 192.168.15.0/24, out: uplink0 } ]\n",
    );
    assert_eq!(
        sb.tcp_peer("out", 9000, "red", "10.99.0.2", 9000),
        "",
        "without the lab nothing routes"
    );
    sb.topo_ok(&["apply", &lab]);
    assert_eq!(
        sb.tcp_peer("out", 9000, "red", "10.99.0.2", 9000),
        "10.99.0.1",
        "the outside sees the host, not 192.168.15.1"
    );
    reapply_is_noop_and_destroy_is_clean(&sb, &lab);
}

#[test]
fn snat_to_a_range_uses_an_address_of_the_range() {
    let Some(sb) = Sandbox::new() else { return };
    sb.outside();
    unrelated_table(&sb);
    // The outside routes the range back to the host.
    sb.sh_ok("ip -n out route add 10.99.5.0/24 via 10.99.0.1");
    let lab = lab_with(&sb, "  nat:\n    snat: [ { source: 192.168.15.0/24, out: uplink0, to: 10.99.5.3-10.99.5.5 } ]\n");
    sb.topo_ok(&["apply", &lab]);
    let seen = sb.tcp_peer("out", 9000, "blue", "10.99.0.2", 9000);
    assert!(
        ["10.99.5.3", "10.99.5.4", "10.99.5.5"].contains(&seen.as_str()),
        "outside saw {seen:?}"
    );
    reapply_is_noop_and_destroy_is_clean(&sb, &lab);
}

#[test]
fn dnat_forwards_from_outside_from_the_host_and_a_range() {
    let Some(sb) = Sandbox::new() else { return };
    sb.outside();
    unrelated_table(&sb);
    let lab = lab_with(
        &sb,
        "  nat:\n    masquerade: [ { source: 192.168.15.0/24 } ]\n    dnat:\n      - { proto: tcp, port: 8080, to: \"blue:80\" }\n      - { proto: tcp, port: 5000-5010, to: red }\n",
    );
    sb.topo_ok(&["apply", &lab]);
    // From outside: to the host's address, answered by blue, which sees the client.
    assert_eq!(
        sb.tcp_peer("blue", 80, "out", "10.99.0.1", 8080),
        "10.99.0.2"
    );
    // From the host itself, to its own address.
    assert_eq!(
        sb.tcp_peer("blue", 80, "host", "10.99.0.1", 8080),
        "10.99.0.1"
    );
    // A range keeps its ports.
    assert_eq!(
        sb.tcp_peer("red", 5007, "out", "10.99.0.1", 5007),
        "10.99.0.2"
    );
    // Not forwarded: outside the range.
    assert_eq!(sb.tcp_peer("red", 5011, "out", "10.99.0.1", 5011), "");
    reapply_is_noop_and_destroy_is_clean(&sb, &lab);
}

#[test]
fn filter_rules_drop_and_accept() {
    let Some(sb) = Sandbox::new() else { return };
    sb.outside();
    unrelated_table(&sb);
    let lab = lab_with(
        &sb,
        "  firewall:\n    forward: accept\n    rules:\n      - { chain: input, proto: tcp, port: 22, source: 10.99.0.2, action: accept }\n      - { chain: input, proto: tcp, port: 3306, action: drop }\n      - { chain: input, proto: tcp, port: 22, action: drop }\n",
    );
    sb.topo_ok(&["apply", &lab]);
    assert_eq!(
        sb.tcp_peer("host", 3306, "out", "10.99.0.1", 3306),
        "",
        "3306 is dropped"
    );
    assert_eq!(
        sb.tcp_peer("host", 22, "out", "10.99.0.1", 22),
        "10.99.0.2",
        "22 from 10.99.0.2 is accepted"
    );
    assert_eq!(
        sb.tcp_peer("host", 22, "red", "192.168.15.5", 22),
        "",
        "22 from elsewhere is dropped"
    );
    assert_eq!(
        sb.tcp_peer("host", 4000, "out", "10.99.0.1", 4000),
        "10.99.0.2",
        "other ports pass"
    );
    reapply_is_noop_and_destroy_is_clean(&sb, &lab);
}

#[test]
fn a_flushed_ruleset_is_drift_and_apply_repairs_it() {
    let Some(sb) = Sandbox::new() else { return };
    sb.outside();
    let lab = lab_with(&sb, "  nat:\n    masquerade: [ { source: 192.168.15.0/24 } ]\n    dnat: [ { proto: tcp, port: 8080, to: \"blue:80\" } ]\n");
    sb.topo_ok(&["apply", &lab]);
    sb.sh_ok("nft flush ruleset");
    let mut got = actions(&sb.plan_json(&lab));
    got.sort();
    assert_eq!(
        got,
        vec![
            "create nft chain nat-output in host",
            "create nft chain postrouting in host",
            "create nft chain prerouting in host",
            "create nft rule nat-output in host: dnat tcp 8080 to 192.168.15.2:80",
            "create nft rule postrouting in host: masquerade from 192.168.15.0/24 not to 192.168.15.0/24",
            "create nft rule prerouting in host: dnat tcp 8080 to 192.168.15.2:80",
        ]
    );
    // A rule added by hand to the lab's table, and one deleted.
    sb.topo_ok(&["apply", &lab]);
    sb.sh_ok("nft add rule inet topo-nat postrouting ip saddr 1.2.3.4 accept && nft -a list chain inet topo-nat prerouting | grep -o 'handle [0-9]*' | tail -1 | xargs nft delete rule inet topo-nat prerouting");
    let mut got = actions(&sb.plan_json(&lab));
    got.sort();
    assert_eq!(
        got,
        vec![
            "create nft rule prerouting in host: dnat tcp 8080 to 192.168.15.2:80",
            "delete nft rule postrouting in host: unmanaged rule #2",
        ]
    );
    sb.topo_ok(&["apply", &lab]);
    assert_eq!(
        sb.tcp_peer("blue", 80, "out", "10.99.0.1", 8080),
        "10.99.0.2"
    );
    sb.topo_ok(&["destroy", &lab]);
    sb.sh_ok("ip link del uplink0 && ip netns del out");
    assert_eq!(sb.residue(), "");
}

#[test]
fn snat_inside_a_router_node() {
    // Seed 001: two bridges, router r1 with a leg on each, SNAT inside r1.
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab(
        "lab.yaml",
        r#"
name: router
nodes:
  r1:
    interfaces:
      in0: { addresses: [10.0.1.1/24] }
      ex0: { addresses: [172.16.100.1/24] }
    sysctls: { net.ipv4.ip_forward: 1 }
    nat:
      snat: [ { source: 10.0.1.0/24, out: ex0, to: 172.16.100.1 } ]
  vm1:
    interfaces: { eth0: { addresses: [10.0.1.10/24] } }
    routes: [ { to: default, via: 10.0.1.1 } ]
  far:
    interfaces: { eth0: { addresses: [172.16.100.20/24] } }
bridges:
  br-in: {}
  br-ex: {}
links:
  - endpoints: [r1:in0, br-in]
  - endpoints: [r1:ex0, br-ex]
  - endpoints: [vm1:eth0, br-in]
  - endpoints: [far:eth0, br-ex]
"#,
    );
    sb.topo_ok(&["apply", &lab]);
    // `far` has no route back to 10.0.1.0/24: only SNAT makes this work.
    assert_eq!(
        sb.tcp_peer("far", 9000, "vm1", "172.16.100.20", 9000),
        "172.16.100.1"
    );
    let again: serde_json::Value =
        serde_json::from_str(&sb.topo_ok(&["apply", "--json", &lab])).unwrap();
    assert_eq!(again["writes"], 0);
    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn nat_validation_errors() {
    // No kernel needed.
    let cases = [
        ("  nat:\n    dnat: [ { proto: tcp, port: 80, to: \"nobody:80\" } ]\n", "DNAT target `nobody` is no node"),
        ("  nat:\n    dnat: [ { proto: tcp, port: 80, to: blue }, { proto: tcp, port: 80, to: red } ]\n", "tcp port 80 is already forwarded"),
        ("  nat:\n    dnat: [ { proto: tcp, port: 5000-5010, to: \"red:6000-6005\" } ]\n", "differ in length"),
        ("  nat:\n    snat: [ { source: 10.8.0.0/24, to: 192.168.5.5-192.168.5.3 } ]\n", "ends below its start"),
    ];
    for (host, want) in cases {
        let yaml = format!("{BASE}host:\n  sysctls: {{ net.ipv4.ip_forward: 1 }}\n{host}");
        let spec = topo::spec::load_str("lab.yaml", &yaml).unwrap();
        let errs = topo::model::build(&spec, &Default::default()).unwrap_err();
        assert!(
            errs.iter()
                .any(|d| d.message.contains(want) && d.help.is_some() && d.pos.line > 0),
            "{want}: {errs:?}"
        );
    }
    let warn = |yaml: &str| {
        let spec = topo::spec::load_str("lab.yaml", yaml).unwrap();
        topo::model::build(&spec, &Default::default())
            .unwrap()
            .warnings
            .iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
    };
    let w = warn(&format!(
        "{BASE}host:\n  nat:\n    masquerade: [ {{ source: 192.168.15.0/24, out: wan9 }} ]\n"
    ));
    assert!(
        w.iter()
            .any(|m| m.contains("interface `wan9` is not created by the lab")),
        "{w:?}"
    );
    assert!(
        w.iter().any(|m| m.contains("does not forward IPv4")),
        "{w:?}"
    );
    let _ = text;
}
