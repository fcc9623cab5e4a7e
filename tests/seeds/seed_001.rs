//! Seed 001: r1 routes between the VMs' bridge and the physical one, with SNAT.

use super::*;
const TUTORIAL_001: &str = r#"set -e
# /etc/sysctl.conf: net.ipv4.ip_forward = 1; sysctl -p
sysctl -qw net.ipv4.ip_forward=1
# The physical bridge: the NIC and the host's address move onto br-ex.
# Here the address is 172.16.100.2, and lan1 stands for the LAN behind the NIC
# (a machine with no route to the VMs' network).
ip link add br-ex type bridge; ip link set br-ex up; ip addr add 172.16.100.2/24 dev br-ex
ip netns add lan1; ip -n lan1 link set lo up
ip link add lan1-eth0 type veth peer name eth0 netns lan1; ip link set lan1-eth0 master br-ex up
ip -n lan1 addr add 172.16.100.10/24 dev eth0; ip -n lan1 link set eth0 up
# The bridge for the VMs.
ip link add br-in type bridge; ip link set br-in up
# qemu-kvm ... -net nic,macaddr=52:54:00:aa:bb:cc -net tap,ifname=vif1.0,script=/etc/qemu-ifup
# (the ifup script: ip link set $1 up; brctl addif br-in $1); the VM is a namespace.
for vm in vm1:vif1.0:52:54:00:aa:bb:cc:10.0.1.11 vm2:vif2.0:52:54:00:aa:bb:dd:10.0.1.12; do
  IFS=: read n tap m1 m2 m3 m4 m5 m6 a <<EOT
$vm
EOT
  ip netns add $n; ip -n $n link set lo up
  ip link add $tap type veth peer name eth0 netns $n
  ip link set $tap up; ip link set $tap master br-in
  ip -n $n link set eth0 address $m1:$m2:$m3:$m4:$m5:$m6
  # in the VM: ip addr add ...; ip route add default via 10.0.1.1
  ip -n $n addr add $a/24 dev eth0; ip -n $n link set eth0 up; ip -n $n route add default via 10.0.1.1
done
# The router r1, one leg on each bridge.
ip netns add r1
ip link add r1-in0 type veth peer name in0 netns r1; ip link set r1-in0 master br-in up
ip link add r1-ex0 type veth peer name ex0 netns r1; ip link set r1-ex0 master br-ex up
ip -n r1 addr add 10.0.1.1/24 dev in0; ip -n r1 link set in0 up
ip -n r1 addr add 172.16.100.1/24 dev ex0; ip -n r1 link set ex0 up
ip -n r1 link set lo up
# In the tutorial r1 inherits ip_forward = 1 from the machine's initial
# namespace when it is created; a namespace made inside this test's sandbox
# copies the machine's real value instead, so it is set here.
ip netns exec r1 sysctl -qw net.ipv4.ip_forward=1
# SNAT in r1:
# ip netns exec r1 iptables -t nat -A POSTROUTING -s 10.0.1.0/24 ! -d 10.0.1.0/24 -j SNAT --to-source 172.16.100.1
ip netns exec r1 nft add table ip nat
ip netns exec r1 nft add chain ip nat POSTROUTING '{ type nat hook postrouting priority srcnat; policy accept; }'
ip netns exec r1 nft add rule ip nat POSTROUTING ip saddr 10.0.1.0/24 ip daddr != 10.0.1.0/24 snat to 172.16.100.1
"#;

const PROBE_001: Probe = Probe {
    from: &["vm1", "vm2", "r1", "lan1", "host"],
    to: &[
        "10.0.1.11",
        "10.0.1.12",
        "10.0.1.1",
        "172.16.100.1",
        "172.16.100.10",
        "172.16.100.2",
    ],
    tcp: &[
        (
            "lan1",
            9000,
            &[
                ("vm1", "172.16.100.10", 9000),
                ("vm2", "172.16.100.10", 9000),
                ("r1", "172.16.100.10", 9000),
                ("host", "172.16.100.10", 9000),
            ],
        ),
        (
            "host",
            9001,
            &[
                ("vm1", "172.16.100.2", 9001),
                ("lan1", "172.16.100.2", 9001),
            ],
        ),
        (
            "vm1",
            9002,
            &[
                ("vm2", "10.0.1.11", 9002),
                ("r1", "10.0.1.11", 9002),
                ("lan1", "10.0.1.11", 9002),
                ("host", "10.0.1.11", 9002),
            ],
        ),
    ],
};

const SEED_001: Seed = Seed {
    file: "seed-001-router.yaml",
    world: &[BRIDGED_PLAIN],
    tutorial: TUTORIAL_001,
    probe: PROBE_001,
};

/// The VMs reach everything, and the LAN sees them as r1 (172.16.100.1);
/// nothing outside reaches the VMs' network, which it has no route to.
const LAB_001: &str = "
      10.0.1.11 10.0.1.12 10.0.1.1 172.16.100.1 172.16.100.10 172.16.100.2
vm1   y         y         y        y            y             y
vm2   y         y         y        y            y             y
r1    y         y         y        y            y             y
lan1  .         .         .        y            y             y
host  .         .         .        y            y             y
tcp lan1:9000 <- vm1 -> 172.16.100.10:9000: 172.16.100.1
tcp lan1:9000 <- vm2 -> 172.16.100.10:9000: 172.16.100.1
tcp lan1:9000 <- r1 -> 172.16.100.10:9000: 172.16.100.1
tcp lan1:9000 <- host -> 172.16.100.10:9000: 172.16.100.2
tcp host:9001 <- vm1 -> 172.16.100.2:9001: 172.16.100.1
tcp host:9001 <- lan1 -> 172.16.100.2:9001: 172.16.100.10
tcp vm1:9002 <- vm2 -> 10.0.1.11:9002: 10.0.1.12
tcp vm1:9002 <- r1 -> 10.0.1.11:9002: 10.0.1.1
tcp vm1:9002 <- lan1 -> 10.0.1.11:9002: none
tcp vm1:9002 <- host -> 10.0.1.11:9002: none
";

#[test]
fn seed_001_router() {
    let Some(c) = compare(&SEED_001, LAB_001, &[]) else {
        return;
    };
    assert_eq!(sysctl(&c.lab, "r1", "net.ipv4.ip_forward"), "1");
    assert_eq!(
        sysctl(&c.lab, "host", "net.ipv4.ip_forward"),
        "0",
        "only r1 forwards, not the host"
    );
    assert!(c
        .lab
        .sh_ok("ip -n vm1 link show eth0")
        .contains("52:54:00:aa:bb:cc"));
    assert!(c
        .lab
        .sh_ok("ip -o link show vif2.0")
        .contains("master br-in"));
    finish(&c, SEED_001.file);
}
