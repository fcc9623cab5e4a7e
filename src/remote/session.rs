//! A remote topo that says its version first: started with
//! `--say-version`, the first line it prints is its `--version` line,
//! before it reads anything. Each host of a run is sent its input only
//! once every host has said this machine's version, so the version check
//! costs no session of its own, and nothing (not the file, not a word of
//! a held apply) reaches a topo of another version.

use super::{at_once, version_line, version_verdict, Conn, Fleet, RemoteError, Reply, SshError};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout};
use std::thread::JoinHandle;
use std::time::Instant;

/// The flag that makes a topo say its version first.
pub const SAY_VERSION: &str = "--say-version";

/// One remote topo, with pipes to talk to it while it runs.
pub struct Session {
    pub host: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr: Option<JoinHandle<String>>,
    /// Lines read that turned out to be the start of its result.
    pub kept: String,
}

impl Session {
    fn start(c: &mut Conn, args: &[&str]) -> Result<Session, SshError> {
        let mut words = vec![SAY_VERSION];
        words.extend_from_slice(args);
        let mut child = c.start(&words)?;
        let stdin = child.stdin.take();
        // `Conn::start` pipes all three.
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut err = child.stderr.take().expect("piped stderr");
        // Drained all along, so a talkative remote never blocks on it.
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Ok(Session {
            host: c.host.clone(),
            child,
            stdin,
            stdout,
            stderr: Some(stderr),
            kept: String::new(),
        })
    }

    /// The next line it printed, without its newline; None at its end.
    pub fn line(&mut self) -> Option<String> {
        let mut l = String::new();
        match self.stdout.read_line(&mut l) {
            Ok(n) if n > 0 => Some(l.trim_end_matches('\n').to_string()),
            _ => None,
        }
    }

    /// Writes `bytes` to its input. A remote that ended already closed
    /// it: what it printed says why.
    pub fn send(&mut self, bytes: &[u8]) {
        if let Some(i) = self.stdin.as_mut() {
            let _ = i.write_all(bytes).and_then(|()| i.flush());
        }
    }

    /// Closes its input, waits for it to end, and collects what it
    /// printed (after the lines already read, but those `kept`).
    pub fn finish(mut self) -> Reply {
        drop(self.stdin.take());
        let mut out = std::mem::take(&mut self.kept);
        let _ = self.stdout.read_to_string(&mut out);
        let code = self.child.wait().ok().and_then(|s| s.code());
        let stderr = self.stderr.take().map(|j| j.join().unwrap_or_default());
        Reply {
            host: self.host,
            code,
            stdout: out,
            stderr: stderr.unwrap_or_default(),
        }
    }
}

impl Fleet {
    /// Starts `topo --say-version ARGS(host)` on every host at once. Only
    /// when every host said this machine's version are they returned, to
    /// be sent their input; otherwise every one is ended without a byte
    /// sent, and the error names the first host of another version.
    pub fn sessions(
        &mut self,
        args: &(dyn Fn(&str) -> Vec<String> + Sync),
    ) -> Result<Vec<Session>, RemoteError> {
        let t = Instant::now();
        let started = self.each(|c| {
            let words = args(&c.host);
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            Session::start(c, &words).map(|mut s| {
                let said = s.line();
                (s, said)
            })
        });
        let local = version_line();
        let mut sessions = Vec::new();
        let mut unreachable = Vec::new();
        let mut other = None;
        for (i, s) in started.into_iter().enumerate() {
            match s {
                Ok((s, said)) => {
                    if other.is_none() && said.as_deref() != Some(local.as_str()) {
                        other = Some((i, said));
                    }
                    sessions.push(s);
                }
                Err(e) => unreachable.push(e),
            }
        }
        tracing::debug!(
            ms = t.elapsed().as_millis() as u64,
            "every host said its version"
        );
        if !unreachable.is_empty() {
            // The sessions that did start end without a byte sent.
            at_once(sessions, Session::finish);
            return Err(RemoteError::Unreachable(unreachable));
        }
        let Some((i, said)) = other else {
            return Ok(sessions);
        };
        // Every host has a session here: `replies[i]` is host `i`'s.
        let replies = at_once(sessions, Session::finish);
        Err(match said.filter(|l| !l.trim().is_empty()) {
            Some(remote) => RemoteError::Version {
                host: self.conns[i].host.clone(),
                local,
                remote: remote.trim().to_string(),
            },
            // Said nothing: a topo from before `--say-version`, or none at
            // all. Its `--version` names it.
            None => self.unnamed(i, &replies[i]),
        })
    }

    /// Why host `i`, which said no version, cannot be used.
    fn unnamed(&mut self, i: usize, session: &Reply) -> RemoteError {
        if session.ssh_failed() {
            return RemoteError::Failed(vec![(session.host.clone(), session.stderr.trim().into())]);
        }
        match self.conns[i].call(&["--version"], b"") {
            Err(e) => RemoteError::Unreachable(vec![e]),
            Ok(r) => version_verdict(&r).unwrap_or_else(|| {
                let why = format!("its topo said no version: {}", session.stderr.trim());
                RemoteError::Failed(vec![(r.host, why)])
            }),
        }
    }

    /// Runs `topo ARGS(host)` on every host at once, each given `input`
    /// (once every host is known to run this version); their replies in
    /// host order.
    pub fn call_all(
        &mut self,
        args: &(dyn Fn(&str) -> Vec<String> + Sync),
        input: &[u8],
    ) -> Result<Vec<Reply>, RemoteError> {
        let sessions = self.sessions(args)?;
        let t = Instant::now();
        let replies = at_once(sessions, |mut s| {
            s.send(input);
            s.finish()
        });
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "every host answered");
        Ok(replies)
    }
}
