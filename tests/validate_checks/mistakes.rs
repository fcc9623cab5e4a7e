//! Mistakes in `tests:`: each one diagnostic at its line and column, with
//! help; all of them at once; parse errors; `topo validate` reports them.

use super::*;
#[test]
fn unknown_nodes_are_named_with_the_ones_there_are() {
    the_error(
        "  - { from: rde, ping: blue }\n",
        "rde",
        "from: `rde` is not a node of the lab",
        "did you mean `red`? its nodes are: bare, blue, red",
    );
    the_error(
        "  - { from: red, ping: bleu }\n",
        "bleu",
        "`bleu` is neither a node of the lab nor an address",
        "did you mean `blue`?",
    );
    the_error(
        "  - { from: red, tcp: \"blu:80\" }\n",
        "\"blu",
        "`blu` is neither a node",
        "did you mean `blue`?",
    );
    the_error(
        "  - { from: red, tcp: \"10.0.0.3:80\", reaches: outside }\n",
        "outside",
        "reaches: `outside` is not a node of the lab",
        "its nodes are",
    );
    the_error(
        "  - { pingall: [red, bleu] }\n",
        "bleu",
        "pingall: `bleu` is not a node",
        "did you mean `blue`?",
    );
    // The issue's `outside` must be a node of the lab, not a namespace made by hand.
    the_error(
        "  - { from: outside, tcp: \"10.0.0.1:8080\", reaches: blue }\n",
        "outside",
        "from: `outside` is not a node",
        "`host` is the namespace topo runs in",
    );
}

#[test]
fn ports_out_of_range_and_malformed_targets() {
    the_error(
        "  - { from: red, tcp: \"10.0.0.3:70000\" }\n",
        "\"10.0",
        "port 70000 is out of range",
        "ADDRESS:PORT",
    );
    the_error(
        "  - { from: red, udp: \"10.0.0.3:0\", reaches: blue }\n",
        "\"10.0",
        "port 0 is out of range",
        "",
    );
    the_error(
        "  - { from: red, tcp: \"10.0.0.3\" }\n",
        "\"10.0",
        "has no port",
        "ADDRESS:PORT",
    );
    the_error(
        "  - { from: red, tcp: \"fd00::3:80\" }\n",
        "\"fd00",
        "IPv6 address without brackets",
        "[IPV6]:PORT",
    );
    the_error(
        "  - { from: red, ping: bare }\n",
        "bare",
        "`bare` has no address in the lab",
        "give it an address",
    );
}

#[test]
fn sees_and_reaches_only_where_they_can_be_observed() {
    the_error(
        "  - { from: red, ping: blue, sees: 10.0.0.2 }\n",
        "10.0.0.2",
        "a ping cannot observe the far side: `sees:`",
        "only for tcp and udp",
    );
    the_error(
        "  - { from: red, ping: blue, reaches: blue }\n",
        "blue }",
        "`reaches:` needs a tcp or udp check",
        "",
    );
    the_error(
        "  - { from: red, tcp: \"10.9.9.9:80\", sees: 10.0.0.1 }\n",
        "10.0.0.1",
        "`sees:` cannot be observed: no namespace of the lab holds 10.9.9.9",
        "a port the lab forwards",
    );
    the_error(
        "  - { from: red, tcp: \"10.0.0.3:80\", sees: 10.0.0.2, expect: fail }\n",
        "10.0.0.2",
        "`sees:` with `expect: fail`",
        "remove `sees:`",
    );
    the_error(
        "  - { from: red, tcp: \"10.0.0.3:80\", sees: \"fd00::2\" }\n",
        "\"fd00::2",
        "of another IP family",
        "",
    );
    the_error(
        "  - { from: red, tcp: \"10.0.0.3:80\", sees: somewhere }\n",
        "somewhere",
        "`sees: somewhere` is not an address",
        "",
    );
    the_error(
        "  - { from: red, udp: \"10.0.0.3:53\" }\n",
        "\"10.0",
        "a udp check needs a listener",
        "add `reaches: NODE`",
    );
    the_error(
        "  - { pingall: [red, blue], sees: 10.0.0.1 }\n",
        "10.0.0.1",
        "`pingall:` takes no `sees:`",
        "",
    );
}

