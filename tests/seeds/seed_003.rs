//! Seed 003: foons behind the host bridge foobr0, masquerade, zabbix forwards.

use super::*;
/// The outside world of `Sandbox::outside`: `out` at 10.99.0.2, the host at
/// 10.99.0.1 on uplink0.
const WORLD_OUT: &str = r#"set -e
ip netns add out; ip -n out link set lo up
ip link add uplink0 type veth peer name eth0 netns out
ip addr add 10.99.0.1/24 dev uplink0; ip link set uplink0 up
ip -n out addr add 10.99.0.2/24 dev eth0; ip -n out link set eth0 up
"#;

const TUTORIAL_003: &str = r#"set -e
mkdir -p /var/run/netns
ip netns add foons
ip netns exec foons ip link set dev lo up
ip link add veth0 type veth peer name foo-veth0
ip link set foo-veth0 netns foons
ip netns exec foons ip link set dev foo-veth0 name eth0
# ip netns exec foons ifconfig eth0 172.18.0.20/16 up
ip -n foons addr add 172.18.0.20/16 dev eth0; ip -n foons link set eth0 up
# ifconfig veth0 172.18.0.21/16 up
ip addr add 172.18.0.21/16 dev veth0; ip link set veth0 up
# brctl addbr foobr0; brctl stp foobr0 off
ip link add foobr0 type bridge stp_state 0
# ifconfig foobr0 172.18.0.1/24 up
ip addr add 172.18.0.1/24 dev foobr0; ip link set foobr0 up
# brctl addif foobr0 veth0
ip link set veth0 master foobr0
ip netns exec foons ip route add default via 172.18.0.1
# Not in the tutorial: its Docker host forwards already.
sysctl -qw net.ipv4.ip_forward=1
# iptables -t nat -A POSTROUTING -s 172.18.0.0/16 ! -d 172.18.0.0/16 -j MASQUERADE
nft add table ip nat
nft add chain ip nat POSTROUTING '{ type nat hook postrouting priority srcnat; policy accept; }'
nft add rule ip nat POSTROUTING ip saddr 172.18.0.0/16 ip daddr != 172.18.0.0/16 masquerade
# iptables -D POSTROUTING 2: a rule of the tutorial's own machine, left out.
# iptables -t nat -A POSTROUTING -s 172.18.0.0/16 -o foobr0 -j SNAT --to-source 192.168.1.10
nft add rule ip nat POSTROUTING oifname foobr0 ip saddr 172.18.0.0/16 snat to 192.168.1.10
# The zabbix forwards, to foons (172.18.0.20) instead of the tutorial's container 172.17.0.3:
# iptables -t nat -A PREROUTING -p tcp -m tcp --dport 10050 -j DNAT --to-destination 172.17.0.3:10050
# ... 10051, 50010 -> 10050, 50011 -> 10051, and -d 10.18.103.2 for 10050 and 10051
nft add chain ip nat PREROUTING '{ type nat hook prerouting priority dstnat; policy accept; }'
nft add rule ip nat PREROUTING tcp dport 10050 dnat to 172.18.0.20:10050
nft add rule ip nat PREROUTING tcp dport 10051 dnat to 172.18.0.20:10051
nft add rule ip nat PREROUTING tcp dport 50010 dnat to 172.18.0.20:10050
nft add rule ip nat PREROUTING tcp dport 50011 dnat to 172.18.0.20:10051
nft add rule ip nat PREROUTING ip daddr 10.18.103.2 tcp dport 10050 dnat to 172.18.0.20:10050
nft add rule ip nat PREROUTING ip daddr 10.18.103.2 tcp dport 10051 dnat to 172.18.0.20:10051
"#;

const PROBE_003: Probe = Probe {
    from: &["foons", "host", "out"],
    to: &[
        "172.18.0.20",
        "172.18.0.1",
        "172.18.0.21",
        "10.99.0.1",
        "10.99.0.2",
    ],
    tcp: &[
        (
            "out",
            9000,
            &[("foons", "10.99.0.2", 9000), ("host", "10.99.0.2", 9000)],
        ),
        (
            "foons",
            9001,
            &[("host", "172.18.0.20", 9001), ("out", "172.18.0.20", 9001)],
        ),
        (
            "foons",
            10050,
            &[
                ("out", "10.99.0.1", 10050),
                ("out", "10.99.0.1", 50010),
                ("host", "10.99.0.1", 10050),
            ],
        ),
        (
            "foons",
            10051,
            &[("out", "10.99.0.1", 10051), ("out", "10.99.0.1", 50011)],
        ),
        ("out", 10050, &[("foons", "10.99.0.2", 10050)]),
    ],
};

const SEED_003: Seed = Seed {
    file: "seed-003-bridge.yaml",
    world: &[WORLD_OUT, BRIDGED_PLAIN],
    tutorial: TUTORIAL_003,
    probe: PROBE_003,
};

/// foons reaches the outside as the host; the host's connections reach
/// foons from 192.168.1.10 (the SNAT out of foobr0); the outside reaches
/// foons only through the four forwards.
const LAB_003: &str = "
       172.18.0.20 172.18.0.1 172.18.0.21 10.99.0.1 10.99.0.2
foons  y           y          y           y         y
host   y           y          y           y         y
out    .           .          .           y         y
tcp out:9000 <- foons -> 10.99.0.2:9000: 10.99.0.1
tcp out:9000 <- host -> 10.99.0.2:9000: 10.99.0.1
tcp foons:9001 <- host -> 172.18.0.20:9001: 192.168.1.10
tcp foons:9001 <- out -> 172.18.0.20:9001: none
tcp foons:10050 <- out -> 10.99.0.1:10050: 10.99.0.2
tcp foons:10050 <- out -> 10.99.0.1:50010: 10.99.0.2
tcp foons:10050 <- host -> 10.99.0.1:10050: 10.99.0.1
tcp foons:10051 <- out -> 10.99.0.1:10051: 10.99.0.2
tcp foons:10051 <- out -> 10.99.0.1:50011: 10.99.0.2
tcp out:10050 <- foons -> 10.99.0.2:10050: 10.99.0.1
";

#[test]
fn seed_003_bridge() {
    let Some(c) = compare(
        &SEED_003,
        LAB_003,
        &[
            // topo also forwards what the host opens to its own address.
            "tcp foons:10050 <- host -> 10.99.0.1:10050: none | topo: 10.99.0.1",
            // The tutorial's rule catches foons' own connection to port
            // 10050 elsewhere and sends it back to foons, whose own server
            // answers it (from 192.168.1.10, through the SNAT).
            "tcp out:10050 <- foons -> 10.99.0.2:10050: 192.168.1.10 | topo: 10.99.0.1",
        ],
    ) else {
        return;
    };
    assert!(
        c.lab
            .sh_ok("ip -o link show veth0")
            .contains("master foobr0"),
        "the tutorial's port name is kept"
    );
    finish(&c, SEED_003.file);
}
