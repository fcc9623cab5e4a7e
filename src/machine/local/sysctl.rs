//! Reading and writing net.* sysctls of a namespace. /proc/sys/net shows the
//! namespace of the thread that opens the file, so each access enters it.

use super::netns::with_netns;
use std::io;
use std::os::fd::BorrowedFd;
use std::path::PathBuf;

/// A key in dotted form, or in slashed form (`net/ipv6/conf/eth0.5/...`),
/// which keeps the dots of interface names, as sysctl(8) reads it.
fn path(key: &str) -> PathBuf {
    if key.contains('/') {
        PathBuf::from("/proc/sys").join(key)
    } else {
        PathBuf::from("/proc/sys").join(key.replace('.', "/"))
    }
}

fn within<T>(ns: Option<BorrowedFd<'_>>, f: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    match ns {
        Some(fd) => with_netns(fd, f)?,
        None => f(),
    }
}

/// The current value, trimmed; `None` when the key does not exist.
pub fn read(ns: Option<BorrowedFd<'_>>, key: &str) -> io::Result<Option<String>> {
    within(ns, || match std::fs::read_to_string(path(key)) {
        Ok(s) => Ok(Some(s.split_whitespace().collect::<Vec<_>>().join(" "))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    })
}

pub fn write(ns: Option<BorrowedFd<'_>>, key: &str, value: &str) -> io::Result<()> {
    super::count_write();
    within(ns, || std::fs::write(path(key), value))
}
