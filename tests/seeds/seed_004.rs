//! Seed 004: red and blue on v-net-0, the host as their gateway, with and
//! without br_netfilter.

use super::*;
/// The tutorial's LAN: the host at 192.168.1.2 (on uplink0 here, its eth0
/// there) and a LAN machine `lan` at 192.168.1.3 with no route to the
/// namespaces.
const WORLD_004: &str = r#"set -e
ip netns add lan; ip -n lan link set lo up
ip link add uplink0 type veth peer name eth0 netns lan
ip addr add 192.168.1.2/24 dev uplink0; ip link set uplink0 up
ip -n lan addr add 192.168.1.3/24 dev eth0; ip -n lan link set eth0 up
"#;

const TUTORIAL_004: &str = r#"set -e
ip netns add red
# (the tutorial never creates blue)
ip netns add blue
# 4. the direct pair, deleted again in 5.
ip link add veth-red type veth peer name veth-blue
ip link set veth-red netns red
ip link set veth-blue netns blue
# ip -n red addr add 192.168.15.1 dev veth-red: a /32 as written; /24 is meant
ip -n red addr add 192.168.15.1/24 dev veth-red
ip -n blue addr add 192.168.15.2/24 dev veth-blue
ip -n red link set veth-red up
ip -n blue link set veth-blue up
# 5. the bridge
ip link add v-net-0 type bridge
ip link set dev v-net-0 up
ip -n red link del veth-red
ip link add veth-red type veth peer name veth-red-br
ip link add veth-blue type veth peer name veth-blue-br
ip link set veth-red netns red
ip link set veth-red-br master v-net-0
# (not in the tutorial: the same for blue, and both -br ends up)
ip link set veth-blue netns blue
ip link set veth-blue-br master v-net-0
ip link set veth-red-br up; ip link set veth-blue-br up
ip -n red addr add 192.168.15.1/24 dev veth-red
ip -n blue addr add 192.168.15.2/24 dev veth-blue
ip -n red link set veth-red up
ip -n blue link set veth-blue up
ip addr add 192.168.15.5/24 dev v-net-0
# 6. the host as the gateway (not in the tutorial: forwarding, which that needs)
sysctl -qw net.ipv4.ip_forward=1
ip netns exec blue ip route add 192.168.1.0/24 via 192.168.15.5
# iptables -t nat -A POSTROUTING -s 192.168.15.0/24 -j MASQUERADE
nft add table ip nat
nft add chain ip nat POSTROUTING '{ type nat hook postrouting priority srcnat; policy accept; }'
nft add rule ip nat POSTROUTING ip saddr 192.168.15.0/24 masquerade
ip netns exec blue ip route add default via 192.168.15.5
# 7. iptables -t nat -A PREROUTING --dport 80 --to-destination 192.168.15.2:80 -j DNAT
# (iptables refuses --dport without -p tcp, and --to-destination before -j DNAT)
nft add chain ip nat PREROUTING '{ type nat hook prerouting priority dstnat; policy accept; }'
nft add rule ip nat PREROUTING tcp dport 80 dnat to 192.168.15.2:80
"#;

const PROBE_004: Probe = Probe {
    from: &["red", "blue", "host", "lan"],
    to: &[
        "192.168.15.1",
        "192.168.15.2",
        "192.168.15.5",
        "192.168.1.2",
        "192.168.1.3",
    ],
    tcp: &[
        (
            "lan",
            9000,
            &[
                ("red", "192.168.1.3", 9000),
                ("blue", "192.168.1.3", 9000),
                ("host", "192.168.1.3", 9000),
            ],
        ),
        (
            "blue",
            80,
            &[
                ("lan", "192.168.1.2", 80),
                ("host", "192.168.1.2", 80),
                ("red", "192.168.15.5", 80),
                ("red", "192.168.15.2", 80),
            ],
        ),
        ("blue", 8000, &[("red", "192.168.15.2", 8000)]),
        ("lan", 80, &[("blue", "192.168.1.3", 80)]),
    ],
};

const SEED_004: Seed = Seed {
    file: "seed-004-red-blue.yaml",
    world: &[WORLD_004, BRIDGED_PLAIN],
    tutorial: TUTORIAL_004,
    probe: PROBE_004,
};

/// red and blue reach each other and the host; only blue reaches the LAN,
/// as the host. The LAN and the host reach blue's port 80 through the
/// host's.
const LAB_004: &str = "
      192.168.15.1 192.168.15.2 192.168.15.5 192.168.1.2 192.168.1.3
