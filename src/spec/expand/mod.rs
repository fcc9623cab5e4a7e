//! Ranges, expanded right after parsing and before anything else reads the
//! file (validation, and the cut into hosts' shares): `h[1-64]` under
//! `nodes:` or `bridges:` is 64 entries, an endpoint with a range is one
//! link per name, and network members and `pingall:` lists take ranges
//! too. Every expanded entry keeps the span of the one written, so each
//! later diagnostic points at the line the user wrote, with the expanded
//! name in its message.

mod range;

pub use range::{names, Names, RANGE_MAX};

use super::{LabSpec, LinkSpec, MemberSpec, NetworkMember, S};
use crate::diag::{Diagnostic, Pos};
use std::collections::BTreeMap;

const RANGE_HELP: &str = "a range is written `[FIRST-LAST]`, both ends included: `h[1-64]`";

/// Expands every range of `spec` in place; the errors, in file order.
pub fn expand(spec: &mut LabSpec) -> Vec<Diagnostic> {
    let mut x = Expander::default();
    for node in spec.nodes.values_mut() {
        x.map(&mut node.value.interfaces, "interface");
        x.map(&mut node.value.bridges, "bridge");
    }
    if let Some(h) = &mut spec.host {
        x.map(&mut h.value.interfaces, "interface");
    }
    x.map(&mut spec.nodes, "node");
    x.map(&mut spec.bridges, "bridge");
    spec.links = std::mem::take(&mut spec.links)
        .into_iter()
        .flat_map(|l| x.link(l))
        .collect();
    for net in spec.networks.values_mut() {
        let members = std::mem::take(&mut net.value.nodes);
        net.value.nodes = members.into_iter().flat_map(|m| x.member(m)).collect();
    }
    if let Some(tests) = &mut spec.tests {
        for c in tests.value.checks_mut() {
            if let Some(list) = &mut c.value.pingall {
                let written = std::mem::take(&mut list.value);
                list.value = written.into_iter().flat_map(|n| x.each(n)).collect();
            }
        }
    }
    x.diags.sort_by_key(|d| (d.pos.line, d.pos.col));
    x.diags
}

#[derive(Default)]
struct Expander {
    diags: Vec<Diagnostic>,
}

/// `text` with `name` in place of the range, for endpoints and members.
fn respan(at: &S<String>, name: String) -> S<String> {
    S::new(name, at.referenced, at.defined)
}

impl Expander {
    fn err(&mut self, pos: Pos, msg: String, help: &str) {
        self.diags.push(Diagnostic::error(pos, msg).help(help));
    }

    /// The names `text` stands for; none (and an error at `pos`) when its
    /// range is malformed.
    fn names(&mut self, text: &str, pos: Pos) -> Vec<String> {
        match names(text) {
            Ok(n) => n,
            Err(e) => {
                self.err(pos, e, RANGE_HELP);
                Vec::new()
            }
        }
    }

    /// A map whose keys may be ranges. Expanded keys that meet an entry
    /// of the same name are reported at the later of the two.
    fn map<T: Clone>(&mut self, map: &mut BTreeMap<String, S<T>>, what: &str) {
        if !map.keys().any(|k| k.contains('[') || k.contains(']')) {
            return;
        }
        let mut written: Vec<(String, S<T>)> = std::mem::take(map).into_iter().collect();
        written.sort_by_key(|(_, v)| {
            let p = Pos::of(v);
            (p.line, p.col)
        });
        for (key, value) in written {
            let pos = Pos::of(&value);
            for name in self.names(&key, pos) {
                if let Some(prev) = map.get(&name) {
                    let line = Pos::of(prev).line;
                    let from = if name == key {
                        String::new()
                    } else {
                        format!(" (from `{key}`)")
                    };
                    self.err(
                        pos,
                        format!("{what} `{name}`{from} is already declared at line {line}"),
                        "declare each name once: make the range stop short of it, or remove the other entry",
                    );
                    continue;
                }
                map.insert(name, value.clone());
            }
        }
    }

    /// A link, or one link per name of its endpoints' ranges.
    fn link(&mut self, link: S<LinkSpec>) -> Vec<S<LinkSpec>> {
        let eps = &link.value.endpoints;
        if eps.len() != 2 || !eps.iter().any(|e| e.value.contains(['[', ']'])) {
            return vec![link];
        }
        let parsed: Vec<Option<Names>> = eps
            .iter()
            .map(|e| {
                Names::parse(&e.value).unwrap_or_else(|msg| {
                    self.err(Pos::of(e), msg, RANGE_HELP);
                    None
                })
            })
            .collect();
        let written = |i: usize| vec![eps[i].value.clone()];
        let (a, b): (Vec<String>, Vec<String>) = match (&parsed[0], &parsed[1]) {
            (None, None) => return Vec::new(), // a malformed range, reported
            (Some(a), None) => (a.names().collect(), written(1)),
            (None, Some(b)) => (written(0), b.names().collect()),
            (Some(a), Some(b)) if a.len() == b.len() => (a.names().collect(), b.names().collect()),
            (Some(a), Some(b)) => {
                self.err(
                    Pos::of(&link),
                    format!(
                        "the endpoints `{}` ({} names) and `{}` ({} names) pair element by element, and their ranges differ in length",
                        eps[0].value,
                        a.len(),
                        eps[1].value,
                        b.len()
                    ),
                    "give both ranges the same length, or write one end without a range to link every name to it",
                );
                return Vec::new();
            }
        };
        let n = a.len().max(b.len());
        (0..n)
            .map(|i| {
                let mut l = link.clone();
                let pick = |v: &[String]| v[if v.len() == 1 { 0 } else { i }].clone();
                l.value.endpoints = vec![
                    respan(&link.value.endpoints[0], pick(&a)),
                    respan(&link.value.endpoints[1], pick(&b)),
                ];
                l
            })
            .collect()
    }

    /// A network member, or one per name of its range.
    fn member(&mut self, m: S<NetworkMember>) -> Vec<S<NetworkMember>> {
        let pos = Pos::of(&m);
        let node = match &m.value {
            NetworkMember::Name(n) => n,
            NetworkMember::Detailed(d) => &d.node,
        };
        if !node.contains(['[', ']']) {
            return vec![m];
        }
        if let NetworkMember::Detailed(MemberSpec {
            address: Some(a), ..
        }) = &m.value
        {
            self.err(
                pos,
                format!("`{node}` is a range, and address {a} can be given to one node only"),
                "leave `address:` out to have one allocated for each, or write the members one by one",
            );
            return Vec::new();
        }
        let names = self.names(&node.clone(), pos);
        names
            .into_iter()
            .map(|n| {
                let value = match &m.value {
                    NetworkMember::Name(_) => NetworkMember::Name(n),
                    NetworkMember::Detailed(d) => NetworkMember::Detailed(MemberSpec {
                        node: n,
                        ..d.clone()
                    }),
                };
                S::new(value, m.referenced, m.defined)
            })
            .collect()
    }

    /// One name of a list, or its range's.
    fn each(&mut self, s: S<String>) -> Vec<S<String>> {
        let names = self.names(&s.value, Pos::of(&s));
        names.into_iter().map(|n| respan(&s, n)).collect()
    }
}

#[cfg(test)]
mod tests;
