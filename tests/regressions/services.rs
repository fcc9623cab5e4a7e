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
