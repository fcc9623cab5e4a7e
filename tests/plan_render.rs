//! Plans as people and programs see them, built without a kernel: the
//! desired state comes from a lab file, the observed state is written by hand
//! (empty, drifted, or equal), and `plan::diff` makes the plan. The text and
//! JSON renderings, and the markdown one for pull-request comments, are
//! snapshots under tests/snapshots/.
//!
//! After a deliberate change of the output: `INSTA_UPDATE=always cargo nextest
//! run --test plan_render` (or `cargo insta review`), then read the diff.

use topo::cli::{plan_json, plan_markdown, plan_text};
use topo::kinds::{Address, AddressId, ChainId, LinkId, Rule, RuleId, Veth, VethId};
use topo::model::{IfRef, Model, Ns, Prior};
use topo::observe::Observed;
use topo::plan::{diff, Plan};

const EXAMPLE: &str = include_str!("../topologies/example.yaml");

/// The desired state of a lab file's text.
fn model_of(text: &str) -> Model {
    let spec = match topo::spec::load_str("example.yaml", text) {
        Ok(s) => s,
        Err(e) => panic!("{}", e.report.render(false)),
    };
    match topo::model::build(&spec, &Prior::new()) {
        Ok(v) => v.model,
        Err(d) => panic!("invalid lab: {d:?}"),
    }
}

/// A kernel that holds exactly what `model` wants.
fn converged(model: &Model) -> Observed {
    Observed {
        state: model.state.clone(),
        ..Observed::default()
    }
}

fn plan(model: &Model, observed: &Observed) -> Plan {
    diff(&model.lab, &model.state, observed).expect("a plan")
}

fn link(ns: &str, name: &str) -> IfRef {
    IfRef::new(Ns::parse(ns), name)
}

/// Snapshots the three renderings of `p` under `name`.
fn snapshot(name: &str, p: &Plan) {
    insta::assert_snapshot!(format!("{name}_text"), plan_text(p, false));
    insta::assert_snapshot!(format!("{name}_json"), plan_json(p));
    insta::assert_snapshot!(format!("{name}_markdown"), plan_markdown(p));
}

#[test]
fn create_from_nothing() {
    let m = model_of(EXAMPLE);
    let p = plan(&m, &Observed::default());
    assert_eq!(p.summary().add, m.state.len());
    snapshot("create_from_nothing", &p);
}

#[test]
fn mtu_change_is_an_update() {
    // The kernel has blue's eth0 at 1500; the file now asks for 1400.
    let before = model_of(EXAMPLE);
    let mut observed = converged(&before);
    let id = LinkId {
        link: link("blue", "eth0"),
    };
    observed.state.link.get_mut(&id).expect("blue:eth0").mtu = Some(1500);
    let m = model_of(&EXAMPLE.replace(
        "eth0: { addresses: [10.10.0.3/24] }",
        "eth0: { addresses: [10.10.0.3/24], mtu: 1400 }",
    ));
    let p = plan(&m, &observed);
    // Both ends of the veth: its host end takes the MTU too.
    assert_eq!(p.actions.len(), 2, "{p:#?}");
    snapshot("mtu_change_is_an_update", &p);
}

#[test]
fn removed_node_is_deleted() {
    // green leaves the file: its namespace goes, and with it everything in it
    // and its veth, so one delete is the whole plan.
    let observed = converged(&model_of(EXAMPLE));
    let m = model_of(&EXAMPLE.replace("      - { node: green, address: 10.20.0.10 }\n", ""));
    let p = plan(&m, &observed);
    assert_eq!(p.actions.len(), 1, "{p:#?}");
    snapshot("removed_node_is_deleted", &p);
}

#[test]
fn moved_veth_peer_is_replaced() {
    // The kernel's host:red-eth0 is paired with red:eth1 (an older file
    // named red's interface eth1); the file pairs it with red:eth0. A veth
    // cannot change its peer in place: delete and create.
    let m = model_of(EXAMPLE);
    let mut observed = converged(&m);
    let state = &mut observed.state;
    state.insert::<Veth>(
        VethId {
            link: link("host", "red-eth0"),
        },
        Veth {
            peer: link("red", "eth1"),
        },
    );
    let old_link = state
        .link
        .remove(&LinkId {
            link: link("red", "eth0"),
        })
        .expect("red:eth0");
    state.link.insert(
        LinkId {
            link: link("red", "eth1"),
        },
        old_link,
    );
    state
        .address
        .remove(&AddressId {
            link: link("red", "eth0"),
            address: "10.10.0.2/24".parse().unwrap(),
        })
        .expect("address");
    state.insert::<Address>(
        AddressId {
            link: link("red", "eth1"),
            address: "10.10.0.2/24".parse().unwrap(),
        },
        Address {},
    );
    let p = plan(&m, &observed);
    assert!(
        p.actions.iter().any(|a| a.op == topo::plan::Op::Replace),
        "{p:#?}"
    );
    snapshot("moved_veth_peer_is_replaced", &p);
}

#[test]
fn nothing_to_do() {
    let m = model_of(EXAMPLE);
    let p = plan(&m, &converged(&m));
    assert!(p.is_empty(), "{p:#?}");
    snapshot("nothing_to_do", &p);
}

