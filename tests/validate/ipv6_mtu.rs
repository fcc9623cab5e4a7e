//! IPv6 needs an MTU of 1280: the kernel turns IPv6 off on an interface
//! below it, and apply then fails adding its link-local address. Every
//! place an MTU can come from is walked, with IPv6 on (an error at the
//! setting) and off (valid), and at exactly 1280 (valid).

use super::*;

/// (what sets the MTU, the lab with `MTU` in place of the value, the text
/// on the line the error points at, what the message names)
const CASES: &[(&str, &str, &str, &str)] = &[
    (
        "an interface's mtu",
        "nodes:\n  a:\n    interfaces:\n      eth0: { addresses: [10.1.0.2/24], mtu: MTU }\nbridges:\n  br: { addresses: [10.1.0.1/24] }\nlinks:\n  - endpoints: [a:eth0, br]\n",
        "mtu: MTU",
        "a:eth0 has mtu",
    ),
    (
        "a link's mtu",
        "nodes:\n  a: {}\n  b: {}\nlinks:\n  - { endpoints: [a:eth0, b:eth0], mtu: MTU }\n",
        "mtu: MTU",
        "has mtu",
    ),
    (
        "a network's mtu",
        "nodes:\n  a: {}\n  b: {}\nnetworks:\n  net:\n    subnet: 10.2.0.0/24\n    mtu: MTU\n    nodes: [a, b]\n",
        "mtu: MTU",
        "has mtu",
    ),
    (
        "a bridge's mtu",
        "bridges:\n  br:\n    addresses: [10.3.0.1/24]\n    mtu: MTU\n",
        "mtu: MTU",
        "host:br has mtu",
    ),
    (
        "a tap's mtu",
        "bridges:\n  br: { addresses: [10.4.0.1/24] }\ntaps:\n  vm1: { bridge: br, mtu: MTU }\n",
        "vm1:",
        "host:vm1 has mtu",
    ),
    (
        "a vxlan's mtu",
        "bridges:\n  br: { addresses: [10.5.0.1/24] }\nvxlans:\n  vx1: { vni: 5, local: 10.5.0.1, remotes: [10.5.0.9], mtu: MTU }\n",
        "vx1:",
        "host:vx1 has mtu",
    ),
    (
        "a vxlan's underlay",
        "bridges:\n  br:\n    addresses: [10.6.0.1/24]\n    mtu: UNDER\nvxlans:\n  vx1: { vni: 5, local: 10.6.0.1, remotes: [10.6.0.9] }\n",
        "vx1:",
        "vxlan host:vx1 gets mtu 1230",
    ),
    (
        "the interfaces' default",
        "defaults:\n  interface: { mtu: MTU }\nnodes:\n  a: {}\n  b: {}\nlinks:\n  - endpoints: [a:eth0, b:eth0]\n",
        "endpoints:",
        "gets mtu",
    ),
];

fn lab(ipv6: bool, body: &str, mtu: u32) -> String {
    // A VXLAN's underlay case: an underlay IPv6 can use (1280 at least)
    // that leaves the VXLAN `mtu`, or 1230 where that would be below.
    let body = body
        .replace("UNDER", &(mtu + 50).max(1280).to_string())
        .replace("MTU", &mtu.to_string());
    format!("name: lab\nipv6: {ipv6}\n{body}")
}

#[test]
fn every_mtu_under_1280_is_refused_with_ipv6_on() {
    for (what, body, at, names) in CASES {
        let text = lab(true, body, 1200);
        let ds = errors(&text);
        let d = ds
            .iter()
            .find(|d| d.message.contains("1280 bytes IPv6 needs"))
            .unwrap_or_else(|| panic!("{what}: no IPv6 MTU error in {ds:#?}\n{text}"));
        assert!(d.message.contains(names), "{what}: {}", d.message);
        assert!(
            d.message.contains("mtu 1200") || names.contains("1230"),
            "{what}: {}",
            d.message
        );
        let help = check(d, &["IPv6 on"], line_of(&text, &at.replace("MTU", "1200")));
        assert!(
            help.contains("ipv6: false") && help.contains("1280"),
            "{what}: {help}"
        );
        // Only where it is set or derived, not again at each follower.
        let reported = ds
            .iter()
            .filter(|d| d.message.contains("IPv6 needs"))
            .count();
        assert_eq!(reported, 1, "{what}: {ds:#?}");
    }
}

#[test]
fn the_same_mtus_are_valid_with_ipv6_off_or_at_1280() {
    for (what, body, _, _) in CASES {
        for (ipv6, mtu) in [(false, 1200), (true, 1280)] {
            let text = lab(ipv6, body, mtu);
            let ds = build(&parse(&text), &Prior::new())
                .err()
                .unwrap_or_default();
            assert!(
                ds.is_empty(),
                "{what}, ipv6 {ipv6}, mtu {mtu}: {ds:#?}\n{text}"
            );
        }
    }
}
