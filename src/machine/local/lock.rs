//! One run per lab at a time. The lock is an abstract unix socket named after
//! the lab: the kernel frees it when its holder exits or dies, so a crashed
//! run never blocks the next, and it leaves no file behind.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::time::{Duration, Instant};

pub struct LabLock {
    _socket: UnixListener,
}

/// Takes the lab's lock, waiting up to `wait` for another run to finish.
/// `waiting` is called once, when the lock is taken and the wait begins:
/// the caller decides whether and how to tell anyone (this layer prints
/// nothing).
pub fn acquire(lab: &str, wait: Duration, waiting: &mut dyn FnMut()) -> io::Result<LabLock> {
    let name = format!("topo/lab/{lab}");
    let addr = SocketAddr::from_abstract_name(name.as_bytes())?;
    let deadline = Instant::now() + wait;
    let mut told = false;
    loop {
        match UnixListener::bind_addr(&addr) {
            Ok(s) => return Ok(LabLock { _socket: s }),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                if !told {
                    waiting();
                    told = true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!("another topo run still holds lab `{lab}` after {}s; try again when it has finished", wait.as_secs()),
                ))
            }
            Err(e) => return Err(e),
        }
    }
}