#[test]
fn reaches_must_be_where_the_probe_arrives() {
    // The host forwards 8080 to blue: red's listener would never hear it.
    the_error(
        "  - { from: blue, tcp: \"10.0.0.1:8080\", reaches: red }\n",
        "red }",
        "tcp to 10.0.0.1:8080 arrives in blue at 10.0.0.3:80 (port forward at line 21), not in red",
        "write `reaches: blue`, or forward the port to red",
    );
    the_error(
        "  - { from: blue, tcp: \"10.0.0.2:80\", reaches: blue }\n",
        "blue }",
        "arrives in red at 10.0.0.2:80, not in blue",
        "",
    );
    the_error(
        "  - { from: red, tcp: \"192.0.2.1:80\", reaches: blue }\n",
        "blue }",
        "`reaches: blue` can never be met: no namespace of the lab holds 192.0.2.1",
        "forward the port to blue",
    );
}

#[test]
fn each_check_says_one_thing_once() {
    the_error(
        "  - { from: red }\n",
        "{",
        "this check says nothing to do",
        "`ping: NODE`",
    );
    the_error(
        "  - { from: red, ping: blue, tcp: \"10.0.0.3:80\" }\n",
        "\"10.0",
        "also has `tcp:`",
        "one check per probe",
    );
    the_error(
        "  - { ping: blue }\n",
        "{",
        "this ping check has no `from:`",
        "`from: host`",
    );
    the_error(
        "  - { from: red, ping: blue, expect: sucess }\n",
        "sucess",
        "`expect: sucess` is neither `ok` nor `fail`",
        "",
    );
    the_error(
        "  - { from: red, ping: blue, expect: fial }\n",
        "fial",
        "neither `ok` nor `fail`",
        "did you mean `fail`?",
    );
    the_error(
        "  - { from: red, ping: blue, timeout: forever }\n",
        "forever",
        "a timeout is a number of seconds",
        "`timeout: 2s`",
    );
    the_error(
        "  - { from: red, ping: blue, timeout: 90s }\n",
        "90s",
        "between 1ms and 60s",
        "",
    );
    the_error(
        "  - { pingall: [red] }\n",
        "[red]",
        "needs at least two nodes",
        "pingall: [red, blue]",
    );
    the_error(
        "  - { pingall: [red, blue, red] }\n",
        "red]",
        "`red` is listed twice",
        "",
    );
    the_error(
        "  - { pingall: [red, blue], from: red }\n",
        "red }",
        "`pingall:` takes no `from:`",
        "",
    );
}

#[test]
fn all_mistakes_come_back_at_once() {
    let ds = errors("  - { from: rde, ping: blue }\n  - { from: red, tcp: \"10.0.0.3:99999\" }\n  - { from: red, ping: blue, sees: 10.0.0.9 }\n");
    let lines: Vec<u32> = ds.iter().map(|d| d.pos.line).collect();
    assert_eq!(lines, [FIRST, FIRST + 1, FIRST + 2], "{ds:#?}");
}

#[test]
fn mistyped_fields_are_parse_errors_with_a_suggestion() {
    let e = load_str("lab.yaml", &with_tests("  - { from: red, pign: blue }\n")).unwrap_err();
    let d = &e.report.diagnostics[0];
    assert_eq!(d.message, "unknown field `pign`", "{d:#?}");
    assert!(
        d.help.as_deref().unwrap().contains("did you mean `ping`?"),
        "{d:#?}"
    );
    assert_eq!(d.pos.line, FIRST);
    let e = load_str("lab.yaml", &with_tests("  timeuot: 2s\n  checks: []\n")).unwrap_err();
    let d = &e.report.diagnostics[0];
    assert_eq!(d.message, "unknown field `timeuot`", "{d:#?}");
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .contains("did you mean `timeout`?"),
        "{d:#?}"
    );
}

#[test]
fn topo_validate_reports_test_mistakes_like_any_other() {
    let dir = std::env::temp_dir().join(format!("topo-validate-checks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("lab.yaml");
    std::fs::write(
        &file,
        with_tests("  - { from: red, tcp: \"10.0.0.3:70000\" }\n"),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_topo"))
        .args(["validate", file.to_str().unwrap()])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("lab.yaml:24:23: port 70000 is out of range: a port is 1 to 65535"),
        "{err}"
    );
    assert!(err.contains("help: write `ADDRESS:PORT`"), "{err}");
}
