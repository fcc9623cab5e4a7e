//! Without privileges: `validate` works, the verbs that touch the kernel stop
//! at once and say which capability is missing. And topo itself never runs a
//! shell or `ip`: the guard below reads the source.

use crate::common;

use common::{text, Sandbox};
use std::time::{Duration, Instant};

const LAB: &str = r#"
name: unpriv
nodes:
  red:
    interfaces: { eth0: { addresses: [10.7.0.1/24] } }
bridges:
  br-unpriv: { addresses: [10.7.0.254/24] }
links:
  - endpoints: [red:eth0, br-unpriv]
"#;

/// Runs topo as user and group 65534 (nobody) with no supplementary
/// groups; changing the uid from 0 clears every capability.
fn topo_as_nobody(sb: &Sandbox, args: &str) -> (i32, String, String, Duration) {
    let bin = common::topo_bin();
    let start = Instant::now();
    let out = sb.sh(&format!(
        "setpriv --reuid=65534 --regid=65534 --clear-groups {} {args}",
        bin.display()
    ));
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
        start.elapsed(),
    )
}

#[test]
fn unprivileged_validate_works_and_kernel_verbs_name_the_capability() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    // The sandbox's files must be readable by nobody (test dir 0755, file 0644).
    sb.sh_ok(&format!(
        "setpriv --reuid=65534 --regid=65534 --clear-groups cat {lab} >/dev/null"
    ));
    let (code, out, err, _) = topo_as_nobody(&sb, &format!("validate {lab}"));
    assert_eq!(code, 0, "validate as nobody:\n{out}{err}");
    assert!(out.contains("valid lab `unpriv`"), "{out}");

    for verb in ["plan", "plan --json", "apply", "destroy"] {
        let (code, out, err, took) = topo_as_nobody(&sb, &format!("{verb} {lab}"));
        assert_eq!(code, 1, "{verb} as nobody:\n{out}{err}");
        assert!(
            err.contains("CAP_NET_ADMIN"),
            "{verb}: the error names the capability:\n{err}"
        );
        assert!(!err.contains("panicked"), "{verb}:\n{err}");
        assert!(
            took < Duration::from_secs(5),
            "{verb} took {took:?}: it must fail before waiting on anything"
        );
    }
    // Nothing was created, no lock or state file left behind.
    assert_eq!(sb.residue(), "");
}

/// Every Rust file under src/.
fn sources(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&p).expect("read source");
            out.push((p.display().to_string(), text));
        }
    }
}

#[test]
fn topo_never_runs_a_shell_or_ip() {
    let mut files = Vec::new();
    sources(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut files,
    );
    assert!(files.len() > 10, "src/ not found");
    let mut found = Vec::new();
    for (path, text) in &files {
        // Spaces are squeezed out so `Command::new( "sh" )` is caught too.
        let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        for program in [
            "sh",
            "bash",
            "ip",
            "/bin/sh",
            "/bin/bash",
            "/usr/bin/env",
            "dash",
            "zsh",
            "iptables",
        ] {
            let call = format!("Command::new(\"{program}\"");
            if squeezed.contains(&call) {
                found.push(format!("{path}: {call}"));
            }
        }
        for line in text.lines() {
            let l = line.trim();
            if l.starts_with("//") {
                continue;
            }
            if l.contains("\"-c\"") && (l.contains("arg") || l.contains('[')) {
                found.push(format!("{path}: passes `-c`: {l}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "topo must not run a shell or ip:\n{}",
        found.join("\n")
    );
}
