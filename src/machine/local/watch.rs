//! What wakes `topo watch`: rtnetlink multicast groups (links, addresses,
//! routes, netconf, and bridge forwarding entries) and the nftables group
//! in every namespace of the lab, namespaces appearing in and vanishing
//! from /run/netns, the lab file being written, and SIGINT/SIGTERM.
//!
//! Messages are only a trigger, never read as state: some changes send
//! none (routes that go with their device), so every wake is followed by a
//! fresh observe. Each socket's buffer is large; if the kernel still drops
//! messages (ENOBUFS), that is a wake too. Neighbour messages other than
//! bridge forwarding entries are left out: ARP traffic would wake the
//! watch all the time for objects topo does not own.

use super::netns::with_netns;
use crate::machine::{KernelError, Result, Wake};
use crate::model::Ns;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use tokio::io::unix::AsyncFd;
use tokio::signal::unix::{signal, Signal, SignalKind};

// rtnetlink multicast groups, as bits of the legacy group mask (group N is
// bit N-1): RTNLGRP_LINK 1, NEIGH 3, IPV4_IFADDR 5, IPV4_ROUTE 7,
// IPV6_IFADDR 9, IPV6_ROUTE 11, IPV4_NETCONF 24, IPV6_NETCONF 25.
const ROUTE_GROUPS: u32 =
    (1 << 0) | (1 << 2) | (1 << 4) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 23) | (1 << 24);
/// NFNLGRP_NFTABLES (7).
const NFT_GROUPS: u32 = 1 << 6;
const NETLINK_NETFILTER: i32 = 12;
const RTM_NEWNEIGH: u16 = 28;
const RTM_DELNEIGH: u16 = 29;
const AF_BRIDGE: u8 = 7;
/// A receive buffer that holds a burst of a big lab's messages.
const RCVBUF: i32 = 4 << 20;

/// An inotify instance, by its descriptor, for the reactor.
struct Ino(Inotify);

impl AsRawFd for Ino {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// `x` registered with the runtime for readiness to read.
fn readable<T: AsRawFd>(x: T) -> std::io::Result<AsyncFd<T>> {
    // SAFETY: `x` owns its descriptor for as long as the AsyncFd holds it,
    // and always answers the same one.
    unsafe { AsyncFd::register_with_interest(x, tokio::io::Interest::READABLE) }
        .map_err(|e| e.into())
}

/// One namespace's two netlink sockets.
struct Sockets {
    route: AsyncFd<OwnedFd>,
    nft: AsyncFd<OwnedFd>,
}

pub struct LocalWatch {
    sockets: BTreeMap<Ns, Sockets>,
    /// The namespaces of attached nodes, which are not in /run/netns.
    attached: super::Attached,
    /// /run/netns, for namespaces made and deleted.
    netns: AsyncFd<Ino>,
    /// The lab file's folder, and the file's name in it.
    file: Option<(AsyncFd<Ino>, std::ffi::OsString)>,
    term: Signal,
    int: Signal,
    /// The lab's DHCP servers, each a pidfd: readable when it ends.
    processes: Vec<AsyncFd<OwnedFd>>,
}

fn io(what: &str, e: impl Into<std::io::Error>) -> KernelError {
    KernelError::io(what.to_string(), e.into())
}

/// A non-blocking netlink socket of `proto` bound to `groups`, in the
/// namespace the calling thread is in.
fn socket(proto: i32, groups: u32) -> std::io::Result<OwnedFd> {
    // SAFETY: plain system calls on a descriptor this function owns.
    unsafe {
        let fd = libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            proto,
        );
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let fd = OwnedFd::from_raw_fd(fd);
        let size = RCVBUF;
        // Best effort: without the privilege the default size stays.
        for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
            let r = libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&size as *const i32).cast(),
                std::mem::size_of::<i32>() as u32,
            );
            if r == 0 {
                break;
            }
        }
        let mut addr: libc::sockaddr_nl = std::mem::zeroed();
        addr.nl_family = libc::AF_NETLINK as u16;
        addr.nl_groups = groups;
        let r = libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        );
        if r < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(fd)
    }
}

