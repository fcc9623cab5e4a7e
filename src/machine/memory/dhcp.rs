//! DHCP servers of the in-memory kernel, as the local machine has them:
//! dnsmasq is a process started in the namespace of the interface it
//! serves, and what tells topo about it are files under /run/topo/LAB/dhcp
//! (its pid file, the index of the interface it started on, its
//! configuration named by the hash of its text, its leases).
//!
//! A pid file proves nothing alone: a server is the lab's when the process
//! of that pid is dnsmasq started with that pid file; it serves only while
//! it runs in the namespace the interface is in now, and the interface is
//! the one it started on (same index). A process outlives the namespace it
//! runs in: a namespace deleted under it lives on without a name, with its
//! interfaces, until the process ends.

use super::{errno_error, Kernel, MemoryKernel};
use crate::machine::{Cause, DhcpConf, DhcpFound, KernelError, Result};
use crate::model::IfRef;
use std::collections::BTreeMap;

const ENODEV: i32 = 19;

/// What a lab's dnsmasq was started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Dnsmasq {
    /// The pid file it names: the lab's, for this interface.
    pub lab: String,
    pub on: IfRef,
    /// The name of the configuration file it reads (its hash).
    pub conf: String,
    pub dns: bool,
}

impl std::fmt::Display for Dnsmasq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dns = if self.dns { "" } else { " --port=0" };
        write!(f, "lab {} on {} conf {}{dns}", self.lab, self.on, self.conf)
    }
}

/// The files of one server: /run/topo/LAB/dhcp/NS/IF.*.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Files {
    pid: Option<u32>,
    ifindex: Option<u32>,
    /// Configuration files: hash in the name → text.
    confs: BTreeMap<String, String>,
    leases: bool,
}

impl Files {
    fn is_empty(&self) -> bool {
        *self == Files::default()
    }
}

/// Servers' files by lab and interface.
pub(super) type Servers = BTreeMap<(String, IfRef), Files>;

fn hash(text: &str) -> String {
    format!("{:016x}", crate::model::names::fnv1a(text))
}

pub(super) fn missing() -> Cause {
    Cause::Missing {
        program: "dnsmasq",
        package: "dnsmasq-base",
        why: "topo runs it for `dhcp:`",
    }
}

impl Kernel {
    /// The process the pid file names, if it is the lab's dnsmasq for it.
    fn server(&self, lab: &str, on: &IfRef) -> Option<(u32, &Dnsmasq, u64)> {
        let pid = self.dhcp.get(&(lab.to_string(), on.clone()))?.pid?;
        let p = self.procs.by_pid.get(&pid)?;
        let d = p.dnsmasq.as_ref()?;
        (d.lab == lab && d.on == *on).then_some((pid, d, p.ns))
    }

    /// The pids of the lab's running servers.
    pub(super) fn dhcp_pids(&self, lab: &str) -> std::collections::BTreeSet<u32> {
        let mine = self.dhcp.keys().filter(|(l, _)| l == lab);
        mine.filter_map(|(_, on)| self.server(lab, on).map(|(pid, _, _)| pid))
            .collect()
    }

    pub(super) fn dhcp_servers(&self, lab: &str) -> Vec<DhcpFound> {
        let mut out = Vec::new();
        // A server stopped half-way (a killed restart) leaves its leases.
        let mine = self.dhcp.iter().filter(|((l, _), _)| l == lab);
        for ((_, on), files) in mine {
            let inode = self.inode_of(&on.ns);
            let index = self.space_at(&on.ns).and_then(|sp| sp.by_name(&on.name));
            let serving = inode.is_some() && index.is_some() && files.ifindex == index;
            let mut found = DhcpFound {
                on: on.clone(),
                conf: None,
                intact: false,
            };
            if let Some((_, d, ns)) = self.server(lab, on).filter(|_| serving) {
                if Some(ns) == inode {
                    let text = files.confs.get(&d.conf).cloned().unwrap_or_default();
                    found.intact = d.conf == hash(&text);
                    found.conf = Some(text);
                }
            }
            out.push(found);
        }
        out
    }

