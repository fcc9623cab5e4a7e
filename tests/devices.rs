//! Taps and VXLAN devices in lab files, without a kernel: what the model
//! makes of them, and every mistake reported at its line with a hint.

use std::net::IpAddr;
use topo::diag::Level;
use topo::kinds::{Fdb, FdbId, LinkId, Tap, TapId, Vxlan, VxlanId};
use topo::model::{build, IfRef, Ns, Prior, State};
use topo::spec::load_str;

fn state(text: &str) -> State {
    let spec = load_str("lab.yaml", text).unwrap_or_else(|e| panic!("{}", e.report.render(false)));
    match build(&spec, &Prior::new()) {
        Ok(v) => v.model.state,
        Err(d) => panic!("expected a valid lab, got {d:#?}"),
    }
}

/// The errors of an invalid lab as `line: message | help`.
fn errors(text: &str) -> Vec<String> {
    let spec = match load_str("lab.yaml", text) {
        Ok(s) => s,
        Err(e) => return vec![e.report.render(false)],
    };
    match build(&spec, &Prior::new()) {
        Ok(_) => panic!("expected errors:\n{text}"),
        Err(ds) => ds
            .into_iter()
            .filter(|d| d.level == Level::Error)
            .map(|d| {
                format!(
                    "{}: {} | {}",
                    d.pos.line,
                    d.message,
                    d.help.unwrap_or_default()
                )
            })
            .collect(),
    }
}

fn host(name: &str) -> IfRef {
    IfRef::new(Ns::Host, name)
}

fn node(n: &str, name: &str) -> IfRef {
    IfRef::new(Ns::Node(n.into()), name)
}

const TAPS: &str = "\
name: vms
bridges:
  br-in: { addresses: [10.7.0.1/24], mtu: 9000 }
  br-r1: { node: r1 }
