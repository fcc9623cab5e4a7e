//! `topo exec FILE NODE -- CMD...`: what `ip netns exec` does, by node name.
//!
//! topo checks the file and the node, then replaces itself with the command
//! (no shell, the argv exactly as given) after entering the node's network
//! namespace in a `pre_exec` hook. Like `ip netns exec`, it first moves into
//! a private mount namespace and mounts a fresh /sys there, so tools that
//! read /sys/class/net see the node's interfaces. Because the command takes
//! topo's place, its exit code and signals are the caller's directly.

use super::exit;
use crate::kernel::netns;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Runs `argv` in `node`'s namespace; returns only when that fails.
pub fn run(file: &str, node: &str, argv: &[String]) -> i32 {
    match prepare(file, node) {
        Ok(ns) => exec_in(&ns, node, argv),
        Err(msg) => {
            eprintln!("{msg}");
            exit::EXEC_FAILED
        }
    }
}

/// The node's namespace file, after checking the file, the node and the
/// privileges; or the message that says what is wrong.
fn prepare(file: &str, node: &str) -> Result<std::fs::File, String> {
    let l = crate::load(file).map_err(|e| render(&e))?;
    let v = crate::validate(&l, &Default::default()).map_err(|e| render(&e))?;
    let m = v.model;
    if !m.nodes.contains(node) {
        let known: Vec<&str> = m.nodes.iter().map(String::as_str).collect();
        let hint = crate::diag::did_you_mean(node, known.iter().copied())
            .map(|n| format!("did you mean `{n}`? "))
            .unwrap_or_default();
        return Err(format!(
            "error: lab `{}` ({}) has no node `{node}`\nhelp: {hint}its nodes are: {}",
            m.lab,
            l.file,
            known.join(", ")
        ));
    }
    crate::check_privileges().map_err(|e| format!("error: {e}"))?;
    match netns::open(node) {
        Ok(Some(f)) => Ok(f),
        Ok(None) => Err(format!(
            "error: the namespace of node `{node}` ({}) does not exist\nhelp: create the lab first: topo apply {file}",
            netns::path(node).display()
        )),
        Err(e) => Err(format!(
            "error: cannot open the namespace of node `{node}` ({}): {e}",
            netns::path(node).display()
        )),
    }
}

fn render(e: &crate::Error) -> String {
    match e {
        crate::Error::Invalid(report) => report.render(false),
        e => format!("error: {e}"),
    }
}

fn exec_in(ns: &std::fs::File, node: &str, argv: &[String]) -> i32 {
    let raw = ns.as_fd().as_raw_fd();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    // SAFETY: the hook makes only system calls (setns, unshare, mount), and
    // topo has no other thread here (exec runs before the runtime starts).
    unsafe {
        cmd.pre_exec(move || {
            setns(BorrowedFd::borrow_raw(raw), CloneFlags::CLONE_NEWNET)
                .map_err(std::io::Error::from)?;
            fresh_sys();
            Ok(())
        });
    }
    let e = cmd.exec();
    eprintln!("error: cannot run `{}` in node `{node}`: {e}", argv[0]);
    match e.kind() {
        std::io::ErrorKind::NotFound => exit::EXEC_NOT_FOUND,
        _ => exit::EXEC_CANNOT_RUN,
    }
}

/// A private mount namespace with /sys mounted from the new network
/// namespace, as `ip netns exec` makes. Best effort: without it only /sys
/// shows the old namespace's interfaces, so failures are not fatal.
fn fresh_sys() {
    if unshare(CloneFlags::CLONE_NEWNS).is_err() {
        return;
    }
    let slave = MsFlags::MS_SLAVE | MsFlags::MS_REC;
    if mount(None::<&str>, "/", None::<&str>, slave, None::<&str>).is_err() {
        return;
    }
    let _ = umount2("/sys", MntFlags::MNT_DETACH);
    let _ = mount(
        Some("sysfs"),
        "/sys",
        Some("sysfs"),
        MsFlags::empty(),
        None::<&str>,
    );
}
