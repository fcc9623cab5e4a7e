//! One multiplexed OpenSSH connection per host for a whole run: the
//! system `ssh`, so the user's ssh config, keys and agent apply. A master
//! (ControlMaster) with a private ControlPath in a folder of the run's own
//! is opened once; every command of the run goes through it; `close`
//! ends it, so no ssh process is left behind.
//!
//! Nothing taken from the lab file reaches a remote shell except the
//! validated `topo` path and host name: the rest of each remote command is
//! fixed, and the lab file itself goes on stdin.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// Why a host cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("cannot reach host `{host}` over ssh ({dest}): {message}")]
    Unreachable {
        host: String,
        dest: String,
        message: String,
    },
    #[error("cannot run ssh for host `{host}`: {source}")]
    Spawn {
        host: String,
        source: std::io::Error,
    },
}

/// An open master connection to one host.
pub struct Ssh {
    pub host: String,
    dest: String,
    control: PathBuf,
    config: Option<PathBuf>,
    /// ssh processes this connection started (master included), to count
    /// and to make sure none is left.
    started: usize,
    closed: bool,
}

/// A master on its way up: `ssh -f` exits once it is connected and has
/// left the master running in the background.
pub struct Opening {
    ssh: Option<Ssh>,
    child: Option<Child>,
}

impl Opening {
    /// Waits until the master is up, or ssh gave up.
    pub fn wait(mut self) -> Result<Ssh, SshError> {
        // Both are `Some` until `wait` or the drop takes them (a type with
        // a `Drop` cannot be moved out of).
        let child = self.child.take().expect("started");
        let ssh = self.ssh.take().expect("started");
        let out = child.wait_with_output().map_err(|source| SshError::Spawn {
            host: ssh.host.clone(),
            source,
        })?;
        if !out.status.success() {
            return Err(SshError::Unreachable {
                host: ssh.host.clone(),
                dest: ssh.dest.clone(),
                message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(ssh)
    }
}

impl Drop for Opening {
    /// Not waited for (the run stopped first): ssh is stopped before it
    /// can leave a master behind, and a master it already left is ended
    /// (by `Ssh`'s own drop, once ssh has exited).
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Ssh {
    /// Starts the master to `dest` (what OpenSSH takes: `user@address` or a
    /// name from the ssh config) for `host`, its control socket at `control`
    /// (a short path: a socket's path has at most 107 bytes). It comes up
    /// while the caller does other work; `Opening::wait` says how it went.
    pub fn start(
        host: &str,
        dest: &str,
        config: Option<&Path>,
        control: &Path,
    ) -> Result<Opening, SshError> {
        let mut s = Ssh {
            host: host.to_string(),
            dest: dest.to_string(),
            control: control.to_path_buf(),
            config: config.map(Path::to_path_buf),
            started: 0,
            closed: false,
        };
        let child = s
            .base()
            .args([
                "-o",
                "ControlMaster=yes",
                "-o",
                "ControlPersist=yes",
                "-f",
                "-N",
            ])
            .arg(&s.dest)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| SshError::Spawn {
                host: host.to_string(),
                source,
            })?;
        s.started += 1;
        Ok(Opening {
            ssh: Some(s),
            child: Some(child),
        })
    }

    /// `ssh` with the run's options: the user's config (or the given one),
    /// the private control socket, no password prompts.
    fn base(&self) -> Command {
        let mut c = Command::new("ssh");
        if let Some(f) = &self.config {
            c.arg("-F").arg(f);
        }
        c.arg("-o")
            .arg(format!("ControlPath={}", self.control.display()))
            .args(["-o", "BatchMode=yes", "-T"]);
        c
    }

    /// Runs the fixed remote command `argv` (each word validated by the
    /// caller), `stdin` fed to it, and waits.
    pub fn run(&mut self, argv: &[&str], stdin: &[u8]) -> Result<Output, SshError> {
        let mut child = self.spawn(argv)?;
        if let Some(mut i) = child.stdin.take() {
            // A remote that exits early closes the pipe: its output says why.
            let _ = i.write_all(stdin);
        }
        child.wait_with_output().map_err(|source| SshError::Spawn {
            host: self.host.clone(),
            source,
        })
    }

    /// Starts the remote command with pipes to talk to it while it runs.
    pub fn spawn(&mut self, argv: &[&str]) -> Result<Child, SshError> {
        self.started += 1;
        self.base()
            .arg(&self.dest)
            .arg("--")
            .args(argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| SshError::Spawn {
                host: self.host.clone(),
                source,
            })
    }

    /// Starts the remote command with its output on ours, input piped.
    pub fn spawn_attached(&mut self, argv: &[&str]) -> Result<Child, SshError> {
        self.started += 1;
        self.base()
            .arg(&self.dest)
            .arg("--")
            .args(argv)
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|source| SshError::Spawn {
                host: self.host.clone(),
                source,
            })
    }

    /// How many ssh processes this connection ran (the master is one).
    pub fn processes(&self) -> usize {
        self.started
    }

    /// Ends the master connection (once; dropping it does too).
    pub fn close(&mut self) {
        self.exit();
    }

    fn exit(&mut self) {
        if !std::mem::replace(&mut self.closed, true) && self.control.exists() {
            let _ = self
                .base()
                .args(["-O", "exit"])
                .arg(&self.dest)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for Ssh {
    fn drop(&mut self) {
        self.exit();
    }
}