taps:
  vif1: { bridge: br-in, owner: 1000, group: \"100\" }
  vif0: { owner: root, multi_queue: true }
nodes:
  r1:
    taps:
      vif2: { bridge: br-r1, mtu: 1400 }
    interfaces:
      vif2: { addresses: [10.8.0.1/24] }
";

#[test]
fn taps_become_a_tap_and_its_settings() {
    let st = state(TAPS);
    let tap = |l: IfRef| st.tap[&TapId { link: l }].clone();
    assert_eq!(
        tap(host("vif1")),
        Tap {
            owner: Some(1000),
            group: Some(100),
            multi_queue: false,
            persist: true
        }
    );
    // A name is looked up (root is 0 everywhere).
    assert_eq!(tap(host("vif0")).owner, Some(0));
    assert!(tap(host("vif0")).multi_queue);
    assert_eq!(tap(node("r1", "vif2")).owner, None);
    let link = |l: IfRef| st.link[&LinkId { link: l }].clone();
    // On its bridge, with the bridge's MTU; alone, 1500.
    assert_eq!(link(host("vif1")).master.as_deref(), Some("br-in"));
    assert_eq!(link(host("vif1")).mtu, Some(9000));
    assert_eq!(link(host("vif0")).mtu, Some(1500));
    assert_eq!(link(node("r1", "vif2")).mtu, Some(1400));
    assert!(link(host("vif1")).up && link(host("vif1")).mac.is_some());
    assert_eq!(
        st.address
            .keys()
            .filter(|a| a.link == node("r1", "vif2"))
            .count(),
        1
    );
}

#[test]
fn tap_mistakes_are_reported_at_their_line() {
    let text = "\
name: vms
bridges:
  br-in: {}
  br-r1: { node: r1 }
nodes:
  r1:
    taps:
      vif2: { bridge: br-in }
taps:
  vif1: { bridge: br-inn, owner: no-such-user-here }
  vif3: { group: no-such-group-here, owner: 4294967295 }
  br-in: {}
  this-name-is-too-long: {}
";
    let e = errors(text);
    assert!(
        e[0].contains("an owner or group is a number (uid, gid) or a name, not 4294967295"),
        "{e:#?}"
    );
    let e = errors(&text.replace(", owner: 4294967295", ""));
    assert_eq!(
        e,
        [
            "8: bridge `br-in` is in host, not in r1 | a port and its bridge share a namespace: declare the device there, or use a bridge of this namespace",
            "10: no bridge named `br-inn` in host | did you mean `br-in`?",
            "10: no user named `no-such-user-here` on this machine (/etc/passwd) | write the user's number, or a name that /etc/passwd has",
            "11: no group named `no-such-group-here` on this machine (/etc/group) | write the group's number, or a name that /etc/group has",
            "12: interface host:br-in is already created at line 3 | each interface is made once: give the tap another name",
            "13: tap `this-name-is-too-long`: interface name `this-name-is-too-long` has 21 bytes; Linux allows at most 15 | choose a name of at most 15 bytes",
        ]
    );
}

const OVERLAY: &str = "\
name: overlay
nodes:
  h1:
    interfaces: { eth0: { addresses: [10.1.0.1/24] } }
    vxlans:
      vx42: { vni: 42, local: 10.1.0.1, remotes: [10.1.0.2, 10.1.0.3], bridge: br-ov }
  h2: { interfaces: { eth0: { addresses: [10.1.0.2/24] } } }
bridges:
  br-ov: { node: h1 }
vxlans:
  vx7: { vni: 7, port: 4790, dev: eth9, remotes: [\"fd00::2\"], mtu: 1400 }
links:
  - endpoints: [h1:eth0, h2:eth0]
";

#[test]
fn vxlans_become_a_device_and_one_entry_per_remote() {
    let st = state(OVERLAY);
    let vx = VxlanId {
        link: node("h1", "vx42"),
    };
    assert_eq!(
        st.vxlan[&vx],
        Vxlan {
            vni: 42,
            local: Some("10.1.0.1".parse().unwrap()),
            port: 4789,
            dev: None,
            learning: false
        }
    );
    let dsts: Vec<IpAddr> = st
        .fdb
        .keys()
        .filter(|f| f.link == vx.link)
        .map(|f| f.dst)
        .collect();
    assert_eq!(
        dsts,
        [
            "10.1.0.2".parse::<IpAddr>().unwrap(),
            "10.1.0.3".parse().unwrap()
        ]
    );
    assert_eq!(st.fdb[&vx.remote("10.1.0.2".parse().unwrap())], Fdb {});
    let link = st.link[&LinkId {
        link: vx.link.clone(),
    }]
        .clone();
    // The underlay (h1:eth0, holding the local address) less 50.
    assert_eq!(link.mtu, Some(1450));
    assert_eq!(link.master.as_deref(), Some("br-ov"));
    // In the host `dev` may be the machine's own interface.
    let host_vx = &st.vxlan[&VxlanId { link: host("vx7") }];
    assert_eq!((host_vx.port, host_vx.dev.as_deref()), (4790, Some("eth9")));
    assert!(st.fdb.contains_key(&FdbId {
        link: host("vx7"),
        dst: "fd00::2".parse().unwrap()
    }));
    assert_eq!(st.link[&LinkId { link: host("vx7") }].mtu, Some(1400));
}

#[test]
fn a_vxlan_mtu_too_big_for_its_underlay_is_an_error() {
    let e = errors(&OVERLAY.replace("bridge: br-ov }", "bridge: br-ov, mtu: 1500 }"));
    assert_eq!(
        e,
        ["6: vxlan h1:vx42 has mtu 1500, but its underlay h1:eth0 has mtu 1500: with the 50 bytes of encapsulation its frames do not fit | write `mtu: 1450` or less, or raise the underlay's MTU"]
    );
    // A bigger underlay makes room.
    let bigger = OVERLAY
        .replace("bridge: br-ov }", "bridge: br-ov, mtu: 1500 }")
        .replace(
            "  - endpoints: [h1:eth0, h2:eth0]",
            "  - { endpoints: [h1:eth0, h2:eth0], mtu: 1550 }",
        );
    assert_eq!(
        state(&bigger).link[&LinkId {
            link: node("h1", "vx42")
        }]
            .mtu,
        Some(1500)
    );
}

#[test]
fn vxlan_mistakes_are_reported_at_their_line() {
    let text = "\
name: overlay
nodes:
  h1:
    interfaces: { eth0: { addresses: [10.1.0.1/24] } }
    vxlans:
      vx1: { vni: 16777216, local: 10.1.0.9 }
      vx2: { vni: 5, local: 10.1.0.1, remotes: [10.1.0.2, 10.1.0.2, 10.1.0.1, \"fd00::1\", 10.1.0.5/24] }
      vx3: { vni: 5, remotes: [10.1.0.7], dev: eth7 }
      vx4: { vni: 6, port: 0 }
      vx5: { vni: 8, bridge: nope }
  h2: { interfaces: { eth0: { addresses: [10.1.0.2/24] } } }
links:
  - endpoints: [h1:eth0, h2:eth0]
";
    assert_eq!(
        errors(text),
        [
            "6: vni 16777216 is out of range | a VNI is 0 to 16777215 (24 bits)",
            "7: remote 10.1.0.2 is listed twice (first at line 7) | list each remote once",
            "7: remote 10.1.0.1 is the local address | a remote is another host's address",
            "7: remote fd00::1 is not of the local address's family | use remotes of the same IP version as `local:`",
            "7: `10.1.0.5/24` is not an address (remote) | write the address alone: `10.1.0.5`",
            "8: interface h1:eth7 is not created by the lab | in a node, `dev:` names an interface the lab makes there (a link end)",
            "9: port 0 is not a UDP port | write `port: 4789`, the usual VXLAN port",
            "10: no bridge named `nope` in h1 | declare it under `bridges:` (with `node:` for a bridge in a node), or in a network; the bridges in h1: none",
        ]
    );
    // A VNI used twice on one port, and a local address the node lacks.
    let text = "\
name: overlay
nodes:
  h1:
    interfaces: { eth0: { addresses: [10.1.0.1/24] } }
    vxlans:
      vx1: { vni: 5, local: 10.1.0.9 }
      vx2: { vni: 5 }
  h2: { interfaces: { eth0: { addresses: [10.1.0.2/24] } } }
links:
  - endpoints: [h1:eth0, h2:eth0]
";
    assert_eq!(
        errors(text),
        [
            "6: local address 10.1.0.9 is not an address of node h1 | give one of h1's interfaces 10.1.0.9 (under `interfaces:`), or use one of its addresses",
            "7: vni 5 on port 4789 is already used in h1 by the vxlan at line 6 | the kernel takes one device per VNI and port in a namespace: give this one another `vni:` or `port:`",
        ]
    );
}
