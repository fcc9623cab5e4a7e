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
}

impl Factory {
    /// Starts making `count` namespaces for `names`, in that order.
    pub fn start(names: Vec<String>) -> io::Result<Factory> {
        let home = File::open("/proc/thread-self/ns/net")?;
        let (tx, made) = sync_channel(AHEAD);
        let count = names.len();
        std::thread::Builder::new()
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

/// Makes one namespace on this thread and comes back home.
fn make(home: &File) -> io::Result<Made> {
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
