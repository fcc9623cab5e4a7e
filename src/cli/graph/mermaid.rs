//! A Mermaid flowchart of a `Diagram`, with the same content as the DOT.
//! Labels are quoted, and every character Mermaid could read as markup
//! (quotes, `#` entity codes, HTML, markdown, the `|` of edge labels, `\`) is
//! written as an entity code, so a name is shown as it is.

use super::{bridge_name, diagram, Vertex};
use crate::model::Model;
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// `s` for the inside of a quoted Mermaid label.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '&' => out.push_str("#amp;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '|' => out.push_str("#124;"),
            '`' => out.push_str("#96;"),
            '\\' => out.push_str("#92;"),
            c => out.push(c),
        }
    }
    out
}

/// Label lines, escaped, joined by line breaks.
fn text(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| escape(l))
        .collect::<Vec<_>>()
        .join("<br/>")
}

/// A Mermaid flowchart with the same content as `dot`. Vertex ids are
/// generated (`n0`, `b0`), so names appear only inside labels.
pub fn mermaid(m: &Model) -> String {
    let d = diagram(m);
    let mut ids: BTreeMap<Vertex, String> = BTreeMap::new();
    for (i, n) in d.nodes.keys().enumerate() {
        ids.insert(Vertex::Node(n.clone()), format!("n{i}"));
    }
    for (i, b) in d.bridges.keys().enumerate() {
        ids.insert(Vertex::Bridge(b.clone()), format!("b{i}"));
    }
    ids.insert(Vertex::Host, "host".to_string());
    let mut o = String::new();
    let _ = writeln!(o, "flowchart LR");
    let _ = writeln!(o, "  subgraph nodes [nodes]");
    for (n, extra) in &d.nodes {
        let mut lines = vec![n.clone()];
        lines.extend(extra.iter().cloned());
        let _ = writeln!(
            o,
            "    {}(\"{}\")",
            ids[&Vertex::Node(n.clone())],
            text(&lines)
        );
    }
    let _ = writeln!(o, "  end");
    let _ = writeln!(o, "  subgraph hostns [host]");
    for (b, addrs) in &d.bridges {
        let mut lines = vec![bridge_name(b)];
        lines.extend(addrs.iter().map(IpNet::to_string));
        let _ = writeln!(
            o,
            "    {}{{{{\"{}\"}}}}",
            ids[&Vertex::Bridge(b.clone())],
            text(&lines)
        );
    }
    if d.host {
        let _ = writeln!(o, "    host[/\"host\"\\]");
    }
    if !d.host_rules.is_empty() {
        let _ = writeln!(o, "    hostrules[\"{}\"]", text(&d.host_rules));
    }
    let _ = writeln!(o, "  end");
    for (a, b) in &d.edges {
        let _ = writeln!(
            o,
            "  {} ---|\"{}\"| {}",
            ids[&a.at],
            text(&[a.text(), b.text()]),
            ids[&b.at]
        );
    }
    for (i, dev) in d.devices.iter().enumerate() {
        let _ = writeln!(o, "  d{i}>\"{}\"]", text(&dev.lines));
        let _ = writeln!(o, "  {} --- d{i}", ids[&dev.at]);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_entity_codes() {
        assert_eq!(escape(r#"a"b"#), "a#quot;b");
        assert_eq!(escape("<b>&#1;|`x`"), "#lt;b#gt;#amp;#35;1;#124;#96;x#96;");
        assert_eq!(escape("a\\b"), "a#92;b");
    }
}
