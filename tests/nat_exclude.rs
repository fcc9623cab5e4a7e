//! Exclusions of masquerade and SNAT (`exclude: [CIDR, ...]`), with real
//! packets: which source address a server outside sees, per destination.
//! The outside namespace `out` has two addresses, 10.99.0.2 on the host's
//! segment and 192.168.99.2 behind it, and routes the lab's subnet back to
//! the host, so a connection that is not rewritten still works and shows
//! the node's own address.

use crate::common;

use common::Sandbox;

const BASE: &str = r#"
name: excl
nodes:
  red:
    interfaces: { eth0: { addresses: [192.168.15.1/24] } }
    routes: [ { to: default, via: 192.168.15.5 } ]
bridges:
  v-net-0: { addresses: [192.168.15.5/24] }
links:
  - endpoints: [red:eth0, v-net-0]
host:
  sysctls: { net.ipv4.ip_forward: 1 }
  routes: [ { to: 192.168.99.0/24, via: 10.99.0.2 } ]
"#;

/// The source `out` sees for a connection from red to 10.99.0.2, and to
/// 192.168.99.2.
fn seen(sb: &Sandbox) -> (String, String) {
    let clients = [("red", "10.99.0.2", 9001)];
    let behind = [("red", "192.168.99.2", 9002)];
    let lines = sb.tcp_matrix(&[("out", 9001, &clients), ("out", 9002, &behind)]);
    let peer = |l: &String| l.rsplit(": ").next().unwrap_or_default().to_string();
    (peer(&lines[0]), peer(&lines[1]))
}

fn apply_and_see(sb: &Sandbox, nat: &str) -> (String, String) {
    let lab = sb.lab("lab.yaml", &format!("{BASE}  nat:\n{nat}"));
    sb.topo_ok(&["apply", &lab]);
    let got = seen(sb);
    let again: serde_json::Value =
        serde_json::from_str(&sb.topo_ok(&["apply", "--json", &lab])).unwrap();
    assert_eq!(again["writes"], 0, "re-apply of {nat} changes nothing");
    got
}

#[test]
fn exclusions_leave_their_destinations_unrewritten() {
    let Some(sb) = Sandbox::new() else { return };
    sb.outside();
    sb.sh_ok("ip -n out addr add 192.168.99.2/24 dev eth0 && ip -n out route add 192.168.15.0/24 via 10.99.0.1");
    let host = "10.99.0.1".to_string();
    let red = "192.168.15.1".to_string();

    // No `exclude`: the source prefix itself is left alone.
    let got = apply_and_see(&sb, "    masquerade: [ { source: 192.168.0.0/16 } ]\n");
    assert_eq!(got, (host.clone(), red.clone()), "default exclusion");

    // `exclude: []`: everything from the source is masqueraded.
    let got = apply_and_see(
        &sb,
        "    masquerade: [ { source: 192.168.0.0/16, exclude: [] } ]\n",
    );
    assert_eq!(got, (host.clone(), host.clone()), "no exclusion");
    let rules = sb.sh_ok("nft list chain inet topo-excl postrouting");
    assert!(!rules.contains("!="), "no `!=` match is left:\n{rules}");

    // A list long enough that the description is cut to nft's 128 bytes.
    let got = apply_and_see(
        &sb,
        "    masquerade:\n      - source: 192.168.0.0/16\n        exclude: [192.168.99.0/24, 10.99.0.2/32, 172.16.0.0/12, 100.64.0.0/10, 198.18.0.0/15, 203.0.113.0/24, 198.51.100.0/24]\n",
    );
    assert_eq!(
        got,
        (red.clone(), red.clone()),
        "both destinations excluded"
    );

    // SNAT: nothing excluded unless written; here one destination is.
    let got = apply_and_see(
        &sb,
        "    snat: [ { source: 192.168.15.0/24, to: 10.99.0.1, exclude: [10.99.0.2] } ]\n",
    );
    assert_eq!(got, (red.clone(), host.clone()), "SNAT with an exclusion");
    let got = apply_and_see(
        &sb,
        "    snat: [ { source: 192.168.15.0/24, to: 10.99.0.1 } ]\n",
    );
    assert_eq!(got, (host.clone(), host.clone()), "SNAT without exclusions");

    sb.topo_ok(&["destroy", &sb.lab("lab.yaml", BASE)]);
    sb.drop_outside();
    assert_eq!(sb.residue(), "");
}

#[test]
fn exclusion_mistakes_point_at_the_prefix() {
    let cases = [
        (
            "exclude: [10.0.0.0/8, nope]",
            "exclude `nope` is not an address or prefix",
            23,
        ),
        ("exclude: [fd00::/8]", "exclude `fd00::/8` is IPv6", 11),
        (
            "exclude: [10.0.0.0/8, 10.0.0.0/8]",
            "10.0.0.0/8 is excluded twice",
            23,
        ),
        (
            "exclude: nope",
            "exclude `nope` is not an address or prefix",
            10,
        ),
    ];
    for (exclude, want, col) in cases {
        for rule in [
            "masquerade: [ { source: 192.168.15.0/24, ",
            "snat: [ { source: 192.168.15.0/24, to: 10.99.0.1, ",
        ] {
            let line = format!("    {rule}");
            let yaml = format!("{BASE}  nat:\n{line}{exclude} }} ]\n");
            let spec = topo::spec::load_str("lab.yaml", &yaml).unwrap();
            let errs = topo::model::build(&spec, &Default::default()).unwrap_err();
            let d = errs
                .iter()
                .find(|d| d.message.contains(want))
                .unwrap_or_else(|| panic!("{want}: {errs:?}"));
            assert!(d.help.is_some(), "{d:?}");
            assert_eq!(d.pos.line as usize, yaml.lines().count(), "{d:?}");
            assert_eq!(d.pos.col as usize, line.len() + col, "{exclude}: {d:?}");
        }
    }
    // A mapping is no prefix list, and the parser says so at its place.
    let yaml = format!(
        "{BASE}  nat:\n    masquerade: [ {{ source: 10.0.0.0/8, exclude: {{ a: b }} }} ]\n"
    );
    let e = topo::spec::load_str("lab.yaml", &yaml).unwrap_err();
    let d = &e.report.diagnostics[0];
    assert!(
        d.message.contains("a prefix or a list of prefixes"),
        "{d:?}"
    );
    assert!(
        d.help.as_deref().unwrap_or("").contains("exclude: ["),
        "{d:?}"
    );
}
