//! `topo graph` with the worst names a lab may legally use: interface and
//! bridge names may hold `"`, `\`, `<`, `#`, `|`, backticks and braces (only
//! `/`, `:`, whitespace and control characters are refused). The DOT must
//! still parse, with every edge between declared vertices and every label
//! the name itself; the Mermaid must hold no markup but its own.

use crate::common;

use common::{tempdir, text, topo_bin};
use std::process::Command;

const WORST: &str = r#"
name: worst
nodes:
  r.e_d-1:
    interfaces:
      'e"\#<|`&;{}': { addresses: [10.0.0.2/24] }
    routes: [ { to: 10.9.0.0/16, dev: 'e"\#<|`&;{}' } ]
bridges:
  'b"\<>&#|': { addresses: [10.0.0.1/24] }
links:
  - endpoints: ['r.e_d-1:e"\#<|`&;{}', 'b"\<>&#|:p\"']
  - endpoints: ['r.e_d-1:x\', 'host:h"\n']
host:
  sysctls: { net.ipv4.ip_forward: 1 }
  nat:
    masquerade: [ { source: 10.0.0.0/24, out: 'o"\l' } ]
"#;

/// The names above, as the user wrote them.
const NAMES: &[&str] = &[
    r#"e"\#<|`&;{}"#,
    r#"b"\<>&#|"#,
    r#"p\""#,
    r"x\",
    r#"h"\n"#,
    r#"o"\l"#,
];

fn graph(format: &str) -> String {
    let dir = tempdir::Dir::new();
    let file = dir.path().join("worst.yaml");
    std::fs::write(&file, WORST).expect("write lab");
    let out = Command::new(topo_bin())
        .args(["graph", "--format", format])
        .arg(&file)
        .output()
        .expect("run topo");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// The quoted strings of one DOT line, unescaped (`\n` and `\l` as line
/// breaks); an error when a quote is left open.
fn dot_strings(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        loop {
            match chars.next() {
                None => return Err(format!("unclosed quote in: {line}")),
                Some('"') => break,
                Some('\\') => match chars.next() {
                    Some('n' | 'l') => s.push('\n'),
                    Some(e) => s.push(e),
                    None => return Err(format!("dangling backslash in: {line}")),
                },
                Some(c) => s.push(c),
            }
        }
        out.push(s);
    }
    Ok(out)
}

#[test]
fn dot_with_the_worst_legal_names_parses_and_shows_them() {
    let dot = graph("dot");
    let mut declared = Vec::new();
    let mut edges = Vec::new();
    let mut labels = String::new();
    for line in dot.lines() {
        let strings = dot_strings(line).unwrap_or_else(|e| panic!("{e}\n{dot}"));
        let t = line.trim_start();
        if t.starts_with('"') && t.contains(" -- ") {
            edges.push((strings[0].clone(), strings[1].clone()));
        } else if t.starts_with('"') {
            declared.push(strings[0].clone());
        }
        if let Some(l) = strings.last() {
            labels += l;
            labels += "\n";
        }
    }
    assert_eq!(edges.len(), 2, "{dot}");
    for (a, b) in &edges {
        assert!(
            declared.contains(a) && declared.contains(b),
            "edge {a} -- {b} of undeclared vertices:\n{dot}"
        );
    }
    assert!(
        declared.contains(&r#"bridge:host:b"\<>&#|"#.to_string()),
        "{declared:?}"
    );
    for name in NAMES {
        assert!(
            labels.contains(name),
            "no `{name}` in the labels:\n{labels}\n{dot}"
        );
    }
}

/// Mermaid's entity codes, decoded.
fn decode(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('#') {
        out += &rest[..i];
        let (code, after) = rest[i + 1..]
            .split_once(';')
            .ok_or_else(|| format!("a bare `#` in {s}"))?;
        out.push(match code {
            "quot" => '"',
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            n => n
                .parse::<u32>()
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| format!("`#{code};` is no entity, in {s}"))?,
        });
        rest = after;
    }
    Ok(out + rest)
}

#[test]
fn mermaid_with_the_worst_legal_names_holds_no_stray_markup() {
    let m = graph("mermaid");
    let mut labels = String::new();
    for line in m.lines() {
        let quotes = line.matches('"').count();
        assert!(
            quotes == 0 || quotes == 2,
            "one label per line, quoted:\n{line}"
        );
        let Some(label) = line.split('"').nth(1) else {
            continue;
        };
        for bad in ['<', '>', '|', '`', '\\', '&'] {
            let cleaned = label.replace("<br/>", "");
            assert!(
                !cleaned.contains(bad),
                "raw `{bad}` in the label of:\n{line}"
            );
        }
        labels += &decode(&label.replace("<br/>", "\n")).unwrap_or_else(|e| panic!("{e}"));
        labels += "\n";
    }
    for name in NAMES {
        assert!(
            labels.contains(name),
            "no `{name}` in the labels:\n{labels}\n{m}"
        );
    }
}
