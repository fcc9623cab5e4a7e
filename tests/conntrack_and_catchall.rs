//! Filter rules on connection state (`ct_state:`) and port forwards that
//! catch every destination (`destination: any`), with real packets.

use crate::common;

use common::Sandbox;

const BASE: &str = r#"
name: ct
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

#[test]
fn established_and_related_come_in_new_connections_do_not() {
    let Some(sb) = Sandbox::new() else { return };
    // Seed 000's Docker chains: replies come back in, nothing new does.
    let lab_text = BASE.replace(
        "    routes: [ { to: default, via: 192.168.15.5 } ]\n  blue:",
        "    routes: [ { to: default, via: 192.168.15.5 } ]\n    firewall:\n      input: drop\n      rules:\n        - { chain: input, ct_state: [related, established], action: accept }\n  blue:",
    );
    let lab = sb.lab("lab.yaml", &lab_text);
    sb.topo_ok(&["apply", &lab]);
    let rules = sb.sh_ok("ip netns exec red nft list chain inet topo-ct input");
    assert!(
        rules.contains("ct state established,related accept"),
        "{rules}"
    );
    let got = sb.tcp_matrix(&[
        ("blue", 9000, &[("red", "192.168.15.2", 9000)]),
        ("red", 9001, &[("blue", "192.168.15.1", 9001)]),
    ]);
    assert_eq!(
        got,
        vec![
            "tcp blue:9000 <- red -> 192.168.15.2:9000: 192.168.15.1",
            "tcp red:9001 <- blue -> 192.168.15.1:9001: none",
        ],
        "red's connection out gets its replies; blue's new one into red is dropped"
    );
    assert_eq!(
        sb.ping_matrix(&["red", "blue"], &["192.168.15.2", "192.168.15.1"]),
        vec![
            "red -> 192.168.15.2: yes",
            "red -> 192.168.15.1: no",
            "blue -> 192.168.15.2: yes",
            "blue -> 192.168.15.1: no",
        ],
        "red's echo request gets its reply; a new one into red (from blue, or from red itself over lo) does not get in"
    );
    let again: serde_json::Value =
        serde_json::from_str(&sb.topo_ok(&["apply", "--json", &lab])).unwrap();
    assert_eq!(again["writes"], 0);
    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn a_catch_all_forward_takes_connections_to_any_address() {
    let Some(sb) = Sandbox::new() else { return };
    sb.outside();
    // The outside routes the lab's subnet to the host, so it can try red.
    sb.sh_ok("ip -n out route add 192.168.15.0/24 via 10.99.0.1");
    let with = |dest: &str| {
        sb.lab(
            "lab.yaml",
            &format!(
                "{BASE}host:\n  sysctls: {{ net.ipv4.ip_forward: 1 }}\n  nat:\n    dnat: [ {{ proto: tcp, port: 80, to: \"blue:80\"{dest} }} ]\n"
            ),
        )
    };
    // Who answers: a server on port 80 in blue, red and out, each saying
    // its name; then the outside connects to the host and to red, and the
    // host to the outside.
    let servers = |sb: &Sandbox| {
        let mut script = String::from("s=\n");
        for ns in ["blue", "red", "out"] {
            script += &format!(
                "ip netns exec {ns} timeout 10 socat TCP-LISTEN:80,reuseaddr,fork SYSTEM:'echo {ns}' & s=\"$s $!\"\n\
                 for i in $(seq 100); do ip netns exec {ns} ss -ltn | grep -q ':80 ' && break; sleep 0.05; done\n"
            );
        }
        for (from, to) in [
            ("ip netns exec out ", "10.99.0.1"),
            ("ip netns exec out ", "192.168.15.1"),
            ("", "10.99.0.2"),
        ] {
            script += &format!("echo \"{to}: $({from}timeout 3 socat -u TCP:{to}:80,connect-timeout=2 STDOUT 2>/dev/null)\"\n");
        }
        script += "kill $s 2>/dev/null; wait $s 2>/dev/null; true\n";
        sb.sh_ok(&script)
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // Without `destination:` only the host's own addresses are forwarded:
    // the connection to red reaches red.
    let lab = with("");
    sb.topo_ok(&["apply", &lab]);
    assert_eq!(
        servers(&sb),
        vec!["10.99.0.1: blue", "192.168.15.1: red", "10.99.0.2: out"]
    );
    // `destination: any` catches the connection meant for red too; the
    // host's own connection out on port 80 still leaves.
    let lab = with(", destination: any");
    let plan = sb.topo_ok(&["plan", &lab]);
    assert!(
        plan.contains("dnat tcp 80 at any to 192.168.15.2:80"),
        "{plan}"
    );
    sb.topo_ok(&["apply", &lab]);
    assert_eq!(
        servers(&sb),
        vec!["10.99.0.1: blue", "192.168.15.1: blue", "10.99.0.2: out"]
    );
    let again: serde_json::Value =
        serde_json::from_str(&sb.topo_ok(&["apply", "--json", &lab])).unwrap();
    assert_eq!(again["writes"], 0);
    sb.topo_ok(&["destroy", &lab]);
    sb.drop_outside();
    assert_eq!(sb.residue(), "");
}

#[test]
fn state_and_destination_mistakes_point_at_the_value() {
    let cases = [
        (
            "firewall: { rules: [ { chain: input, ct_state: [established, nope], action: accept } ] }",
            "`nope` is not a connection state",
        ),
        (
            "firewall: { rules: [ { chain: input, ct_state: [new, new], action: accept } ] }",
            "`new` is listed twice",
        ),
        (
            "firewall: { rules: [ { chain: input, ct_state: [], action: accept } ] }",
            "`ct_state: []` matches no packet",
        ),
        (
            "nat: { dnat: [ { proto: tcp, port: 80, to: blue, destination: anywhere } ] }",
            "destination `anywhere` is not an IPv4 address",
        ),
        (
            "nat: { dnat: [ { proto: tcp, port: 80, to: blue, destination: any }, { proto: tcp, port: 80, to: red } ] }",
            "tcp port 80 is already forwarded",
        ),
    ];
    for (host, want) in cases {
        let yaml = format!("{BASE}host:\n  sysctls: {{ net.ipv4.ip_forward: 1 }}\n  {host}\n");
        let spec = topo::spec::load_str("lab.yaml", &yaml).unwrap();
        let errs = topo::model::build(&spec, &Default::default()).unwrap_err();
        let d = errs
            .iter()
            .find(|d| d.message.contains(want))
            .unwrap_or_else(|| panic!("{want}: {errs:?}"));
        assert!(d.help.is_some(), "{d:?}");
        assert_eq!(d.pos.line as usize, yaml.lines().count(), "{d:?}");
        assert!(d.pos.col > 3, "{d:?}");
    }
}
