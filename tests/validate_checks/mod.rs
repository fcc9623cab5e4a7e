//! Validation and resolution of `tests:` without a kernel: each mistake is
//! one diagnostic at its line and column, with help; valid checks resolve
//! to the addresses, listeners and timeouts `topo test` will use.
//!
//! The lab the checks run against and the helpers are here.

mod mistakes;
mod resolved;

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
