//! Every host of a lab, connected: one ssh master each, started at once
//! (and while this machine checks the file), ended at once.

use super::ssh::Opening;
use super::{at_once, version_verdict, Conn, RemoteError, SshError, Target};
use std::path::Path;
use std::time::Instant;

/// Every host of a lab, connected.
pub struct Fleet {
    pub conns: Vec<Conn>,
    // The control sockets' folder goes after the connections.
    _dir: tempfile::TempDir,
}

/// Every host's master on its way up. Dropped before `finish`, it stops
/// them all and leaves no ssh process behind.
pub struct Connecting {
    opening: Vec<(Target, Result<Opening, SshError>)>,
    dir: tempfile::TempDir,
    t0: Instant,
}

impl Connecting {
    /// Waits for every master. Any host that cannot be reached fails the
    /// whole run before anything else happens.
    pub fn finish(self) -> Result<Fleet, RemoteError> {
        let mut conns = Vec::new();
        let mut failed = Vec::new();
        // The masters come up side by side; waiting in turn costs nothing.
        for (t, o) in self.opening {
            match o.and_then(Opening::wait) {
                Ok(ssh) => conns.push(Conn {
                    host: t.host,
                    ssh,
                    topo: t.topo,
                }),
                Err(e) => failed.push(e),
            }
        }
        let fleet = Fleet {
            conns,
            _dir: self.dir,
        };
        if !failed.is_empty() {
            return Err(RemoteError::Unreachable(failed));
        }
        let ms = self.t0.elapsed().as_millis() as u64;
        tracing::debug!(ms, "ssh masters up");
        Ok(fleet)
    }
}

impl Fleet {
    /// Starts every host's master, without waiting for any.
    pub fn start(targets: &[Target], config: Option<&Path>) -> Result<Connecting, RemoteError> {
        let t0 = Instant::now();
        let dir = tempfile::Builder::new()
            .prefix("topo-ssh.")
            .tempdir()
            .map_err(RemoteError::Folder)?;
        let opening = targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let ctl = dir.path().join(format!("{i}.ctl"));
                (t.clone(), super::Ssh::start(&t.host, &t.ssh, config, &ctl))
            })
            .collect();
        Ok(Connecting { opening, dir, t0 })
    }

    /// Connects to every host at once.
    pub fn connect(targets: &[Target], config: Option<&Path>) -> Result<Fleet, RemoteError> {
        Fleet::start(targets, config)?.finish()
    }

    /// Connects to every host and checks, in a session of its own, that
    /// each runs this version of topo: for a remote command whose output
    /// is the user's (`exec`). The other verbs check it in their one
    /// session (`Fleet::sessions`).
    pub fn open(targets: &[Target], config: Option<&Path>) -> Result<Fleet, RemoteError> {
        let mut fleet = Fleet::connect(targets, config)?;
        for r in fleet.each(|c| c.call(&["--version"], b"")) {
            let r = r.map_err(|e| RemoteError::Unreachable(vec![e]))?;
            if let Some(e) = version_verdict(&r) {
                return Err(e);
            }
        }
        Ok(fleet)
    }

    /// Runs `f` on every host at once; results in host order.
    pub fn each<T: Send>(&mut self, f: impl Fn(&mut Conn) -> T + Sync) -> Vec<T> {
        at_once(self.conns.iter_mut().collect(), f)
    }

    /// ssh processes the run started, over all hosts (one master each,
    /// plus one client per command through it).
    pub fn processes(&self) -> usize {
        self.conns.iter().map(|c| c.ssh.processes()).sum()
    }
}

impl Drop for Fleet {
    /// Every master ends at once, not one host after another.
    fn drop(&mut self) {
        let t = Instant::now();
        self.each(|c| c.ssh.close());
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "ssh masters closed");
    }
}
