//! Parse errors from `load_str` (unknown fields, wrong types, missing and
//! duplicate keys), and many diagnostics of one file reported together.

use super::*;
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
