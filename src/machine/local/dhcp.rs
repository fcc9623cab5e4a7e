//! DHCP servers: Debian's dnsmasq (package dnsmasq-base, the program
//! without a system service), started in the namespace of the interface it
//! serves, bound to that interface only, reading nothing of the machine's
//! (no /etc/dnsmasq.conf, resolv.conf or hosts; leases not in
//! /var/lib/misc). Its files live in /run/topo/LAB/dhcp/NS/: IF.pid,
//! IF.leases and IF.HASH.conf, the hash naming the text it was started
//! with.
//!
//! A pid file proves nothing by itself: the pid may have been recycled. A
//! process is the lab's server only when it is dnsmasq and its command
//! line names that very pid file; it is held by a pidfd from before those
//! checks, so a signal can only reach the process that passed them.

use super::state_file;
use crate::machine::{Cause, DhcpConf, DhcpFound, KernelError, Machine, Result};
use crate::model::{IfRef, Ns};
use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The program, found in PATH; TOPO_DNSMASQ names another (for tests).
fn program() -> String {
    std::env::var("TOPO_DNSMASQ").unwrap_or_else(|_| "dnsmasq".into())
}

/// Where dnsmasq would be run from, if it is installed.
fn find() -> Option<PathBuf> {
    let p = program();
    if p.contains('/') {
        return Path::new(&p).is_file().then(|| PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(&p))
        .find(|f| f.is_file())
}

pub fn unavailable() -> Option<String> {
    match find() {
        Some(_) => None,
        None => Some(missing().to_string()),
    }
}

fn missing() -> Cause {
    Cause::Missing {
        program: "dnsmasq",
        package: "dnsmasq-base",
        why: "topo runs it for `dhcp:`",
    }
}

fn lab_dir(lab: &str) -> PathBuf {
    state_file::run_dir().join(lab).join("dhcp")
}

fn ns_dir(lab: &str, ns: &Ns) -> PathBuf {
    lab_dir(lab).join(ns.label())
}

fn pid_file(lab: &str, on: &IfRef) -> PathBuf {
    ns_dir(lab, &on.ns).join(format!("{}.pid", on.name))
}

fn lease_file(lab: &str, on: &IfRef) -> PathBuf {
    ns_dir(lab, &on.ns).join(format!("{}.leases", on.name))
}

/// The index of the interface when dnsmasq started on it: one made anew
/// since has another, and dnsmasq does not serve it.
fn index_file(lab: &str, on: &IfRef) -> PathBuf {
    ns_dir(lab, &on.ns).join(format!("{}.ifindex", on.name))
}

fn hash(text: &str) -> String {
    format!("{:016x}", crate::model::names::fnv1a(text))
}

fn conf_file(lab: &str, on: &IfRef, text: &str) -> PathBuf {
    ns_dir(lab, &on.ns).join(format!("{}.{}.conf", on.name, hash(text)))
}

/// A process proven to be the lab's dnsmasq for one pid file.
struct Server {
    pidfd: OwnedFd,
    pid: i32,
    args: Vec<String>,
}

impl Server {
    fn arg(&self, key: &str) -> Option<&str> {
        self.args.iter().find_map(|a| a.strip_prefix(key))
    }

    /// The inode of its network namespace.
    fn netns(&self) -> Option<u64> {
        let l = std::fs::read_link(format!("/proc/{}/ns/net", self.pid)).ok()?;
        let l = l.to_str()?;
        l.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
    }
}

fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: a plain system call; the fd it returns is ours alone.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The process the pid file names, if it is the lab's dnsmasq: dnsmasq,
/// started with that pid file and a configuration topo wrote beside it
/// for the same interface (a process that merely names the pid file is
/// not the lab's, and is never signalled).
fn server(pid_path: &Path) -> Option<Server> {
    let pid: i32 = std::fs::read_to_string(pid_path)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let pidfd = pidfd_open(pid)?;
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let name = exe.file_name()?.to_string_lossy().into_owned();
    if !name.starts_with("dnsmasq") {
        return None;
    }
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = raw
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let mine = format!("--pid-file={}", pid_path.display());
    let ifname = pid_path.file_name()?.to_str()?.strip_suffix(".pid")?;
    let ours = |conf: &str| {
        let conf = Path::new(conf);
        conf.parent() == pid_path.parent()
            && conf.extension().is_some_and(|e| e == "conf")
            && conf
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(server_file_of)
                == Some(ifname)
    };
    let configured = args
        .iter()
        .filter_map(|a| a.strip_prefix("--conf-file="))
        .any(ours);
    (args.contains(&mine) && configured).then_some(Server { pidfd, pid, args })
}

/// A handle on each of the lab's running servers, readable once it ends.
pub fn running(lab: &str) -> io::Result<Vec<OwnedFd>> {
    Ok(served(lab)?
        .iter()
        .filter_map(|on| server(&pid_file(lab, on)))
        .map(|s| s.pidfd)
        .collect())
}

/// The interfaces the lab has server files for: a pid file, or what a
/// server stopped half-way left (a killed restart keeps the leases).
pub fn served(lab: &str) -> io::Result<Vec<IfRef>> {
    let mut out = std::collections::BTreeSet::new();
    let Ok(rd) = std::fs::read_dir(lab_dir(lab)) else {
        return Ok(Vec::new());
    };
    for ns_entry in rd.flatten() {
        let ns = Ns::parse(&ns_entry.file_name().to_string_lossy());
        for f in std::fs::read_dir(ns_entry.path())?.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if let Some(ifname) = server_file_of(&name) {
                out.insert(IfRef::new(ns.clone(), ifname));
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// The interface a server's file is for: IF.pid, IF.ifindex, IF.leases,
/// IF.HASH.conf (the hash is the last part before `.conf`: an interface
/// name may hold dots).
fn server_file_of(name: &str) -> Option<&str> {
    for suffix in [".pid", ".ifindex", ".leases"] {
        if let Some(ifname) = name.strip_suffix(suffix) {
            return Some(ifname);
        }
    }
    let (ifname, _hash) = name.strip_suffix(".conf")?.rsplit_once('.')?;
    Some(ifname)
}

/// The lab's servers, with what each runs with when it serves where it
/// should; `here` gives, per interface, the inode of its namespace and its
/// index now (`None`: gone).
pub fn found(
    lab: &str,
    here: &BTreeMap<IfRef, (Option<u64>, Option<u32>)>,
) -> io::Result<Vec<DhcpFound>> {
    let mut out = Vec::new();
    for (on, (inode, index)) in here {
        let mut found = DhcpFound {
            on: on.clone(),
            conf: None,
            intact: false,
        };
        let started_on = std::fs::read_to_string(index_file(lab, on))
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok());
        let serving = inode.is_some() && index.is_some() && started_on == *index;
        if let Some(s) = server(&pid_file(lab, on)).filter(|_| serving) {
            if s.netns() == *inode {
                if let Some(conf) = s.arg("--conf-file=").map(PathBuf::from) {
                    let text = std::fs::read_to_string(&conf).unwrap_or_default();
                    found.intact = conf.to_string_lossy().contains(&hash(&text));
                    found.conf = Some(text);
                }
            }
        }
        out.push(found);
    }
    Ok(out)
}

/// Stops the lab's server on `on`, if one runs, and removes its files.
pub fn stop(lab: &str, on: &IfRef, forget_leases: bool) -> Result<()> {
    let what = || format!("stop dnsmasq on {on}");
    let pid = pid_file(lab, on);
    if let Some(s) = server(&pid) {
        super::count_write();
        signal(&s, libc::SIGTERM);
        if !exited(&s, Duration::from_secs(3)) {
            signal(&s, libc::SIGKILL);
            if !exited(&s, Duration::from_secs(2)) {
                return Err(KernelError::new(
                    what(),
                    format!("process {} does not end", s.pid),
                ));
            }
        }
    }
    let dir = ns_dir(lab, &on.ns);
    let confs = std::fs::read_dir(&dir).into_iter().flatten().flatten();
    let prefix = format!("{}.", on.name);
    for f in confs {
        let n = f.file_name().to_string_lossy().into_owned();
        if n.starts_with(&prefix) && n.ends_with(".conf") {
            remove(&f.path()).map_err(|e| KernelError::io(what(), e))?;
        }
    }
    remove(&pid).map_err(|e| KernelError::io(what(), e))?;
    remove(&index_file(lab, on)).map_err(|e| KernelError::io(what(), e))?;
    if forget_leases {
        remove(&lease_file(lab, on)).map_err(|e| KernelError::io(what(), e))?;
    }
    // Folders go with their last file.
    let _ = std::fs::remove_dir(&dir);
    let _ = std::fs::remove_dir(lab_dir(lab));
    Ok(())
}

fn remove(p: &Path) -> io::Result<()> {
    match std::fs::remove_file(p) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn signal(s: &Server, sig: i32) {
    // SAFETY: a plain system call on a pidfd we hold.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            s.pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        );
    }
}

/// Whether the process ended within `limit` (a pidfd is readable then).
fn exited(s: &Server, limit: Duration) -> bool {
    let mut p = libc::pollfd {
        fd: s.pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd, ours.
    let n = unsafe { libc::poll(&mut p, 1, limit.as_millis() as i32) };
    n > 0
}

/// Starts dnsmasq on `on` inside `ns` (`None`: the host), after stopping
/// the one it replaces.
pub fn start(lab: &str, on: &IfRef, ns: Option<&File>, index: u32, conf: &DhcpConf) -> Result<()> {
    let what = || format!("start dnsmasq on {on}");
    stop(lab, on, false)?;
    let exe = find().ok_or_else(|| KernelError {
        what: what(),
        cause: missing(),
    })?;
    let dir = ns_dir(lab, &on.ns);
    std::fs::create_dir_all(&dir).map_err(|e| KernelError::io(what(), e))?;
    let conf_path = conf_file(lab, on, &conf.text);
    std::fs::write(&conf_path, &conf.text).map_err(|e| KernelError::io(what(), e))?;
    std::fs::write(index_file(lab, on), index.to_string())
        .map_err(|e| KernelError::io(what(), e))?;
    let mut cmd = Command::new(exe);
    cmd.arg(format!("--conf-file={}", conf_path.display()))
        .args(["--no-hosts", "--no-resolv"]);
    if !conf.dns {
        cmd.arg("--port=0");
    }
    cmd.args(["--bind-interfaces", &format!("--interface={}", on.name)])
        .arg("--except-interface=lo")
        .arg(format!(
            "--dhcp-leasefile={}",
            lease_file(lab, on).display()
        ))
        .arg(format!("--pid-file={}", pid_file(lab, on).display()))
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(ns) = ns {
        let raw = ns.as_raw_fd();
        // SAFETY: the hook makes one system call, in the forked child.
        unsafe {
            cmd.pre_exec(move || {
                nix::sched::setns(
                    std::os::fd::BorrowedFd::borrow_raw(raw),
                    nix::sched::CloneFlags::CLONE_NEWNET,
                )
                .map_err(io::Error::from)
            });
        }
    }
    super::count_write();
    // dnsmasq forks its server and returns once it runs, or says why not.
    let out = cmd.output().map_err(|e| KernelError::io(what(), e))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let err = err.trim().trim_start_matches("dnsmasq: ");
        return Err(KernelError::new(
            what(),
            format!("dnsmasq refused to start: {err}"),
        ));
    }
    if server(&pid_file(lab, on)).is_none() {
        return Err(KernelError::new(
            what(),
            "dnsmasq started but is not running",
        ));
    }
    Ok(())
}

impl super::LocalKernel {
    /// The lab's servers, by their files (`Machine::dhcp_servers`).
    pub(super) async fn dhcp_found(&mut self, lab: &str) -> Result<Vec<DhcpFound>> {
        let what = "read the lab's DHCP servers";
        let served = served(lab).map_err(|e| KernelError::io(what, e))?;
        let mut here = std::collections::BTreeMap::new();
        for on in served {
            let inode = self.ns_inode(&on.ns);
            // Asked afresh: an interface deleted by hand leaves its old
            // index behind in what was read before.
            let index = match inode {
                Some(_) => self.link(&on).await?.map(|l| l.index),
                None => None,
            };
            here.insert(on, (inode, index));
        }
        found(lab, &here).map_err(|e| KernelError::io(what, e))
    }

    /// Starts dnsmasq on `on` in its namespace (`Machine::start_dhcp`).
    pub(super) async fn dhcp_start(
        &mut self,
        lab: &str,
        on: &IfRef,
        conf: &DhcpConf,
    ) -> Result<()> {
        let ns = self.ns_fd(&on.ns)?;
        let index = self.link(on).await?.map(|l| l.index).ok_or_else(|| {
            KernelError::netlink(format!("start dnsmasq on {on}"), 19, "no such device")
        })?;
        start(lab, on, ns.as_ref(), index, conf)
    }
}
