//! Running a lab's checks (`topo test`): each probe inside its namespace
//! through `machine::local::probe`, many at once with a bound on how many are in
//! flight, each judged against what the file expects.
//!
//! Checks that need the same listener (namespace, protocol, address) run
//! one after another, so a listener only ever sees its own check's probe;
//! all others run in parallel.

mod judge;

pub use judge::Outcome;

use crate::machine::local::probe::open_namespace;
use crate::model::checks::{Check, Probe};
use crate::model::Ns;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

/// Checks in flight at once unless told otherwise.
pub const DEFAULT_JOBS: usize = 64;

/// What stops a run before any check.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the namespaces of {} do not exist: is the lab applied? (topo apply FILE)", .0.join(", "))]
    Missing(Vec<String>),
    #[error("cannot open the namespace of node `{0}`: {1}")]
    Open(String, std::io::Error),
}

/// The namespace files of every namespace the checks use.
pub struct Namespaces(BTreeMap<crate::model::Name, File>);

impl Namespaces {
    /// `attached`: where attached nodes' namespaces are.
    pub fn open(
        checks: &[Check],
        attached: &BTreeMap<String, crate::model::Attach>,
    ) -> Result<Namespaces, RunError> {
        let mut files = BTreeMap::new();
        let mut missing = Vec::new();
        let used = checks
            .iter()
            .flat_map(|c| [Some(&c.from), c.probe.listener().map(|l| &l.ns)])
            .flatten();
        for ns in used {
            let Ns::Node(name) = ns else { continue };
            if files.contains_key(name) || missing.iter().any(|m| m == name) {
                continue;
            }
            match open_namespace(name, attached.get(name.as_str())) {
                Ok(Some(f)) => {
                    files.insert(name.clone(), f);
                }
                Ok(None) => missing.push(name.to_string()),
                Err(e) => return Err(RunError::Open(name.to_string(), e)),
            }
        }
        if !missing.is_empty() {
            return Err(RunError::Missing(missing));
        }
        Ok(Namespaces(files))
    }

    /// The namespace file of a node; `None` for the host (here).
    fn fd(&self, ns: &Ns) -> Option<BorrowedFd<'_>> {
        match ns {
            Ns::Host => None,
            Ns::Node(n) => Some(self.0.get(n).expect("opened for every check").as_fd()),
        }
    }
}

/// Runs every check, `jobs` at a time; `done` hears each outcome as soon
/// as it and all before it are known, so output follows the file's order.
/// Returns the outcomes in the checks' order.
pub async fn run(
    checks: &[Check],
    ns: &Namespaces,
    jobs: usize,
    mut done: impl FnMut(usize, &Outcome),
) -> Vec<Outcome> {
    let mut groups: BTreeMap<(String, &str, String), Vec<usize>> = BTreeMap::new();
    let mut units: Vec<Vec<usize>> = Vec::new();
    for (i, c) in checks.iter().enumerate() {
        match c.probe.listener() {
            Some(l) => groups
                .entry((l.ns.to_string(), c.probe.kind(), l.addr.to_string()))
                .or_default()
                .push(i),
            None => units.push(vec![i]),
        }
    }
    units.extend(groups.into_values());
    units.sort();
    let mut results: Vec<Option<Outcome>> = (0..checks.len()).map(|_| None).collect();
    let mut next = 0;
    let mut stream = futures::stream::iter(units)
        .map(|unit| async move {
            let mut out = Vec::new();
            for i in unit {
                out.push((i, one(&checks[i], ns).await));
            }
            out
        })
        .buffer_unordered(jobs.max(1));
    while let Some(finished) = stream.next().await {
        for (i, o) in finished {
            results[i] = Some(o);
        }
        while let Some(Some(o)) = results.get(next) {
            done(next, o);
            next += 1;
        }
    }
    results
        .into_iter()
        .map(|o| o.expect("every check ran"))
        .collect()
}

/// A TCP handshake that completed with topo's listener is in its queue
/// when the connect returns; this covers the last ACK's way there.
const GRACE: Duration = Duration::from_millis(50);

/// Runs one check and judges it.
async fn one(c: &Check, ns: &Namespaces) -> Outcome {
    use crate::machine::local::probe;
    let start = Instant::now();
    let from = ns.fd(&c.from);
    let t = c.timeout;
    match &c.probe {
        Probe::Ping { to } => judge::reply(c, probe::ping(from, *to, t).await, start),
        Probe::Tcp { to, listener: None } => {
            judge::connect(c, probe::tcp_connect(from, *to, t).await, start)
        }
        Probe::Tcp {
            to,
            listener: Some(l),
        } => {
            let listener = match probe::tcp_listen(ns.fd(&l.ns), l.addr) {
                Ok(x) => x,
                Err(e) => return judge::no_listener(c, l, e, start),
            };
            let (sent, seen) = watch(
                probe::tcp_accept(&listener, t),
                probe::tcp_connect(from, *to, t),
            )
            .await;
            judge::observed(c, l, sent, seen, start)
        }
        Probe::Udp { to, listener: l } => {
            let listener = match probe::udp_listen(ns.fd(&l.ns), l.addr) {
                Ok(x) => x,
                Err(e) => return judge::no_listener(c, l, e, start),
            };
            let token = token();
            let (sent, seen) = watch(
                probe::udp_answer(&listener, &token, t),
                probe::udp_ask(from, *to, &token, t),
            )
            .await;
            judge::observed(c, l, sent, seen, start)
        }
    }
}

type Seen = Result<std::net::SocketAddr, crate::machine::local::probe::ProbeError>;
type Sent = Result<Duration, crate::machine::local::probe::ProbeError>;

/// Runs a probe while its listener waits; once the probe has failed the
/// listener gets only a short grace.
async fn watch(
    listen: impl std::future::Future<Output = Seen>,
    probe: impl std::future::Future<Output = Sent>,
) -> (Sent, Seen) {
    let mut listen = std::pin::pin!(listen);
    let mut probe = std::pin::pin!(probe);
    let mut seen = None;
    let sent = loop {
        tokio::select! {
            s = &mut listen, if seen.is_none() => seen = Some(s),
            p = &mut probe => break p,
        }
    };
    let seen = match seen {
        Some(s) => s,
        None if sent.is_ok() => listen.await,
        None => tokio::time::timeout(GRACE, listen).await.unwrap_or(Err(
            crate::machine::local::probe::ProbeError::Timeout(GRACE),
        )),
    };
    (sent, seen)
}

/// The bytes that mark one UDP check's datagrams.
fn token() -> Vec<u8> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "topo test {} {}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
    .into_bytes()
}
