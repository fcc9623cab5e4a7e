//! /etc/netns/NODE: the files `ip netns exec NODE` binds over /etc (and
//! `topo exec` does too), such as resolv.conf and hosts.

use crate::machine::{KernelError, MadeDirs, Result};
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Where iproute2 looks; fixed, as `ip netns exec` knows no other place.
const ROOT: &str = "/etc/netns";

fn dir(node: &str) -> PathBuf {
    Path::new(ROOT).join(node)
}

/// A plain file name: no path can leave the node's directory.
fn file(node: &str, name: &str) -> io::Result<PathBuf> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{name}` is not a file name"),
        ));
    }
    Ok(dir(node).join(name))
}

pub fn read(node: &str, name: &str) -> Result<Option<String>> {
    read_io(node, name).map_err(|e| KernelError::io(format!("read /etc/netns/{node}/{name}"), e))
}

fn read_io(node: &str, name: &str) -> io::Result<Option<String>> {
    match std::fs::read_to_string(file(node, name)?) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        // Not text: not a file topo wrote.
        Err(e) if e.kind() == io::ErrorKind::InvalidData => Ok(Some(String::new())),
        Err(e) => Err(e),
    }
}

/// Written whole, then renamed over the old one: a reader never sees half.
pub fn write(node: &str, name: &str, text: &str) -> Result<()> {
    write_io(node, name, text)
        .map_err(|e| KernelError::io(format!("write /etc/netns/{node}/{name}"), e))
}

fn write_io(node: &str, name: &str, text: &str) -> io::Result<()> {
    let path = file(node, name)?;
    let tmp = dir(node).join(format!(".{name}.topo-tmp"));
    std::fs::write(&tmp, text)?;
    super::count_write();
    std::fs::rename(&tmp, &path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

pub fn remove(node: &str, name: &str) -> Result<()> {
    let what = || format!("remove /etc/netns/{node}/{name}");
    let path = file(node, name).map_err(|e| KernelError::io(what(), e))?;
    super::count_write();
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(KernelError::io(what(), e)),
        _ => Ok(()),
    }
}

/// Makes what is missing of /etc/netns/NODE.
pub fn make_dir(node: &str) -> Result<MadeDirs> {
    let (root, dir) =
        make_dir_io(node).map_err(|e| KernelError::io(format!("make /etc/netns/{node}"), e))?;
    Ok(MadeDirs { root, dir })
}

/// (root made, dir made).
fn make_dir_io(node: &str) -> io::Result<(bool, bool)> {
    let made = |p: &Path| match std::fs::create_dir(p) {
        Ok(()) => {
            super::count_write();
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    };
    let root = made(Path::new(ROOT))?;
    Ok((root, made(&dir(node))?))
}

/// Removes /etc/netns/NODE if empty, then /etc/netns if `root` and empty.
pub fn remove_dir(node: &str, root: bool) -> Result<bool> {
    remove_dir_io(node, root).map_err(|e| KernelError::io(format!("remove /etc/netns/{node}"), e))
}

fn remove_dir_io(node: &str, root: bool) -> io::Result<bool> {
    let gone = |p: &Path| match std::fs::remove_dir(p) {
        Ok(()) => {
            super::count_write();
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => Ok(false),
        Err(e) => Err(e),
    };
    if !gone(&dir(node))? {
        return Ok(false);
    }
    if root {
        gone(Path::new(ROOT))?;
    }
    Ok(true)
}

/// (/etc/netns/NODE/NAME, /etc/NAME) for every file there, as `ip netns
/// exec` binds them; made before the exec hook, which may not allocate.
pub fn binds(node: &str) -> Vec<(CString, CString)> {
    let Ok(rd) = std::fs::read_dir(dir(node)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name();
        if name.as_bytes().starts_with(b".") {
            continue;
        }
        let src = CString::new(e.path().as_os_str().as_bytes());
        let dst = CString::new(Path::new("/etc").join(&name).as_os_str().as_bytes());
        if let (Ok(s), Ok(d)) = (src, dst) {
            out.push((s, d));
        }
    }
    out.sort();
    out
}
