//! The parser's errors in the words of a lab file: what is wrong, where, and
//! what to write instead. No Rust type names, no parser APIs, no debug
//! structs: a limit is said as the limit it is, a type as the values it takes.

use super::devices::ID_VALUE;
use super::load::{budget, MAX_REPLAYED_EVENTS};
use super::scalars::{PORT_VALUE, PREFIXES, SYSCTL_VALUE};
use crate::diag::{did_you_mean, Diagnostic, Pos};
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::Error;

/// The diagnostic for a parser error `e` at `pos` in `text`.
pub fn explain(e: &Error, pos: Pos, text: &str) -> Diagnostic {
    let raw = e.to_string();
    // Errors met while replaying an alias end in "(defined at ...) (used at ...)".
    let tail = raw
        .lines()
        .next()
        .and_then(|l| l.find(" (defined at ").map(|i| l[i..].to_string()))
        .unwrap_or_default();
    let mut root = e;
    while let Error::AliasError { error, .. } | Error::WithSnippet { error, .. } = root {
        root = error;
    }
    let found = match root {
        Error::Budget { breach, .. } => Some(breached(breach)),
        Error::AliasReplayLimitExceeded { .. } => Some((
            format!("the file's aliases expand too far: replaying them takes more than {MAX_REPLAYED_EVENTS} YAML events"),
            "a lab reuses an anchor a few times; aliases of aliases that multiply like this are an alias bomb".to_string(),
        )),
        Error::MultipleDocuments { .. } => return second_document(pos, text),
        Error::Eof { .. } if !has_content(text) => {
            return Diagnostic::error(pos, "the file is empty: a lab file needs at least `name:`")
                .help("start with `name: lab1`; docs/format.md describes the rest");
        }
        _ => None,
    };
    match found {
        Some((msg, help)) => Diagnostic::error(pos, msg + &tail).help(help),
        None => from_message(pos, &raw),
    }
}

/// A limit of `budget()` that the file went past, as (message, help).
fn breached(b: &BudgetBreach) -> (String, String) {
    let limits = budget();
    let too_large = "the file is too large";
    let split = "split the lab into smaller labs, one file each";
    match b {
        BudgetBreach::Nodes { .. } => (
            format!(
                "{too_large}: it has more than {} YAML nodes (every key, value, list and mapping counts as one)",
                limits.max_nodes
            ),
            format!("that is about 120 000 bare nodes or 50 000 links; {split}"),
        ),
        BudgetBreach::Events { .. } => (
            format!("{too_large}: reading it takes more than {} YAML events", limits.max_events),
            split.to_string(),
        ),
        BudgetBreach::ScalarBytes { .. } => (
            format!(
                "{too_large}: its values hold more than {} MiB of text",
                limits.max_total_scalar_bytes >> 20
            ),
            split.to_string(),
        ),
        BudgetBreach::Depth { .. } => (
            format!(
                "the file nests lists and mappings more than {} levels deep",
                limits.max_depth
            ),
            "a lab file needs about 6 levels: look for brackets that never close, or a value nested by mistake".to_string(),
        ),
        BudgetBreach::Aliases { .. } => (
            format!("the file uses more than {} aliases (`*name`)", limits.max_aliases),
            "reuse settings through fewer aliases, or write them out".to_string(),
        ),
        BudgetBreach::Anchors { .. } => (
            format!("the file defines more than {} anchors (`&name`)", limits.max_anchors),
            "define fewer anchors".to_string(),
        ),
        BudgetBreach::MergeKeys { .. } => (
            format!(
                "the file uses more than {} merge keys (`<<: *name`)",
                limits.max_merge_keys
            ),
            "a lab merges a handful of anchors; merges that multiply like this are a merge-key bomb".to_string(),
        ),
        BudgetBreach::AliasAnchorRatio { aliases, anchors } => (
            format!(
                "the file uses {aliases} aliases for {anchors} anchors, more than {} uses per anchor",
                limits.alias_anchor_ratio_multiplier
            ),
            "aliases that multiply like this are an alias bomb; write the repeated settings out".to_string(),
        ),
        BudgetBreach::Documents { .. } => (
            format!("the file holds more than {} YAML documents", limits.max_documents),
            "a lab file holds one YAML document".to_string(),
        ),
        BudgetBreach::SequenceUnbalanced => (
            "the file's lists and mappings do not close as they open".to_string(),
            "look for a `]` or `}` without its opening bracket".to_string(),
        ),
        BudgetBreach::RecordedAnchorEvents { .. } | BudgetBreach::RecordedAnchorBytes { .. } => (
            "the file's anchors hold too much to reuse".to_string(),
            "anchor smaller pieces, or write the settings out".to_string(),
        ),
        _ => (
            "the file goes past a limit of the YAML reader".to_string(),
            split.to_string(),
        ),
    }
}

/// Whether `text` holds anything but blank lines and comments.
fn has_content(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('#')
    })
}

/// A second `---` document; `pos` is where the parser found its content.
/// The diagnostic points at the `---` line that starts it, when there is one.
fn second_document(pos: Pos, text: &str) -> Diagnostic {
    let mut at = pos;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let n = i as u32 + 1;
        if n > pos.line {
            break;
        }
        if line.starts_with("---") {
            at = Pos {
                line: n,
                col: 1,
                offset,
                len: 3,
            };
        }
        offset += line.len();
    }
    Diagnostic::error(
        at,
        format!(
            "a lab file holds one YAML document; found a second at line {}",
            at.line
        ),
    )
    .help("remove this `---` and what follows it, or put the second lab in a file of its own")
}

