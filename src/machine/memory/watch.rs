//! `Watch` for the in-memory kernel, hearing what the local one hears:
//! any change of a link, address, route, forwarding entry, nft table or
//! netconf sysctl (forwarding, rp_filter, proxy ARP/NDP) in a namespace
//! it follows, made by anyone (topo's own requests too, as netlink tells
//! every listener), any namespace named or unnamed in /run/netns, and the
//! end of a DHCP server it follows (as the local one holds a pidfd of
//! each). Files (/etc/netns, the records) wake nothing. A test posts the
//! rest: the lab file written, notifications lost, a signal.

use super::{sysctl, Kernel, MemoryKernel};
use crate::machine::{Result, Wake};
use crate::model::Ns;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::{Rc, Weak};
use std::task::{Poll, Waker};

#[derive(Debug, Default)]
struct Queue {
    follow: BTreeSet<Ns>,
    /// The lab's servers as they were when followed, by pid.
    processes: BTreeSet<u32>,
    wakes: VecDeque<Wake>,
    waiting: Option<Waker>,
}

impl Queue {
    fn post(&mut self, w: Wake) {
        self.wakes.push_back(w);
        if let Some(waker) = self.waiting.take() {
            waker.wake();
        }
    }
}

/// The watches of a kernel. A fork has none: it goes its own way.
#[derive(Debug, Default)]
pub(super) struct Watchers(Vec<Weak<RefCell<Queue>>>);

impl Clone for Watchers {
    fn clone(&self) -> Self {
        Watchers::default()
    }
}

/// What a watch can hear of the kernel at one moment.
pub(super) struct Heard {
    named: BTreeSet<Ns>,
    spaces: BTreeMap<Ns, Vec<String>>,
}

impl Watchers {
    fn live(&self) -> impl Iterator<Item = Rc<RefCell<Queue>>> + '_ {
        self.0.iter().filter_map(Weak::upgrade)
    }

    /// Whether any watch listens.
    pub fn looking(&self) -> bool {
        self.live().next().is_some()
    }

    /// Posts a wake to every watch that hears the change from `before`
    /// to `after`.
    pub fn wake_on(&mut self, before: &Heard, after: &Heard) {
        self.0.retain(|w| w.strong_count() > 0);
        let renamed = before.named != after.named;
        for q in self.live() {
            let mut q = q.borrow_mut();
            let changed = q
                .follow
                .iter()
                .any(|ns| before.spaces.get(ns) != after.spaces.get(ns));
            if renamed || changed {
                q.post(Wake::Kernel);
            }
        }
    }
}

impl Watchers {
    /// Process `pid` ended: the watches that follow it wake, once.
    pub fn ended(&self, pid: u32) {
        for q in self.live() {
            let mut q = q.borrow_mut();
            if q.processes.remove(&pid) {
                q.post(Wake::Ended);
            }
        }
    }
}

impl Kernel {
    /// What the watches follow, as they would hear it.
    pub(super) fn watched(&self) -> Heard {
        let follow: BTreeSet<Ns> = self
            .watchers
            .live()
            .flat_map(|q| q.borrow().follow.clone())
            .collect();
        let spaces = follow
            .into_iter()
            .filter_map(|ns| {
                let sp = self.space_at(&ns)?;
                Some((ns, self.space_lines(sp, sysctl::notifies)))
            })
            .collect();
        Heard {
            named: self.spaces.keys().cloned().collect(),
            spaces,
        }
    }
}

/// Change notifications of an in-memory kernel.
pub struct MemoryWatch {
    q: Rc<RefCell<Queue>>,
    /// The kernel, to find the lab's servers.
    k: MemoryKernel,
}

impl MemoryKernel {
    pub(super) fn new_watch(&self) -> MemoryWatch {
        let q = Rc::new(RefCell::new(Queue::default()));
        self.k.borrow_mut().watchers.0.push(Rc::downgrade(&q));
        MemoryWatch { q, k: self.clone() }
    }

    /// Posts `w` to every watch of this kernel (the lab file written,
    /// notifications lost, SIGINT or SIGTERM).
    pub fn post_wake(&self, w: Wake) {
        for q in self.k.borrow().watchers.live() {
            q.borrow_mut().post(w);
        }
    }
}

impl crate::machine::Watch for MemoryWatch {
    fn follow(&mut self, namespaces: &[Ns]) -> Result<()> {
        self.q.borrow_mut().follow = namespaces.iter().cloned().collect();
        Ok(())
    }

    fn follow_processes(&mut self, lab: &str) -> Result<()> {
        let pids = self.k.with(|k| k.dhcp_pids(lab));
        self.q.borrow_mut().processes = pids;
        Ok(())
    }

    async fn wait(&mut self) -> Result<Wake> {
        std::future::poll_fn(|cx| {
            let mut q = self.q.borrow_mut();
            match q.wakes.pop_front() {
                Some(w) => Poll::Ready(Ok(w)),
                None => {
                    q.waiting = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}
