//! What the property tests found in the lab's services (DHCP servers,
//! /etc/netns files, uplinks), on the in-memory kernel.

use topo::machine::memory::MemoryKernel;
use topo::machine::Machine;

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(f)
}

fn apply(m: &MemoryKernel, text: &str, rollback: bool) -> Result<topo::ApplyReport, topo::Error> {
    let l = topo::load_text("lab.yaml".into(), text.into()).unwrap();
    run(async {
        let s = topo::prepare_on(m.clone(), &l, &|_| {}).await?;
        let opts = topo::apply::Options {
            rollback,
            verify: true,
            ..Default::default()
        };
        topo::apply(s, opts).await
    })
}

fn destroy(m: &MemoryKernel) {
    run(async {
        let s = topo::prepare_destroy_on(m.clone(), "v", &|_| {}).await?;
        topo::apply(s, Default::default()).await
    })
    .unwrap();
    topo::forget_lab_on(&mut m.clone(), "v");
}

const BARE: &str = "name: v\nnodes: { a: {} }\n";
const DNS: &str = "name: v\nnodes: { a: { dns: { nameservers: [10.0.0.53] } } }\n";

/// The writes `text` takes on a copy of `m`.
fn writes(m: &MemoryKernel, text: &str) -> u64 {
    let trial = m.fork();
    let w = trial.writes();
    apply(&trial, text, true).unwrap();
    trial.writes() - w
}

#[test]
fn a_resolv_conf_whose_run_fails_between_directory_and_file_leaves_no_directory() {
    // A fault at any write of writing a's resolv.conf (making /etc/netns,
    // then /etc/netns/a, then the file): rollback removed nothing, as no
    // file of the lab's was there, and the records of the directories
    // were put back without them: /etc/netns stayed for ever.
    let m = MemoryKernel::new();
    apply(&m, BARE, true).unwrap();
    let before = m.canon();
    for n in 1..=writes(&m, DNS) {
        let k = m.fork();
        k.fail_write(n, 5);
        assert!(apply(&k, DNS, true).is_err(), "write {n}");
        assert_eq!(before, k.canon(), "a fault at write {n}");
    }
}

#[test]
fn a_run_killed_between_a_resolv_conf_and_its_directory_is_cleaned_up() {
    // Killed (a fault, no rollback) after removing the file and before
    // its directory: destroy found no file of the lab's, and left
    // /etc/netns/a behind; the same when killed before writing it.
    let empty = MemoryKernel::new().canon();
    for (first, second) in [(DNS, BARE), (BARE, DNS)] {
        let m = MemoryKernel::new();
        apply(&m, first, true).unwrap();
        for n in 1..=writes(&m, second) {
            let k = m.fork();
            k.fail_write(n, 5);
            assert!(apply(&k, second, false).is_err());
            destroy(&k);
            assert_eq!(empty, k.canon(), "{second:?} killed at write {n}");
        }
    }
}

/// A lab with a DHCP server on a network's bridge and one on a node's
/// interface; `range` and `other` start their ranges (a change restarts
/// the server).
fn two_servers(range: u8) -> String {
    servers(range, range)
}

fn servers(range: u8, other: u8) -> String {
    format!(
        "name: v
networks:
  inner:
    subnet: 10.7.0.0/24
    gateway: 10.7.0.1
    dhcp: {{ range: 10.7.0.{range}-10.7.0.220 }}
    nodes: [ {{ node: a, address: 10.7.0.2 }} ]
nodes:
  r:
    interfaces:
      eth1: {{ addresses: [10.8.0.1/24], dhcp: {{ range: 10.8.0.{other}-10.8.0.199 }} }}
bridges:
  br2: {{}}
links:
  - endpoints: [r:eth1, br2]
"
    )
}

fn on(ns: &str, name: &str) -> topo::model::IfRef {
    let ns = match ns {
        "host" => topo::model::Ns::Host,
        n => topo::model::Ns::node(n),
    };
    topo::model::IfRef::new(ns, name)
}

#[test]
fn a_server_left_not_serving_is_removed_by_destroy_and_by_an_apply_without_it() {
    // A restart killed after stopping the old server left its leases,
    // with no pid file: neither destroy nor an apply without DHCP found
    // it, and the file stayed under /run/topo for ever. Every way a
    // server stops serving: a restart killed at each of its writes, the
    // process killed by hand, its interface deleted by hand (the process
    // serves nothing), its node's namespace deleted by hand.
    let empty = MemoryKernel::new().canon();
    let without = "name: v\nnetworks:\n  inner:\n    subnet: 10.7.0.0/24\n    gateway: 10.7.0.1\n    nodes: [ { node: a, address: 10.7.0.2 } ]\n";
    let mut cases: Vec<(String, MemoryKernel)> = Vec::new();
    let base = MemoryKernel::new();
    apply(&base, &two_servers(100), true).unwrap();
    for n in 1..=writes(&base, &two_servers(150)) {
        let k = base.fork();
        k.fail_write(n, 5);
        assert!(apply(&k, &two_servers(150), false).is_err());
        cases.push((format!("a restart killed at write {n}"), k));
    }
    for (ns, name) in [("host", "inner"), ("r", "eth1")] {
        let k = base.fork();
        let pid = k.dhcp_pid("v", &on(ns, name)).expect("a server runs");
        assert!(k.kill_process(pid));
        cases.push((format!("dnsmasq on {ns}:{name} killed"), k));
        let k = base.fork();
        run(k.clone().delete_link(&on(ns, name))).unwrap();
        cases.push((format!("{ns}:{name} deleted"), k));
    }
    let k = base.fork();
    k.clone().delete_namespace("r").unwrap();
    cases.push(("namespace r deleted".to_string(), k));
    for (what, k) in cases {
        let after_apply = k.fork();
        destroy(&k);
        assert_eq!(empty, k.canon(), "destroy after {what}");
        // An apply of the lab without DHCP removes what is left of the
        // servers, and says so in its plan.
        apply(&after_apply, without, false).unwrap();
        let still = after_apply.canon();
        assert!(
            !still.contains("dhcp files"),
            "apply without DHCP after {what}:\n{still}"
        );
    }
}

#[test]
fn a_restart_rolled_back_leaves_the_same_servers() {
    // A failed write after one of two servers was restarted: rollback
    // started it again with its old configuration, as it should, but the
    // in-memory kernel listed servers by pid, and the restarted one moved
    // after the other: "the kernel differs" (found by the property tests).
    for edit in [servers(150, 100), servers(100, 150)] {
        let m = MemoryKernel::new();
        apply(&m, &servers(100, 100), true).unwrap();
        let before = m.canon();
        for n in 1..=writes(&m, &edit) {
            let k = m.fork();
            k.fail_write(n, 5);
            assert!(apply(&k, &edit, true).is_err(), "write {n}");
            assert_eq!(before, k.canon(), "a fault at write {n}");
        }
    }
}
