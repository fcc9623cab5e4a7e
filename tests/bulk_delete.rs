//! Interfaces deleted together (one request per namespace, by interface
//! group): exactly the lab's go, whichever group the machine's own
//! interfaces are in, in a destroy and in an edit that drops several at
//! once while others stay and carry packets.

use crate::common;

use common::{text, Sandbox};

/// Three host bridges in a chain (veths between them) and a node on each.
const CHAIN: &str = r#"
name: bulk
bridges:
  b1: { addresses: [10.8.0.1/24] }
  b2: {}
  b3: {}
nodes:
  x: { interfaces: { eth0: { addresses: [10.8.0.11/24] } } }
  y: { interfaces: { eth0: { addresses: [10.8.0.12/24] } } }
  z: { interfaces: { eth0: { addresses: [10.8.0.13/24] } } }
links:
  - endpoints: [b1, b2]
  - endpoints: [b2, b3]
  - endpoints: [x:eth0, b1]
  - endpoints: [y:eth0, b2]
  - endpoints: [z:eth0, b3]
"#;

/// The machine's own interfaces, in the groups topo would pick first
/// (and in the default group): the lab must not take them along.
const FOREIGN: &str = "ip link add own0 type bridge && ip link set own0 group 0x746f0000 \
     && ip link add own1 type veth peer name own1p && ip link set own1 group 0x746f0001 \
     && ip link set own1p group 0x746f0001 && ip link add own2 type bridge";

/// One of the machine's interfaces more, in the group the lab's own veths
/// were made in: it must stay too.
fn in_the_labs_group(sb: &Sandbox) {
    let lab_veth =
        "ip -o link show type veth | grep -v own | head -1 | cut -d' ' -f2 | cut -d@ -f1";
    sb.sh_ok(&format!(
        "g=$(ip -d -o link show $({lab_veth}) | grep -o 'group [0-9]*' | cut -d' ' -f2); \
         test -n \"$g\" && ip link add own3 type bridge && ip link set own3 group $g"
    ));
}

fn foreign_left(sb: &Sandbox) -> String {
    text(
        &sb.sh("ip -o link show | grep -o 'own[0-9p]*' | sort -u")
            .stdout,
    )
}

#[test]
fn destroy_deletes_the_labs_interfaces_together_and_no_others() {
    let Some(sb) = Sandbox::new() else { return };
    sb.sh_ok(FOREIGN);
    let f = sb.lab("chain.yaml", CHAIN);
    sb.topo_ok(&["apply", &f]);
    sb.ping("z", "10.8.0.11");
    in_the_labs_group(&sb);
    let bin = common::topo_bin();
    let out = sb.sh(&format!(
        "TOPO_LOG=topo=debug NO_COLOR=1 {} destroy {f}",
        bin.display()
    ));
    let log = text(&out.stderr);
    assert!(out.status.success(), "{log}");
    // Two bridges' worth at least went in one request, not one by one.
    assert!(
        log.contains("deleting together"),
        "no bulk deletion:\n{log}"
    );
    // The nodes' veths went before their namespaces, in one request too.
    assert!(
        log.contains("deleting veths into deleted namespaces together"),
        "{log}"
    );
    assert_eq!(foreign_left(&sb), "own0\nown1\nown1p\nown2\nown3\n");
    // The machine's interfaces keep their groups.
    let groups = text(
        &sb.sh("ip -d -o link show own0; ip -d -o link show own1")
            .stdout,
    );
    assert!(
        groups.contains("group 0x746f0000") || groups.contains("group 1953431552"),
        "{groups}"
    );
    sb.sh_ok("ip link del own0 && ip link del own1 && ip link del own2 && ip link del own3");
    assert_eq!(sb.residue(), "", "destroy left something");
}

#[test]
fn an_edit_dropping_several_bridges_keeps_the_rest_working() {
    let Some(sb) = Sandbox::new() else { return };
    sb.sh_ok(FOREIGN);
    let f = sb.lab("chain.yaml", CHAIN);
    sb.topo_ok(&["apply", &f]);
    in_the_labs_group(&sb);
    // b2 and b3 go with the veths between them and to b1; y and z go too.
    let short = "
name: bulk
bridges:
  b1: { addresses: [10.8.0.1/24] }
nodes:
  x: { interfaces: { eth0: { addresses: [10.8.0.11/24] } } }
  w: { interfaces: { eth0: { addresses: [10.8.0.14/24] } } }
links:
  - endpoints: [x:eth0, b1]
  - endpoints: [w:eth0, b1]
";
    let g = sb.lab("short.yaml", short);
    let plan = sb.plan_json(&g);
    let deletes = common::actions(&plan)
        .into_iter()
        .filter(|a| a.starts_with("delete ") && (a.contains("bridge ") || a.contains("veth host:")))
        .count();
    assert!(
        deletes >= 3,
        "expected the bridges and host veths to go: {plan:#}"
    );
    sb.topo_ok(&["apply", &g]);
    sb.ping("w", "10.8.0.11");
    sb.ping("x", "10.8.0.1");
    let links = text(&sb.sh("ip -o link show | cut -d: -f2 | cut -d@ -f1").stdout);
    for gone in ["b2", "b3"] {
        assert!(
            !links.split_whitespace().any(|l| l == gone),
            "{gone} is still there:\n{links}"
        );
    }
    assert_eq!(foreign_left(&sb), "own0\nown1\nown1p\nown2\nown3\n");
    let out = sb.topo(&["plan", "--detailed-exitcode", &g]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // And back: everything made again, packets across the chain.
    sb.topo_ok(&["apply", &f]);
    sb.ping("z", "10.8.0.11");
    sb.topo_ok(&["destroy", &f]);
    sb.sh_ok("ip link del own0 && ip link del own1 && ip link del own2 && ip link del own3");
    assert_eq!(sb.residue(), "");
}
