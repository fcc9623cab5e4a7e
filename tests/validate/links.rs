//! Bridge port limits, MTU ranges and MAC addresses.

use super::*;
// ---------------------------------------------------------- bridge ports

fn network_of(n: usize) -> String {
    let members: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
    format!(
        "name: lab\nnetworks:\n  big: {{ subnet: 10.100.0.0/16, nodes: [{}] }}\n",
        members.join(", ")
    )
}

#[test]
fn bridge_with_1025_ports() {
    let text = network_of(1025);
    let d = the_error(&text);
    let help = check(
        &d,
        &["bridge `big` would have 1025 ports; Linux allows 1024"],
        3,
    );
    assert!(help.contains("split"), "{help}");
}

#[test]
fn bridge_with_1024_ports_is_fine() {
    let st = valid(&network_of(1024)).model.state;
    let ports = st
        .link
        .values()
        .filter(|l| l.master.as_deref() == Some("big"))
        .count();
    assert_eq!(ports, 1024);
}

#[test]
fn bridge_ports_count_links_and_network_members_together() {
    let mut text = network_of(1024);
    text.push_str("nodes:\n  extra: {}\nlinks:\n  - endpoints: [extra:eth0, big]\n");
    let d = the_error(&text);
    check(&d, &["would have 1025 ports"], 3);
}

// ------------------------------------------------------------ MTU and MAC

#[test]
fn interface_mtu_too_small() {
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { mtu: 20 }\nlinks:\n  - endpoints: [red:eth0, host:v-red]\n";
    let d = the_error(text);
    let help = check(&d, &["mtu 20 is out of range"], 5);
    assert!(help.contains("68 and 65535"), "{help}");
}

#[test]
fn bridge_mtu_too_large() {
    let d = the_error("name: lab\nbridges:\n  br0:\n    mtu: 70000\n");
    check(&d, &["mtu 70000 is out of range"], 4);
}

#[test]
fn link_mtu_zero() {
    let text =
        "name: lab\nnodes:\n  red: {}\nlinks:\n  - endpoints: [red:eth0, host:v-red]\n    mtu: 0\n";
    let d = the_error(text);
    check(&d, &["mtu 0 is out of range"], 6);
}

#[test]
fn mtu_bounds_are_accepted() {
    // Both ends of b override the link's mtu, as they must (tests/veth_mtu.rs).
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      a: { mtu: 68 }\n      b: { mtu: 65535 }\nhost:\n  interfaces:\n    v-b: { mtu: 65535 }\nlinks:\n  - endpoints: [red:a, host:v-a]\n  - endpoints: [red:b, host:v-b]\n    mtu: 9000\n  - endpoints: [red:c, host:v-c]\n    mtu: 9000\n";
    let st = valid(text).model.state;
    let mtu = |l: IfRef| link_res(&st, &l).mtu;
    assert_eq!(mtu(node_if("red", "a")), Some(68));
    assert_eq!(mtu(node_if("red", "b")), Some(65535));
    assert_eq!(mtu(host_if("v-b")), Some(65535));
    // The link's mtu applies to both ends unless interfaces override it.
    assert_eq!(mtu(node_if("red", "c")), Some(9000));
    assert_eq!(mtu(host_if("v-c")), Some(9000));
}

#[test]
fn mac_with_a_bad_format() {
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { mac: \"02:00:00:00:15\" }\nlinks:\n  - endpoints: [red:eth0, host:v-red]\n";
    let d = the_error(text);
    let help = check(&d, &["`02:00:00:00:15` is not a MAC address"], 5);
    assert!(help.contains("six hex pairs"), "{help}");
}

#[test]
fn mac_with_bad_hex() {
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { mac: \"02:00:00:00:15:zz\" }\nlinks:\n  - endpoints: [red:eth0, host:v-red]\n";
    let d = the_error(text);
    check(&d, &["is not a MAC address"], 5);
}

#[test]
fn mac_multicast() {
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { mac: \"01:00:5e:00:00:01\" }\nlinks:\n  - endpoints: [red:eth0, host:v-red]\n";
    let d = the_error(text);
    let help = check(&d, &["01:00:5e:00:00:01 is not a unicast MAC address"], 5);
    assert!(help.contains("02:00:00:00:00:01"), "{help}");
}

#[test]
fn mac_all_zero() {
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { mac: \"00:00:00:00:00:00\" }\nlinks:\n  - endpoints: [red:eth0, host:v-red]\n";
    let d = the_error(text);
    check(&d, &["not a unicast MAC address"], 5);
}
