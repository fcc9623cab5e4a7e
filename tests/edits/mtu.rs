//! MTUs the file stops setting go back to what a new lab has, and an MTU
//! changed by hand is put back: on a bridge, a network and a link. Once
//! its MTU has been set, the kernel no longer makes a bridge follow its
//! ports, so topo holds the value a new bridge would have.

use super::converged;
use crate::common::{text, Sandbox};

const LAB: &str = r#"
name: mtu
nodes:
  red: { interfaces: { eth0: { addresses: [10.1.0.2/24] } } }
  blue: { interfaces: { eth0: { addresses: [10.1.0.3/24] } } }
bridges:
  br0: { addresses: [10.1.0.1/24] }
links:
  - { endpoints: [red:eth0, br0] }
  - { endpoints: [blue:eth0, br0] }
"#;

const NETWORK: &str = r#"
name: mtu
nodes: { red: {}, blue: {} }
networks:
  br0: { subnet: 10.1.0.0/24, nodes: [red, blue] }
"#;

fn mtu_of(sb: &Sandbox, ns: Option<&str>, dev: &str) -> u32 {
    let n = ns.map(|n| format!("-n {n} ")).unwrap_or_default();
    let out = text(&sb.sh(&format!("ip {n}-o link show {dev}")).stdout);
    let at = out
        .find(" mtu ")
        .unwrap_or_else(|| panic!("no mtu in {out}"));
    out[at + 5..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Full-size packets cross the bridge both ways, from the host and
/// between the nodes, with fragmentation forbidden.
fn full_size_pings(sb: &Sandbox, what: &str) {
    for cmd in [
        "ping -M do -s 1472 -c1 -W2 10.1.0.2",
        "ip netns exec red ping -M do -s 1472 -c1 -W2 10.1.0.1",
        "ip netns exec red ping -M do -s 1472 -c1 -W2 10.1.0.3",
    ] {
        let out = sb.sh(cmd);
        assert!(
            out.status.success(),
            "{what}: `{cmd}` failed:\n{}",
            text(&out.stdout)
        );
    }
}

/// Applies `with` (some MTU set to 1400), then `base`: everything is back
/// at 1500 and carries full-size packets, in one apply.
fn set_then_dropped(base: &str, with: &str, what: &str) {
    let Some(sb) = Sandbox::new() else { return };
    let a = sb.lab("with.yaml", with);
    let b = sb.lab("base.yaml", base);
    sb.topo_ok(&["apply", "-q", &a]);
    assert_eq!(mtu_of(&sb, None, "br0"), 1400, "{what}: the set MTU");
    sb.topo_ok(&["apply", "-q", &b]);
    converged(&sb, &b, what);
    assert_eq!(mtu_of(&sb, None, "br0"), 1500, "{what}: the bridge");
    assert_eq!(mtu_of(&sb, Some("red"), "eth0"), 1500, "{what}: red's end");
    full_size_pings(&sb, what);
    sb.topo_ok(&["destroy", "-q", &b]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn a_bridge_mtu_dropped_from_the_file() {
    set_then_dropped(
        LAB,
        &LAB.replace("br0: { addresses", "br0: { mtu: 1400, addresses"),
        "bridge mtu",
    );
}

#[test]
fn a_network_mtu_dropped_from_the_file() {
    set_then_dropped(
        NETWORK,
        &NETWORK.replace("nodes: [red, blue] }", "nodes: [red, blue], mtu: 1400 }"),
        "network mtu",
    );
}

#[test]
fn link_mtus_dropped_from_the_file() {
    let with = LAB
        .replace("[red:eth0, br0] }", "[red:eth0, br0], mtu: 1400 }")
        .replace("[blue:eth0, br0] }", "[blue:eth0, br0], mtu: 1400 }");
    set_then_dropped(LAB, &with, "link mtu");
}

/// A bridge follows its ports up as well: links of 9000 make it 9000, as
/// a new one would be.
#[test]
fn a_bridge_without_mtu_takes_its_ports() {
    let Some(sb) = Sandbox::new() else { return };
    let with = LAB
        .replace("[red:eth0, br0] }", "[red:eth0, br0], mtu: 9000 }")
        .replace("[blue:eth0, br0] }", "[blue:eth0, br0], mtu: 9000 }");
    let f = sb.lab("jumbo.yaml", &with);
    sb.topo_ok(&["apply", "-q", &f]);
    converged(&sb, &f, "jumbo ports");
    assert_eq!(mtu_of(&sb, None, "br0"), 9000);
    let out = sb.sh("ping -M do -s 8972 -c1 -W2 10.1.0.2");
    assert!(out.status.success(), "{}", text(&out.stdout));
    sb.topo_ok(&["destroy", "-q", &f]);
    assert_eq!(sb.residue(), "");
}

/// Every MTU of the lab changed by hand shows as drift and is put back.
#[test]
fn mtus_changed_by_hand_are_put_back() {
    let Some(sb) = Sandbox::new() else { return };
    let f = sb.lab("lab.yaml", LAB);
    sb.topo_ok(&["apply", "-q", &f]);
    for (ns, dev) in [(None, "br0"), (Some("red"), "eth0"), (None, "red-eth0")] {
        let n = ns.map(|n| format!("-n {n} ")).unwrap_or_default();
        assert!(sb
            .sh(&format!("ip {n}link set {dev} mtu 1300"))
            .status
            .success());
        let plan = sb.topo(&["plan", "--detailed-exitcode", &f]);
        assert_eq!(
            plan.status.code(),
            Some(2),
            "{dev} at 1300 is not drift: {}",
            text(&plan.stdout)
        );
        sb.topo_ok(&["apply", "-q", &f]);
        converged(&sb, &f, dev);
        assert_eq!(mtu_of(&sb, ns, dev), 1500, "{dev} not put back");
        full_size_pings(&sb, dev);
    }
    sb.topo_ok(&["destroy", "-q", &f]);
    assert_eq!(sb.residue(), "");
}

/// A VXLAN whose underlay is the bridge it is a port of (or a bridge that
/// is a port of its own bridge's VXLAN): the file does not tell the MTU,
/// so the bridge is left to the kernel, and building the lab ends.
#[test]
fn a_vxlan_over_its_own_bridge_is_left_to_the_kernel() {
    let one = "name: vxc\nbridges:\n  brv: { addresses: [10.81.0.1/24] }\nvxlans:\n  vx1: { vni: 1, local: 10.81.0.1, remotes: [10.81.0.9], bridge: brv }\n";
    let two = "name: vxc\nbridges:\n  bra: { addresses: [10.81.0.1/24] }\n  brb: { addresses: [10.82.0.1/24] }\nvxlans:\n  vx1: { vni: 1, local: 10.81.0.1, remotes: [10.81.0.9], bridge: brb }\n  vx2: { vni: 2, local: 10.82.0.1, remotes: [10.82.0.9], bridge: bra }\n";
    for text in [one, two] {
        let spec = topo::spec::load_str("lab.yaml", text).expect("parses");
        let built = topo::model::build(&spec, &Default::default()).expect("valid");
        for (id, link) in &built.model.state.link {
            if id.link.name.starts_with("br") {
                assert_eq!(link.mtu, None, "{}", id.link);
            }
        }
    }
}

/// A bridge whose VXLAN port runs over the machine's interface (`dev:`)
/// gets what the kernel gives it (that interface's MTU less the VXLAN's
/// 50): apply converges, where verify used to find 1500 wanted.
#[test]
fn a_bridge_over_a_vxlan_on_a_machine_interface_follows_the_kernel() {
    let Some(sb) = Sandbox::new() else { return };
    sb.sh_ok("ip link add und0 mtu 1400 type veth peer name und1; ip addr add 10.83.0.1/24 dev und0; ip link set und0 up; ip link set und1 up");
    let f = sb.lab(
        "vxdev.yaml",
        "name: vxd\nbridges:\n  brx: {}\nvxlans:\n  vx1: { vni: 1, local: 10.83.0.1, remotes: [10.83.0.2], bridge: brx, dev: und0 }\n",
    );
    sb.topo_ok(&["apply", "-q", &f]);
    converged(&sb, &f, "vxlan over und0");
    assert_eq!(mtu_of(&sb, None, "brx"), 1350);
    sb.topo_ok(&["destroy", "-q", &f]);
    sb.sh_ok("ip link del und0");
    assert_eq!(sb.residue(), "");
}