/// Reads what is queued; whether any of it is a change worth a look, and
/// whether messages were lost.
fn drain(fd: &OwnedFd, route: bool) -> (bool, bool) {
    let mut buf = vec![0u8; 64 << 10];
    let (mut changed, mut lost) = (false, false);
    loop {
        // SAFETY: reads into a buffer of the length given.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ENOBUFS) => lost = true,
                Some(libc::EINTR) => continue,
                _ => break,
            }
            continue;
        }
        changed |= !route || worth_a_look(&buf[..n as usize]);
    }
    (changed, lost)
}

/// Any message but a neighbour's, or a neighbour message of the bridge
/// family (a forwarding entry, which topo owns on its VXLAN devices).
fn worth_a_look(mut b: &[u8]) -> bool {
    while b.len() >= 16 {
        let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let kind = u16::from_ne_bytes([b[4], b[5]]);
        if len < 16 || len > b.len() {
            return true;
        }
        let neigh = kind == RTM_NEWNEIGH || kind == RTM_DELNEIGH;
        if !neigh || b.get(16) == Some(&AF_BRIDGE) {
            return true;
        }
        b = &b[(len + 3) & !3..];
    }
    false
}

impl LocalWatch {
    pub(super) fn new(file: Option<&Path>, attached: super::Attached) -> Result<LocalWatch> {
        let netns = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
            .map_err(|e| io("watch /run/netns", e))?;
        std::fs::create_dir_all("/run/netns").map_err(|e| io("make /run/netns", e))?;
        netns
            .add_watch(
                "/run/netns",
                AddWatchFlags::IN_CREATE | AddWatchFlags::IN_DELETE,
            )
            .map_err(|e| io("watch /run/netns", e))?;
        let netns = readable(Ino(netns)).map_err(|e| io("watch /run/netns", e))?;
        let file = match file {
            None => None,
            Some(f) => {
                // The folder, not the file: editors save by replacing it.
                let path = std::fs::canonicalize(f).map_err(|e| io("find the lab file", e))?;
                let dir: PathBuf = path.parent().map_or_else(|| "/".into(), Path::to_path_buf);
                let name = path.file_name().unwrap_or_default().to_os_string();
                let i = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
                    .map_err(|e| io("watch the lab file", e))?;
                i.add_watch(
                    &dir,
                    AddWatchFlags::IN_CLOSE_WRITE
                        | AddWatchFlags::IN_MOVED_TO
                        | AddWatchFlags::IN_CREATE,
                )
                .map_err(|e| io("watch the lab file", e))?;
                Some((
                    readable(Ino(i)).map_err(|e| io("watch the lab file", e))?,
                    name,
                ))
            }
        };
        let sig = |k| signal(k).map_err(|e| io("catch signals", e));
        Ok(LocalWatch {
            sockets: BTreeMap::new(),
            attached,
            netns,
            file,
            term: sig(SignalKind::terminate())?,
            int: sig(SignalKind::interrupt())?,
            processes: Vec::new(),
        })
    }

    /// A node's namespace file: an attached node's as the machine holds it.
    fn namespace(&self, node: &str) -> std::io::Result<Option<std::fs::File>> {
        let attached = self.attached.lock().unwrap_or_else(|e| e.into_inner());
        match attached.get(node) {
            Some(f) => f.try_clone().map(Some),
            None => super::netns::open(node),
        }
    }
}

impl crate::machine::Watch for LocalWatch {
    /// Listens in `ns` too (a namespace the lab made since); namespaces
    /// gone are dropped.
    fn follow(&mut self, namespaces: &[Ns]) -> Result<()> {
        self.sockets.retain(|ns, _| namespaces.contains(ns));
        let new: Vec<&Ns> = namespaces
            .iter()
            .filter(|n| !self.sockets.contains_key(*n))
            .collect();
        for ns in new {
            let open = || -> std::io::Result<(OwnedFd, OwnedFd)> {
                Ok((
                    socket(libc::NETLINK_ROUTE, ROUTE_GROUPS)?,
                    socket(NETLINK_NETFILTER, NFT_GROUPS)?,
                ))
            };
            let (route, nft) = match ns {
                Ns::Host => open(),
                Ns::Node(n) => match self.namespace(n) {
                    // Gone again before we looked: the next observe sees it.
                    Ok(None) => continue,
                    Ok(Some(f)) => with_netns(f.as_fd(), open).and_then(|r| r),
                    Err(e) => Err(e),
                },
            }
            .map_err(|e| io(&format!("listen for changes in {ns}"), e))?;
            let wrap = |fd| readable(fd).map_err(|e| io(&format!("listen for changes in {ns}"), e));
            self.sockets.insert(
                ns.clone(),
                Sockets {
                    route: wrap(route)?,
                    nft: wrap(nft)?,
                },
            );
        }
        Ok(())
    }

