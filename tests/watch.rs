//! `topo watch`: drift repaired as it happens, without a command; the
//! file followed; a person never fought; SIGTERM leaves the lab applied.

use crate::common;

use common::{text, topo_bin, Sandbox};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

const LAB: &str = "name: w
networks:
  net: { subnet: 10.70.0.0/24, masquerade: true, nodes: [a, b] }
host:
  sysctls: { net.ipv4.ip_forward: 1 }
";

/// `topo watch` running in the sandbox, its log lines as they come.
struct Watcher {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Watcher {
    fn start(sb: &Sandbox, args: &[&str]) -> Watcher {
        let bin = topo_bin();
        let mut child = sb
            .command(bin.to_str().unwrap())
            .arg("watch")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start topo watch");
        let (tx, lines) = channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let mut w = Watcher {
            child,
            lines,
            seen: vec![],
        };
        w.expect("watching lab `w`");
        w
    }

    /// Waits (at most 10 s) for a log line containing `what`.
    fn expect(&mut self, what: &str) -> String {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(what) {
                        return l;
                    }
                }
                Err(_) => panic!(
                    "no `{what}` from topo watch; it said:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Stops it with SIGTERM; its exit code.
    fn term(mut self) -> Option<i32> {
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.expect("stopped by SIGTERM");
        self.child.wait().unwrap().code()
    }
}

/// Waits (at most 10 s) until `script` succeeds in the sandbox.
fn until(sb: &Sandbox, script: &str) {
    let end = Instant::now() + Duration::from_secs(10);
    while !sb.sh(script).status.success() {
        assert!(Instant::now() < end, "never true: {script}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn drift_is_repaired_without_a_command_and_the_file_is_followed() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("w.yaml", LAB);
    let mut w = Watcher::start(&sb, &[&lab]);
    sb.ping("a", "10.70.0.3");
    // Every kind of drift, each put back by the watch alone.
    for (broken, back) in [
        (
            "ip link del b-eth0",
            "ip netns exec a ping -c1 -W1 10.70.0.3",
        ),
        (
            "ip -n a addr flush dev eth0",
            "ip -n a -4 addr show eth0 | grep -q 10.70.0.2/24",
        ),
        ("nft flush ruleset", "nft list table inet topo-w >/dev/null"),
        (
            "ip link set net down",
            "ip link show net | grep -q 'state UP'",
        ),
        ("ip netns del b", "ip netns exec b ping -c1 -W1 10.70.0.1"),
        (
            "sysctl -qw net.ipv4.ip_forward=0",
            "test $(sysctl -n net.ipv4.ip_forward) = 1",
        ),
    ] {
        sb.sh_ok(broken);
        w.expect("the kernel changed");
        w.expect("done:");
        until(&sb, back);
    }
    // Idle, it holds no lock: plan runs beside it at once.
    let t = Instant::now();
    let out = sb.topo(&["plan", &lab, "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(t.elapsed() < Duration::from_secs(5));
    // An edit of the file is applied.
    sb.lab("w.yaml", &LAB.replace("nodes: [a, b]", "nodes: [a, b, c]"));
    w.expect("the file changed");
    w.expect("done:");
    sb.ping("c", "10.70.0.1");
    // SIGTERM: exit 0, the lab as it was.
    assert_eq!(w.term(), Some(0));
    let out = sb.topo(&["plan", &lab, "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn a_killed_dhcp_server_is_started_again() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab(
        "w.yaml",
        &LAB.replace(
            "nodes: [a, b] }",
            "nodes: [a, b], dhcp: { range: 10.70.0.100-10.70.0.150 } }",
        ),
    );
    let mut w = Watcher::start(&sb, &[&lab]);
    let before = sb.pids_of("dnsmasq");
    assert_eq!(before.len(), 1, "one server: {before:?}");
    // SIGKILL: no pid file removed, no netlink event; only its end tells.
    sb.sh_ok(&format!("kill -9 {}", before[0]));
    w.expect("a DHCP server of the lab ended");
    w.expect("done:");
    let after = sb.pids_of("dnsmasq");
    assert!(
        after.len() == 1 && after != before,
        "not started again: {after:?}"
    );
    let out = sb.topo(&["plan", &lab, "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // Killed again: the new one is followed too.
    sb.sh_ok(&format!("kill -9 {}", after[0]));
    w.expect("a DHCP server of the lab ended");
    w.expect("done:");
    assert_eq!(sb.pids_of("dnsmasq").len(), 1);
    assert_eq!(w.term(), Some(0));
    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn a_person_changing_an_object_again_and_again_is_not_fought() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("w.yaml", LAB);
    let mut w = Watcher::start(&sb, &[&lab, "--max-repairs", "2"]);
    for _ in 0..2 {
        sb.sh_ok("ip -n a addr flush dev eth0");
        w.expect("done:");
        until(&sb, "ip -n a -4 addr show eth0 | grep -q 10.70.0.2/24");
    }
    sb.sh_ok("ip -n a addr flush dev eth0");
    let said = w.expect("left alone");
    assert!(said.contains("address 10.70.0.2/24 on a:eth0"), "{said}");
    // Others are still repaired.
    sb.sh_ok("ip link del b-eth0");
    w.expect("done:");
    until(&sb, "ip netns exec b ping -c1 -W1 10.70.0.1");
    assert_eq!(w.term(), Some(0));
    sb.topo_ok(&["destroy", &lab]);
}
