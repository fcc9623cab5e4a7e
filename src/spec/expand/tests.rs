//! Expansion: what ranges stand for, and every mistake at the line and
//! column the user wrote.

use crate::diag::Diagnostic;
use crate::spec::{load_str, LabSpec, NetworkMember};

fn lab(text: &str) -> LabSpec {
    load_str("lab.yaml", text).unwrap_or_else(|e| panic!("{}", e.report.render(false)))
}

fn errors(text: &str) -> Vec<Diagnostic> {
    load_str("lab.yaml", text).unwrap_err().report.diagnostics
}

/// The text's position of `needle` (1-based line and column).
fn at(text: &str, needle: &str) -> (u32, u32) {
    let off = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in text"));
    let line = text[..off].matches('\n').count() as u32 + 1;
    let col = (off - text[..off].rfind('\n').map_or(0, |i| i + 1)) as u32 + 1;
    (line, col)
}

#[test]
fn node_and_bridge_ranges_are_entries_with_the_written_span() {
    let text = "name: x\nnodes:\n  \"h[1-3]\": { sysctls: { net.ipv4.ip_forward: 1 } }\nbridges:\n  \"s[08-10]\": {}\n";
    let s = lab(text);
    assert_eq!(s.nodes.keys().collect::<Vec<_>>(), ["h1", "h2", "h3"]);
    assert_eq!(s.bridges.keys().collect::<Vec<_>>(), ["s08", "s09", "s10"]);
    for n in s.nodes.values() {
        assert_eq!(crate::diag::Pos::of(n).line, 3);
        assert_eq!(n.value.sysctls.len(), 1);
    }
}

#[test]
fn a_range_against_one_end_fans_out_and_two_pair_up() {
    let text = "name: x\nlinks:\n  - endpoints: [\"h[1-3]:eth0\", s1]\n  - endpoints: [\"r[1-2]:eth1\", \"r[2-3]:eth2\"]\n    mtu: 1400\n";
    let s = lab(text);
    let ends: Vec<(String, String, u32)> = s
        .links
        .iter()
        .map(|l| {
            let e = &l.value.endpoints;
            let line = crate::diag::Pos::of(l).line;
            (e[0].value.clone(), e[1].value.clone(), line)
        })
        .collect();
    let want = [
        ("h1:eth0", "s1", 3),
        ("h2:eth0", "s1", 3),
        ("h3:eth0", "s1", 3),
        ("r1:eth1", "r2:eth2", 4),
        ("r2:eth1", "r3:eth2", 4),
    ];
    let want: Vec<(String, String, u32)> = want
        .iter()
        .map(|(a, b, l)| (a.to_string(), b.to_string(), *l))
        .collect();
    assert_eq!(ends, want);
    assert!(s.links[4].value.mtu.is_some());
    assert_eq!(crate::diag::Pos::of(&s.links[1].value.endpoints[0]).line, 3);
}

#[test]
fn members_interfaces_and_pingall_take_ranges() {
    let text = "name: x\nnodes:\n  r1: { interfaces: { \"eth[1-2]\": { mtu: 9000 } } }\nnetworks:\n  lan: { subnet: 10.0.0.0/24, nodes: [\"h[1-2]\", { node: \"g[1-2]\", interface: e1 }] }\ntests:\n  - { pingall: [\"h[1-2]\", r1] }\n";
    let s = lab(text);
    let ifs: Vec<&String> = s.nodes["r1"].value.interfaces.keys().collect();
    assert_eq!(ifs, ["eth1", "eth2"]);
    let members: Vec<String> = s.networks["lan"]
        .value
        .nodes
        .iter()
        .map(|m| match &m.value {
            NetworkMember::Name(n) => n.clone(),
            NetworkMember::Detailed(d) => format!("{}:{}", d.node, d.interface.clone().unwrap()),
        })
        .collect();
    assert_eq!(members, ["h1", "h2", "g1:e1", "g2:e1"]);
    let tests = s.tests.unwrap();
    let all: Vec<&String> = tests.value.checks()[0]
        .value
        .pingall
        .as_ref()
        .unwrap()
        .value
        .iter()
        .map(|n| &n.value)
        .collect();
    assert_eq!(all, ["h1", "h2", "r1"]);
}

/// Every mistake expansion finds, each at the position of what was written.
#[test]
fn every_expansion_error_points_at_what_was_written() {
    // (lab text, the text the error must point at, words of its message)
    let cases: &[(&str, &str, &str)] = &[
        ("name: x\nnodes:\n  \"h[1-\": {}\n", "{}", "`h[1-`: the range is not closed"),
        ("name: x\nbridges:\n  \"s[3-1]\": {}\n", "{}", "counts down"),
        (
            "name: x\nnodes:\n  r1:\n    interfaces:\n      \"e[a-b]\": { mtu: 1400 }\n",
            "{ mtu",
            "with whole numbers",
        ),
        (
            "name: x\nhost:\n  interfaces:\n    \"v[1-2][1-2]\": { mtu: 1400 }\n",
            "{ mtu",
            "more than one range",
        ),
        (
            "name: x\nnodes:\n  \"h[1-3]\": {}\n  h2: { role: host }\n",
            "{ role",
            "node `h2` is already declared at line 3",
        ),
        (
            "name: x\nnodes:\n  h2: {}\n  \"h[1-3]\": { role: host }\n",
            "{ role",
            "node `h2` (from `h[1-3]`) is already declared at line 3",
        ),
        (
            "name: x\nlinks:\n  - endpoints: [a, \"h[1-\"]\n",
            "\"h[1-\"",
            "not closed",
        ),
        (
            "name: x\nlinks:\n  - endpoints: [\"h[1-3]:e0\", \"s[1-2]\"]\n",
            "endpoints",
            "(3 names) and `s[1-2]` (2 names)",
        ),
        (
            "name: x\nnetworks:\n  n: { subnet: 10.0.0.0/24, nodes: [\"h[1-x]\"] }\n",
            "\"h[1-x]\"",
            "whole numbers",
        ),
        (
            "name: x\nnetworks:\n  n:\n    subnet: 10.0.0.0/24\n    nodes:\n      - { node: \"h[1-2]\", address: 10.0.0.9 }\n",
            "{ node",
            "address 10.0.0.9 can be given to one node only",
        ),
        (
            "name: x\ntests:\n  - { pingall: [a, \"b[9-1]\"] }\n",
            "\"b[9-1]\"",
            "counts down",
        ),
        (
            "name: x\nnodes:\n  \"h[1-5000]\": {}\n",
            "{}",
            "at most 4096",
        ),
    ];
    for (text, needle, words) in cases {
        let d = errors(text);
        assert_eq!(d.len(), 1, "{text}: {d:?}");
        assert!(d[0].message.contains(words), "{text}: {}", d[0].message);
        assert!(d[0].help.is_some(), "{text}");
        assert_eq!(
            (d[0].pos.line, d[0].pos.col),
            at(text, needle),
            "{text}: {d:?}"
        );
    }
}

#[test]
fn all_errors_come_at_once_in_file_order() {
    let text = "name: x\nnodes:\n  \"b[2-1]\": {}\n  \"a[1-\": {}\nlinks:\n  - endpoints: [\"x[1-2]:e\", \"y[1-3]:e\"]\n";
    let lines: Vec<u32> = errors(text).iter().map(|d| d.pos.line).collect();
    assert_eq!(lines, [3, 4, 6]);
}
