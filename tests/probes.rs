//! `topo test` against real labs, each in its own sandbox: every probe
//! kind passes where the lab lets it through, fails where it must, and
//! the listeners see the addresses NAT gives. No ping, socat or shell
//! runs the probes; the one TCP server a test needs is started here, in
//! the node's namespace, and listens before topo connects.

use crate::common;

use common::{text, Sandbox};
use std::os::fd::AsFd;
use std::process::Output;

/// A node on a bridge with the host, and a second node behind it.
const LAB: &str = r#"
name: probes
nodes:
  red:
    interfaces: { eth0: { addresses: [10.10.0.2/24, "fd00:10::2/64"] } }
    routes: [ { to: default, via: 10.10.0.1 } ]
  blue:
    interfaces: { eth0: { addresses: [10.10.0.3/24, "fd00:10::3/64"] } }
    routes: [ { to: default, via: 10.10.0.1 } ]
    firewall:
      rules:
        - { chain: input, proto: udp, port: 9999, action: drop }
        - { chain: input, proto: tcp, port: 9998, action: drop }
bridges:
  br0: { addresses: [10.10.0.1/24, "fd00:10::1/64"] }
links:
  - endpoints: [red:eth0, br0]
  - endpoints: [blue:eth0, br0]
"#;

fn exit_code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

/// The output line of the check named `name`.
fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains(&format!(" {name}: ")))
        .unwrap_or_else(|| panic!("no line for `{name}` in:\n{out}"))
}

fn passed(out: &str, name: &str) -> bool {
    let l = line(out, name);
    assert!(l.starts_with("ok ") || l.starts_with("FAILED "), "{l}");
    l.starts_with("ok ")
}

/// A TCP server in `node` on `at`, listening when this returns, that
/// accepts one connection. Entered through the sandbox holder's view of
/// /run/netns, on a thread of its own.
fn serve_tcp(sb: &Sandbox, node: &str, at: &str) -> std::thread::JoinHandle<bool> {
    let ns = std::fs::File::open(format!("/proc/{}/root/run/netns/{node}", sb.pid()))
        .expect("open the node's namespace");
    let at: std::net::SocketAddr = at.parse().expect("address");
    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let l = std::net::TcpListener::bind(at).expect("bind");
        tx.send(()).expect("ready");
        // One connection, or give up when topo's timeout is long past.
        let mut fd = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&l),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, for the listener this thread owns.
        let ready = unsafe { libc::poll(&mut fd, 1, 10_000) };
        ready == 1 && l.accept().is_ok()
    });
    rx.recv().expect("the server listens");
    server
}

#[test]
fn every_probe_kind_gets_through_where_the_lab_lets_it() {
    let Some(sb) = Sandbox::new() else { return };
    let tests = r#"
tests:
  - { from: red, ping: blue }
  - { from: red, ping: "fd00:10::3" }
  - { from: host, ping: red }
  - { from: red, ping: 10.10.0.9, expect: fail }
  - { from: red, tcp: "blue:80", reaches: blue, sees: 10.10.0.2 }
  - { from: red, tcp: "[fd00:10::3]:80", reaches: blue, sees: "fd00:10::2" }
  - { from: red, tcp: "blue:81", expect: fail }
  - { from: red, tcp: "blue:8080" }
  - { from: blue, udp: "red:53", reaches: red, sees: 10.10.0.3 }
  - { from: host, udp: "[fd00:10::2]:53", reaches: red }
  - { from: red, udp: "blue:9999", reaches: blue, expect: fail, timeout: 300ms }
  - { from: red, tcp: "blue:9998", reaches: blue, expect: fail, timeout: 300ms }
"#;
    let lab = sb.lab("lab.yaml", &format!("{LAB}{tests}"));
    sb.topo_ok(&["apply", &lab]);
    let server = serve_tcp(&sb, "blue", "10.10.0.3:8080");
    let out = sb.topo(&["test", &lab]);
    let stdout = text(&out.stdout);
    assert_eq!(exit_code(&out), 0, "{stdout}{}", text(&out.stderr));
    assert!(
        server.join().expect("server"),
        "the plain TCP probe connected to the test's server"
    );
    for name in [
        "ping red → blue (10.10.0.3)",
        "ping red → fd00:10::3",
        "ping host → red (10.10.0.2)",
        "ping red → 10.10.0.9, expect fail",
        "tcp red → blue:80 (10.10.0.3:80) reaches blue, sees 10.10.0.2",
        "tcp red → [fd00:10::3]:80 reaches blue, sees fd00:10::2",
        "tcp red → blue:81 (10.10.0.3:81), expect fail",
        "tcp red → blue:8080 (10.10.0.3:8080)",
        "udp blue → red:53 (10.10.0.2:53) reaches red, sees 10.10.0.3",
        "udp host → [fd00:10::2]:53 reaches red",
        "udp red → blue:9999 (10.10.0.3:9999) reaches blue, expect fail",
        "tcp red → blue:9998 (10.10.0.3:9998) reaches blue, expect fail",
    ] {
        assert!(passed(&stdout, name), "{name}:\n{stdout}");
    }
    assert!(
        line(&stdout, "tcp red → blue:81 (10.10.0.3:81), expect fail").contains("refused"),
        "{stdout}"
    );
    assert!(
        stdout.contains("test result: ok. 12 passed, 0 failed"),
        "{stdout}"
    );
    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(
        sb.residue(),
        "",
        "nothing left behind: no namespace, link or listener"
    );
}

