//! Processes of the in-memory kernel and the namespaces topo did not
//! create: a process runs in a network namespace (its own, made as
//! `unshare --net` makes one, or a named one), a container is a name for
//! its first process, and a file elsewhere than /run/netns can be bound to
//! a namespace. Such namespaces are what an attached node (`attach:`)
//! stands for. A namespace without a name ends when its last process and
//! bound file are gone, taking its veths' far ends along.

use super::{dhcp::Dnsmasq, Kernel, MemoryKernel};
use crate::machine::{KernelError, Result};
use crate::model::{Attach, Ns};
use std::collections::BTreeMap;

/// One process: the namespace it runs in, and whether it is the lab's
/// dnsmasq (with the arguments it was started with).
#[derive(Debug, Clone)]
pub(super) struct Proc {
    pub ns: u64,
    pub dnsmasq: Option<Dnsmasq>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Procs {
    pub by_pid: BTreeMap<u32, Proc>,
    next_pid: u32,
    /// Container name → its first process, `None` while stopped.
    containers: BTreeMap<String, Option<u32>>,
    /// Namespace files outside /run/netns, by path: the namespace bound
    /// there, or `None` for a file that is no network namespace.
    files: BTreeMap<String, Option<u64>>,
}

impl Procs {
    /// Pids count up from 1000; a recycled pid is made on purpose
    /// (`spawn_with_pid`).
    fn next(&mut self) -> u32 {
        self.next_pid = self.next_pid.max(999) + 1;
        while self.by_pid.contains_key(&self.next_pid) {
            self.next_pid += 1;
        }
        self.next_pid
    }

    /// Lines of the canonical dump: processes, containers, bound files
    /// (namespaces by `label`). The lab's dnsmasq shows without its pid,
    /// which differs from one start to the next.
    pub fn canon(&self, label: impl Fn(u64) -> String) -> Vec<String> {
        let mut out = Vec::new();
        for (pid, p) in &self.by_pid {
            let ns = label(p.ns);
            match &p.dnsmasq {
                Some(d) => out.push(format!("process dnsmasq in {ns}: {d}")),
                None => out.push(format!("process {pid} in {ns}")),
            }
        }
        // By what they are, not by pid: a server restarted with the same
        // configuration (a change rolled back) is the same server.
        out.sort();
        for (c, pid) in &self.containers {
            out.push(format!("container {c}: {pid:?}"));
        }
        for (f, ns) in &self.files {
            out.push(format!("file {f}: {}", ns.map_or("-".into(), &label)));
        }
        out
    }
}

impl Kernel {
    /// Whether a process runs in the namespace, or a file is bound to it.
    pub(super) fn held(&self, inode: u64) -> bool {
        self.procs.by_pid.values().any(|p| p.ns == inode)
            || self.procs.files.values().any(|f| *f == Some(inode))
    }

    /// Ends a namespace without a name once nothing holds it.
    pub(super) fn collect(&mut self, inode: u64) {
        if !self.held(inode) {
            if let Some(sp) = self.anon.remove(&inode) {
                self.end_space(sp);
            }
        }
    }

    pub(super) fn spawn(&mut self, ns: u64, dnsmasq: Option<Dnsmasq>) -> u32 {
        let pid = self.procs.next();
        self.procs.by_pid.insert(pid, Proc { ns, dnsmasq });
        pid
    }

    /// A process ends; the namespace it ran in may end with it.
    pub(super) fn kill(&mut self, pid: u32) -> bool {
        match self.procs.by_pid.remove(&pid) {
            Some(p) => {
                self.watchers.ended(pid);
                self.collect(p.ns);
                true
            }
            None => false,
        }
    }

    /// A process in a namespace of its own.
    fn unshare(&mut self, pid: Option<u32>) -> u32 {
        let host = self.spaces[&Ns::Host].sysctls.clone();
        let mut sp = self.fresh_space(&host);
        sp.set_up(1, true);
        let inode = sp.inode;
        self.anon.insert(inode, sp);
        match pid {
            Some(p) => {
                self.procs.by_pid.insert(
                    p,
                    Proc {
                        ns: inode,
                        dnsmasq: None,
                    },
                );
                p
            }
            None => self.spawn(inode, None),
        }
    }

