//! Plans as people and programs see them, built without a kernel: the
//! desired state comes from a lab file, the observed state is written by hand
//! (empty, drifted, or equal), and `plan::diff` makes the plan. The text and
//! JSON renderings are snapshots under tests/snapshots/.
//!
//! After a deliberate change of the output: `INSTA_UPDATE=always cargo nextest
//! run --test plan_render` (or `cargo insta review`), then read the diff.

use topo::cli::{plan_json, plan_text};
use topo::model::{Id, IfRef, Model, Ns, Prior, Res};
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

/// Snapshots both renderings of `p` under `name`.
fn snapshot(name: &str, p: &Plan) {
    insta::assert_snapshot!(format!("{name}_text"), plan_text(p, false));
    insta::assert_snapshot!(format!("{name}_json"), plan_json(p));
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
    let id = Id::Link {
        link: link("blue", "eth0"),
    };
    match observed.state.get_mut(&id) {
        Some(Res::Link { mtu, .. }) => *mtu = Some(1500),
        other => panic!("{other:?}"),
    }
    let m = model_of(&EXAMPLE.replace(
        "eth0: { addresses: [10.10.0.3/24] }",
        "eth0: { addresses: [10.10.0.3/24], mtu: 1400 }",
    ));
    let p = plan(&m, &observed);
    assert_eq!(p.actions.len(), 1, "{p:#?}");
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
    state.insert(
        Id::Veth {
            link: link("host", "red-eth0"),
        },
        Res::Veth {
            peer: link("red", "eth1"),
        },
    );
    let old_link = state
        .remove(&Id::Link {
            link: link("red", "eth0"),
        })
        .expect("red:eth0");
    state.insert(
        Id::Link {
            link: link("red", "eth1"),
        },
        old_link,
    );
    state
        .remove(&Id::Address {
            link: link("red", "eth0"),
            address: "10.10.0.2/24".parse().unwrap(),
        })
        .expect("address");
    state.insert(
        Id::Address {
            link: link("red", "eth1"),
            address: "10.10.0.2/24".parse().unwrap(),
        },
        Res::Address,
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
