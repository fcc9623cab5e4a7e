//! Namespaces made ahead, on a thread of their own, while apply's main
//! thread works on the nodes before them. Making a namespace is the
//! kernel's longest step per node (about half a millisecond), and most of
//! it holds no lock the other requests need, so on a machine with two
//! CPUs the two overlap.
//!
//! A namespace made ahead has no name: it lives only as long as this
//! process holds its file. It gets its name (the bind mount under
//! /run/netns) when apply reaches its step, after the journal has
//! recorded it, exactly as a namespace made at that step would. A run
//! that stops or fails leaves nothing of the unused ones behind.

use nix::sched::{setns, unshare, CloneFlags};
use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::sync::mpsc::{sync_channel, Receiver};

/// How far ahead the thread may go: each waiting namespace is kernel
/// memory, and a run that fails wastes them.
const AHEAD: usize = 16;

/// A namespace made ahead: its file, and a netlink socket opened in it.
pub type Made = (File, netlink_sys::Socket);

pub struct Factory {
    /// The names still to come, in the order apply will ask for them.
    names: VecDeque<String>,
    made: Receiver<io::Result<Made>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Factory {
    /// Starts making `count` namespaces for `names`, in that order.
    pub fn start(names: Vec<String>) -> io::Result<Factory> {
        let home = File::open("/proc/thread-self/ns/net")?;
        let (tx, made) = sync_channel(AHEAD);
        let count = names.len();
        let thread = std::thread::Builder::new()
            .name("topo-netns".into())
            .spawn(move || {
                for _ in 0..count {
                    // Stops when the factory is dropped: the send fails.
                    if tx.send(make(&home)).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Factory {
            names: names.into(),
            made,
            thread: Some(thread),
        })
    }

    /// The namespace made for `name` if it is the next one expected;
    /// `None` when apply asks in another order (then make it directly).
    pub fn take(&mut self, name: &str) -> Option<io::Result<Made>> {
        if self.names.front().map(String::as_str) != Some(name) {
            return None;
        }
        self.names.pop_front();
        self.made.recv().ok()
    }
}

impl Drop for Factory {
    /// The thread is gone before the run goes on: no namespace is made
    /// behind a rollback's back.
    fn drop(&mut self) {
        drop(std::mem::replace(&mut self.made, sync_channel(1).1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Makes one namespace on this thread and comes back home.
pub fn make(home: &File) -> io::Result<Made> {
    unshare(CloneFlags::CLONE_NEWNET)?;
    let made = File::open("/proc/thread-self/ns/net")
        .and_then(|f| Ok((f, super::netlink::socket_here()?)));
    if setns(home.as_fd(), CloneFlags::CLONE_NEWNET).is_err() {
        // A thread stuck in a lab namespace would make the next ones there.
        eprintln!("topo: could not return to the original network namespace; aborting");
        std::process::abort();
    }
    made
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// Anonymous namespaces touch nothing of the machine's; they need root.
    fn possible() -> bool {
        let root = nix::unistd::geteuid().is_root();
        if !root && std::env::var_os("CI").is_some() {
            panic!("this test needs root, and CI is set: it must not be skipped");
        }
        root
    }

    fn inode(f: &File) -> u64 {
        f.metadata().unwrap().ino()
    }

    #[test]
    fn namespaces_come_in_the_announced_order_each_new() {
        if !possible() {
            return;
        }
        let home = inode(&File::open("/proc/thread-self/ns/net").unwrap());
        let names: Vec<String> = (0..40).map(|i| format!("n{i}")).collect();
        let mut f = Factory::start(names).unwrap();
        // Not the next one: the caller makes it itself.
        assert!(f.take("n1").is_none());
        let mut seen = std::collections::BTreeSet::new();
        // Kept open: a freed namespace's inode number may be given again.
        let mut held = Vec::new();
        for i in 0..40 {
            let (ns, sock) = f.take(&format!("n{i}")).unwrap().unwrap();
            assert_ne!(inode(&ns), home, "n{i} is a namespace of its own");
            assert!(seen.insert(inode(&ns)), "n{i} is not one made before");
            held.push((ns, sock));
        }
        assert!(f.take("n40").is_none(), "nothing more was announced");
        // The making thread came back home each time: so did this one.
        assert_eq!(
            inode(&File::open("/proc/thread-self/ns/net").unwrap()),
            home
        );
    }

    #[test]
    fn a_factory_dropped_early_stops_its_thread() {
        if !possible() {
            return;
        }
        let names: Vec<String> = (0..100_000).map(|i| format!("n{i}")).collect();
        let mut f = Factory::start(names).unwrap();
        assert!(f.take("n0").unwrap().is_ok());
        let thread = f.thread.take().unwrap();
        drop(f);
        // Blocked with AHEAD made, the thread sees the drop and ends
        // (else this join would wait for 100 000 namespaces).
        thread.join().unwrap();
        // Dropping joins the thread itself.
        let mut f = Factory::start(vec!["a".into(), "b".into()]).unwrap();
        assert!(f.take("a").unwrap().is_ok());
        drop(f);
    }
}
