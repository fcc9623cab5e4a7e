//! Seed 000: megaNet, and direct routing to another host's megaNet; then
//! its second half on two simulated hosts.

use super::*;
const WORLD_000: &str = r#"set -e
# Host B of the tutorial (192.168.0.1, megaNet 12.0.1.0/24), on this host's LAN
# (192.168.0.2 on lan0), running the same recipe: container b1, route back, forwarding, Docker's masquerade.
ip netns add hostb; ip -n hostb link set lo up
ip link add lan0 type veth peer name eth0 netns hostb
ip addr add 192.168.0.2/24 dev lan0; ip link set lan0 up
ip -n hostb addr add 192.168.0.1/24 dev eth0; ip -n hostb link set eth0 up
ip -n hostb link add megaNet type bridge; ip -n hostb addr add 12.0.1.200/24 dev megaNet; ip -n hostb link set megaNet up
ip netns add b1; ip -n b1 link set lo up
ip -n hostb link add b1-eth0 type veth peer name eth0 netns b1
ip -n hostb link set b1-eth0 master megaNet up
ip -n b1 addr add 12.0.1.1/24 dev eth0; ip -n b1 link set eth0 up; ip -n b1 route add default via 12.0.1.200
ip netns exec hostb sysctl -qw net.ipv4.ip_forward=1
ip -n hostb route add 12.0.6.0/24 via 192.168.0.2
ip netns exec hostb nft add table ip nat
ip netns exec hostb nft add chain ip nat POSTROUTING '{ type nat hook postrouting priority srcnat; policy accept; }'
ip netns exec hostb nft add rule ip nat POSTROUTING oifname != megaNet ip saddr 12.0.1.0/24 masquerade
"#;

const TUTORIAL_000: &str = r#"set -e
# docker network create --driver bridge --subnet 12.0.6.0/24 --gateway 12.0.6.200 megaNet
# is, in the kernel: the bridge with the gateway, forwarding, Docker's masquerade
# (iptables -t nat -A POSTROUTING -s 12.0.6.0/24 ! -o megaNet -j MASQUERADE)
# and Docker's FORWARD policy DROP with accepts for the network's own traffic.
ip link add megaNet type bridge; ip addr add 12.0.6.200/24 dev megaNet; ip link set megaNet up
sysctl -qw net.ipv4.ip_forward=1
nft add table ip nat
nft add chain ip nat POSTROUTING '{ type nat hook postrouting priority srcnat; policy accept; }'
nft add rule ip nat POSTROUTING oifname != megaNet ip saddr 12.0.6.0/24 masquerade
nft add table ip filter
nft add chain ip filter FORWARD '{ type filter hook forward priority filter; policy drop; }'
nft add rule ip filter FORWARD oifname megaNet ct state related,established accept
nft add rule ip filter FORWARD iifname megaNet accept
# docker run --net megaNet, three times (the third with --ip 12.0.6.50)
for c in c1:12.0.6.1 c2:12.0.6.2 c3:12.0.6.50; do
  n=${c%%:*}; a=${c#*:}
  ip netns add $n; ip -n $n link set lo up
  ip link add $n-eth0 type veth peer name eth0 netns $n
  ip link set $n-eth0 master megaNet up
  ip -n $n addr add $a/24 dev eth0; ip -n $n link set eth0 up; ip -n $n route add default via 12.0.6.200
done
# sudo route add -net 12.0.1.0/24 gw 192.168.0.1
ip route add 12.0.1.0/24 via 192.168.0.1
# sudo iptables -t filter -P FORWARD ACCEPT
nft chain ip filter FORWARD '{ policy accept; }'
"#;

const PROBE_000: Probe = Probe {
    from: &["c1", "c2", "c3", "host", "hostb", "b1"],
    to: &[
        "12.0.6.1",
        "12.0.6.2",
        "12.0.6.50",
        "12.0.6.200",
        "192.168.0.2",
        "192.168.0.1",
        "12.0.1.200",
        "12.0.1.1",
    ],
    tcp: &[
        (
            "hostb",
            9000,
            &[
                ("c1", "192.168.0.1", 9000),
                ("c3", "192.168.0.1", 9000),
                ("host", "192.168.0.1", 9000),
            ],
        ),
        (
            "b1",
            9001,
            &[("c2", "12.0.1.1", 9001), ("host", "12.0.1.1", 9001)],
        ),
        (
            "c1",
            9002,
            &[
                ("c2", "12.0.6.1", 9002),
                ("b1", "12.0.6.1", 9002),
                ("hostb", "12.0.6.1", 9002),
                ("host", "12.0.6.1", 9002),
            ],
        ),
    ],
};

const SEED_000: Seed = Seed {
    file: "seed-000-meganet.yaml",
    world: &[WORLD_000, BRIDGED_PLAIN],
    tutorial: TUTORIAL_000,
    probe: PROBE_000,
};

/// Everything reaches everything: the members through megaNet, the other
/// host's megaNet through the route via 192.168.0.1. What leaves megaNet is
/// masqueraded to this host's 192.168.0.2, as with Docker, also towards the
/// other host's containers.
const LAB_000: &str = "
       12.0.6.1 12.0.6.2 12.0.6.50 12.0.6.200 192.168.0.2 192.168.0.1 12.0.1.200 12.0.1.1
c1     y        y        y         y          y           y           y          y
c2     y        y        y         y          y           y           y          y
c3     y        y        y         y          y           y           y          y
host   y        y        y         y          y           y           y          y
hostb  y        y        y         y          y           y           y          y
b1     y        y        y         y          y           y           y          y
tcp hostb:9000 <- c1 -> 192.168.0.1:9000: 192.168.0.2
tcp hostb:9000 <- c3 -> 192.168.0.1:9000: 192.168.0.2
tcp hostb:9000 <- host -> 192.168.0.1:9000: 192.168.0.2
tcp b1:9001 <- c2 -> 12.0.1.1:9001: 192.168.0.2
tcp b1:9001 <- host -> 12.0.1.1:9001: 192.168.0.2
tcp c1:9002 <- c2 -> 12.0.6.1:9002: 12.0.6.2
tcp c1:9002 <- b1 -> 12.0.6.1:9002: 192.168.0.1
tcp c1:9002 <- hostb -> 12.0.6.1:9002: 192.168.0.1
tcp c1:9002 <- host -> 12.0.6.1:9002: 12.0.6.200
";

#[test]
fn seed_000_meganet() {
    // Without the tutorial's LAN there is no 192.168.0.1 to route through:
    // apply fails at the route and rolls back.
    if let Some(sb) = Sandbox::new() {
        let out = sb.topo(&["apply", &lab_path(SEED_000.file)]);
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains("Network is unreachable"),
            "{}",
            text(&out.stderr)
        );
        assert_eq!(
            sb.sh_ok("ip netns list; ip -o link show | grep -v ': lo:'; true"),
            ""
        );
    }
    let Some(c) = compare(&SEED_000, LAB_000, &[]) else {
        return;
    };
    assert!(c
        .lab
        .sh_ok("ip -n c1 route show default")
        .contains("via 12.0.6.200"));
    assert_eq!(sysctl(&c.lab, "host", "net.ipv4.ip_forward"), "1");
    // As the file's comment warns: a FORWARD drop in another table (Docker's
    // iptables) still wins over the lab's `forward: accept`.
    c.lab.sh_ok("nft add table ip filter && nft add chain ip filter FORWARD '{ type filter hook forward priority filter; policy drop; }'");
    assert_eq!(
        c.lab.ping_matrix(&["b1"], &["12.0.6.1"]),
        ["b1 -> 12.0.6.1: no"]
    );
    c.lab.sh_ok("nft delete table ip filter");
    finish(&c, SEED_000.file);
    assert_eq!(
        sysctl(&c.lab, "host", "net.ipv4.ip_forward"),
        "0",
        "destroy restores ip_forward"
    );
}

