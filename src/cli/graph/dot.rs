//! Graphviz source of a `Diagram`. Every name is quoted and escaped (an
//! interface name may hold `"` or `\`), so any lab that validates draws.

use super::{bridge_name, diagram, Vertex};
use crate::model::Model;
use ipnet::IpNet;
use std::fmt::Write as _;

/// `s` as the inside of a DOT quoted string: `"` and `\` escaped, so a
/// name is always its own text, never an escape sequence or a closing quote.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A quoted DOT identifier.
fn quoted(s: &str) -> String {
    format!("\"{}\"", escape(s))
}

fn id(v: &Vertex) -> String {
    match v {
        Vertex::Node(n) => quoted(&format!("node:{n}")),
        Vertex::Bridge(b) => quoted(&format!("bridge:{b}")),
        Vertex::Host => quoted("host"),
    }
}

/// Label lines, escaped, joined by DOT's `sep` line break (`\n` centred,
/// `\l` left-aligned).
fn label(lines: &[String], sep: &str) -> String {
    lines
        .iter()
        .map(|l| escape(l))
        .collect::<Vec<_>>()
        .join(sep)
}

/// Graphviz source: left to right, nodes and host in clusters, bridges as
/// hexagons, the host (when a veth ends on it) as a house.
pub fn dot(m: &Model) -> String {
    let d = diagram(m);
    let mut o = String::new();
    let _ = writeln!(o, "graph {} {{", quoted(&d.lab));
    let _ = writeln!(
        o,
        "  graph [rankdir=LR, fontname=\"Helvetica\", label={}, labelloc=t, nodesep=0.3, ranksep=1.4, newrank=true];",
        quoted(&format!("lab {}", d.lab))
    );
    let _ = writeln!(
        o,
        "  node [fontname=\"Helvetica\", fontsize=11, style=\"filled\"];"
    );
    let _ = writeln!(o, "  edge [fontname=\"Helvetica\", fontsize=9];");
    let _ = writeln!(o, "  subgraph cluster_nodes {{");
    let _ = writeln!(o, "    label=\"nodes\"; style=\"rounded,dashed\";");
    for (n, extra) in &d.nodes {
        let mut lines = vec![n.clone()];
        lines.extend(extra.iter().cloned());
        let _ = writeln!(
            o,
            "    {} [shape=box, style=\"rounded,filled\", fillcolor=\"#fff3c4\", label=\"{}\"];",
            id(&Vertex::Node(n.clone())),
            label(&lines, "\\n")
        );
    }
    let _ = writeln!(o, "  }}");
    let _ = writeln!(o, "  subgraph cluster_host {{");
    let _ = writeln!(o, "    label=\"host\"; style=\"rounded,dashed\";");
    for (b, addrs) in &d.bridges {
        let mut lines = vec![bridge_name(b)];
        lines.extend(addrs.iter().map(IpNet::to_string));
        let _ = writeln!(
            o,
            "    {} [shape=hexagon, fillcolor=\"#d6e8ff\", label=\"{}\"];",
            id(&Vertex::Bridge(b.clone())),
            label(&lines, "\\n")
        );
    }
    if d.host {
        let _ = writeln!(
            o,
            "    \"host\" [shape=house, fillcolor=\"#e4e4e4\", label=\"host\"];"
        );
    }
    if !d.host_rules.is_empty() {
        let _ = writeln!(
            o,
            "    \"host-rules\" [shape=note, fillcolor=\"#f4f4f4\", fontsize=9, label=\"{}\\l\"];",
            label(&d.host_rules, "\\l")
        );
    }
    let _ = writeln!(o, "  }}");
    for (a, b) in &d.edges {
        let _ = writeln!(
            o,
            "  {} -- {} [label=\"{}\"];",
            id(&a.at),
            id(&b.at),
            label(&[a.text(), b.text()], "\\n")
        );
    }
    for dev in &d.devices {
        let dev_id = quoted(&format!("device:{}", dev.iface));
        let _ = writeln!(
            o,
            "  {dev_id} [shape=cds, fillcolor=\"#e2f3dc\", label=\"{}\"];",
            label(&dev.lines, "\\n")
        );
        let _ = writeln!(o, "  {} -- {dev_id};", id(&dev.at));
    }
    let _ = writeln!(o, "}}");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_backslashes_stay_text() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
        // A name ending in a backslash cannot eat the closing quote.
        assert_eq!(quoted("br\\"), r#""br\\""#);
        // `\n` written in a name is two characters, not a line break.
        assert_eq!(label(&["x\\n".into(), "y".into()], "\\l"), r"x\\n\ly");
    }
}
