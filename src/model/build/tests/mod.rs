//! What lets a big lab be written in a few lines, resolved without a
//! kernel: pools (and their stability), roles, derived routes, defaults,
//! bridges inside nodes, and every mistake at the line the user wrote.

mod defaults;
mod pools;
mod routes;

use crate::diag::{Diagnostic, Level};
use crate::kinds::{Route, RouteId, SysctlId};
use crate::model::{build, IfRef, Model, Ns, Prior, RouteKey};
use crate::spec::load_str;
use std::net::IpAddr;

fn model_with(text: &str, prior: &Prior) -> Model {
    let spec = load_str("lab.yaml", text).unwrap_or_else(|e| panic!("{}", e.report.render(false)));
    match build(&spec, prior) {
        Ok(v) => {
            let warnings: Vec<&Diagnostic> = v.warnings.iter().collect();
            assert!(warnings.is_empty(), "{warnings:?}");
            v.model
        }
        Err(d) => panic!("{d:#?}"),
    }
}

fn model(text: &str) -> Model {
    model_with(text, &Prior::new())
}

/// The errors of a file that loads but does not build.
fn errors(text: &str) -> Vec<Diagnostic> {
    let spec = load_str("lab.yaml", text).unwrap_or_else(|e| panic!("{}", e.report.render(false)));
    let d = build(&spec, &Prior::new()).expect_err("an invalid lab");
    d.into_iter().filter(|d| d.level == Level::Error).collect()
}

/// The one error, which must name `fragments`, at the line holding `at`.
fn the_error(text: &str, at: &str, fragments: &[&str]) -> Diagnostic {
    let e = errors(text);
    assert_eq!(e.len(), 1, "{e:#?}");
    let d = e.into_iter().next().unwrap();
    assert_eq!(d.pos.line, line_of(text, at), "{d:#?}");
    for f in fragments {
        assert!(d.message.contains(f), "`{f}` not in: {}", d.message);
    }
    d
}

/// The 1-based line of the first line holding `needle`.
fn line_of(text: &str, needle: &str) -> u32 {
    let i = text.lines().position(|l| l.contains(needle));
    i.unwrap_or_else(|| panic!("{needle} not in the text")) as u32 + 1
}

fn iface(s: &str) -> IfRef {
    let (n, i) = s.split_once(':').expect("NODE:IF");
    IfRef::new(Ns::parse(n), i)
}

/// The addresses of one interface, as text.
fn addrs(m: &Model, link: &str) -> Vec<String> {
    let l = iface(link);
    m.state
        .address
        .keys()
        .filter(|id| id.link == l)
        .map(|id| id.address.to_string())
        .collect()
}

/// What the kernel would hold after applying `m`: the prior of a rebuild.
fn prior_of(m: &Model) -> Prior {
    let mut p = Prior::new();
    for id in m.state.address.keys() {
        p.entry(id.link.clone())
            .or_default()
            .push(id.address.addr());
    }
    p
}

fn route(m: &Model, node: &str, to: &str) -> Option<Route> {
    let to: ipnet::IpNet = if to == "default" {
        "0.0.0.0/0".parse().unwrap()
    } else {
        to.parse().unwrap()
    };
    let id = RouteId {
        ns: Ns::parse(node),
        key: RouteKey::new(to, 0),
    };
    m.state.route.get(&id).cloned()
}

fn via(m: &Model, node: &str, to: &str) -> Option<IpAddr> {
    route(m, node, to).and_then(|r| r.via)
}

fn sysctl(m: &Model, node: &str, key: &str) -> Option<String> {
    let id = SysctlId {
        ns: Ns::parse(node),
        key: key.into(),
    };
    m.state
        .sysctl
        .get(&id)
        .map(|s| s.value.clone())
        .map(String::from)
}

/// The digests of what was applied are kept in each lab's records: written
/// object by object, they must be what hashing the whole text gave.
#[test]
fn digests_are_those_of_the_whole_text() {
    let m = model(
        "name: d\nnodes:\n  a: { interfaces: { eth0: { addresses: [10.1.0.2/24] } } }\n  b: { interfaces: { eth0: { addresses: [10.1.0.3/24] } } }\nbridges:\n  br0: { addresses: [10.1.0.1/24] }\nlinks:\n  - endpoints: [a:eth0, br0]\n  - endpoints: [b:eth0, br0]\nhost:\n  sysctls: { net.ipv4.ip_forward: 1 }\n  nat: { masquerade: [{ source: 10.1.0.0/24 }] }\n",
    );
    let mut text: std::collections::BTreeMap<String, String> = Default::default();
    for (id, res) in m.state.entries() {
        let t = text.entry(id.ns().label().to_string()).or_default();
        t.push_str(&serde_json::to_string(&(id, res)).unwrap());
        t.push('\n');
    }
    let whole: std::collections::BTreeMap<String, u64> = text
        .into_iter()
        .map(|(ns, t)| (ns, crate::model::names::fnv1a(&t)))
        .collect();
    assert_eq!(whole.len(), 3, "{whole:?}");
    assert_eq!(crate::model::digests(&m.state), whole);
}
