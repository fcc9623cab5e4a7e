//! Seed 002: two namespaces on one veth; the host's NAT has nothing to act on.

use super::*;
/// The outside world of seed 002: `out` at 10.99.0.2 behind the host's
/// uplink, which the tutorial's masquerade calls eth0. This eth0 is a veth
/// inside the test's private namespace (the machine's own is not visible
/// there).
const WORLD_002: &str = r#"set -e
ip netns add out; ip -n out link set lo up
ip link add eth0 type veth peer name eth0 netns out
ip addr add 10.99.0.1/24 dev eth0; ip link set eth0 up
ip -n out addr add 10.99.0.2/24 dev eth0; ip -n out link set eth0 up
"#;

const TUTORIAL_002: &str = r#"set -e
# vim /etc/sysctl.conf; sysctl -p  ->  net.ipv4.ip_forward = 1
sysctl -qw net.ipv4.ip_forward=1
ip netns add r1
ip netns add r2
ip netns add ns1
ip netns add ns2
ip link add veth0 type veth peer name veth1
ip link set veth0 netns ns1
ip link set veth1 netns ns2
# ip netns exec ns1 ifconfig veth0 172.18.0.2/24 up
ip -n ns1 addr add 172.18.0.2/24 dev veth0; ip -n ns1 link set veth0 up
# ip netns exec ns2 ifconfig veth1 172.18.0.3/24 up
ip -n ns2 addr add 172.18.0.3/24 dev veth1; ip -n ns2 link set veth1 up
# ip netns exec ns1 route add default dev veth0
ip -n ns1 route add default dev veth0
# ip netns exec ns2 route add default dev veth1
ip -n ns2 route add default dev veth1
# (the bridge example enslaves eth0: left out)
sysctl -qw net.ipv4.conf.all.forwarding=1
# iptables -t nat -A POSTROUTING -s 172.18.0.0/24 -o eth0 -j MASQUERADE
nft add table ip nat
nft add chain ip nat POSTROUTING '{ type nat hook postrouting priority srcnat; policy accept; }'
nft add rule ip nat POSTROUTING oifname eth0 ip saddr 172.18.0.0/24 masquerade
# iptables -t nat -A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 172.18.0.2:80
nft add chain ip nat PREROUTING '{ type nat hook prerouting priority dstnat; policy accept; }'
nft add rule ip nat PREROUTING tcp dport 80 dnat to 172.18.0.2:80
"#;

/// Not in the tutorial: a way between the host and ns1, so that its NAT has
/// something to act on. ns2 becomes a router: a veth to the host, forwarding,
/// and proxy ARP towards ns1 (whose default route is on-link, `dev veth0`).
const LEG_002: &str = r#"set -e
ip link add leg0 type veth peer name leg0 netns ns2
ip addr add 10.200.0.1/30 dev leg0; ip link set leg0 up
ip -n ns2 addr add 10.200.0.2/30 dev leg0; ip -n ns2 link set leg0 up
ip netns exec ns2 sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.veth1.proxy_arp=1
ip -n ns2 route add 10.99.0.0/24 via 10.200.0.1
ip route add 172.18.0.0/24 via 10.200.0.2
# ns2 answers ARP for the outside on ns1's behalf after a random delay (up
# to proxy_delay, 0.8 s); resolve it once so the probes compare paths,
# not timing.
ip netns exec ns1 ping -c1 -W2 10.99.0.1 >/dev/null || true
ip netns exec ns1 ping -c1 -W2 10.99.0.2 >/dev/null || true
"#;

const PROBE_002: Probe = Probe {
    from: &["ns1", "ns2", "host", "out"],
    to: &["172.18.0.2", "172.18.0.3", "10.99.0.1", "10.99.0.2"],
    tcp: &[
        (
            "out",
            9000,
            &[("ns1", "10.99.0.2", 9000), ("ns2", "10.99.0.2", 9000)],
        ),
        (
            "ns1",
            80,
            &[
                ("out", "10.99.0.1", 80),
                ("host", "10.99.0.1", 80),
                ("ns2", "172.18.0.2", 80),
            ],
        ),
        (
            "out",
            80,
            &[("ns1", "10.99.0.2", 80), ("host", "10.99.0.2", 80)],
        ),
    ],
};

