//! Apply across hosts: applied everywhere or nowhere.
//!
//! Each host runs `topo apply - --host NAME --json --hold`, its saved plan
//! in a frame on standard input, and then talks over the same pipe:
//!
//! 1. it locks the lab and checks its plan still holds, prints `READY` and
//!    waits: `go` applies, anything else (or the pipe closing) ends the run
//!    with nothing changed;
//! 2. once applied and verified it prints `HELD` and waits: `commit` keeps
//!    the lab, anything else (or the pipe closing) rolls it back.
//!
//! The coordinator says `go` only when every host is ready, and `commit`
//! only when every host holds; otherwise the hosts that got that far roll
//! back. A coordinator that dies closes every pipe: nothing stays half
//! applied.

use super::{frame, read_line, Conn, Reply, SshError};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout};

/// Printed by a held apply when its plan holds and the lab is locked.
pub const READY: &str = r#"{"hold":"ready"}"#;
/// Printed by a held apply when it applied and verified.
pub const HELD: &str = r#"{"hold":"held"}"#;

/// The remote side: says `line`, and whether the coordinator said `word`.
pub fn ask(line: &str, word: &str) -> bool {
    println!("{line}");
    let _ = std::io::stdout().flush();
    matches!(read_line(), Ok(Some(l)) if l.trim() == word)
}

/// A host's held apply as the coordinator sees it.
struct Remote {
    host: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr: std::thread::JoinHandle<String>,
    /// A line read that was not the word waited for: the start of its result.
    first: String,
}

/// How one host's apply ended.
#[derive(Debug, Clone)]
pub enum Ending {
    /// Applied, verified and kept.
    Applied(Reply),
    /// Stopped before changing anything (its plan did not hold, or another
    /// host's did not).
    Untouched(Reply),
    /// Changed, then put back (its own failure, or another host's).
    RolledBack(Reply),
    /// ssh could not run it.
    Unreachable(String),
}

impl Remote {
    fn start(c: &mut Conn, args: &[&str], input: &[u8]) -> Result<Remote, SshError> {
        let mut child = c.start(args)?;
        let mut stdin = child.stdin.take();
        if let Some(i) = stdin.as_mut() {
            // A remote that failed already closed its end; what it printed says why.
            let _ = i.write_all(&frame(input)).and_then(|()| i.flush());
        }
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut err = child.stderr.take().expect("piped stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Ok(Remote {
            host: c.host.clone(),
            child,
            stdin,
            stdout,
            stderr,
            first: String::new(),
        })
    }

    /// Waits for the next word of the conversation; false when the remote
    /// finished instead.
    fn reached(&mut self, word: &str) -> bool {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(n) if n > 0 && line.trim() == word => true,
            _ => {
                self.first = line;
                false
            }
        }
    }

    fn say(&mut self, word: &str) {
        if let Some(i) = self.stdin.as_mut() {
            let _ = writeln!(i, "{word}").and_then(|()| i.flush());
        }
    }

    /// Closes the conversation and collects what the remote printed.
    fn finish(mut self) -> Reply {
        drop(self.stdin.take());
        let mut out = std::mem::take(&mut self.first);
        let _ = self.stdout.read_to_string(&mut out);
        let code = self.child.wait().ok().and_then(|s| s.code());
        Reply {
            host: self.host,
            code,
            stdout: out,
            stderr: self.stderr.join().unwrap_or_default(),
        }
    }
}

/// Waits on every remote at once for `word`; which of them said it.
fn all_reach(remotes: &mut [Remote], word: &str) -> Vec<bool> {
    std::thread::scope(|s| {
        let jobs: Vec<_> = remotes
            .iter_mut()
            .map(|r| s.spawn(move || r.reached(word)))
            .collect();
        jobs.into_iter()
            .map(|j| j.join().expect("host thread"))
            .collect()
    })
}

/// Applies each host's saved plan (`inputs`, in the fleet's host order)
/// everywhere or nowhere; how it ended on each host, in that order.
pub fn apply_all(
    fleet: &mut super::Fleet,
    args: &dyn Fn(&str) -> Vec<String>,
    inputs: &[Vec<u8>],
) -> Vec<Ending> {
    let mut endings: Vec<Option<Ending>> = vec![None; fleet.conns.len()];
    let mut remotes = Vec::new();
    let mut at = Vec::new();
    for (i, (c, input)) in fleet.conns.iter_mut().zip(inputs).enumerate() {
        let words = args(&c.host);
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        match Remote::start(c, &words, input) {
            Ok(r) => {
                remotes.push(r);
                at.push(i);
            }
            Err(e) => endings[i] = Some(Ending::Unreachable(e.to_string())),
        }
    }
    let ready = all_reach(&mut remotes, READY);
    let go = endings.iter().all(Option::is_none) && ready.iter().all(|r| *r);
    let mut held = vec![false; remotes.len()];
    if go {
        for r in &mut remotes {
            r.say("go");
        }
        held = all_reach(&mut remotes, HELD);
    }
    let commit = go && held.iter().all(|h| *h);
    for (k, mut r) in remotes.into_iter().enumerate() {
        if held[k] {
            r.say(if commit { "commit" } else { "rollback" });
        } else if ready[k] && !go {
            r.say("cancel");
        }
        let reply = r.finish();
        endings[at[k]] = Some(if reply.ssh_failed() {
            Ending::Unreachable(reply.stderr.trim().to_string())
        } else if commit {
            Ending::Applied(reply)
        } else if go {
            // It applied (or failed part-way, and rolled back itself).
            Ending::RolledBack(reply)
        } else {
            Ending::Untouched(reply)
        });
    }
    endings
        .into_iter()
        .map(|e| e.expect("every host ended"))
        .collect()
}