    /// The namespace `at` names, and its inode, as the local kernel opens
    /// it; the node stands for it from now on.
    pub(super) fn attach(&mut self, name: &str, at: &Attach) -> Result<u64> {
        let what = format!("attach node {name} to {at}");
        let refuse = |why: String| Err(KernelError::new(what.clone(), why));
        let inode = match at {
            Attach::Pid(p) => match self.procs.by_pid.get(p) {
                Some(proc) => proc.ns,
                None => return refuse(format!("no process {p} is running")),
            },
            Attach::Container(c) => match self.procs.containers.get(c) {
                None => return refuse(format!("docker knows no container `{c}`")),
                Some(None) => return refuse(format!("container `{c}` is not running")),
                Some(Some(pid)) => self.procs.by_pid[pid].ns,
            },
            Attach::Netns(path) => {
                let named = path.strip_prefix("/run/netns/").map(|n| Ns::Node(n.into()));
                match (
                    named.and_then(|n| self.spaces.get(&n)),
                    self.procs.files.get(path),
                ) {
                    (Some(sp), _) => sp.inode,
                    (None, Some(Some(inode))) => *inode,
                    (None, Some(None)) => {
                        return refuse(format!("{path} is not a network namespace"))
                    }
                    (None, None) => return refuse(format!("{path} does not exist")),
                }
            }
        };
        self.attached.insert(name.to_string(), inode);
        Ok(inode)
    }

    pub(super) fn inode_of(&self, ns: &Ns) -> Option<u64> {
        self.space_at(ns).map(|s| s.inode)
    }
}

/// Processes and containers for tests: what an attached node stands for.
impl MemoryKernel {
    /// Starts a process in a network namespace of its own (as `unshare
    /// --net sleep infinity`), its `lo` up; returns its pid.
    pub fn spawn_process(&self) -> u32 {
        self.with(|k| k.unshare(None))
    }

    /// Starts a process in the namespace `ns` (a named one, or a node's).
    pub fn spawn_process_in(&self, ns: &Ns) -> Result<u32> {
        self.with(|k| {
            let inode = k.space(ns)?.inode;
            Ok(k.spawn(inode, None))
        })
    }

    /// Starts a process with pid `pid` in a namespace of its own: a pid
    /// the lab's pid files may still name (recycled). False if taken.
    pub fn spawn_with_pid(&self, pid: u32) -> bool {
        self.with(|k| {
            if k.procs.by_pid.contains_key(&pid) {
                return false;
            }
            k.unshare(Some(pid));
            true
        })
    }

    /// Ends a process (SIGKILL); false when none has that pid.
    pub fn kill_process(&self, pid: u32) -> bool {
        self.with(|k| k.kill(pid))
    }

    /// Whether a process of that pid runs.
    pub fn process_runs(&self, pid: u32) -> bool {
        self.with(|k| k.procs.by_pid.contains_key(&pid))
    }

    /// Starts container `name` (anew if it ran: a new process, a new
    /// namespace); returns its pid.
    pub fn start_container(&self, name: &str) -> u32 {
        self.with(|k| {
            if let Some(Some(old)) = k.procs.containers.get(name).copied() {
                k.kill(old);
            }
            let pid = k.unshare(None);
            k.procs.containers.insert(name.to_string(), Some(pid));
            pid
        })
    }

    /// Stops container `name`: its process ends, the name stays.
    pub fn stop_container(&self, name: &str) {
        self.with(|k| {
            if let Some(Some(pid)) = k.procs.containers.insert(name.to_string(), None) {
                k.kill(pid);
            }
        })
    }

    /// Binds process `pid`'s namespace to `path` (`mount --bind
    /// /proc/PID/ns/net PATH`), or with `None` makes `path` a file that is
    /// no network namespace.
    pub fn bind_namespace(&self, path: &str, pid: Option<u32>) -> Result<()> {
        self.with(|k| {
            let inode = match pid {
                None => None,
                Some(p) => match k.procs.by_pid.get(&p) {
                    Some(proc) => Some(proc.ns),
                    None => return Err(KernelError::new("bind", format!("no process {p}"))),
                },
            };
            k.procs.files.insert(path.to_string(), inode);
            Ok(())
        })
    }

    /// Unbinds `path`; its namespace may end.
    pub fn unbind_namespace(&self, path: &str) {
        self.with(|k| {
            if let Some(Some(inode)) = k.procs.files.remove(path) {
                k.collect(inode);
            }
        })
    }

    /// The inode of process `pid`'s namespace.
    pub fn namespace_of(&self, pid: u32) -> Option<u64> {
        self.with(|k| k.procs.by_pid.get(&pid).map(|p| p.ns))
    }
}