    /// Waits for the next wake.
    fn follow_processes(&mut self, lab: &str) -> Result<()> {
        let fds = super::dhcp::running(lab).map_err(|e| io("find the lab's DHCP servers", e))?;
        self.processes = fds
            .into_iter()
            .map(|fd| readable(fd).map_err(|e| io("follow the lab's DHCP servers", e)))
            .collect::<Result<_>>()?;
        Ok(())
    }

    async fn wait(&mut self) -> Result<Wake> {
        loop {
            let ended = async {
                if self.processes.is_empty() {
                    std::future::pending().await
                } else {
                    let all =
                        self.processes.iter().enumerate().map(|(i, p)| {
                            Box::pin(async move { (p.readable().await.map(|_| ()), i) })
                        });
                    futures::future::select_all(all).await.0
                }
            };
            let readable = futures::future::select_all(
                self.sockets
                    .values()
                    .flat_map(|s| [(&s.route, true), (&s.nft, false)])
                    .map(|(fd, route)| Box::pin(async move { (fd.readable().await, fd, route) })),
            );
            let sockets = async {
                if self.sockets.is_empty() {
                    std::future::pending().await
                } else {
                    readable.await.0
                }
            };
            let file = async {
                match &self.file {
                    Some((i, _)) => i.readable().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = self.term.recv() => return Ok(Wake::Stop(libc::SIGTERM)),
                _ = self.int.recv() => return Ok(Wake::Stop(libc::SIGINT)),
                (r, i) = ended => {
                    r.map_err(|e| io("follow the lab's DHCP servers", e))?;
                    // Gone for good: the repair starts it again, and the
                    // next follow holds the new one.
                    self.processes.swap_remove(i);
                    return Ok(Wake::Ended);
                }
                r = self.netns.readable() => {
                    let mut g = r.map_err(|e| io("watch /run/netns", e))?;
                    let _ = g.get_inner().0.read_events();
                    g.clear_ready();
                    return Ok(Wake::Kernel);
                }
                r = file => {
                    let mut g = r.map_err(|e| io("watch the lab file", e))?;
                    let (_, name) = self.file.as_ref().expect("watched");
                    let ours = g.get_inner().0.read_events().unwrap_or_default().iter().any(|e| e.name.as_ref() == Some(name));
                    g.clear_ready();
                    if ours {
                        return Ok(Wake::File);
                    }
                }
                (r, fd, route) = sockets => {
                    let mut g = r.map_err(|e| io("read change notifications", e))?;
                    let (changed, lost) = drain(fd.get_ref(), route);
                    g.clear_ready();
                    if lost {
                        return Ok(Wake::Lost);
                    }
                    if changed {
                        return Ok(Wake::Kernel);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: u16, family: u8) -> Vec<u8> {
        let mut m = vec![0u8; 28];
        m[..4].copy_from_slice(&28u32.to_ne_bytes());
        m[4..6].copy_from_slice(&kind.to_ne_bytes());
        m[16] = family;
        m
    }

    #[test]
    fn only_bridge_neighbours_wake_the_watch() {
        assert!(!worth_a_look(&msg(RTM_NEWNEIGH, 2)));
        assert!(!worth_a_look(
            &[msg(RTM_NEWNEIGH, 2), msg(RTM_DELNEIGH, 10)].concat()
        ));
        assert!(worth_a_look(&msg(RTM_DELNEIGH, AF_BRIDGE)));
        assert!(
            worth_a_look(&[msg(RTM_NEWNEIGH, 2), msg(16, 0)].concat()),
            "a link message"
        );
    }
}