    /// Stops the lab's server on `on` if one runs (one request), and
    /// removes its files.
    pub(super) fn stop_dhcp(&mut self, lab: &str, on: &IfRef, forget_leases: bool) -> Result<()> {
        if let Some((pid, _, _)) = self.server(lab, on) {
            self.write(format!("stop dnsmasq on {on}"))?;
            self.kill(pid);
        }
        let key = (lab.to_string(), on.clone());
        if let Some(f) = self.dhcp.get_mut(&key) {
            f.pid = None;
            f.ifindex = None;
            f.confs.clear();
            f.leases &= !forget_leases;
            if f.is_empty() {
                self.dhcp.remove(&key);
            }
        }
        Ok(())
    }

    /// Starts dnsmasq on `on` (one request) after stopping the one it
    /// replaces.
    pub(super) fn start_dhcp(&mut self, lab: &str, on: &IfRef, conf: &DhcpConf) -> Result<()> {
        let what = format!("start dnsmasq on {on}");
        let sp = self.space(&on.ns)?;
        let (inode, index) = (sp.inode, sp.by_name(&on.name));
        let index = index.ok_or_else(|| errno_error(&what, ENODEV))?;
        self.stop_dhcp(lab, on, false)?;
        if self.dnsmasq_missing {
            return Err(KernelError {
                what,
                cause: missing(),
            });
        }
        self.write(&what)?;
        let name = hash(&conf.text);
        let files = self.dhcp.entry((lab.to_string(), on.clone())).or_default();
        files.confs.insert(name.clone(), conf.text.clone());
        files.ifindex = Some(index);
        files.leases = true;
        let d = Dnsmasq {
            lab: lab.to_string(),
            on: on.clone(),
            conf: name,
            dns: conf.dns,
        };
        let pid = self.spawn(inode, Some(d));
        if let Some(f) = self.dhcp.get_mut(&(lab.to_string(), on.clone())) {
            f.pid = Some(pid);
        }
        Ok(())
    }

    /// Lines of the canonical dump: each server's files, the pid file as
    /// whether it names the lab's running dnsmasq, the index file as
    /// whether it is the interface's now.
    pub(super) fn dhcp_canon(&self) -> Vec<String> {
        let mut out = Vec::new();
        for ((lab, on), f) in &self.dhcp {
            let pid = match (f.pid, self.server(lab, on)) {
                (None, _) => "-",
                (Some(_), Some(_)) => "dnsmasq",
                (Some(_), None) => "stale",
            };
            let now = self.space_at(&on.ns).and_then(|sp| sp.by_name(&on.name));
            let index = match f.ifindex {
                None => "-",
                Some(i) if Some(i) == now => "current",
                Some(_) => "stale",
            };
            let confs: Vec<&String> = f.confs.keys().collect();
            out.push(format!(
                "dhcp files {lab} {on}: pid {pid} ifindex {index} confs {confs:?} leases {}",
                f.leases
            ));
        }
        out
    }
}

/// DHCP for tests: the files and processes as a person could change them.
impl MemoryKernel {
    /// dnsmasq is not installed (`false`: it is again).
    pub fn set_dnsmasq_missing(&self, missing: bool) {
        self.with(|k| k.dnsmasq_missing = missing);
    }

    /// The pid in the lab's pid file for `on`.
    pub fn dhcp_pid(&self, lab: &str, on: &IfRef) -> Option<u32> {
        self.with(|k| k.dhcp.get(&(lab.to_string(), on.clone()))?.pid)
    }

    /// The configuration the lab's dnsmasq on `on` reads, edited by hand
    /// (the file keeps its name).
    pub fn edit_dhcp_conf(&self, lab: &str, on: &IfRef, text: &str) -> bool {
        self.with(|k| {
            let key = (lab.to_string(), on.clone());
            let Some((_, d, _)) = k.server(lab, on) else {
                return false;
            };
            let name = d.conf.clone();
            let files = k.dhcp.get_mut(&key).expect("a server has files");
            files.confs.insert(name, text.to_string());
            true
        })
    }
}
