//! Validation and resolution of `tests:` without a kernel: each mistake is
//! one diagnostic at its line and column, with help; valid checks resolve
//! to the addresses, listeners and timeouts `topo test` will use.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use topo::diag::{Diagnostic, Level};
use topo::model::checks::{resolve, Check, Listener, Probe};
use topo::model::{build, Ns};
use topo::spec::load_str;

/// red and blue on a bridge; blue has a second interface and IPv6; the host
/// forwards tcp/8080 to blue:80 and udp 5000-5010 to blue (ports kept).
const LAB: &str = r#"name: lab1
nodes:
  red:
    interfaces:
      eth0: { addresses: [10.0.0.2/24] }
  blue:
    interfaces:
      eth1: { addresses: ["fd00::3/64", 10.1.0.3/24] }
      eth0: { addresses: [10.0.0.3/24] }
  bare: {}
bridges:
  br0: { addresses: [10.0.0.1/24] }
links:
  - endpoints: [red:eth0, br0]
  - endpoints: [blue:eth0, br0]
  - endpoints: [blue:eth1, bare:eth9]
host:
  sysctls: { net.ipv4.ip_forward: 1 }
  nat:
    dnat:
      - { proto: tcp, port: 8080, to: "blue:80" }
      - { proto: udp, port: "5000-5010", to: blue }
"#;

fn with_tests(tests: &str) -> String {
    format!("{LAB}tests:\n{tests}")
}

/// The checks of a valid file.
fn checks(tests: &str) -> Vec<Check> {
    let text = with_tests(tests);
    let spec = load_str("lab.yaml", &text).unwrap_or_else(|e| panic!("{}", e.report.render(false)));
    let v = build(&spec, &Default::default()).unwrap_or_else(|d| panic!("{d:#?}"));
    resolve(&spec, &v.model).expect("build already resolved them")
}

/// The errors of a file whose tests are wrong.
fn errors(tests: &str) -> Vec<Diagnostic> {
    let text = with_tests(tests);
    let spec = load_str("lab.yaml", &text).unwrap_or_else(|e| panic!("{}", e.report.render(false)));
    let ds = build(&spec, &Default::default()).expect_err("expected errors");
    ds.into_iter().filter(|d| d.level == Level::Error).collect()
}

/// The one error, at the first place `at` appears in `tests` (line and
/// column), whose message and help contain these.
fn the_error(tests: &str, at: &str, message: &str, help: &str) {
    let ds = errors(tests);
    assert_eq!(ds.len(), 1, "{ds:#?}");
    let d = &ds[0];
    let offset = tests.find(at).expect("`at` is in the tests");
    let line = FIRST + tests[..offset].matches('\n').count() as u32;
    let col = tests[..offset].rsplit('\n').next().unwrap().chars().count() as u32 + 1;
    assert_eq!((d.pos.line, d.pos.col), (line, col), "{d:#?}");
    assert!(d.message.contains(message), "message: {d:#?}");
    assert!(
        d.help.as_deref().unwrap_or("").contains(help),
        "help: {d:#?}"
    );
}

/// The line of the first check in `with_tests`.
const FIRST: u32 = 24;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn sock(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn a_node_name_means_its_first_ipv4_address() {
    let c = checks("  - { from: red, ping: blue }\n  - { from: blue, ping: red }\n  - { from: red, ping: host }\n");
    // blue: eth0 comes before eth1, and IPv4 before IPv6.
    assert_eq!(c[0].probe, Probe::Ping { to: ip("10.0.0.3") });
    assert_eq!(c[0].from, Ns::Node("red".into()));
    assert_eq!(c[0].target, "blue");
    assert_eq!(c[0].pos.line, FIRST);
    assert_eq!(c[1].probe, Probe::Ping { to: ip("10.0.0.2") });
    assert_eq!(c[2].probe, Probe::Ping { to: ip("10.0.0.1") });
    assert_eq!(c[0].name(), "ping red → blue (10.0.0.3)");
    assert!(c
        .iter()
        .all(|c| c.expect_ok && c.timeout == Duration::from_secs(1)));
}

#[test]
fn listeners_follow_the_labs_port_forwards() {
    let c = checks(
        "  - { from: red, tcp: \"10.0.0.1:8080\", reaches: blue, sees: 10.0.0.2 }\n\
         \x20 - { from: red, udp: \"10.0.0.1:5003\", sees: 10.0.0.2 }\n\
         \x20 - { from: red, tcp: \"blue:22\", reaches: blue }\n\
         \x20 - { from: red, tcp: \"[fd00::3]:80\", reaches: blue }\n\
         \x20 - { from: red, tcp: \"10.9.9.9:443\", expect: fail }\n",
    );
    let listener = |c: &Check| c.probe.listener().cloned();
    assert_eq!(
        listener(&c[0]),
        Some(Listener {
            ns: Ns::Node("blue".into()),
            addr: sock("10.0.0.3:80"),
            sees: Some(ip("10.0.0.2")),
            forward: Some(21),
        })
    );
    // A forwarded range keeps its ports; `sees` alone puts the listener
    // where the address arrives.
    assert_eq!(listener(&c[1]).unwrap().addr, sock("10.0.0.3:5003"));
    assert_eq!(listener(&c[1]).unwrap().ns, Ns::Node("blue".into()));
    assert_eq!(listener(&c[2]).unwrap().addr, sock("10.0.0.3:22"));
    assert_eq!(listener(&c[2]).unwrap().forward, None);
    assert_eq!(listener(&c[3]).unwrap().addr, sock("[fd00::3]:80"));
    assert_eq!(
        c[4].probe,
        Probe::Tcp {
            to: sock("10.9.9.9:443"),
            listener: None
        }
    );
    assert!(!c[4].expect_ok);
}

#[test]
fn pingall_is_every_ordered_pair() {
    let c = checks("  - { pingall: [red, blue, host], timeout: 250ms }\n");
    let pairs: Vec<String> = c.iter().map(Check::name).collect();
    assert_eq!(
        pairs,
        [
            "ping red → blue (10.0.0.3)",
            "ping red → host (10.0.0.1)",
            "ping blue → red (10.0.0.2)",
            "ping blue → host (10.0.0.1)",
            "ping host → red (10.0.0.2)",
            "ping host → blue (10.0.0.3)",
        ]
    );
    assert!(c.iter().all(|c| c.timeout == Duration::from_millis(250)));
}

#[test]
fn the_lab_wide_timeout_is_the_default() {
    let c = checks("  timeout: 2\n  checks:\n    - { from: red, ping: blue }\n    - { from: red, ping: blue, timeout: 0.5 }\n");
    assert_eq!(c[0].timeout, Duration::from_secs(2));
    assert_eq!(c[1].timeout, Duration::from_millis(500));
}

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