/// Seed 000's second half on two simulated hosts: each host routes the
/// other's container subnet via its address (the tutorial's `route add`),
/// and containers reach each other by their real addresses.
#[test]
fn seed_000_two_hosts() {
    let Some(sb) = Sandbox::new() else { return };
    let hosts = sb.hosts(2);
    let file = lab_path("seed-000-two-hosts.yaml");
    let cfg = hosts.ssh_config.to_str().unwrap().to_string();
    let all = |verb: &str| {
        let mut args = vec![verb, &file, "--all-hosts", "--ssh-config", &cfg];
        if verb == "plan" {
            args.push("--detailed-exitcode");
        }
        let out = sb.topo(&args);
        (out.status.code(), common::text(&out.stdout))
    };
    assert_eq!(all("apply").0, Some(0));
    // The tutorial's `route add -net 12.0.1.0/24 gw 192.168.0.1` on B, and its mirror on A.
    let b = hosts.sh_ok(&sb, 1, "ip route show 12.0.1.0/24");
    assert!(b.contains("via 192.168.0.1"), "{b}");
    let a = hosts.sh_ok(&sb, 0, "ip route show 12.0.6.0/24");
    assert!(a.contains("via 192.168.0.2"), "{a}");
    assert_eq!(hosts.sh_ok(&sb, 0, "sysctl -n net.ipv4.ip_forward"), "1\n");
    // Each host's bridge is megaNet, as Docker names it.
    hosts.sh_ok(&sb, 0, "ip -br addr show megaNet | grep -q 12.0.1.200/24");
    hosts.sh_ok(&sb, 1, "ip -br addr show megaNet | grep -q 12.0.6.200/24");
    // Real addresses across hosts, masquerade or not.
    assert_eq!(
        hosts.tcp_peer(&sb, (1, "b2"), 7002, (0, "a1"), "12.0.6.50"),
        "12.0.1.1"
    );
    assert_eq!(
        hosts.tcp_peer(&sb, (0, "a2"), 7003, (1, "b1"), "12.0.1.2"),
        "12.0.6.1"
    );
    assert_eq!(all("plan").0, Some(0), "converged on both hosts");
    assert_eq!(all("destroy").0, Some(0));
    for i in 0..2 {
        let left = hosts.sh_ok(&sb, i, "ip netns list; nft list tables; ip route show proto 157; sysctl -n net.ipv4.ip_forward");
        assert_eq!(
            left,
            "0\n",
            "host {} keeps something, or forwarding stays on",
            i + 1
        );
    }
}
