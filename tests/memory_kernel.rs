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
        m.create_veth(&ha, &eth0, [&new("x"), &new("y")]).await.unwrap();
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
    block_on(m.set_link(&node("a", "eth0"), &LinkSettings { up: Some(false), ..Default::default() })).unwrap();
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
    let o = BridgeOptions { stp: false, forward_delay: None };
    block_on(async {
        assert_eq!(errno(m.create_bridge(&host("ha"), &o, &new("x")).await), Some(17));
        let e = m.delete_link(&host("nope")).await.unwrap_err();
        assert!(e.is_gone() && e.errno() == Some(19));
        let e = m.add_address(&host("nope"), net("10.0.0.1/24"), true).await.unwrap_err();
        assert_eq!(e.errno(), Some(19), "an address needs its interface");
        let e = m.delete_address(&host("ha"), net("10.0.0.1/24")).await.unwrap_err();
        assert!(e.is_gone() && e.errno() == Some(99));
        let e = m.delete_route(&Ns::Host, &route("10.9.0.0/16", None, None)).await.unwrap_err();
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

/// topo's routes in `ns`.
fn ours(m: &mut MemoryKernel, ns: &Ns) -> Vec<topo::machine::Route> {
    let d = block_on(m.dump_many(vec![(ns.clone(), Depth::Full)]));
    let d = d.into_iter().next().unwrap().1.unwrap();
    d.routes.into_iter().filter(|r| r.protocol == RTPROT_TOPO).collect()
}

#[test]
fn routes_go_with_their_device_and_ipv4_ones_with_its_last_ipv4_address() {
    let mut m = pair();
    let a = Ns::parse("a");
    let eth0 = node("a", "eth0");
    block_on(async {
        m.add_address(&eth0, net("10.0.0.2/24"), true).await.unwrap();
        m.add_address(&eth0, net("fd00::2/64"), true).await.unwrap();
        m.put_route(&a, &route("0.0.0.0/0", Some("10.0.0.1"), None)).await.unwrap();
        m.put_route(&a, &route("::/0", Some("fd00::1"), None)).await.unwrap();
    });
    let routes = ours(&mut m, &a);
    assert_eq!(routes.len(), 2);
    assert_eq!(routes[1].metric, 1024, "an IPv6 metric 0 is stored as 1024");
    assert!(routes.iter().all(|r| r.oif == Some(2)), "the device the gateway is on");
    block_on(m.delete_address(&eth0, net("10.0.0.2/24"))).unwrap();
    let left = ours(&mut m, &a);
    assert_eq!(left.len(), 1, "the IPv4 route went with the last IPv4 address");
    assert!(left[0].to.addr().is_ipv6());
    block_on(m.delete_link(&eth0)).unwrap();
    assert!(ours(&mut m, &a).is_empty(), "routes go with their device");
}

#[test]
fn a_gateway_must_be_reachable_and_a_device_up() {
    let mut m = pair();
    let a = Ns::parse("a");
    let eth0 = node("a", "eth0");
    block_on(async {
        let far = m.put_route(&a, &route("0.0.0.0/0", Some("10.0.0.1"), None)).await;
        assert_eq!(errno(far), Some(101));
        m.put_route(&a, &route("10.0.0.0/16", None, Some("eth0"))).await.unwrap();
        // A route onto the device makes its gateways reachable; put again
        // replaces it.
        m.put_route(&a, &route("0.0.0.0/0", Some("10.0.0.1"), None)).await.unwrap();
        m.put_route(&a, &route("0.0.0.0/0", Some("10.0.0.9"), None)).await.unwrap();
        let d = m.dump_many(vec![(a.clone(), Depth::Full)]).await.remove(0).1.unwrap();
        let defaults: Vec<_> = d.routes.iter().filter(|r| r.to.prefix_len() == 0).collect();
        assert_eq!(defaults.len(), 1);
        assert_eq!(defaults[0].via, Some("10.0.0.9".parse().unwrap()));
        let down = LinkSettings { up: Some(false), ..Default::default() };
        m.set_link(&eth0, &down).await.unwrap();
        let d = m.dump_many(vec![(a.clone(), Depth::Full)]).await.remove(0).1.unwrap();
        assert!(d.routes.is_empty(), "down flushes the routes through it");
        let r = m.put_route(&a, &route("10.1.0.0/16", None, Some("eth0"))).await;
        assert_eq!(errno(r), Some(100));
    });
}

#[test]
fn a_primary_takes_its_secondaries_unless_the_interface_promotes_them() {
    let mut m = MemoryKernel::new();
    let o = BridgeOptions { stp: false, forward_delay: None };
    let br = host("br0");
    block_on(async {
        m.create_bridge(&br, &o, &new("x")).await.unwrap();
        for a in ["10.0.0.1/24", "10.0.0.2/24", "10.1.0.1/24"] {
            m.add_address(&br, net(a), true).await.unwrap();
        }
        let addrs = m.addresses(&Ns::Host).await.unwrap();
        let second = addrs.iter().find(|a| a.net == net("10.0.0.2/24")).unwrap();
        assert!(second.secondary);
        // Fresh interfaces promote: the secondary becomes the primary.
        m.delete_address(&br, net("10.0.0.1/24")).await.unwrap();
        let addrs = m.addresses(&Ns::Host).await.unwrap();
        let second = addrs.iter().find(|a| a.net == net("10.0.0.2/24")).unwrap();
        assert!(!second.secondary);
        m.write_sysctl(&Ns::Host, "net.ipv4.conf.br0.promote_secondaries", "0").unwrap();
        m.add_address(&br, net("10.0.0.3/24"), true).await.unwrap();
        m.delete_address(&br, net("10.0.0.2/24")).await.unwrap();
        let addrs = m.addresses(&Ns::Host).await.unwrap();
        let on_br: Vec<_> = addrs.iter().filter(|a| a.net.addr().is_ipv4() && a.index != 1).collect();
        assert_eq!(on_br.len(), 1, "without promotion the secondary went too: {on_br:?}");
    });
}

#[test]
fn sysctls_have_the_kernels_defaults_and_forwarding_is_one_switch() {
    let mut m = pair();
    let a = Ns::parse("a");
    let read = |m: &mut MemoryKernel, ns: &Ns, k: &str| m.read_sysctl(ns, k).unwrap();
    assert_eq!(read(&mut m, &a, "net.ipv4.ip_forward").as_deref(), Some("0"));
    assert_eq!(read(&mut m, &a, "net.ipv6.conf.all.forwarding").as_deref(), Some("0"));
    assert_eq!(read(&mut m, &a, "net.ipv4.no.such.key"), None);
    let e = m.write_sysctl(&a, "net.ipv4.no.such.key", "1").unwrap_err();
    assert_eq!(e.errno(), Some(2));
    assert_eq!(m.write_sysctl(&a, "net.ipv4.ip_forward", "yes").unwrap_err().errno(), Some(22));
    m.write_sysctl(&Ns::Host, "net.ipv4.ip_forward", "01").unwrap();
    assert_eq!(read(&mut m, &Ns::Host, "net.ipv4.conf.all.forwarding").as_deref(), Some("1"));
    assert_eq!(read(&mut m, &Ns::Host, "net.ipv4.conf.ha.forwarding").as_deref(), Some("1"));
    // A new namespace copies the host's IPv4 settings, not its IPv6 ones.
    m.write_sysctl(&Ns::Host, "net.ipv6.conf.all.forwarding", "1").unwrap();
    m.create_namespace("b").unwrap();
    let b = Ns::parse("b");
    assert_eq!(read(&mut m, &b, "net.ipv4.ip_forward").as_deref(), Some("1"));
    assert_eq!(read(&mut m, &b, "net.ipv6.conf.all.forwarding").as_deref(), Some("0"));
    // Per-interface keys live and die with their interface.
    assert_eq!(read(&mut m, &a, "net.ipv4.conf.eth0.promote_secondaries").as_deref(), Some("1"));
    m.write_sysctl(&a, "net.ipv4.conf.eth0.proxy_arp", "1").unwrap();
    block_on(m.delete_link(&node("a", "eth0"))).unwrap();
    assert_eq!(read(&mut m, &a, "net.ipv4.conf.eth0.proxy_arp"), None);
}

#[test]
fn a_bridge_follows_its_smallest_port_until_its_mtu_is_set() {
    let mut m = pair();
    let o = BridgeOptions { stp: true, forward_delay: Some(4) };
    let br = host("br0");
    let mtu = |m: &mut MemoryKernel| block_on(m.link(&host("br0"))).unwrap().unwrap().mtu;
    block_on(async {
        m.create_bridge(&br, &o, &new("x")).await.unwrap();
        let s = LinkSettings { mtu: Some(1400), master: Master::Attach("br0".into()), ..Default::default() };
        m.set_link(&host("ha"), &s).await.unwrap();
    });
    assert_eq!(mtu(&mut m), 1400);
    let b = block_on(m.link(&br)).unwrap().unwrap();
    assert_eq!((b.stp, b.forward_delay), (Some(true), Some(4)));
    block_on(m.set_link(&host("ha"), &LinkSettings { master: Master::Detach, ..Default::default() })).unwrap();
    assert_eq!(mtu(&mut m), 1500);
    block_on(m.set_link(&br, &LinkSettings { mtu: Some(9000), ..Default::default() })).unwrap();
    let s = LinkSettings { master: Master::Attach("br0".into()), ..Default::default() };
    block_on(m.set_link(&host("ha"), &s)).unwrap();
    assert_eq!(mtu(&mut m), 9000);
}

#[test]
fn nft_tables_are_replaced_whole_and_restored_from_snapshots() {
    let mut m = MemoryKernel::new();
    let chain = WantChain {
        name: "input",
        kind: "filter",
        hook: "input",
        prio: 0,
        policy: None,
        rules: vec![("ssh", "[]")],
    };
    assert_eq!(m.nft_read(&Ns::Host, "l").unwrap(), Table::Absent);
    let empty = m.nft_snapshot(&Ns::Host, "l").unwrap();
    m.nft_replace(&Ns::Host, "l", std::slice::from_ref(&chain)).unwrap();
    let Table::Owned(chains) = m.nft_read(&Ns::Host, "l").unwrap() else { panic!() };
    assert_eq!(chains[0].policy.as_deref(), Some("accept"));
    assert_eq!(chains[0].rules, vec![Some("ssh".to_string())]);
    let full = m.nft_snapshot(&Ns::Host, "l").unwrap();
    assert!(m.add_unmanaged_rule(&Ns::Host, "l", "input").unwrap());
    m.nft_restore(&Ns::Host, "l", full.as_deref()).unwrap();
    let Table::Owned(chains) = m.nft_read(&Ns::Host, "l").unwrap() else { panic!() };
    assert_eq!(chains[0].rules.len(), 1);
    m.nft_restore(&Ns::Host, "l", empty.as_deref()).unwrap();
    assert_eq!(m.nft_read(&Ns::Host, "l").unwrap(), Table::Absent);
    // A table of the lab's name without topo's mark chain is someone else's.
    let foreign = r#"{"chains":[{"name":"input","hook":null,"policy":null,"rules":[]}]}"#;
    m.nft_restore(&Ns::Host, "l", Some(foreign)).unwrap();
    assert_eq!(m.nft_read(&Ns::Host, "l").unwrap(), Table::Foreign);
}

#[test]
fn writes_are_counted_and_a_fault_fails_the_one_it_is_set_for() {
    let mut m = MemoryKernel::new();
    let w = m.writes();
    m.create_namespace("a").unwrap();
    block_on(m.links(&Ns::parse("a"))).unwrap();
    assert_eq!(m.writes(), w + 1, "reads are not writes");
    let copy = m.fork();
    m.fail_write(2, 16);
    let o = BridgeOptions { stp: false, forward_delay: None };
    // Create, then mark: the mark fails and leaves an unmarked bridge.
    let e = block_on(m.create_bridge(&host("br0"), &o, &new("x"))).unwrap_err();
    assert_eq!(e.errno(), Some(16));
    let br = block_on(m.link(&host("br0"))).unwrap().unwrap();
    assert_eq!(br.alias, None);
    assert!(!copy.canon().contains("br0"), "a fork goes its own way");
    m.create_namespace("b").unwrap();
}

#[test]
fn records_locks_dumps_and_exec() {
    let mut m = pair();
    let mut st = LabState::default();
    st.nft.insert("host".to_string());
    m.save_state("l", &st).unwrap();
    assert_eq!(m.labs(), vec!["l".to_string()]);
    assert_eq!(m.load_state("l").unwrap(), st);
    m.save_state("l", &LabState::default()).unwrap();
    assert!(m.labs().is_empty());
    m.update_host_sysctls(|r| r.insert("k".into(), Default::default())).unwrap();
    assert!(m.load_host_sysctls().unwrap().contains_key("k"));
    m.lock("l", &mut || panic!("never waits")).unwrap();
    block_on(m.set_link(&node("a", "lo"), &LinkSettings { alias: Some("mark".into()), ..up() })).unwrap();
    let jobs = vec![
        (Ns::parse("a"), Depth::Lo),
        (Ns::parse("a"), Depth::FullIfMarked("other".into())),
        (Ns::parse("a"), Depth::FullIfMarked("mark".into())),
        (Ns::parse("gone"), Depth::Full),
    ];
    let got = block_on(m.dump_many(jobs));
    let links: Vec<usize> = got.iter().map(|(_, d)| d.as_ref().map_or(0, |d| d.links.len())).collect();
    assert_eq!(links, vec![1, 1, 2, 0]);
    assert!(got[3].1.is_err());
    let lo = &got[2].1.as_ref().unwrap();
    assert!(lo.addrs.iter().any(|a| a.net == net("127.0.0.1/8")), "lo up has its address");
    assert!(matches!(m.exec(&Ns::Host, &["true".into()]), ExecFailure::CannotRun(_)));
    assert!(m.missing_privileges().is_none() && m.interrupted().is_none());
}
