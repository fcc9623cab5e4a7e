//! `topo watch`'s repair loop on the in-memory kernel: the lab applied by
//! the watch, then changed by hand (a device deleted or set down, an
//! address or a node deleted, forwarding flipped, the host's ruleset
//! emptied, an uplink detached, a DHCP server killed); the change wakes
//! the watch, one repair puts the lab back, and the next wake finds
//! nothing left to do.

use super::lab::{Lab, LAB};
use super::{run, services};
use futures::executor::block_on as now;
use proptest::prelude::*;
use std::cell::RefCell;
use std::time::Duration;
use topo::machine::memory::MemoryKernel;
use topo::machine::{LinkSettings, Machine, Master, Wake};
use topo::model::{IfRef, Ns};
use topo::watch::{Event, Settings};

/// The lab's interfaces (not `lo`), namespaces and addresses, in order.
fn lab_objects(m: &mut MemoryKernel) -> (Vec<IfRef>, Vec<String>, Vec<(IfRef, ipnet::IpNet)>) {
    let nodes: Vec<String> = m.namespaces().expect("namespaces");
    let mut links = Vec::new();
    let mut addrs = Vec::new();
    for ns in std::iter::once(Ns::Host).chain(nodes.iter().map(|n| Ns::node(n))) {
        let dump = now(m.links(&ns)).expect("links");
        let marked = |l: &&topo::machine::Link| l.alias.as_deref() == Some("topo:p");
        let mine: Vec<&topo::machine::Link> = dump.iter().filter(marked).collect();
        for l in &mine {
            if l.name != "lo" {
                links.push(IfRef::new(ns.clone(), &l.name));
            }
        }
        for a in now(m.addresses(&ns)).expect("addresses") {
            if let Some(l) = mine.iter().find(|l| l.index == a.index && l.name != "lo") {
                addrs.push((IfRef::new(ns.clone(), &l.name), a.net));
            }
        }
    }
    (links, nodes, addrs)
}

/// Changes the lab by hand, as a person would with `ip`, `nft` and
/// `kill`: the `pick`-th object of the kind `what` chooses.
fn drift(m: &MemoryKernel, lab: &Lab, what: u8, pick: usize) {
    let mut m = m.clone();
    let (links, nodes, addrs) = lab_objects(&mut m);
    let nth = |n: usize| pick % n.max(1);
    let servers: Vec<u32> = lab
        .services
        .dhcp
        .keys()
        .filter(|n| lab.networks.contains_key(*n))
        .filter_map(|n| m.dhcp_pid(LAB, &IfRef::new(Ns::Host, n)))
        .collect();
    match what % 8 {
        0 if !links.is_empty() => drop(now(m.delete_link(&links[nth(links.len())]))),
        1 if !links.is_empty() => {
            let down = LinkSettings {
                up: Some(false),
                ..Default::default()
            };
            drop(now(m.set_link(&links[nth(links.len())], &down)));
        }
        2 if !addrs.is_empty() => {
            let (l, a) = &addrs[nth(addrs.len())];
            drop(now(m.delete_address(l, *a)));
        }
        3 if !nodes.is_empty() => drop(m.delete_namespace(&nodes[nth(nodes.len())])),
        4 if !nodes.is_empty() => {
            let ns = Ns::node(&nodes[nth(nodes.len())]);
            let on = m.read_sysctl(&ns, "net.ipv4.ip_forward").ok().flatten();
            let flip = if on.as_deref() == Some("1") { "0" } else { "1" };
            drop(m.write_sysctl(&ns, "net.ipv4.ip_forward", flip));
        }
        5 => drop(m.nft_replace(&Ns::Host, LAB, &[])),
        6 if !servers.is_empty() => drop(m.kill_process(servers[nth(servers.len())])),
        _ => {
            let detach = LinkSettings {
                master: Master::Detach,
                ..Default::default()
            };
            let up = IfRef::new(Ns::Host, format!("up{}", nth(3)));
            drop(now(m.set_link(&up, &detach)));
        }
    }
}

/// What the watch told, in words, after it started watching.
#[derive(Debug, PartialEq)]
enum Told {
    Repaired(usize),
    Quiet,
    Other(String),
}

pub fn repairs_drift_once(lab: &Lab, what: u8, pick: usize) -> Result<(), TestCaseError> {
    let text = lab.render();
    // The drift must be drift: on a copy, it leaves a plan.
    let trial = services::machine();
    super::converge(&trial, &text)?;
    let probe = trial.fork();
    drift(&probe, lab, what, pick);
    let p = run::plan(&probe, &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assume!(!p.is_empty());

    let m = services::machine();
    let told: RefCell<Option<Vec<Told>>> = RefCell::new(None);
    let tell = |e: Event<'_>| {
        let mut t = told.borrow_mut();
        match (e, t.as_mut()) {
            (Event::Watching { .. }, None) => {
                *t = Some(Vec::new());
                drift(&m, lab, what, pick);
            }
            (_, None) => {}
            (Event::Quiet, Some(log)) => {
                log.push(Told::Quiet);
                m.post_wake(Wake::Stop(libc::SIGTERM));
            }
            (Event::Repaired(r), Some(log)) => {
                log.push(Told::Repaired(r.plan.actions.len()));
                // What the repair wrote wakes the watch, but not always (a
                // server started again sends no event): a wake of its own.
                m.post_wake(Wake::Kernel);
            }
            (Event::Repairing { .. }, Some(_)) => {}
            (e, Some(log)) => log.push(Told::Other(match e {
                Event::Failed(e) | Event::Invalid(e) => e.to_string(),
                _ => "left alone".into(),
            })),
        }
    };
    let settings = Settings {
        debounce: Duration::from_millis(1),
        max_repairs: 3,
    };
    let l = run::load(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let stopped = run::block_on(async {
        let mut w = m.clone().watch(None)?;
        let machine = || m.clone();
        let reload = || run::load(&text);
        let watching = topo::watch::run(l, machine, &mut w, reload, &settings, &tell);
        tokio::time::timeout(Duration::from_secs(20), watching)
            .await
            .map_err(|_| topo::Error::Hosts("the watch did not stop".into()))?
    });
    let log = told.borrow_mut().take();
    prop_assert_eq!(stopped.ok(), Some(libc::SIGTERM), "{:?}\n{}", log, text);
    let log = log.unwrap_or_default();
    prop_assert!(
        matches!(log.as_slice(), [Told::Repaired(n), Told::Quiet] if *n > 0),
        "not one repair, then quiet: {:?}\n--- lab\n{}",
        log,
        text
    );
    let p = run::plan(&m, &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(p.is_empty(), "left after the repair: {:#?}", p.actions);
    Ok(())
}
