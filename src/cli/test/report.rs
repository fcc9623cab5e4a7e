//! What `topo test` prints: one line per check and a summary for people,
//! or a JSON document (schemas/test.schema.json) for programs.

use crate::model::checks::{Check, Probe};
use crate::probe::Outcome;
use serde_json::{json, Value};
use std::time::Duration;

/// The version of the JSON document; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

/// `ok      ping red → blue (10.10.0.3): reply in 0.08 ms`, or
/// `FAILED  ping red → 10.9.9.9, expect fail: expected no reply, got …`.
pub fn line(file: &str, c: &Check, o: &Outcome, color: bool) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    if o.passed {
        format!("{}      {}: {}", paint("32", "ok"), c.name(), o.happened)
    } else {
        format!(
            "{}  {}: expected {}, got: {}  ({file}:{}:{})",
            paint("31;1", "FAILED"),
            c.name(),
            o.expected,
            o.happened,
            c.pos.line,
            c.pos.col
        )
    }
}

/// `test result: ok. 6 passed, 0 failed, in 0.05 s`.
pub fn summary(lab: &str, outcomes: &[Outcome], took: Duration) -> String {
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    let took = if took < Duration::from_millis(10) {
        format!("{:.2} ms", took.as_secs_f64() * 1000.0)
    } else if took < Duration::from_secs(1) {
        format!("{} ms", took.as_millis())
    } else {
        format!("{:.2} s", took.as_secs_f64())
    };
    format!(
        "\ntest result: {}. {} passed, {failed} failed, lab `{lab}`, in {took}",
        if failed == 0 { "ok" } else { "FAILED" },
        outcomes.len() - failed,
    )
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// The JSON document of a run.
pub fn json(
    lab: &str,
    file: &str,
    checks: &[Check],
    outcomes: &[Outcome],
    took: Duration,
) -> Value {
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    let list: Vec<Value> = checks
        .iter()
        .zip(outcomes)
        .map(|(c, o)| {
            let to = match &c.probe {
                Probe::Ping { to } => to.to_string(),
                Probe::Tcp { to, .. } | Probe::Udp { to, .. } => to.to_string(),
            };
            let listener = c.probe.listener().map(|l| {
                json!({
                    "namespace": l.ns.label(),
                    "address": l.addr.to_string(),
                    "sees": l.sees.map(|a| a.to_string()),
                    "forward_line": l.forward,
                })
            });
            json!({
                "name": c.name(),
                "kind": c.probe.kind(),
                "line": c.pos.line,
                "column": c.pos.col,
                "from": c.from.label(),
                "target": c.target,
                "to": to,
                "expect": if c.expect_ok { "ok" } else { "fail" },
                "timeout_ms": ms(c.timeout),
                "listener": listener,
                "passed": o.passed,
                "expected": o.expected,
                "happened": o.happened,
                "seen": o.seen.map(|a| a.ip().to_string()),
                "ms": ms(o.time),
            })
        })
        .collect();
    json!({
        "format_version": FORMAT_VERSION,
        "lab": lab,
        "file": file,
        "checks": list,
        "summary": {
            "total": outcomes.len(),
            "passed": outcomes.len() - failed,
            "failed": failed,
            "ms": ms(took),
        },
    })
}
