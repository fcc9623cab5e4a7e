//! Running a command in a node's namespace, as `ip netns exec` does: the
//! command replaces topo (no shell, the argv exactly as given) after
//! entering the namespace in a `pre_exec` hook, in a private mount
//! namespace with a fresh /sys, so tools that read /sys/class/net see the
//! node's interfaces.

use crate::machine::ExecFailure;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Replaces this process with `argv` in namespace `ns` (the current one
/// when `None`); returns only when that fails.
pub(super) fn exec_in(ns: Option<&File>, argv: &[String]) -> ExecFailure {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    if let Some(ns) = ns {
        let raw = ns.as_fd().as_raw_fd();
        // SAFETY: the hook makes only system calls (setns, unshare, mount),
        // and topo has no other thread here (exec runs before the runtime).
        unsafe {
            cmd.pre_exec(move || {
                setns(BorrowedFd::borrow_raw(raw), CloneFlags::CLONE_NEWNET)
                    .map_err(std::io::Error::from)?;
                fresh_sys();
                Ok(())
            });
        }
    }
    let e = cmd.exec();
    match e.kind() {
        std::io::ErrorKind::NotFound => ExecFailure::NotFound(e),
        _ => ExecFailure::CannotRun(e),
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
