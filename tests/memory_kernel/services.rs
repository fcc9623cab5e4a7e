//! What main added to the machine: DHCP servers as processes with pid
//! files, /etc/netns files, namespaces topo did not create, and a watch.

use super::*;
use topo::machine::{DhcpConf, Wake, Watch};
use topo::model::Attach;

fn conf(text: &str) -> DhcpConf {
    DhcpConf {
        text: text.into(),
        dns: false,
    }
}

fn bridge(m: &mut MemoryKernel, br: &IfRef) {
    let o = BridgeOptions {
        stp: false,
        forward_delay: None,
    };
    block_on(m.create_bridge(br, &o, &new("topo:l"))).unwrap();
}

/// Node `a` with a bridge br0 in it.
fn with_bridge() -> (MemoryKernel, IfRef) {
    let mut m = MemoryKernel::new();
    m.create_namespace("a").unwrap();
    let br = node("a", "br0");
    bridge(&mut m, &br);
    (m, br)
}

fn served(m: &mut MemoryKernel) -> Vec<Option<String>> {
    let found = block_on(m.dhcp_servers("l")).unwrap();
    found.into_iter().map(|f| f.conf).collect()
}

#[test]
fn a_dhcp_server_serves_its_interface_until_it_or_its_namespace_is_made_anew() {
    let (mut m, br) = with_bridge();
    let before = m.writes();
    block_on(m.start_dhcp("l", &br, &conf("one"))).unwrap();
    assert_eq!(m.writes() - before, 1, "one start");
    assert_eq!(served(&mut m), vec![Some("one".to_string())]);
    let found = block_on(m.dhcp_servers("l")).unwrap();
    assert!(found[0].intact);
    // Restarted with another configuration: the old process is stopped.
    let old = m.dhcp_pid("l", &br).unwrap();
    block_on(m.start_dhcp("l", &br, &conf("two"))).unwrap();
    assert!(!m.process_runs(old));
    assert_eq!(served(&mut m), vec![Some("two".to_string())]);
    // Edited by hand: what it runs with is not what the file says now.
    assert!(m.edit_dhcp_conf("l", &br, "edited"));
    assert!(!block_on(m.dhcp_servers("l")).unwrap()[0].intact);
    // Its interface made anew: the process runs on, serving nothing.
    let pid = m.dhcp_pid("l", &br).unwrap();
    block_on(m.delete_link(&br)).unwrap();
    bridge(&mut m, &br);
    assert!(m.process_runs(pid));
    assert_eq!(served(&mut m), vec![None]);
    // Stopped: the process and its files are gone.
    m.stop_dhcp("l", &br, true).unwrap();
    assert!(!m.process_runs(pid));
    assert!(served(&mut m).is_empty());
    assert!(!m.canon().contains("dhcp files"), "{m:?}");
}

#[test]
fn a_namespace_deleted_under_a_server_lives_on_until_it_stops() {
    let mut m = pair();
    block_on(m.start_dhcp("l", &node("a", "eth0"), &conf("x"))).unwrap();
    m.delete_namespace("a").unwrap();
    assert!(!m.has_namespace("a").unwrap());
    assert!(exists(&mut m, &host("ha")), "dnsmasq holds the namespace");
    assert_eq!(served(&mut m), vec![None]);
    m.stop_dhcp("l", &node("a", "eth0"), true).unwrap();
    assert!(
        !exists(&mut m, &host("ha")),
        "the last holder gone, so is it"
    );
    assert!(!m.canon().contains("anonymous"), "{m:?}");
}

#[test]
fn a_recycled_pid_is_never_stopped_and_dnsmasq_can_be_missing() {
    let (mut m, br) = with_bridge();
    block_on(m.start_dhcp("l", &br, &conf("one"))).unwrap();
    let pid = m.dhcp_pid("l", &br).unwrap();
    assert!(m.kill_process(pid));
    assert_eq!(served(&mut m), vec![None], "a pid file without its process");
    assert!(m.spawn_with_pid(pid));
    assert_eq!(served(&mut m), vec![None], "another process of that pid");
    let before = m.writes();
    m.stop_dhcp("l", &br, true).unwrap();
    assert_eq!(m.writes(), before, "nothing to stop");
    assert!(m.process_runs(pid));
    m.set_dnsmasq_missing(true);
    assert!(m.dhcp_unavailable().unwrap().contains("dnsmasq-base"));
    let e = block_on(m.start_dhcp("l", &br, &conf("one"))).unwrap_err();
    assert!(e.to_string().contains("dnsmasq"), "{e}");
    let e = block_on(m.start_dhcp("l", &node("a", "nope"), &conf("one"))).unwrap_err();
    assert_eq!(e.errno(), Some(19));
}

