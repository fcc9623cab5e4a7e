//! VXLAN on one machine: two node namespaces stand in for hosts, joined by
//! an underlay veth; each has a VXLAN device on a bridge with a node
//! behind it. The nodes ping each other across the overlay right after
//! apply; editing the remote list changes exactly that forwarding entry
//! (`bridge -j fdb show dev vx42`); drift (device deleted, entry deleted)
//! is planned and repaired; destroy leaves nothing.

use crate::common;

use common::{actions, Sandbox};
use std::collections::BTreeSet;

const LAB: &str = "\
name: overlay
nodes:
  h1:
    interfaces: { eth0: { addresses: [10.1.0.1/24] } }
    vxlans:
      vx42: { vni: 42, local: 10.1.0.1, port: 4789, remotes: [10.1.0.2], bridge: br-ov1 }
  h2:
    interfaces: { eth0: { addresses: [10.1.0.2/24] } }
    vxlans:
      vx42: { vni: 42, local: 10.1.0.2, port: 4789, remotes: [10.1.0.1], bridge: br-ov2 }
  a: { interfaces: { eth0: { addresses: [10.50.0.1/24] } } }
  b: { interfaces: { eth0: { addresses: [10.50.0.2/24] } } }
bridges:
  br-ov1: { node: h1 }
  br-ov2: { node: h2 }
links:
  - endpoints: [h1:eth0, h2:eth0]
  - { endpoints: [a:eth0, br-ov1], mtu: 1450 }
  - { endpoints: [b:eth0, br-ov2], mtu: 1450 }
";

/// The remotes of `vx42`'s all-zero entry in `ns`, as `bridge` shows them.
fn remotes(sb: &Sandbox, ns: &str) -> BTreeSet<String> {
    let out = sb.sh_ok(&format!("ip netns exec {ns} bridge -j fdb show dev vx42"));
    let v: serde_json::Value = serde_json::from_str(&out).expect("bridge json");
    v.as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["mac"] == "00:00:00:00:00:00")
        .map(|e| e["dst"].as_str().expect("dst").to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn nodes_ping_across_the_overlay_right_after_apply() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("overlay.yaml", LAB);
    sb.topo_ok(&["apply", &lab]);
    // No sleep: the first packet after apply arrives, both ways, and a
    // full-size frame of the overlay fits the underlay.
    sb.ping("a", "10.50.0.2");
    sb.ping("b", "10.50.0.1");
    sb.sh_ok("ip netns exec a ping -c1 -W2 -M do -s 1422 10.50.0.2");
    // It really goes through the tunnel: UDP to port 4789 on the underlay.
    let vx = sb.sh_ok("ip -n h1 -d -j link show vx42");
    let vx: serde_json::Value = serde_json::from_str(&vx).unwrap();
    let data = &vx[0]["linkinfo"]["info_data"];
    assert_eq!(data["id"], 42, "{data:#}");
    assert_eq!(data["port"], 4789);
    assert_eq!(data["local"], "10.1.0.1");
    assert_eq!(data["learning"], false);
    assert_eq!(vx[0]["mtu"], 1450, "the underlay's 1500 less 50");
    assert_eq!(vx[0]["master"], "br-ov1");
    assert_eq!(remotes(&sb, "h1"), set(&["10.1.0.2"]));
    assert!(sb.topo_ok(&["plan", &lab]).contains("No changes"));

    let show = sb.topo_ok(&["show", &lab]);
    assert!(
        show.lines().any(|l| l.starts_with("h1         vx42")
            && l.contains("vxlan")
            && l.contains("vni 42, port 4789, local 10.1.0.1, remotes 10.1.0.2")
            && l.ends_with("ok")),
        "{show}"
    );

    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn editing_the_remotes_changes_exactly_that_entry_and_drift_is_repaired() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("overlay.yaml", LAB);
    sb.topo_ok(&["apply", &lab]);

    // Two more remotes: two entries added, nothing else.
    let three = sb.lab(
        "overlay.yaml",
        &LAB.replace(
            "remotes: [10.1.0.2]",
            "remotes: [10.1.0.2, 10.1.0.3, 10.1.0.4]",
        ),
    );
    assert_eq!(
        actions(&sb.plan_json(&three)),
        [
            "create fdb h1:vx42 dst 10.1.0.3",
            "create fdb h1:vx42 dst 10.1.0.4"
        ]
    );
    sb.topo_ok(&["apply", &three]);
    assert_eq!(
        remotes(&sb, "h1"),
        set(&["10.1.0.2", "10.1.0.3", "10.1.0.4"])
    );
    // One taken out of the middle: exactly that entry goes.
    let two = sb.lab(
        "overlay.yaml",
        &LAB.replace("remotes: [10.1.0.2]", "remotes: [10.1.0.2, 10.1.0.4]"),
    );
    assert_eq!(
        actions(&sb.plan_json(&two)),
        ["delete fdb h1:vx42 dst 10.1.0.3"]
    );
    let out = sb.topo_ok(&["apply", "--json", &two]);
    let out: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(out["writes"], 1, "one request: {out:#}");
    assert_eq!(remotes(&sb, "h1"), set(&["10.1.0.2", "10.1.0.4"]));
    sb.ping("a", "10.50.0.2");

    // An entry deleted by hand, and the other host's device: put back.
    sb.sh_ok("ip netns exec h1 bridge fdb del 00:00:00:00:00:00 dev vx42 dst 10.1.0.4");
    sb.sh_ok("ip -n h2 link del vx42");
    let plan = sb.plan_json(&two);
    assert_eq!(
        actions(&plan),
        [
            "create fdb h1:vx42 dst 10.1.0.4",
            "create vxlan h2:vx42",
            "create link h2:vx42",
            "create fdb h2:vx42 dst 10.1.0.1"
        ]
    );
    assert!(plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["drift"] == true));
    sb.topo_ok(&["apply", &two]);
    assert_eq!(remotes(&sb, "h1"), set(&["10.1.0.2", "10.1.0.4"]));
    assert_eq!(remotes(&sb, "h2"), set(&["10.1.0.1"]));
    sb.ping("a", "10.50.0.2");

    // Learning switched on by hand goes back off, in place.
    sb.sh_ok("ip -n h1 link set vx42 type vxlan learning");
    let plan = sb.plan_json(&two);
    assert_eq!(actions(&plan), ["update vxlan h1:vx42"]);
    sb.topo_ok(&["apply", &two]);

    // A new VNI on both hosts makes both devices anew, their entries too.
    let text = std::fs::read_to_string(&two)
        .unwrap()
        .replace("vni: 42", "vni: 43");
    let vni = sb.lab("overlay.yaml", &text);
    let plan = sb.topo_ok(&["plan", &vni]);
    assert!(
        plan.contains("-/+ vxlan h1:vx42  (vni 43, port 4789, local 10.1.0.1)  [replace: the kernel does not change a vxlan's vni in place]"),
        "{plan}"
    );
    assert!(
        plan.contains("+ fdb h1:vx42 dst 10.1.0.4  [the kernel removes it with h1:vx42]"),
        "{plan}"
    );
    sb.topo_ok(&["apply", &vni]);
    assert_eq!(remotes(&sb, "h1"), set(&["10.1.0.2", "10.1.0.4"]));
    sb.ping("a", "10.50.0.2");

    sb.topo_ok(&["destroy", &vni]);
    assert_eq!(sb.residue(), "");
}
