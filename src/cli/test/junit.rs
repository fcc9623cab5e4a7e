//! `topo test --junit FILE`: the run as JUnit XML, the format CI systems
//! (Jenkins, GitLab, GitHub actions' test reporters) read. One testsuite
//! per lab, one testcase per check, a `<failure>` for each failed one.
//! tests/junit.xsd describes what is written here.

use crate::model::checks::Check;
use crate::probe::Outcome;
use std::fmt::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The XML document.
pub fn document(
    lab: &str,
    file: &str,
    checks: &[Check],
    outcomes: &[Outcome],
    took: Duration,
    started: SystemTime,
) -> String {
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    let total = outcomes.len();
    let secs = took.as_secs_f64();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"topo test\" tests=\"{total}\" failures=\"{failed}\" errors=\"0\" time=\"{secs:.3}\">"
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{total}\" failures=\"{failed}\" errors=\"0\" skipped=\"0\" time=\"{secs:.3}\" timestamp=\"{}\" file=\"{}\">",
        esc(lab),
        timestamp(started),
        esc(file)
    );
    for (c, o) in checks.iter().zip(outcomes) {
        let head = format!(
            "    <testcase name=\"{}\" classname=\"{}.{}\" time=\"{:.3}\"",
            esc(&c.name()),
            esc(lab),
            c.probe.kind(),
            o.time.as_secs_f64()
        );
        let at = format!("{file}:{}:{}", c.pos.line, c.pos.col);
        if o.passed {
            let _ = writeln!(x, "{head}>");
            let _ = writeln!(
                x,
                "      <system-out>{}</system-out>",
                text(&format!("{}\n{at}", o.happened))
            );
        } else {
            let _ = writeln!(x, "{head}>");
            let _ = writeln!(
                x,
                "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                esc(&format!("expected {}, got: {}", o.expected, o.happened)),
                c.probe.kind(),
                text(&format!(
                    "expected: {}\ngot: {}\ndeclared at {at}",
                    o.expected, o.happened
                ))
            );
        }
        let _ = writeln!(x, "    </testcase>");
    }
    x += "  </testsuite>\n</testsuites>\n";
    x
}

/// Text for an attribute (newlines kept as `&#10;`).
fn esc(s: &str) -> String {
    esc_in(s, true)
}

/// Text for an element's content.
fn text(s: &str) -> String {
    esc_in(s, false)
}

/// Text for an attribute or element: the five XML escapes, and no
/// control characters XML 1.0 forbids.
fn esc_in(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out += "&amp;",
            '<' => out += "&lt;",
            '>' => out += "&gt;",
            '"' => out += "&quot;",
            '\'' => out += "&apos;",
            '\n' if attr => out += "&#10;",
            '\n' => out.push('\n'),
            '\t' => out.push(' '),
            c if (c as u32) < 0x20 => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// ISO 8601 in UTC, to the second: `2026-12-01T10:00:00`.
fn timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_iso_8601() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00");
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096); // a leap day
        assert_eq!(timestamp(t), "2024-02-29T12:34:56");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("a<b & \"c\"\n"), "a&lt;b &amp; &quot;c&quot;&#10;");
    }
}