#[test]
fn netns_files_need_their_directory_and_directories_go_only_when_empty() {
    let mut m = MemoryKernel::new();
    assert!(
        m.write_netns_file("a", "hosts", "x").is_err(),
        "no directory"
    );
    assert!(m.write_netns_file("a", "../x", "x").is_err(), "not a name");
    let made = m.make_netns_dir("a").unwrap();
    assert!(made.root && made.dir);
    let again = m.make_netns_dir("a").unwrap();
    assert!(!again.root && !again.dir);
    m.write_netns_file("a", "hosts", "x").unwrap();
    assert_eq!(
        m.read_netns_file("a", "hosts").unwrap().as_deref(),
        Some("x")
    );
    assert!(!m.remove_netns_dir("a", true).unwrap(), "it holds a file");
    m.put_netns_file("b", "resolv.conf", "someone's");
    m.remove_netns_file("a", "hosts").unwrap();
    m.remove_netns_file("a", "hosts").unwrap();
    assert!(m.remove_netns_dir("a", true).unwrap());
    assert!(m.netns_file("b", "resolv.conf").is_some(), "b's stays");
    assert!(
        m.canon().contains("etc /etc/netns\n"),
        "root not empty: kept"
    );
    m.delete_netns_file("b", "resolv.conf");
    assert!(m.remove_netns_dir("b", true).unwrap());
    assert!(!m.canon().contains("etc "), "{m:?}");
}

#[test]
fn attached_namespaces_are_opened_never_made() {
    let mut m = MemoryKernel::new();
    let pid = m.spawn_process();
    let inode = m.attach_namespace("c", &Attach::Pid(pid)).unwrap();
    assert_eq!(m.namespace_of(pid), Some(inode));
    assert!(m.namespaces().unwrap().is_empty(), "not in /run/netns");
    assert_eq!(m.namespace_inode(&Ns::parse("c")), Some(inode));
    block_on(m.create_veth(&host("hc"), &node("c", "eth0"), [&new("x"), &new("x")])).unwrap();
    let e = m.attach_namespace("d", &Attach::Pid(99_999)).unwrap_err();
    assert!(e.to_string().contains("no process 99999"), "{e}");
    let e = m.attach_namespace("d", &Attach::Container("web".into()));
    assert!(e.unwrap_err().to_string().contains("no container"));
    let web = m.start_container("web");
    let first = m
        .attach_namespace("d", &Attach::Container("web".into()))
        .unwrap();
    assert_ne!(m.start_container("web"), web);
    let second = m
        .attach_namespace("d", &Attach::Container("web".into()))
        .unwrap();
    assert_ne!(first, second, "a restarted container has a new namespace");
    m.stop_container("web");
    let e = m.attach_namespace("d", &Attach::Container("web".into()));
    assert!(e.unwrap_err().to_string().contains("not running"));
    m.bind_namespace("/var/run/x", None).unwrap();
    let e = m.attach_namespace("e", &Attach::Netns("/var/run/x".into()));
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("not a network namespace"));
    // The process ends: its namespace, and the far end of its veth, go.
    assert!(m.kill_process(pid));
    assert!(!exists(&mut m, &host("hc")));
    assert_eq!(m.namespace_inode(&Ns::parse("c")), None);
}

#[test]
fn a_watch_hears_changes_in_the_namespaces_it_follows_and_what_tests_post() {
    let mut m = pair();
    m.create_namespace("b").unwrap();
    let mut w = m.watch(None).unwrap();
    w.follow(&[Ns::Host, Ns::parse("a")]).unwrap();
    let next = |w: &mut topo::machine::memory::MemoryWatch| {
        block_on(async {
            tokio::time::timeout(Duration::from_millis(20), w.wait())
                .await
                .ok()
                .map(Result::unwrap)
        })
    };
    block_on(m.set_link(&node("b", "lo"), &up())).unwrap();
    assert_eq!(next(&mut w), None, "b is not followed");
    m.write_sysctl(&Ns::parse("a"), "net.core.somaxconn", "10")
        .unwrap();
    assert_eq!(next(&mut w), None, "not a netconf sysctl");
    m.write_sysctl(&Ns::parse("a"), "net.ipv4.ip_forward", "1")
        .unwrap();
    assert_eq!(next(&mut w), Some(Wake::Kernel));
    block_on(m.delete_link(&node("a", "eth0"))).unwrap();
    assert_eq!(next(&mut w), Some(Wake::Kernel));
    assert_eq!(next(&mut w), None, "one request, one wake");
    m.delete_namespace("b").unwrap();
    assert_eq!(next(&mut w), Some(Wake::Kernel), "a namespace went");
    m.put_netns_file("a", "hosts", "x");
    assert_eq!(next(&mut w), None, "files wake nothing");
    // A server followed wakes it when it ends, once.
    let br = node("a", "lo");
    block_on(m.start_dhcp("l", &br, &conf("x"))).unwrap();
    w.follow_processes("l").unwrap();
    assert!(m.kill_process(m.dhcp_pid("l", &br).unwrap()));
    assert_eq!(next(&mut w), Some(Wake::Ended));
    assert_eq!(next(&mut w), None);
    m.post_wake(Wake::Stop(15));
    assert_eq!(next(&mut w), Some(Wake::Stop(15)));
    assert!(!m.fork().canon().is_empty());
}