red   y            y            y            .           .
blue  y            y            y            y           y
host  y            y            y            y           y
lan   .            .            .            y           y
tcp lan:9000 <- red -> 192.168.1.3:9000: none
tcp lan:9000 <- blue -> 192.168.1.3:9000: 192.168.1.2
tcp lan:9000 <- host -> 192.168.1.3:9000: 192.168.1.2
tcp blue:80 <- lan -> 192.168.1.2:80: 192.168.1.3
tcp blue:80 <- host -> 192.168.1.2:80: 192.168.1.2
tcp blue:80 <- red -> 192.168.15.5:80: none
tcp blue:80 <- red -> 192.168.15.2:80: 192.168.15.1
tcp blue:8000 <- red -> 192.168.15.2:8000: 192.168.15.1
tcp lan:80 <- blue -> 192.168.1.3:80: 192.168.1.2
";

/// Where the two differ on every machine.
const DIFFERS_004: [&str; 3] = [
    // lo: topo brings it up in every node, the tutorial leaves it down.
    "red -> 192.168.15.1: no | topo: yes",
    "blue -> 192.168.15.2: no | topo: yes",
    // topo also forwards what the host opens to its own address.
    "tcp blue:80 <- host -> 192.168.1.2:80: none | topo: 192.168.1.2",
];

#[test]
fn seed_004_red_blue() {
    let mut differs = DIFFERS_004.to_vec();
    differs.extend([
        // red to the host's port 80 lands on blue, which answers red
        // directly over the bridge, and red drops that answer. The
        // tutorial's masquerade has no exclusion: there blue answers the
        // host, which passes the answer on.
        "tcp blue:80 <- red -> 192.168.15.5:80: 192.168.15.5 | topo: none",
        // The tutorial's rule catches blue's own connection to port 80
        // elsewhere and sends it back to blue, whose server answers.
        "tcp lan:80 <- blue -> 192.168.1.3:80: 192.168.15.5 | topo: 192.168.1.2",
    ]);
    let Some(c) = compare(&SEED_004, LAB_004, &differs) else {
        return;
    };
    assert!(c
        .lab
        .sh_ok("ip -n blue route show 192.168.1.0/24")
        .contains("via 192.168.15.5"));
    assert_eq!(sysctl(&c.lab, "host", "net.ipv4.ip_forward"), "1");
    finish(&c, SEED_004.file);
    assert_eq!(
        sysctl(&c.lab, "host", "net.ipv4.ip_forward"),
        "0",
        "destroy restores ip_forward"
    );
}

/// With br_netfilter, bridged packets pass the host's NAT: the tutorial's
/// masquerade then rewrites red's packets to blue, topo's leaves them alone.
const LAB_004_BR_NETFILTER: &str = "
      192.168.15.1 192.168.15.2 192.168.15.5 192.168.1.2 192.168.1.3
red   y            y            y            .           .
blue  y            y            y            y           y
host  y            y            y            y           y
lan   .            .            .            y           y
tcp lan:9000 <- red -> 192.168.1.3:9000: none
tcp lan:9000 <- blue -> 192.168.1.3:9000: 192.168.1.2
tcp lan:9000 <- host -> 192.168.1.3:9000: 192.168.1.2
tcp blue:80 <- lan -> 192.168.1.2:80: 192.168.1.3
tcp blue:80 <- host -> 192.168.1.2:80: 192.168.1.2
tcp blue:80 <- red -> 192.168.15.5:80: 192.168.15.1
tcp blue:80 <- red -> 192.168.15.2:80: 192.168.15.1
tcp blue:8000 <- red -> 192.168.15.2:8000: 192.168.15.1
tcp lan:80 <- blue -> 192.168.1.3:80: 192.168.1.2
";

#[test]
fn seed_004_red_blue_with_br_netfilter() {
    let Some(probe) = Sandbox::new() else { return };
    if probe.sh("[ -e /proc/sys/net/bridge ]").status.code() != Some(0) {
        eprintln!("skipping: no br_netfilter module on this machine");
        return;
    }
    drop(probe);
    let seed = Seed {
        world: &[WORLD_004, BRIDGED_THROUGH_NETFILTER],
        ..SEED_004
    };
    let mut differs = DIFFERS_004.to_vec();
    differs.extend([
        // The tutorial's masquerade rewrites red's bridged packets to blue;
        // topo's leaves them alone (and the host's conntrack, which now
        // sees the bridged answers, undoes the port forward for red).
        "tcp blue:80 <- red -> 192.168.15.5:80: 192.168.15.5 | topo: 192.168.15.1",
        "tcp blue:80 <- red -> 192.168.15.2:80: 192.168.15.5 | topo: 192.168.15.1",
        "tcp blue:8000 <- red -> 192.168.15.2:8000: 192.168.15.5 | topo: 192.168.15.1",
        // The tutorial's rule catches blue's own connection to port 80
        // elsewhere and sends it back to blue, where it fails.
        "tcp lan:80 <- blue -> 192.168.1.3:80: none | topo: 192.168.1.2",
    ]);
    let Some(c) = compare(&seed, LAB_004_BR_NETFILTER, &differs) else {
        return;
    };
    finish(&c, SEED_004.file);
}