/// `L, column C` and nothing more.
fn is_line_column(s: &str) -> bool {
    s.split_once(", column ")
        .is_some_and(|(l, c)| l.parse::<u32>().is_ok() && c.parse::<u32>().is_ok())
}

/// The range of an integer type, as a person would say it.
fn integer_range(ty: &str) -> Option<String> {
    let (lo, hi) = match ty {
        "u8" => (0, u8::MAX as i128),
        "u16" => (0, u16::MAX as i128),
        "u32" => (0, u32::MAX as i128),
        "u64" => (0, u64::MAX as i128),
        "i32" => (i32::MIN as i128, i32::MAX as i128),
        "i64" => (i64::MIN as i128, i64::MAX as i128),
        _ => return None,
    };
    Some(format!("expected a whole number from {lo} to {hi}"))
}

/// `\u{0}` (Rust's escape, in the parser's message) → `U+0000`.
fn unicode_escapes(msg: &str) -> String {
    let mut out = String::new();
    let mut rest = msg;
    while let Some(i) = rest.find("\\u{") {
        out += &rest[..i];
        let after = &rest[i + 3..];
        match after.split_once('}') {
            Some((hex, more)) if u32::from_str_radix(hex, 16).is_ok() => {
                out += &format!("U+{:04X}", u32::from_str_radix(hex, 16).unwrap_or(0));
                rest = more;
            }
            _ => {
                out += "\\u{";
                rest = after;
            }
        }
    }
    out + rest
}

/// Rewrites serde's and the parser's messages into ones that say what to
/// write instead.
fn from_message(pos: Pos, raw: &str) -> Diagnostic {
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
    };
    let mut msg = unicode_escapes(msg);
    if let Some((field, expected)) = unknown_field(&msg) {
        let d = Diagnostic::error(pos, format!("unknown field `{field}`"));
        // At the top level, extension keys are the way to keep other things.
        let extension = if expected.iter().eq(super::top::FIELDS.iter()) {
            format!(
                "; keys starting with `{}` are ignored",
                super::top::EXTENSION_PREFIX
            )
        } else {
            String::new()
        };
        return match did_you_mean(&field, expected.iter().map(String::as_str)) {
            Some(s) => d.help(format!(
                "did you mean `{s}`? fields allowed here: {}{extension}",
                expected.join(", ")
            )),
            None => d.help(format!(
                "fields allowed here: {}{extension}",
                expected.join(", ")
            )),
        };
    }
    if let Some(key) = msg.strip_prefix("duplicate mapping key: ") {
        // The parser's tail ("set DuplicateKeyPolicy ...") is advice to programmers, not users.
        let key = key.split(", set ").next().unwrap_or(key);
        return Diagnostic::error(pos, format!("duplicate key `{key}`"))
            .help("each key may appear once in a mapping: remove or merge the repeated one");
    }
    if let Some(range) = msg.strip_prefix("invalid ").and_then(integer_range) {
        msg = range;
    }
    for (parser, ours) in [
        ("expected mapping start", "expected a mapping"),
        ("expected sequence start", "expected a list"),
        ("expected string scalar", "expected a single value"),
    ] {
        if let Some(rest) = msg.strip_prefix(parser) {
            msg = format!("{ours}{rest}");
        }
    }
    if let Some(rest) = msg.strip_prefix("non-finite float ") {
        let value = rest.split(' ').next().unwrap_or(rest);
        msg = format!("the number {value} is too large");
    }
    let help = if msg.contains("duplicate") {
        "each key may appear once in a mapping: remove or rename the repeated one"
    } else if msg.contains("untagged enum NetworkMember") {
        "write a node name, or `{ node: NAME, address: A.B.C.D, interface: IFNAME }`"
    } else if msg.starts_with(SYSCTL_VALUE) {
        "write a number or a string, e.g. `net.ipv4.ip_forward: 1` (`1` for on, `0` for off)"
    } else if msg.starts_with(crate::spec::LEASE_TIME) {
        "write e.g. `lease: 1h`, `lease: 3600` or `lease: infinite`"
    } else if msg.starts_with(PREFIXES) {
        "write one prefix, `exclude: 10.0.0.0/8`, or a list, `exclude: [10.0.0.0/8, 192.168.0.0/16]` (`[]` for none)"
    } else if msg.starts_with(ID_VALUE) {
        "write e.g. `owner: 1000` or `owner: alice`, `group: kvm`"
    } else if msg.starts_with(PORT_VALUE) {
        "write e.g. `port: 80`, or a range in quotes, `port: \"5000-5010\"`"
    } else if msg.starts_with("expected a whole number") {
        "write a whole number here, e.g. `mtu: 1500`"
    } else if msg.starts_with("the number ") {
        "write a whole number, or put the value in quotes to pass it as text"
    } else if msg.starts_with("invalid boolean") {
        "write `true` or `false`"
    } else if msg.contains("expected a mapping") {
        "write a mapping here: `key: value` lines, or `{ key: value }`"
    } else if msg.contains("expected a list") {
        "write a list here: `[a, b]`, or one `- item` per line"
    } else if msg.contains("expected a single value") {
        "write a single value here, not a list or a mapping"
    } else if msg.contains("tabs disallowed") {
        "indent with spaces: YAML does not allow tabs in indentation"
    } else if msg.contains("unknown anchor") {
        "define the anchor (`&name`) before its first use; top-level keys starting with `x-` can hold shared settings"
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