/// A lab with NAT on the host: masquerade of the lab's subnet, a port
/// forward to a node, and a filter rule with a chain policy.
const NAT: &str = r#"
name: nat
nodes:
  red:
    interfaces: { eth0: { addresses: [192.168.15.1/24] } }
    routes: [ { to: default, via: 192.168.15.5 } ]
  blue:
    interfaces: { eth0: { addresses: [192.168.15.2/24] } }
    routes: [ { to: default, via: 192.168.15.5 } ]
bridges:
  v-net-0: { addresses: [192.168.15.5/24] }
links:
  - endpoints: [red:eth0, v-net-0]
  - endpoints: [blue:eth0, v-net-0]
host:
  sysctls: { net.ipv4.ip_forward: 1 }
  nat:
    masquerade: [ { source: 192.168.15.0/24, exclude: 192.168.15.0/24 } ]
    dnat: [ { proto: tcp, port: 8080, to: "blue:80" } ]
  firewall:
    forward: drop
    rules:
      - { chain: forward, in: v-net-0, action: accept }
      - { chain: input, proto: tcp, port: 22, source: 10.99.0.2, action: accept }
      - { chain: input, proto: tcp, port: 22, action: drop }
"#;

#[test]
fn nat_from_nothing() {
    let m = model_of(NAT);
    let p = plan(&m, &Observed::default());
    assert_eq!(p.summary().add, m.state.len());
    assert!(p.actions.iter().any(|a| a.id().kind() == "rule"), "{p:#?}");
    snapshot("nat_from_nothing", &p);
}

#[test]
fn nat_drift_is_updated() {
    // The kernel's table drifted: forward's policy was set to accept and its
    // rule removed, and a rule without a comment was added to postrouting by
    // hand (`unmanaged rule #2`), and input's two rules are swapped.
    // Expected: forward's policy and rules updated and its rule created
    // again, input's rule order updated, the unmanaged rule deleted.
    let m = model_of(NAT);
    let mut observed = converged(&m);
    let host = Ns::Host;
    let chain = |c: &str| ChainId {
        ns: host.clone(),
        chain: c.into(),
    };
    let chains = &mut observed.state.chain;
    let forward = chains.get_mut(&chain("forward")).expect("forward");
    forward.policy = Some("accept".into());
    forward.rules.clear();
    chains
        .get_mut(&chain("input"))
        .expect("input")
        .rules
        .reverse();
    let postrouting = chains.get_mut(&chain("postrouting")).expect("postrouting");
    postrouting.rules.push("unmanaged rule #2".into());
    observed.state.rule.retain(|id, _| id.chain != "forward");
    observed.state.insert::<Rule>(
        RuleId {
            ns: host.clone(),
            chain: "postrouting".into(),
            rule: "unmanaged rule #2".into(),
        },
        Rule {
            expr: String::new(),
        },
    );
    let p = plan(&m, &observed);
    let ops: Vec<String> = p
        .actions
        .iter()
        .map(|a| format!("{:?} {}", a.op, a.id()))
        .collect();
    assert!(
        ops.iter()
            .any(|o| o == "Delete nft rule postrouting in host: unmanaged rule #2"),
        "{ops:#?}"
    );
    snapshot("nat_drift_is_updated", &p);
}

/// A lab with a tap for a VM and a VXLAN device to another host, both on
/// one bridge.
const DEVICES: &str = "\
name: devices
bridges:
  br-ov: { addresses: [10.50.0.1/24] }
taps:
  vif1: { bridge: br-ov, owner: 1000, group: 100 }
vxlans:
  vx42: { vni: 42, local: 10.1.0.1, remotes: [10.1.0.2, 10.1.0.3], bridge: br-ov, mtu: 1450 }
";

#[test]
fn taps_and_vxlans_from_nothing() {
    let m = model_of(DEVICES);
    let p = plan(&m, &Observed::default());
    assert_eq!(p.summary().add, m.state.len());
    snapshot("taps_and_vxlans_from_nothing", &p);
}

#[test]
fn device_edits_change_one_entry_update_in_place_or_replace() {
    // The kernel has the lab as it was; the file now adds a remote, gives
    // the tap another owner and the VXLAN another VNI.
    let observed = converged(&model_of(DEVICES));
    let m = model_of(
        &DEVICES
            .replace("10.1.0.3]", "10.1.0.3, 10.1.0.4]")
            .replace("owner: 1000", "owner: 1001")
            .replace("vni: 42", "vni: 43"),
    );
    let p = plan(&m, &observed);
    let ops: Vec<String> = p
        .actions
        .iter()
        .map(|a| format!("{:?} {}", a.op, a.id()))
        .collect();
    assert_eq!(
        ops,
        [
            "Update tap host:vif1",
            "Replace vxlan host:vx42",
            "Create link host:vx42",
            "Create fdb host:vx42 dst 10.1.0.2",
            "Create fdb host:vx42 dst 10.1.0.3",
            "Create fdb host:vx42 dst 10.1.0.4",
        ]
    );
    snapshot("device_edits", &p);
    // Only a remote more: exactly one entry.
    let m = model_of(&DEVICES.replace("10.1.0.3]", "10.1.0.3, 10.1.0.4]"));
    let p = plan(&m, &observed);
    assert_eq!(p.actions.len(), 1, "{p:#?}");
    assert_eq!(p.actions[0].id().to_string(), "fdb host:vx42 dst 10.1.0.4");
}
