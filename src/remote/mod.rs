//! Driving the hosts of a lab across machines from one of them (or from
//! any machine with OpenSSH): one multiplexed ssh connection per host for
//! the whole run, the same topo on every host run as
//! `topo VERB - --host NAME --json`, the lab file on its standard input,
//! all hosts at once.
//!
//! Nothing taken from the file reaches a remote command line beyond the
//! validated `topo` path and host name; every other word is fixed here.

mod fleet;
mod frame;
pub mod hold;
pub mod saved;
mod session;
mod ssh;

pub use fleet::{Connecting, Fleet};
pub use frame::{frame, read_frame, read_line, write_frame};
pub use session::Session;
pub use ssh::{Ssh, SshError};

use crate::model::hosts::Placement;
use std::process::Output;

/// What stops a run across hosts before, or while, it changes anything.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Unreachable(Vec<SshError>),
    #[error(
        "host `{host}` runs {remote}, this machine {local}: every host must run the same topo"
    )]
    Version {
        host: String,
        local: String,
        remote: String,
    },
    #[error("cannot make a folder for the ssh control sockets: {0}")]
    Folder(std::io::Error),
    /// Hosts whose topo failed, each with what it said.
    #[error("{}", .0.iter().map(|(h, m)| format!("host `{h}`: {m}")).collect::<Vec<_>>().join("\n"))]
    Failed(Vec<(String, String)>),
}

/// The version line every topo prints for `--version` (and first of all
/// with `--say-version`).
pub fn version_line() -> String {
    format!("topo {}", env!("CARGO_PKG_VERSION"))
}

/// Why a host fails the version check, from what its `topo --version`
/// said; None when it runs this version.
fn version_verdict(r: &Reply) -> Option<RemoteError> {
    let local = version_line();
    let remote = r.stdout.trim().to_string();
    if r.code == Some(0) && remote == local {
        return None;
    }
    let remote = if r.code == Some(0) {
        remote
    } else {
        format!("no topo that runs ({})", r.stderr.trim())
    };
    Some(RemoteError::Version {
        host: r.host.clone(),
        local,
        remote,
    })
}

/// Runs `f` on every item at once, each on a thread of its own; the
/// results in the items' order.
pub fn at_once<I: Send, T: Send>(items: Vec<I>, f: impl Fn(I) -> T + Sync) -> Vec<T> {
    let f = &f;
    std::thread::scope(|s| {
        let jobs: Vec<_> = items.into_iter().map(|i| s.spawn(move || f(i))).collect();
        jobs.into_iter()
            // A panic on a host's thread is a bug: passed on as one.
            .map(|j| j.join().expect("host thread"))
            .collect()
    })
}

/// A host to connect to: the ssh destination and the topo to run there.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Target {
    pub host: String,
    pub ssh: String,
    pub topo: String,
}

/// The hosts of a placed lab, in name order.
pub fn targets(p: &Placement) -> Vec<Target> {
    p.hosts
        .iter()
        .map(|(h, i)| Target {
            host: h.clone(),
            ssh: i.ssh.clone(),
            topo: i.topo.clone(),
        })
        .collect()
}

/// One host's connection and the topo to run there.
pub struct Conn {
    pub host: String,
    pub ssh: Ssh,
    topo: String,
}

/// What a remote topo said.
#[derive(Debug, Clone)]
pub struct Reply {
    pub host: String,
    /// Its exit code; None when it (or ssh) died by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Reply {
    fn of(host: &str, o: Output) -> Reply {
        Reply {
            host: host.to_string(),
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// ssh's own failure (it exits 255), not the remote topo's.
    pub fn ssh_failed(&self) -> bool {
        self.code == Some(255)
    }
}

impl Conn {
    /// The remote command: the host's topo, then `args`, each word quoted
    /// for the remote shell (ssh joins words with spaces).
    fn argv(&self, args: &[&str]) -> Vec<String> {
        std::iter::once(self.topo.as_str())
            .chain(args.iter().copied())
            .map(|w| shlex::try_quote(w).map_or_else(|_| w.to_string(), |q| q.into_owned()))
            .collect()
    }

    /// Runs `topo ARGS` there with `stdin` and waits.
    pub fn call(&mut self, args: &[&str], stdin: &[u8]) -> Result<Reply, SshError> {
        let argv = self.argv(args);
        let words: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = self.ssh.run(&words, stdin)?;
        Ok(Reply::of(&self.host, out))
    }

    /// Starts `topo ARGS` there, its output on ours, its input piped.
    pub fn start_attached(&mut self, args: &[&str]) -> Result<std::process::Child, SshError> {
        let argv = self.argv(args);
        let words: Vec<&str> = argv.iter().map(String::as_str).collect();
        self.ssh.spawn_attached(&words)
    }

    /// Starts `topo ARGS` there, with pipes, for a conversation.
    pub fn start(&mut self, args: &[&str]) -> Result<std::process::Child, SshError> {
        let argv = self.argv(args);
        let words: Vec<&str> = argv.iter().map(String::as_str).collect();
        self.ssh.spawn(&words)
    }
}
