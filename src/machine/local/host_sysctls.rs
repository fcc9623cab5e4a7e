//! Host sysctls are shared by the labs that set them: two labs that both
//! turn on `net.ipv4.ip_forward` both hold it, and the value from before
//! the first of them comes back only when the last one lets go.
//! /run/topo/host-sysctls.json records, per key, that value and each
//! holder's; a machine-wide lock guards every change of it.

use crate::machine::Registry;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn file() -> PathBuf {
    super::state_file::run_dir().join("host-sysctls.json")
}

pub fn load() -> io::Result<Registry> {
    match std::fs::read(file()) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", file().display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Registry::new()),
        Err(e) => Err(e),
    }
}

fn save(r: &Registry) -> io::Result<()> {
    let path = file();
    if r.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    std::fs::create_dir_all(super::state_file::run_dir())?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(r).expect("registry serializes"),
    )?;
    std::fs::rename(tmp, path)
}

/// Changes the registry under the machine-wide lock: read, `f`, write.
pub fn update<T>(f: impl FnOnce(&mut Registry) -> io::Result<T>) -> io::Result<T> {
    let _lock = lock()?;
    let mut r = load()?;
    let out = f(&mut r)?;
    save(&r)?;
    Ok(out)
}

/// An abstract socket, freed by the kernel when its holder dies; held
/// for a read-modify-write of a few milliseconds.
fn lock() -> io::Result<UnixListener> {
    let addr = SocketAddr::from_abstract_name(b"topo/host-sysctls")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match UnixListener::bind_addr(&addr) {
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5))
            }
            r => return r,
        }
    }
}