#[test]
fn expectations_that_do_not_hold_fail_and_say_why() {
    let Some(sb) = Sandbox::new() else { return };
    let tests = r#"
tests:
  - { from: red, ping: blue, expect: fail }
  - { from: red, ping: 10.10.0.9, timeout: 200ms }
  - { from: red, tcp: "blue:81" }
  - { from: red, tcp: "blue:80", reaches: blue, sees: 10.10.0.1 }
  - { from: red, udp: "blue:9999", reaches: blue, timeout: 300ms }
  - { from: red, tcp: "blue:80", reaches: blue, expect: fail }
  - { from: red, ping: blue }
"#;
    let lab = sb.lab("lab.yaml", &format!("{LAB}{tests}"));
    sb.topo_ok(&["apply", &lab]);
    let out = sb.topo(&["test", &lab]);
    let stdout = text(&out.stdout);
    assert_eq!(
        exit_code(&out),
        1,
        "a failed check fails the run:\n{stdout}"
    );
    let failed = |name: &str, why: &str| {
        let l = line(&stdout, name);
        assert!(l.starts_with("FAILED "), "{name} must fail:\n{stdout}");
        assert!(l.contains(why), "{name}: expected `{why}` in: {l}");
        assert!(
            l.contains("lab.yaml:"),
            "the line names the file's line: {l}"
        );
    };
    failed(
        "ping red → blue (10.10.0.3), expect fail",
        "expected no reply, got: reply in",
    );
    failed("ping red → 10.10.0.9", "expected a reply, got: no reply");
    failed(
        "tcp red → blue:81 (10.10.0.3:81)",
        "no connection: connection refused",
    );
    failed(
        "tcp red → blue:80 (10.10.0.3:80) reaches blue, sees 10.10.0.1",
        "seen from 10.10.0.2",
    );
    failed(
        "udp red → blue:9999 (10.10.0.3:9999) reaches blue",
        "did not reach blue",
    );
    failed(
        "tcp red → blue:80 (10.10.0.3:80) reaches blue, expect fail",
        "reached blue at 10.10.0.3:80, seen from 10.10.0.2",
    );
    assert!(passed(&stdout, "ping red → blue (10.10.0.3)"));
    assert!(
        stdout.contains("test result: FAILED. 1 passed, 6 failed"),
        "{stdout}"
    );
}

/// An outside node joined to the host, and blue behind the host's NAT.
const NAT: &str = r#"
name: nat
nodes:
  outside:
    interfaces: { eth0: { addresses: [10.99.0.2/24] } }
  blue:
    interfaces: { eth0: { addresses: [192.168.15.2/24] } }
    routes: [ { to: default, via: 192.168.15.1 } ]
bridges:
  br0: { addresses: [192.168.15.1/24] }
links:
  - endpoints: [blue:eth0, br0]
  - endpoints: [outside:eth0, host:up0]
host:
  interfaces: { up0: { addresses: [10.99.0.1/24] } }
  sysctls: { net.ipv4.ip_forward: 1 }
  nat:
    masquerade: [ { source: 192.168.15.0/24 } ]
    dnat:
      - { proto: tcp, port: 8080, to: "blue:80" }
      - { proto: udp, port: 5353, to: "blue:53" }
