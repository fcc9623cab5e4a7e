//! Bad input, end to end: every file under tests/corpus/ goes through
//! `topo validate` as a subprocess. Each file's first line says what must
//! happen: `# expect: TEXT`. TEXT is a piece of the error message (exit code 1,
//! with a `file:line:col` location), or, starting with `valid lab`, a piece of
//! the success line (exit code 0). Whatever the input, topo must not panic:
//! never exit code 101, never "panicked" on stderr, and never take long.
//!
//! Inputs too big to commit (10 000 nodes) are generated here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn topo_validate(file: &Path) -> (Output, Duration) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_topo"))
        .arg("validate")
        .arg(file)
        .env_remove("TOPO_LOG")
        .output()
        .expect("run topo");
    (out, start.elapsed())
}

/// Whether `s` holds `NAME:LINE:COL` for the file `name`, with LINE, COL > 0.
fn has_location(s: &str, name: &str) -> bool {
    s.match_indices(&format!("{name}:")).any(|(i, m)| {
        let mut parts = s[i + m.len()..].splitn(3, ':');
        let num = |p: Option<&str>| {
            p.is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) && p != "0")
        };
        num(parts.next()) && num(parts.next())
    })
}

/// Where the message says the mistake is (`× NAME:L:C: ...`) and where the
/// excerpt under it is (`╭─[NAME:L:C]`) must agree: a different place
/// when they do not.
fn underline_elsewhere(stderr: &str, name: &str) -> Option<String> {
    let said = stderr
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(&format!("× {name}:")))?;
    let said: Vec<&str> = said.splitn(3, ':').take(2).collect();
    let shown = stderr
        .lines()
        .find_map(|l| l.split_once(&format!("╭─[{name}:")).map(|(_, r)| r))?;
    let shown: Vec<&str> = shown.trim_end_matches(']').splitn(2, ':').collect();
    (said != shown).then(|| format!("the message says {said:?}, the excerpt shows {shown:?}"))
}

/// Runs one case; returns a description of what is wrong, if anything.
fn check(file: &Path, expect: &str) -> Option<String> {
    let (out, took) = topo_validate(file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    let name = file.to_string_lossy();
    let mut wrong = Vec::new();
    if code == Some(101) || stderr.contains("panicked") {
        wrong.push("topo panicked".to_string());
    }
    if took > Duration::from_secs(20) {
        wrong.push(format!("took {took:?}"));
    }
    if expect.starts_with("valid lab") {
        if code != Some(0) {
            wrong.push(format!("exit code {code:?}, want 0"));
        }
        if !stdout.contains(expect) {
            wrong.push(format!("stdout lacks `{expect}`"));
        }
    } else {
        if code != Some(1) {
            wrong.push(format!("exit code {code:?}, want 1"));
        }
        if !stderr.contains(expect) {
            wrong.push(format!("stderr lacks `{expect}`"));
        }
        if !has_location(&stderr, &name) {
            wrong.push("stderr has no file:line:col".to_string());
        }
        if let Some(w) = underline_elsewhere(&stderr, &name) {
            wrong.push(w);
        }
    }
    (!wrong.is_empty()).then(|| {
        format!(
            "{name}: {}\n--- stdout\n{stdout}--- stderr\n{}\n",
            wrong.join("; "),
            stderr.chars().take(3000).collect::<String>()
        )
    })
}

/// The `# expect: ` line of a corpus file.
fn expectation(file: &Path) -> String {
    let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let first = String::from_utf8_lossy(first);
    first
        .strip_prefix("# expect: ")
        .unwrap_or_else(|| panic!("{}: first line must be `# expect: TEXT`", file.display()))
        .trim()
        .to_string()
}

#[test]
fn every_corpus_file_fails_cleanly_or_validates() {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/corpus/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "corpus missing: {files:?}");
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| check(f, &expectation(f)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} corpus files misbehave:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// Generated cases: (file name, text).
fn generated() -> Vec<(&'static str, String)> {
    let nodes = |indent: &str, each: &dyn Fn(usize) -> String| -> String {
        (0..10_000)
            .map(|i| format!("{indent}{}\n", each(i)))
            .collect()
    };
    vec![
        (
            "ten-thousand-nodes.yaml",
            format!(
                "# expect: valid lab `many` (10000 nodes\nname: many\nnodes:\n{}",
                nodes("  ", &|i| format!("n{i}: {{}}"))
            ),
        ),
        (
            "ten-thousand-in-a-slash-24.yaml",
            format!(
                "# expect: has no free address left in 10.0.0.0/24\nname: many\nnetworks:\n  big:\n    subnet: 10.0.0.0/24\n    nodes:\n{}",
                nodes("      ", &|i| format!("- n{i}"))
            ),
        ),
        (
            "ten-thousand-on-a-bridge.yaml",
            format!(
                "# expect: would have 10000 ports; Linux allows 1024\nname: many\nnetworks:\n  big:\n    subnet: 10.0.0.0/16\n    masquerade: true\n    nodes:\n{}host:\n  sysctls: {{ net.ipv4.ip_forward: 1 }}\n",
                nodes("      ", &|i| format!("- n{i}"))
            ),
        ),
        (
            "too-many-yaml-nodes.yaml",
            format!(
                "# expect: the file is too large: it has more than 250000 YAML nodes\nname: many\nnodes:\n{}",
                (0..130_000).map(|i| format!("  n{i}: {{}}\n")).collect::<String>()
            ),
        ),
        (
            "ten-thousand-links.yaml",
            format!(
                "# expect: valid lab `many` (1 nodes, 30001 objects)\nname: many\nnodes:\n  a: {{}}\nlinks:\n{}",
                nodes("  ", &|i| format!("- endpoints: [a:e{i}, host:v{i}]"))
            ),
        ),
        (
            "a-thousand-duplicate-links.yaml",
            duplicate_links(1000),
        ),
    ]
}

/// `n` copies of the same link: n - 1 errors, each rendered with its source line.
fn duplicate_links(n: usize) -> String {
    format!(
        "# expect: interface a:eth0 is already created at line 6\nname: many\nnodes:\n  a: {{}}\nlinks:\n{}",
        "  - endpoints: [a:eth0, host:v0]\n".repeat(n)
    )
}

#[test]
fn ten_thousand_of_a_thing_fail_cleanly_or_validate() {
    let dir = std::env::temp_dir().join(format!("topo-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut failures = Vec::new();
    for (name, text) in generated() {
        let file = dir.join(name);
        std::fs::write(&file, &text).expect("write");
        let expect = text.lines().next().unwrap()["# expect: ".len()..].to_string();
        failures.extend(check(&file, &expect));
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// 10 000 copies of one link give 9 999 diagnostics; the first ones are
/// rendered in full and the rest counted, so this stays quick.
#[test]
fn ten_thousand_errors_render_quickly() {
    let dir = std::env::temp_dir().join(format!("topo-corpus-dup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("ten-thousand-duplicate-links.yaml");
    std::fs::write(&file, duplicate_links(10_000)).expect("write");
    let failure = check(&file, "interface a:eth0 is already created at line 6");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failure.is_none(), "{}", failure.unwrap_or_default());
}
