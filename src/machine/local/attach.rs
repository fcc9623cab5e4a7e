//! Namespaces topo did not create, opened for a node (`attach:`): a
//! process's, a namespace file, a container's (its process, as `docker
//! inspect` or `podman inspect` reports it). Only opened, never made.

use crate::machine::{Cause, KernelError, Result};
use crate::model::Attach;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};

/// `ioctl(fd, NS_GET_NSTYPE)`: the kind of namespace a file is.
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// The namespace `at` names, and its inode.
pub fn open(name: &str, at: &Attach) -> Result<(File, u64)> {
    let what = format!("attach node {name} to {at}");
    let path = match at {
        Attach::Pid(p) => format!("/proc/{p}/ns/net"),
        Attach::Netns(p) => p.clone(),
        Attach::Container(c) => format!("/proc/{}/ns/net", container_pid(&what, c)?),
    };
    let f = File::open(&path).map_err(|e| {
        let why = match (at, e.kind()) {
            (Attach::Pid(p), std::io::ErrorKind::NotFound) => format!("no process {p} is running"),
            (_, std::io::ErrorKind::NotFound) => format!("{path} does not exist"),
            _ => format!("cannot open {path}: {e}"),
        };
        KernelError::new(what.clone(), why)
    })?;
    // SAFETY: an ioctl that only reads the file's namespace type.
    let kind = unsafe { libc::ioctl(f.as_raw_fd(), NS_GET_NSTYPE) };
    if kind != libc::CLONE_NEWNET {
        return Err(KernelError::new(
            what,
            format!("{path} is not a network namespace"),
        ));
    }
    let inode = f
        .metadata()
        .map_err(|e| KernelError::io(what.clone(), e))?
        .ino();
    Ok((f, inode))
}

/// The container engine here: docker, else podman.
fn engine() -> Option<&'static str> {
    let path = std::env::var_os("PATH")?;
    ["docker", "podman"]
        .into_iter()
        .find(|e| std::env::split_paths(&path).any(|d| d.join(e).is_file()))
}

/// The pid of a running container's first process.
fn container_pid(what: &str, c: &str) -> Result<u32> {
    let Some(engine) = engine() else {
        return Err(KernelError {
            what: what.to_string(),
            cause: Cause::Other(
                "neither docker nor podman is installed, so no container can be found".into(),
            ),
        });
    };
    let out = Command::new(engine)
        .args(["inspect", "--format", "{{.State.Pid}}", "--", c])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| KernelError::io(format!("{what}: run {engine} inspect"), e))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(KernelError::new(
            what,
            format!("{engine} knows no container `{c}` ({err})"),
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    match text.trim().parse::<u32>() {
        Ok(0) => Err(KernelError::new(
            what,
            format!("container `{c}` is not running"),
        )),
        Ok(p) => Ok(p),
        Err(_) => Err(KernelError::new(
            what,
            format!("{engine} inspect gave no pid for `{c}`: {}", text.trim()),
        )),
    }
}
