//! 50 apply/destroy cycles of a 50-node lab must leave the machine as it
//! was: namespaces, /run/netns entries, mounts, nft tables, links and run
//! files counted before and after. Runs in a `Sandbox` (kernel test).

use crate::common;

use common::Sandbox;
use std::time::Instant;

const CYCLES: usize = 50;
const NODES: usize = 50;

/// One network with masquerade: a bridge, 50 veth pairs, 50 namespaces, an
/// nft table on the host, a host sysctl.
fn lab_yaml() -> String {
    let mut y = String::from(
        "name: leaks\nnetworks:\n  lnet:\n    subnet: 10.77.0.0/24\n    masquerade: true\n    nodes:\n",
    );
    for i in 0..NODES {
        y += &format!("      - n{i}\n");
    }
    y += "host:\n  sysctls: { net.ipv4.ip_forward: 1 }\n";
    y
}

/// The machine-level counts, by name, from inside the sandbox.
fn counts(sb: &Sandbox) -> Vec<(&'static str, usize)> {
    let n = |script: &str| -> usize {
        sb.sh_ok(script)
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("`{script}`: {e}"))
    };
    vec![
        ("namespaces (ip netns list)", n("ip netns list | wc -l")),
        ("/run/netns entries", n("ls -A /run/netns | wc -l")),
        ("mounts", n("wc -l < /proc/self/mountinfo")),
        (
            "nsfs mounts",
            n("grep -c ' nsfs ' /proc/self/mountinfo || true"),
        ),
        ("nft tables", n("nft list tables | wc -l")),
        (
            "nft chains",
            n("nft list chains | grep -c 'chain ' || true"),
        ),
        ("links", n("ip -o link show | wc -l")),
        ("addresses", n("ip -o addr show | wc -l")),
        ("routes", n("ip route show table all | wc -l")),
        ("/run/topo entries", n("find /run/topo -mindepth 1 | wc -l")),
    ]
}

#[test]
fn fifty_cycles_of_fifty_nodes_leak_nothing() {
    let Some(sb) = Sandbox::new() else { return };
    // Something of the machine's own, so "unchanged" is not just "empty".
    sb.sh_ok(
        "ip netns add own && ip link add own0 type veth peer name own1 && ip addr add 10.200.0.1/24 dev own0 \
         && nft add table inet own && nft add chain inet own c '{ type filter hook input priority 0; }'",
    );
    let lab = sb.lab("leaks.yaml", &lab_yaml());
    let before = counts(&sb);
    let start = Instant::now();
    for cycle in 0..CYCLES {
        sb.topo_ok(&["apply", &lab]);
        if cycle == 0 {
            // The lab really is there: 50 more namespaces, a table, 101 links.
            let during = counts(&sb);
            let grew = |what: &str| {
                let get = |v: &[(&str, usize)]| v.iter().find(|(n, _)| *n == what).unwrap().1;
                get(&during) - get(&before)
            };
            assert_eq!(grew("namespaces (ip netns list)"), NODES);
            assert_eq!(grew("nsfs mounts"), NODES);
            assert_eq!(grew("nft tables"), 1);
            assert_eq!(grew("links"), 1 + NODES);
        }
        sb.topo_ok(&["destroy", &lab]);
        if cycle % 10 == 9 {
            assert_eq!(counts(&sb), before, "after {} cycles", cycle + 1);
        }
    }
    let took = start.elapsed();
    eprintln!("{CYCLES} apply/destroy cycles of {NODES} nodes took {took:?}");
    assert_eq!(counts(&sb), before);
    sb.sh_ok("ip netns del own && ip link del own0 && nft delete table inet own");
    assert_eq!(sb.residue(), "");
}
