//! Named network namespaces the iproute2 way (/run/netns/NAME bind mounts),
//! without forking `ip`.

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, CloneFlags};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};

/// Where named namespaces live; overridable for tests with TOPO_NETNS_DIR.
pub fn run_dir() -> PathBuf {
    std::env::var_os("TOPO_NETNS_DIR").map_or_else(|| PathBuf::from("/run/netns"), PathBuf::from)
}

pub fn path(name: &str) -> PathBuf {
    run_dir().join(name)
}

/// Names under /run/netns.
pub fn list() -> io::Result<Vec<String>> {
    match std::fs::read_dir(run_dir()) {
        Ok(rd) => Ok(rd
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(e),
    }
}

/// Opens a named namespace; `None` if it does not exist.
pub fn open(name: &str) -> io::Result<Option<File>> {
    match File::open(path(name)) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Makes /run/netns a shared mount point, as iproute2 does, so namespaces
/// created here are visible to `ip netns` in other mount namespaces.
fn prepare_run_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let shared = MsFlags::MS_SHARED | MsFlags::MS_REC;
    match mount(None::<&str>, dir, None::<&str>, shared, None::<&str>) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EINVAL) => {
            mount(
                Some(dir),
                dir,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )?;
            mount(None::<&str>, dir, None::<&str>, shared, None::<&str>)?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Folders already made shared mount points by this process: doing it again
/// walks every namespace mounted there (the propagation change recurses),
/// which made each creation cost more than the one before.
static PREPARED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn prepare_once(dir: &Path) -> io::Result<()> {
    let mut done = PREPARED.lock().unwrap_or_else(|e| e.into_inner());
    if !done.iter().any(|d| d == dir) {
        prepare_run_dir(dir)?;
        done.push(dir.to_path_buf());
    }
    Ok(())
}

/// Creates /run/netns/NAME holding a new network namespace, with a netlink
/// socket opened inside it (as it is made, so without entering it again).
pub fn create(name: &str) -> io::Result<(File, netlink_sys::Socket)> {
    // unshare() moves the calling thread: do it on a throwaway thread so no
    // runtime thread ever changes namespace. Unnamed until `name_made`.
    let made = std::thread::spawn(|| {
        let home = File::open("/proc/thread-self/ns/net")?;
        super::factory::make(&home)
    })
    .join()
    .map_err(|_| io::Error::other("namespace creation thread panicked"))??;
    name_made(name, made)
}

/// Names a namespace made unnamed (here or ahead by `factory`):
/// /run/netns/NAME becomes a bind mount of it.
pub fn name_made(
    name: &str,
    made: super::factory::Made,
) -> io::Result<(File, netlink_sys::Socket)> {
    let (ns, sock) = made;
    let target = path(name);
    prepare_once(&run_dir())?;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)?;
    let src = format!("/proc/self/fd/{}", ns.as_raw_fd());
    let res = mount(
        Some(src.as_str()),
        &target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    );
    super::count_write();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&target);
        return Err(e.into());
    }
    Ok((File::open(&target)?, sock))
}

/// Removes /run/netns/NAME. The kernel frees the namespace (and reaps its
/// veths) once nothing holds it, asynchronously.
pub fn delete(name: &str) -> io::Result<()> {
    let target = path(name);
    super::count_write();
    match umount2(&target, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(e.into()),
    }
    match std::fs::remove_file(&target) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Runs `f` with the calling thread inside the namespace `fd`, and always
/// moves the thread back, also when `f` panics. `f` must not block on async
/// work: the thread is a runtime thread.
pub fn with_netns<T>(fd: BorrowedFd<'_>, f: impl FnOnce() -> T) -> io::Result<T> {
    let home = File::open("/proc/thread-self/ns/net")?;
    setns(fd, CloneFlags::CLONE_NEWNET)?;
    struct Back(File);
    impl Drop for Back {
        fn drop(&mut self) {
            if setns(self.0.as_fd(), CloneFlags::CLONE_NEWNET).is_err() {
                // A thread stuck in a lab namespace would act on the wrong
                // objects later: stopping is the only safe answer.
                eprintln!("topo: could not return to the original network namespace; aborting");
                std::process::abort();
            }
        }
    }
    let _back = Back(home);
    Ok(f())
}
