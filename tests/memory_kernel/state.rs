//! Sysctls, bridge MTUs, nft tables, write counts and faults, records,
//! dumps.

use super::*;

#[test]
fn sysctls_have_the_kernels_defaults_and_forwarding_is_one_switch() {
    let mut m = pair();
    let a = Ns::parse("a");
    let read = |m: &mut MemoryKernel, ns: &Ns, k: &str| m.read_sysctl(ns, k).unwrap();
    assert_eq!(
        read(&mut m, &a, "net.ipv4.ip_forward").as_deref(),
        Some("0")
    );
    assert_eq!(
        read(&mut m, &a, "net.ipv6.conf.all.forwarding").as_deref(),
        Some("0")
    );
    assert_eq!(read(&mut m, &a, "net.ipv4.no.such.key"), None);
    let e = m.write_sysctl(&a, "net.ipv4.no.such.key", "1").unwrap_err();
    assert_eq!(e.errno(), Some(2));
    assert_eq!(
        m.write_sysctl(&a, "net.ipv4.ip_forward", "yes")
            .unwrap_err()
            .errno(),
        Some(22)
    );
    m.write_sysctl(&Ns::Host, "net.ipv4.ip_forward", "01")
        .unwrap();
    assert_eq!(
        read(&mut m, &Ns::Host, "net.ipv4.conf.all.forwarding").as_deref(),
        Some("1")
    );
    assert_eq!(
        read(&mut m, &Ns::Host, "net.ipv4.conf.ha.forwarding").as_deref(),
        Some("1")
    );
    // A new namespace copies the host's IPv4 settings, not its IPv6 ones.
    m.write_sysctl(&Ns::Host, "net.ipv6.conf.all.forwarding", "1")
        .unwrap();
    m.create_namespace("b").unwrap();
    let b = Ns::parse("b");
    assert_eq!(
        read(&mut m, &b, "net.ipv4.ip_forward").as_deref(),
        Some("1")
    );
    assert_eq!(
        read(&mut m, &b, "net.ipv6.conf.all.forwarding").as_deref(),
        Some("0")
    );
    // Per-interface keys live and die with their interface.
    assert_eq!(
        read(&mut m, &a, "net.ipv4.conf.eth0.promote_secondaries").as_deref(),
        Some("1")
    );
    m.write_sysctl(&a, "net.ipv4.conf.eth0.proxy_arp", "1")
        .unwrap();
    block_on(m.delete_link(&node("a", "eth0"))).unwrap();
    assert_eq!(read(&mut m, &a, "net.ipv4.conf.eth0.proxy_arp"), None);
}

#[test]
fn a_bridge_follows_its_smallest_port_until_its_mtu_is_set() {
    let mut m = pair();
    let o = BridgeOptions {
        stp: true,
        forward_delay: Some(4),
    };
    let br = host("br0");
    let mtu = |m: &mut MemoryKernel| block_on(m.link(&host("br0"))).unwrap().unwrap().mtu;
    block_on(async {
        m.create_bridge(&br, &o, &new("x")).await.unwrap();
        let s = LinkSettings {
            mtu: Some(1400),
            master: Master::Attach("br0".into()),
            ..Default::default()
        };
        m.set_link(&host("ha"), &s).await.unwrap();
    });
    assert_eq!(mtu(&mut m), 1400);
    let b = block_on(m.link(&br)).unwrap().unwrap();
    assert_eq!((b.stp, b.forward_delay), (Some(true), Some(4)));
    block_on(m.set_link(
        &host("ha"),
        &LinkSettings {
            master: Master::Detach,
            ..Default::default()
        },
    ))
    .unwrap();
    assert_eq!(mtu(&mut m), 1500);
    block_on(m.set_link(
        &br,
        &LinkSettings {
            mtu: Some(9000),
            ..Default::default()
        },
    ))
    .unwrap();
    let s = LinkSettings {
        master: Master::Attach("br0".into()),
        ..Default::default()
    };
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
    m.nft_replace(&Ns::Host, "l", std::slice::from_ref(&chain))
        .unwrap();
    let Table::Owned(chains) = m.nft_read(&Ns::Host, "l").unwrap() else {
        panic!()
    };
    assert_eq!(chains[0].policy.as_deref(), Some("accept"));
    assert_eq!(chains[0].rules, vec![Some("ssh".to_string())]);
    let full = m.nft_snapshot(&Ns::Host, "l").unwrap();
    assert!(m.add_unmanaged_rule(&Ns::Host, "l", "input").unwrap());
    m.nft_restore(&Ns::Host, "l", full.as_deref()).unwrap();
    let Table::Owned(chains) = m.nft_read(&Ns::Host, "l").unwrap() else {
        panic!()
    };
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
    let o = BridgeOptions {
        stp: false,
        forward_delay: None,
    };
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
    m.update_host_sysctls(|r| r.insert("k".into(), Default::default()))
        .unwrap();
    assert!(m.load_host_sysctls().unwrap().contains_key("k"));
    m.lock("l", &mut || panic!("never waits")).unwrap();
    block_on(m.set_link(
        &node("a", "lo"),
        &LinkSettings {
            alias: Some("mark".into()),
            ..up()
        },
    ))
    .unwrap();
    let jobs = vec![
        (Ns::parse("a"), Depth::LinksIfMarked("other".into())),
        (Ns::parse("a"), Depth::FullIfMarked("other".into())),
        (Ns::parse("a"), Depth::FullIfMarked("mark".into())),
        (Ns::parse("gone"), Depth::Full),
        (Ns::parse("a"), Depth::LinksIfMarked("mark".into())),
    ];
    let got = block_on(m.dump_many(jobs, "lab", vec![])).dumps;
    let links: Vec<usize> = got
        .iter()
        .map(|(_, d)| d.as_ref().map_or(0, |d| d.links.len()))
        .collect();
    assert_eq!(links, vec![1, 1, 2, 0, 2]);
    assert!(got[3].1.is_err());
    let only_links = got[4].1.as_ref().unwrap();
    assert!(only_links.addrs.is_empty() && only_links.routes.is_empty());
    let lo = &got[2].1.as_ref().unwrap();
    assert!(
        lo.addrs.iter().any(|a| a.net == net("127.0.0.1/8")),
        "lo up has its address"
    );
    assert!(matches!(
        m.exec(&Ns::Host, &["true".into()]),
        ExecFailure::CannotRun(_)
    ));
    assert!(m.missing_privileges().is_none() && m.interrupted().is_none());
}