const SEED_002: Seed = Seed {
    file: "seed-002-two-namespaces.yaml",
    world: &[WORLD_002],
    tutorial: TUTORIAL_002,
    probe: PROBE_002,
};

/// ns1 and ns2 reach each other and nothing else; no packet of theirs
/// passes the host, so its masquerade and port forward do nothing.
const LAB_002: &str = "
      172.18.0.2 172.18.0.3 10.99.0.1 10.99.0.2
ns1   y          y          .         .
ns2   y          y          .         .
host  .          .          y         y
out   .          .          y         y
tcp out:9000 <- ns1 -> 10.99.0.2:9000: none
tcp out:9000 <- ns2 -> 10.99.0.2:9000: none
tcp ns1:80 <- out -> 10.99.0.1:80: none
tcp ns1:80 <- host -> 10.99.0.1:80: none
tcp ns1:80 <- ns2 -> 172.18.0.2:80: 172.18.0.3
tcp out:80 <- ns1 -> 10.99.0.2:80: none
tcp out:80 <- host -> 10.99.0.2:80: 10.99.0.1
";

/// With the test's way in: ns1 reaches the outside as the host (the
/// masquerade out of eth0), and the outside reaches ns1's port 80 through
/// the host's.
const LAB_002_LEG: &str = "
      172.18.0.2 172.18.0.3 10.99.0.1 10.99.0.2
ns1   y          y          y         y
ns2   y          y          y         .
host  y          y          y         y
out   .          .          y         y
tcp out:9000 <- ns1 -> 10.99.0.2:9000: 10.99.0.1
tcp out:9000 <- ns2 -> 10.99.0.2:9000: none
tcp ns1:80 <- out -> 10.99.0.1:80: 10.99.0.2
tcp ns1:80 <- host -> 10.99.0.1:80: 10.99.0.1
tcp ns1:80 <- ns2 -> 172.18.0.2:80: 172.18.0.3
tcp out:80 <- ns1 -> 10.99.0.2:80: 10.99.0.1
tcp out:80 <- host -> 10.99.0.2:80: 10.99.0.1
";

/// lo: topo brings it up in every node, the tutorial leaves it down.
const LO_002: [&str; 2] = [
    "ns1 -> 172.18.0.2: no | topo: yes",
    "ns2 -> 172.18.0.3: no | topo: yes",
];

#[test]
fn seed_002_two_namespaces() {
    let Some(c) = compare(&SEED_002, LAB_002, &LO_002) else {
        return;
    };
    assert!(c
        .lab
        .sh_ok("ip -n ns1 route show default")
        .contains("dev veth0"));
    assert_eq!(sysctl(&c.lab, "host", "net.ipv4.ip_forward"), "1");
    assert_eq!(sysctl(&c.lab, "host", "net.ipv4.conf.all.forwarding"), "1");
    converged(&c.lab, &lab_path(SEED_002.file));
    // The same way in for both; then the rules act alike, except where the
    // file says topo's port forward differs.
    let (t, l) = std::thread::scope(|s| {
        let t = s.spawn(|| {
            c.tutorial.sh_ok(LEG_002);
            behaviour(&c.tutorial, &SEED_002.probe)
        });
        c.lab.sh_ok(LEG_002);
        let l = behaviour(&c.lab, &SEED_002.probe);
        (t.join().expect("the tutorial's sandbox"), l)
    });
    assert_behaviour("seed 002 with a way in", &SEED_002.probe, &l, LAB_002_LEG);
    let mut differs = LO_002.to_vec();
    differs.extend([
        // topo also forwards what the host opens to its own address.
        "tcp ns1:80 <- host -> 10.99.0.1:80: none | topo: 10.99.0.1",
        // The tutorial's rule catches ns1's own connection to port 80
        // elsewhere and sends it back to ns1.
        "tcp out:80 <- ns1 -> 10.99.0.2:80: none | topo: 10.99.0.1",
    ]);
    assert_eq!(differences(&t, &l), differs);
    // The test's own way in goes first (namespaces die asynchronously, so
    // its host end would outlive ns2 for a moment).
    c.lab.sh_ok("ip link del leg0");
    destroyed(&c.lab, &lab_path(SEED_002.file), &c.baseline);
    assert_eq!(sysctl(&c.lab, "host", "net.ipv4.ip_forward"), "0");
}
