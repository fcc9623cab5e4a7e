//! Running a command in a node's namespace, as `ip netns exec` does: the
//! command replaces topo (no shell, the argv exactly as given) after
//! entering the namespace in a `pre_exec` hook, in a private mount
//! namespace with a fresh /sys, so tools that read /sys/class/net see the
//! node's interfaces, and with the node's /etc/netns files (resolv.conf,
//! hosts) bound over those of /etc.

use crate::machine::ExecFailure;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Replaces this process with `argv` in namespace `ns` (the current one
/// when `None`), with `binds` (source, /etc target) mounted; returns only
/// when that fails.
pub(super) fn exec_in(
    ns: Option<&File>,
    binds: &[(CString, CString)],
    argv: &[String],
) -> ExecFailure {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    if let Some(ns) = ns {
        let raw = ns.as_fd().as_raw_fd();
        let binds = binds.to_vec();
        // SAFETY: the hook makes only system calls (setns, unshare, mount),
        // and topo has no other thread here (exec runs before the runtime).
        unsafe {
            cmd.pre_exec(move || {
                setns(BorrowedFd::borrow_raw(raw), CloneFlags::CLONE_NEWNET)
                    .map_err(std::io::Error::from)?;
                if private_mounts() {
                    fresh_sys();
                    bind_etc(&binds);
                }
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

/// A private mount namespace, as `ip netns exec` makes, whose mounts never
/// reach the machine's. Best effort: without it the command still runs in
/// the node, but sees the machine's /sys and /etc.
fn private_mounts() -> bool {
    if unshare(CloneFlags::CLONE_NEWNS).is_err() {
        return false;
    }
    let slave = MsFlags::MS_SLAVE | MsFlags::MS_REC;
    mount(None::<&str>, "/", None::<&str>, slave, None::<&str>).is_ok()
}

/// /sys mounted from the new network namespace.
fn fresh_sys() {
    let _ = umount2("/sys", MntFlags::MNT_DETACH);
    let _ = mount(
        Some("sysfs"),
        "/sys",
        Some("sysfs"),
        MsFlags::empty(),
        None::<&str>,
    );
}

/// Each /etc/netns/NODE/NAME over /etc/NAME; one that fails (no /etc/NAME
/// to cover) is skipped, as iproute2 does.
fn bind_etc(binds: &[(CString, CString)]) {
    for (src, dst) in binds {
        let _ = mount(
            Some(src.as_c_str()),
            dst.as_c_str(),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        );
    }
}
