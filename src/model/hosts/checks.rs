//! The `tests:` of a lab across machines, per host. A check runs on the
//! host of the node it starts from. A ping, or a connection without a
//! listener, may go to a node of another host: the share names that node
//! by its address (its first, IPv4 if it has one), as that host's share
//! computes it from the file. `pingall` becomes one ping per ordered pair
//! starting here. A check whose listener (`reaches:`, or the node that
//! `sees:` implies) is on another host cannot run from here: validate
//! says so at its line (`place`).

use super::place::Placement;
use super::share::objects;
use crate::model::checks::LabView;
use crate::model::{build, Ns, Prior};
use crate::spec::{CheckSpec, LabSpec, NetworkMember, TestsSpec, S};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Puts into share `s` of `host` the checks that start there.
pub(super) fn for_host(spec: &LabSpec, p: &Placement, host: &str, s: &mut LabSpec) {
    let Some(tests) = &spec.tests else { return };
    let here = |n: &str| p.nodes.get(n).is_some_and(|h| h == host);
    let crosses = tests
        .value
        .checks()
        .iter()
        .any(|c| !names(spec, &c.value).all(here));
    let addrs = if crosses {
        addresses(spec, p, host)
    } else {
        BTreeMap::new()
    };
    let named = |t: &S<String>| -> S<String> {
        let v = match addrs.get(&t.value) {
            Some(a) => a.to_string(),
            None => t.value.clone(),
        };
        S::new(v, t.referenced, t.defined)
    };
    let target = |t: &S<String>| -> S<String> {
        match t.value.rsplit_once(':') {
            Some((n, port)) if addrs.contains_key(n) => {
                let a = addrs[n];
                let v = if a.is_ipv6() {
                    format!("[{a}]:{port}")
                } else {
                    format!("{a}:{port}")
                };
                S::new(v, t.referenced, t.defined)
            }
            _ => t.clone(),
        }
    };
    let mut out: Vec<S<CheckSpec>> = Vec::new();
    for c in tests.value.checks() {
        let cv = &c.value;
        if let Some(all) = &cv.pingall {
            for from in all.value.iter().filter(|f| here(&f.value)) {
                for to in all.value.iter().filter(|t| t.value != from.value) {
                    let ping = CheckSpec {
                        from: Some(from.clone()),
                        ping: Some(named(to)),
                        expect: cv.expect.clone(),
                        timeout: cv.timeout.clone(),
                        ..Default::default()
                    };
                    out.push(S::new(ping, c.referenced, c.defined));
                }
            }
            continue;
        }
        let from_here = cv.from.as_ref().is_some_and(|f| here(&f.value))
            || (cv.from.as_ref().is_none_or(|f| f.value == "host") && names(spec, cv).all(here));
        if !from_here {
            continue;
        }
        let mut k = cv.clone();
        k.ping = cv.ping.as_ref().map(named);
        k.tcp = cv.tcp.as_ref().map(target);
        k.udp = cv.udp.as_ref().map(target);
        out.push(S::new(k, c.referenced, c.defined));
    }
    let mut t = tests.clone();
    match &mut t.value {
        TestsSpec::List(l) => *l = out,
        TestsSpec::Detailed(d) => d.checks = out,
    }
    s.tests = Some(t);
}

/// The first address of every node of the other hosts, as their shares
/// compute them from the file.
fn addresses(spec: &LabSpec, p: &Placement, host: &str) -> BTreeMap<String, IpAddr> {
    let mut out = BTreeMap::new();
    for other in p.hosts.keys().filter(|h| *h != host) {
        let share = objects(spec, p, other);
        let Ok(v) = build(&share, &Prior::new()) else {
            continue;
        };
        let view = LabView::new(&share, &v.model);
        for n in v.model.nodes.iter() {
            if let Some(a) = view.first_address(&Ns::node(n)) {
                out.insert(n.clone(), a);
            }
        }
    }
    out
}

/// The node names a check names.
pub(super) fn names<'a>(spec: &'a LabSpec, c: &'a CheckSpec) -> impl Iterator<Item = &'a str> + 'a {
    let target = |t: &'a S<String>| {
        let t = t.value.as_str();
        t.rsplit_once(':').map_or(t, |(n, _)| n)
    };
    c.from
        .iter()
        .chain(&c.ping)
        .chain(&c.reaches)
        .map(|s| s.value.as_str())
        .chain(c.tcp.iter().chain(&c.udp).map(target))
        .chain(
            c.pingall
                .iter()
                .flat_map(|l| l.value.iter().map(|n| n.value.as_str())),
        )
        .filter(|n| spec.nodes.contains_key(*n) || member(spec, n))
}

/// A node named only by a network.
fn member(spec: &LabSpec, n: &str) -> bool {
    spec.networks.values().any(|net| {
        net.value.nodes.iter().any(|m| match &m.value {
            NetworkMember::Name(x) => x == n,
            NetworkMember::Detailed(d) => d.node == n,
        })
    })
}

impl super::place::Placer<'_> {
    /// A check's listener runs on the host the check starts from.
    pub(super) fn checks(&mut self) {
        let Some(tests) = &self.spec.tests else {
            return;
        };
        for c in tests.value.checks() {
            let (Some(from), Some(reaches)) = (&c.value.from, &c.value.reaches) else {
                continue;
            };
            let (Some(a), Some(b)) = (
                self.p.nodes.get(&from.value),
                self.p.nodes.get(&reaches.value),
            ) else {
                continue;
            };
            if a != b {
                let msg = format!(
                    "this check starts on host `{a}` but its listener, `{}`, is on host `{b}`",
                    reaches.value
                );
                self.err(crate::diag::Pos::of(reaches), msg, "a check across hosts pings or connects; to check who answers, start it from a node of the listener's host");
            }
        }
    }
}
