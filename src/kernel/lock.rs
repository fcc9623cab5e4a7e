//! One run per lab at a time: an flock on /run/topo/LAB/lock. The kernel
//! drops the lock when its holder dies, so a crashed run never blocks the next.

use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::io;
use std::time::{Duration, Instant};

pub struct LabLock {
    _lock: Flock<File>,
}

/// Takes the lab's lock, waiting up to `wait` for another run to finish.
pub fn acquire(lab: &str, wait: Duration) -> io::Result<LabLock> {
    let dir = super::state_file::run_dir().join(lab);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("lock");
    let deadline = Instant::now() + wait;
    let mut told = false;
    loop {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
            Ok(l) => return Ok(LabLock { _lock: l }),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                if !told {
                    eprintln!(
                        "topo: another topo run holds lab `{lab}`; waiting up to {}s",
                        wait.as_secs()
                    );
                    told = true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "another topo run still holds lab `{lab}` ({}); try again when it has finished",
                    path.display()
                ),
            )),
            Err((_, e)) => return Err(e.into()),
        }
    }
}
