//! What a probe's result means for its check: passed or not, with what
//! was expected and what happened, in words the output prints as they are.

use crate::machine::local::probe::ProbeError;
use crate::model::checks::{Check, Listener};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The result of one check.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub passed: bool,
    /// `a reply`, `no connection`, `to reach blue, seen from 10.99.0.2`.
    pub expected: String,
    /// `reply in 0.1 ms`, `connection refused`, `reached blue, seen from 10.0.0.1`.
    pub happened: String,
    /// The source address topo's listener saw, if it saw the probe.
    pub seen: Option<SocketAddr>,
    pub time: Duration,
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

fn outcome(
    c: &Check,
    expected: [&str; 2],
    through: Result<String, String>,
    start: Instant,
) -> Outcome {
    let passed = through.is_ok() == c.expect_ok;
    Outcome {
        passed,
        expected: expected[usize::from(!c.expect_ok)].to_string(),
        happened: through.unwrap_or_else(|e| e),
        seen: None,
        time: start.elapsed(),
    }
}

/// A ping.
pub fn reply(c: &Check, r: Result<Duration, ProbeError>, start: Instant) -> Outcome {
    let r = r
        .map(|rtt| format!("reply in {}", ms(rtt)))
        .map_err(|e| no("reply", e));
    outcome(c, ["a reply", "no reply"], r, start)
}

/// A TCP connect without a listener of topo's.
pub fn connect(c: &Check, r: Result<Duration, ProbeError>, start: Instant) -> Outcome {
    let r = r
        .map(|t| format!("connected in {}", ms(t)))
        .map_err(|e| no("connection", e));
    outcome(c, ["a connection", "no connection"], r, start)
}

/// `no reply: host unreachable (from 10.0.0.1)`, `no reply within 1 s`.
fn no(what: &str, e: ProbeError) -> String {
    match e {
        ProbeError::Timeout(d) => format!(
            "no {what} within {}",
            crate::model::checks::duration_text(d)
        ),
        e => format!("no {what}: {e}"),
    }
}

/// The listener could not be started: the check fails either way, since
/// it can observe nothing.
pub fn no_listener(c: &Check, l: &Listener, e: std::io::Error, start: Instant) -> Outcome {
    let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
        " (something in the node already listens there)"
    } else if e.kind() == std::io::ErrorKind::AddrNotAvailable {
        " (the address is not in the node: is the lab applied as the file says?)"
    } else {
        ""
    };
    Outcome {
        passed: false,
        expected: expectation(c, l),
        happened: format!(
            "topo could not listen on {} {} in {}: {e}{hint}",
            c.probe.kind(),
            l.addr,
            l.ns
        ),
        seen: None,
        time: start.elapsed(),
    }
}

fn expectation(c: &Check, l: &Listener) -> String {
    match (c.expect_ok, l.sees) {
        (true, Some(a)) => format!("to reach {}, seen from {a}", l.ns),
        (true, None) => format!("to reach {}", l.ns),
        (false, _) => format!("not to reach {}", l.ns),
    }
}

/// A tcp or udp probe with topo's listener: `sent` is what the probe's
/// side saw (connected, or the answer came back), `seen` the listener's.
pub fn observed(
    c: &Check,
    l: &Listener,
    sent: Result<Duration, ProbeError>,
    seen: Result<SocketAddr, ProbeError>,
    start: Instant,
) -> Outcome {
    let at = match l.forward {
        Some(line) => format!("{} at {} (port forward at line {line})", l.ns, l.addr),
        None => format!("{} at {}", l.ns, l.addr),
    };
    let udp = c.probe.kind() == "udp";
    let (reached, happened) = match (&sent, &seen) {
        (Ok(t), Ok(peer)) => (
            true,
            format!("reached {at}, seen from {} in {}", peer.ip(), ms(*t)),
        ),
        (Err(e), Ok(peer)) if udp => (
            // The datagram arrived; its answer did not come back.
            true,
            format!(
                "reached {at}, seen from {}, but the answer never came back ({e})",
                peer.ip()
            ),
        ),
        (Err(e), Ok(peer)) => (
            true,
            format!(
                "reached {at}, seen from {}, but the connect failed ({e})",
                peer.ip()
            ),
        ),
        (Ok(_), Err(_)) if udp => (
            false,
            format!("an answer came, but not from topo's listener in {}", l.ns),
        ),
        (Ok(_), Err(_)) => (
            false,
            format!(
                "connected, but not to topo's listener in {}: something else answered",
                l.ns
            ),
        ),
        (Err(e), Err(_)) => (false, format!("did not reach {}: {e}", l.ns)),
    };
    let passed = if c.expect_ok {
        // The whole way there and back, and from the right address.
        sent.is_ok()
            && seen
                .as_ref()
                .is_ok_and(|p| l.sees.is_none_or(|a| a == p.ip()))
    } else {
        !reached
    };
    Outcome {
        passed,
        expected: expectation(c, l),
        happened,
        seen: seen.ok(),
        time: start.elapsed(),
    }
}
