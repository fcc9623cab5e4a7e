//! The in-memory kernel's semantics, rule by rule, as the real kernel has
//! them (docs: kernel-notes.md; src/machine/memory/mod.rs lists them and
//! what it simplifies). Through the `Machine` trait only, as topo sees it.

use ipnet::IpNet;
use std::time::Duration;
use topo::machine::memory::MemoryKernel;
use topo::machine::{
    BridgeOptions, Depth, ExecFailure, LabState, LinkSettings, Machine, Master, NewLink, RouteSpec,
    Table, WantChain, RTPROT_TOPO,
};
use topo::model::{IfRef, Ns};

mod devices;
mod net;
mod services;
mod state;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(f)
}

fn host(name: &str) -> IfRef {
    IfRef::new(Ns::Host, name)
}

fn node(ns: &str, name: &str) -> IfRef {
    IfRef::new(Ns::parse(ns), name)
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn new(alias: &str) -> NewLink {
    NewLink {
        mac: None,
        alias: alias.into(),
    }
}

fn up() -> LinkSettings {
    LinkSettings {
        up: Some(true),
        ..Default::default()
    }
}

fn errno(r: topo::machine::Result<()>) -> Option<i32> {
    r.err().and_then(|e| e.errno())
}

fn exists(m: &mut MemoryKernel, l: &IfRef) -> bool {
    block_on(m.link(l)).unwrap().is_some()
}

/// A machine with node `a`, and a veth host:ha ↔ a:eth0, both ends up.
fn pair() -> MemoryKernel {
    let mut m = MemoryKernel::new();
    m.create_namespace("a").unwrap();
    let (ha, eth0) = (host("ha"), node("a", "eth0"));
    block_on(async {
        m.create_veth(&ha, &eth0, [&new("x"), &new("y")])
            .await
            .unwrap();
        m.set_link(&ha, &up()).await.unwrap();
        m.set_link(&eth0, &up()).await.unwrap();
    });
    m
}

fn route(to: &str, via: Option<&str>, dev: Option<&str>) -> RouteSpec {
    RouteSpec {
        to: net(to),
        metric: 0,
        via: via.map(|v| v.parse().unwrap()),
        dev: dev.map(Into::into),
    }
}

#[test]
fn a_veth_pair_ends_together_and_carries_traffic_when_both_ends_are_up() {
    let mut m = pair();
    let links = block_on(m.links(&Ns::Host)).unwrap();
    let ha = links.iter().find(|l| l.name == "ha").unwrap();
    assert!(ha.running && ha.kind.as_deref() == Some("veth"));
    assert_eq!(ha.alias.as_deref(), Some("x"));
    assert!(ha.promote, "create_veth gives fresh settings");
    block_on(m.set_link(
        &node("a", "eth0"),
        &LinkSettings {
            up: Some(false),
            ..Default::default()
        },
    ))
    .unwrap();
    let ha = block_on(m.link(&host("ha"))).unwrap().unwrap();
    assert!(!ha.running, "no carrier without the peer up");
    block_on(m.delete_link(&node("a", "eth0"))).unwrap();
    assert!(!exists(&mut m, &host("ha")));
}

#[test]
fn deleting_a_namespace_takes_the_far_ends_of_its_veths_at_once_or_later() {
    let mut m = pair();
    m.delete_namespace("a").unwrap();
    assert!(!m.has_namespace("a").unwrap());
    assert!(!exists(&mut m, &host("ha")));
    let mut m = pair();
    m.set_teardown_delay(Some(Duration::from_millis(30)));
    m.delete_namespace("a").unwrap();
    assert!(exists(&mut m, &host("ha")), "lingers for a while");
    let again = block_on(m.create_veth(&host("ha"), &host("hb"), [&new("x"), &new("y")]));
    assert_eq!(errno(again), Some(17), "its name is still taken");
    std::thread::sleep(Duration::from_millis(40));
    assert!(!exists(&mut m, &host("ha")));
    // Deleting a namespace that is not there succeeds, as unmount and
    // unlink of a missing file do.
    m.delete_namespace("a").unwrap();
}

#[test]
fn names_that_exist_are_eexist_and_missing_objects_are_gone() {
    let mut m = pair();
    assert_eq!(errno(m.create_namespace("a")), Some(17));
    let o = BridgeOptions {
        stp: false,
        forward_delay: None,
    };
    block_on(async {
        assert_eq!(
            errno(m.create_bridge(&host("ha"), &o, &new("x")).await),
            Some(17)
        );
        let e = m.delete_link(&host("nope")).await.unwrap_err();
        assert!(e.is_gone() && e.errno() == Some(19));
        let e = m
            .add_address(&host("nope"), net("10.0.0.1/24"), true)
            .await
            .unwrap_err();
        assert_eq!(e.errno(), Some(19), "an address needs its interface");
        let e = m
            .delete_address(&host("ha"), net("10.0.0.1/24"))
            .await
            .unwrap_err();
        assert!(e.is_gone() && e.errno() == Some(99));
        let e = m
            .delete_route(&Ns::Host, &route("10.9.0.0/16", None, None))
            .await
            .unwrap_err();
        assert!(e.is_gone() && e.errno() == Some(3));
    });
    assert!(m.links(&Ns::parse("b")).now_or_error());
}

trait NowOrError {
    fn now_or_error(self) -> bool;
}

impl<F: std::future::Future<Output = topo::machine::Result<T>>, T> NowOrError for F {
    /// Whether the request fails (on a namespace that does not exist).
    fn now_or_error(self) -> bool {
        block_on(self).is_err()
    }
}