tests:
  - { from: outside, tcp: "10.99.0.1:8080", reaches: blue, sees: 10.99.0.2 }
  - { from: outside, udp: "10.99.0.1:5353", reaches: blue, sees: 10.99.0.2 }
  - { from: blue, tcp: "outside:80", sees: 10.99.0.1 }
  - { from: blue, udp: "10.99.0.2:53", reaches: outside, sees: 10.99.0.1 }
  - { from: outside, ping: blue, expect: fail }
  - { from: blue, tcp: "outside:80", sees: 192.168.15.2 }
"#;

#[test]
fn nat_is_checked_by_what_the_far_side_sees() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("nat.yaml", NAT);
    sb.topo_ok(&["apply", &lab]);
    let out = sb.topo(&["test", &lab]);
    let stdout = text(&out.stdout);
    // DNAT: the host's port forward delivers outside's connection to blue,
    // which sees outside's own address.
    let dnat = line(
        &stdout,
        "tcp outside → 10.99.0.1:8080 reaches blue, sees 10.99.0.2",
    );
    assert!(dnat.starts_with("ok "), "{stdout}");
    assert!(
        dnat.contains(
            "reached blue at 192.168.15.2:80 (port forward at line 20), seen from 10.99.0.2"
        ),
        "{dnat}"
    );
    assert!(passed(
        &stdout,
        "udp outside → 10.99.0.1:5353 reaches blue, sees 10.99.0.2"
    ));
    // Masquerade: outside sees blue's connection come from the host.
    assert!(passed(
        &stdout,
        "tcp blue → outside:80 (10.99.0.2:80) reaches outside, sees 10.99.0.1"
    ));
    assert!(passed(
        &stdout,
        "udp blue → 10.99.0.2:53 reaches outside, sees 10.99.0.1"
    ));
    assert!(passed(
        &stdout,
        "ping outside → blue (192.168.15.2), expect fail"
    ));
    // Without the masquerade blue's own address would show: it does not.
    let l = line(
        &stdout,
        "tcp blue → outside:80 (10.99.0.2:80) reaches outside, sees 192.168.15.2",
    );
    assert!(
        l.starts_with("FAILED ") && l.contains("seen from 10.99.0.1"),
        "{l}"
    );
    assert_eq!(exit_code(&out), 1);
    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(sb.residue(), "");
}

/// N nodes, each on a veth of its own to the host, which routes between them.
fn routed_lab(n: usize) -> String {
    let mut y =
        String::from("name: many\nhost:\n  sysctls: { net.ipv4.ip_forward: 1 }\n  interfaces:\n");
    for i in 0..n {
        y += &format!(
            "    v{i}: {{ addresses: [10.{}.{}.1/24] }}\n",
            i / 200,
            i % 200
        );
    }
    y += "nodes:\n";
    for i in 0..n {
        y += &format!(
            "  n{i}:\n    interfaces: {{ eth0: {{ addresses: [10.{a}.{b}.2/24] }} }}\n    routes: [ {{ to: default, via: 10.{a}.{b}.1 }} ]\n",
            a = i / 200,
            b = i % 200
        );
    }
    y += "links:\n";
    for i in 0..n {
        y += &format!("  - endpoints: [n{i}:eth0, host:v{i}]\n");
    }
    let names: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
    y += &format!("tests:\n  - pingall: [{}]\n", names.join(", "));
    y
}

#[test]
fn pingall_over_a_hundred_nodes_takes_seconds() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("many.yaml", &routed_lab(100));
    sb.topo_ok(&["apply", "-q", &lab]);
    let t = std::time::Instant::now();
    let out = sb.topo(&["test", "--json", &lab]);
    let took = t.elapsed();
    assert_eq!(exit_code(&out), 0, "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        doc["summary"]["total"], 9900,
        "every ordered pair is a check"
    );
    assert_eq!(doc["summary"]["passed"], 9900);
    let checks = doc["checks"].as_array().expect("checks");
    assert_eq!(checks[0]["name"], "ping n0 → n1 (10.0.1.2)");
    assert_eq!(checks[9899]["name"], "ping n99 → n98 (10.0.98.2)");
    eprintln!("9900 pings in {took:?}");
    assert!(
        took < std::time::Duration::from_secs(30),
        "pingall over 100 nodes took {took:?}"
    );
    sb.topo_ok(&["destroy", "-q", &lab]);
}
