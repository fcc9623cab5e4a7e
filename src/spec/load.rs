//! Parsing YAML into `LabSpec`, turning parser errors into diagnostics.

use super::LabSpec;
use crate::diag::{did_you_mean, Diagnostic, Pos, Report};
use serde_saphyr::{budget::Budget, DuplicateKeyPolicy, Options};

/// The file could not be read as a lab.
#[derive(Debug, thiserror::Error)]
#[error("{file}: the lab file could not be parsed")]
pub struct LoadError {
    pub file: String,
    pub report: Report,
}

/// Parses the text of a lab file. `file` names it in diagnostics.
pub fn load_str(file: &str, text: &str) -> Result<LabSpec, LoadError> {
    let mut budget = Budget::default();
    budget.max_depth = 64;
    // Lab files merge a handful of anchors; thousands is a bomb, and the
    // default limit lets one burn a quarter second before it trips.
    budget.max_merge_keys = 1_000;
    let mut options = Options::default();
    options.strict_booleans = true;
    options.duplicate_keys = DuplicateKeyPolicy::Error;
    options.with_snippet = false;
    options.budget = Some(budget);
    // Aliases replay events; a lab file replays few. A tenth of the default
    // stops an alias bomb buffered inside one value ten times sooner.
    options.alias_limits.max_total_replayed_events = 100_000;
    serde_saphyr::from_str_with_options::<LabSpec>(text, options).map_err(|e| {
        let pos = e
            .location()
            .map(|l| Pos::from_location(&l))
            .unwrap_or_default();
        let diag = explain(pos, &e.to_string());
        LoadError {
            file: file.to_string(),
            report: Report {
                file: file.to_string(),
                source: text.to_string(),
                diagnostics: vec![diag],
            },
        }
    })
}

/// `L, column C` and nothing more.
fn is_line_column(s: &str) -> bool {
    s.split_once(", column ")
        .is_some_and(|(l, c)| l.parse::<u32>().is_ok() && c.parse::<u32>().is_ok())
}

/// Rewrites serde's messages into ones that say what to write instead.
fn explain(pos: Pos, raw: &str) -> Diagnostic {
    // The parser may append its own location; ours is shown separately.
    let msg = raw.lines().next().unwrap_or(raw).trim();
    let msg = msg.strip_prefix("error: ").unwrap_or(msg);
    // Drop "line L column C: ": the position is shown separately.
    let msg = match msg.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") => rest,
        _ => msg,
    };
    // A trailing " at line L column C" repeats the position; anything else
    // after " at line" is part of the message.
    let msg = match msg.rsplit_once(" at line ") {
        Some((head, tail)) if is_line_column(tail) => head,
        _ => msg,
    }
    .to_string();
    if let Some((field, expected)) = unknown_field(&msg) {
        let d = Diagnostic::error(pos, format!("unknown field `{field}`"));
        return match did_you_mean(&field, expected.iter().map(String::as_str)) {
            Some(s) => d.help(format!(
                "did you mean `{s}`? fields allowed here: {}",
                expected.join(", ")
            )),
            None => d.help(format!("fields allowed here: {}", expected.join(", "))),
        };
    }
    if let Some(key) = msg.strip_prefix("duplicate mapping key: ") {
        // The parser's tail ("set DuplicateKeyPolicy ...") is advice to programmers, not users.
        let key = key.split(", set ").next().unwrap_or(key);
        return Diagnostic::error(pos, format!("duplicate key `{key}`"))
            .help("each key may appear once in a mapping: remove or merge the repeated one");
    }
    let help = if msg.contains("duplicate") {
        "each key may appear once in a mapping: remove or rename the repeated one"
    } else if msg.contains("untagged enum NetworkMember") {
        "write a node name, or `{ node: NAME, address: A.B.C.D, interface: IFNAME }`"
    } else if msg.contains("untagged enum SysctlValue") {
        "write a number or a string, e.g. `net.ipv4.ip_forward: 1`"
    } else if ["u8", "u16", "u32", "u64", "i32", "i64"]
        .iter()
        .any(|t| msg == format!("invalid {t}"))
    {
        "write a whole number here, e.g. `mtu: 1500`"
    } else if msg.starts_with("invalid boolean") {
        "write `true` or `false`"
    } else if msg.contains("expected mapping") {
        "write a mapping here: `key: value` lines, or `{ key: value }`"
    } else if msg.contains("expected sequence") {
        "write a list here: `[a, b]`, or one `- item` per line"
    } else if msg.contains("expected string") {
        "write a single value here, not a list or a mapping"
    } else if msg.contains("invalid type") {
        "check the indentation and the value's type against docs/format.md"
    } else if msg.contains("missing field") {
        "add the field; docs/format.md lists what each section needs"
    } else {
        "see docs/format.md for the file format"
    };
    Diagnostic::error(pos, msg).help(help)
}

/// "unknown field `x`, expected one of a, b" → ("x", ["a", "b"]).
fn unknown_field(msg: &str) -> Option<(String, Vec<String>)> {
    let rest = msg.split("unknown field `").nth(1)?;
    let (field, rest) = rest.split_once('`')?;
    let list = rest.split_once("expected ").map_or("", |(_, l)| l);
    let list = list.strip_prefix("one of ").unwrap_or(list);
    let expected = list
        .split(", ")
        .map(|f| f.trim_matches(|c| c == '`' || c == ' ').to_string())
        .filter(|f| !f.is_empty() && f != "there are no fields")
        .collect();
    Some((field.to_string(), expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> Diagnostic {
        load_str("lab.yaml", text)
            .unwrap_err()
            .report
            .diagnostics
            .remove(0)
    }

    #[test]
    fn unknown_field_suggests_the_right_one() {
        let d = err(
            "name: x\nnodes:\n  red:\n    interfaces:\n      eth0: { adresses: [10.0.0.1/24] }\n",
        );
        assert_eq!(d.message, "unknown field `adresses`");
        assert!(
            d.help
                .clone()
                .unwrap()
                .starts_with("did you mean `addresses`?"),
            "{d:?}"
        );
        assert_eq!(d.pos.line, 5);
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let d = err("name: x\nnodes:\n  red: {}\n  red: {}\n");
        assert_eq!(d.message, "duplicate key `red`");
        assert_eq!(d.pos.line, 4);
    }

    #[test]
    fn wrong_type_names_the_line() {
        let d = err("name: x\nlinks: { endpoints: [a, b] }\n");
        assert_eq!(d.pos.line, 2, "{d:?}");
    }

    #[test]
    fn strict_booleans() {
        assert!(load_str("f", "name: x\nbridges:\n  b: { stp: yes }\n").is_err());
        assert!(load_str("f", "name: x\nbridges:\n  b: { stp: true }\n").is_ok());
    }
}
