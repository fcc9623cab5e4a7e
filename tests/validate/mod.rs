//! Validation of lab files without a kernel: parse with `load_str`, resolve
//! with `model::build`, and check every diagnostic's message, line and help.
//!
//! The helpers the theme files share are here; the tests are in the
//! submodules.

mod addresses;
mod defaults;
mod example;
mod ipv6_mtu;
mod links;
mod names;
mod parse;
mod routes;

use std::net::IpAddr;
use topo::diag::{Diagnostic, Level};
use topo::kinds::{
    AddressId, Bridge, BridgeId, Link, LinkId, Netns, NetnsId, Route, RouteId, Sysctl, SysctlId,
    VethId,
};
use topo::model::{build, Id, IfRef, Mac, Ns, Prior, Res, RouteKey, Scope, State, Validated};
use topo::spec::{load_str, LabSpec};

// ---------------------------------------------------------------- helpers

fn parse(text: &str) -> LabSpec {
    match load_str("lab.yaml", text) {
        Ok(s) => s,
        Err(e) => panic!("expected the file to parse:\n{}", e.report.render(false)),
    }
}

fn valid_with(text: &str, prior: &Prior) -> Validated {
    match build(&parse(text), prior) {
        Ok(v) => v,
        Err(ds) => panic!("expected the lab to be valid, got {ds:#?}"),
    }
}

fn valid(text: &str) -> Validated {
    valid_with(text, &Default::default())
}

/// The one diagnostic the parser gives for `text`.
fn load_error(text: &str) -> Diagnostic {
    let e = load_str("lab.yaml", text).expect_err("expected a parse error");
    assert_eq!(e.report.diagnostics.len(), 1, "{:#?}", e.report.diagnostics);
    e.report.diagnostics[0].clone()
}

/// All errors of a file that parses but does not validate.
fn errors(text: &str) -> Vec<Diagnostic> {
    let ds = build(&parse(text), &Default::default()).expect_err("expected validation errors");
    ds.into_iter().filter(|d| d.level == Level::Error).collect()
}

/// The single warning of a valid `text`.
fn the_warning(text: &str) -> Diagnostic {
    let v = valid(text);
    assert_eq!(
        v.warnings.len(),
        1,
        "expected exactly one warning, got {:#?}",
        v.warnings
    );
    v.warnings[0].clone()
}

/// The single validation error of `text`.
fn the_error(text: &str) -> Diagnostic {
    let mut ds = errors(text);
    assert_eq!(ds.len(), 1, "expected exactly one error, got {ds:#?}");
    ds.remove(0)
}

/// The 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> u32 {
    let i = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not in the text"));
    i as u32 + 1
}

/// Asserts message fragments, the line, and that a help line is given;
/// returns the help for further checks.
fn check(d: &Diagnostic, fragments: &[&str], line: u32) -> String {
    for f in fragments {
        assert!(d.message.contains(f), "message {:?} lacks {f:?}", d.message);
    }
    assert_eq!(d.pos.line, line, "wrong line for {d:?}");
    assert!(d.pos.col > 0, "no column for {d:?}");
    let help = d
        .help
        .clone()
        .unwrap_or_else(|| panic!("no help for {d:?}"));
    assert!(!help.trim().is_empty());
    help
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn node_if(node: &str, name: &str) -> IfRef {
    IfRef::new(Ns::Node(node.into()), name)
}

fn host_if(name: &str) -> IfRef {
    IfRef::new(Ns::Host, name)
}

/// The addresses (with prefix) the state puts on `link`.
/// The addresses the file gives `link` (without the link-local address
/// topo generates for labs with IPv6).
fn addresses(state: &State, link: &IfRef) -> Vec<String> {
    state
        .address
        .keys()
        .filter(|id| id.link == *link)
        .map(|id| id.address)
        .filter(|a| !matches!(a, ipnet::IpNet::V6(v) if v.addr().is_unicast_link_local()))
        .map(|a| a.to_string())
        .collect()
}

fn link_res(state: &State, link: &IfRef) -> Link {
    state
        .link
        .get(&LinkId { link: link.clone() })
        .unwrap_or_else(|| panic!("no link {link}"))
        .clone()
}

fn master(state: &State, link: &IfRef) -> Option<String> {
    link_res(state, link).master.map(String::from)
}

/// The other end of the veth that `link` belongs to.
fn peer(state: &State, link: &IfRef) -> IfRef {
    state
        .veth
        .iter()
        .find_map(|(id, v)| {
            if id.link == *link {
                Some(v.peer.clone())
            } else if v.peer == *link {
                Some(id.link.clone())
            } else {
                None
            }
        })
        .unwrap_or_else(|| panic!("{link} is in no veth pair"))
}

fn route(state: &State, ns: Ns, to: &str, metric: u32) -> Option<Res> {
    state.get(&Id::Route(RouteId {
        ns,
        key: RouteKey {
            to: to.parse().unwrap(),
            metric,
        },
    }))
}

fn default_via(gw: &str, dev: Option<&str>) -> Res {
    Res::Route(Route {
        via: Some(ip(gw)),
        dev: dev.map(Into::into),
        scope: Scope::Global,
        derived: false,
    })
}
