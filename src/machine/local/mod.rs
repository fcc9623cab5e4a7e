//! The machine topo runs on: its kernel over rtnetlink (one connection per
//! namespace, opened once), named namespaces the iproute2 way, sysctls
//! under /proc, nft tables through the `nft` binary, the lab's records
//! under /run/topo. The only code that touches the system.

mod announce;
mod attach;
mod devices;
mod dhcp;
mod dump;
mod etc;
mod exec;
mod factory;
mod host_sysctls;
mod lock;
mod netlink;
mod netns;
mod nft;
pub mod probe;
mod requests;
mod signals;
mod state_file;
mod sysctl;
mod tap;
mod watch;

use crate::machine::{KernelError, Result};
use crate::model::{IfRef, Ns};
use netlink::Conn;
use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};

pub use lock::LabLock;

/// Requests that changed the system since the process started (the
/// spinner shows them while a run goes on).
pub fn write_count() -> u64 {
    WRITES.load(Ordering::Relaxed)
}

static WRITES: AtomicU64 = AtomicU64::new(0);

/// Counts one request that changes the system (netlink write, namespace
/// create/delete, sysctl write, nft transaction, packet sent).
fn count_write() {
    WRITES.fetch_add(1, Ordering::Relaxed);
}

/// The local kernel, with what it keeps open: one netlink connection and
/// one namespace file per namespace in use, and interface indexes by name.
#[derive(Default)]
pub struct LocalKernel {
    conns: BTreeMap<Ns, Conn>,
    files: BTreeMap<String, File>,
    index: BTreeMap<IfRef, u32>,
    /// Nodes standing for namespaces topo did not create: their files,
    /// kept when a node is released.
    /// Shared with a watch, which listens in them too.
    attached: Attached,
    /// Namespaces apply said it will create, made ahead on a thread.
    factory: Option<factory::Factory>,
    /// Deletions going on on threads of their own (`delete_links_meanwhile`).
    meanwhile: Vec<std::thread::JoinHandle<Result<()>>>,
    /// The nft transaction under way, if one is (`nft_replace`).
    nft_in_flight: Option<nft::InFlight>,
    /// Its error, when a read waited for it: `writes_done` reports it.
    nft_failed: Option<KernelError>,
}

/// Attached nodes' namespace files, by node.
pub(crate) type Attached = std::sync::Arc<std::sync::Mutex<BTreeMap<String, File>>>;

impl LocalKernel {
    pub fn new() -> Self {
        LocalKernel::default()
    }

    /// The connection for `ns`, opened on first use. Must run inside the
    /// tokio runtime.
    fn conn(&mut self, ns: &Ns) -> Result<Conn> {
        if let Some(c) = self.conns.get(ns) {
            return Ok(c.clone());
        }
        let c = match ns {
            Ns::Host => Conn::open(None)?,
            Ns::Node(n) => {
                let f = self.file(n)?.ok_or_else(|| gone(n))?;
                Conn::open(Some(f.as_fd()))?
            }
        };
        self.conns.insert(ns.clone(), c.clone());
        Ok(c)
    }

    /// The namespace file of node `n`, if it exists.
    fn file(&mut self, n: &str) -> Result<Option<&File>> {
        if !self.files.contains_key(n) {
            let attached = self.attached.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(f) = attached.get(n) {
                let f = f
                    .try_clone()
                    .map_err(|e| KernelError::io("duplicate namespace handle", e))?;
                self.files.insert(n.to_string(), f);
                return Ok(self.files.get(n));
            }
            let what = || format!("open namespace {n}");
            match netns::open(n).map_err(|e| KernelError::io(what(), e))? {
                Some(f) => {
                    self.files.insert(n.to_string(), f);
                }
                None => return Ok(None),
            }
        }
        Ok(self.files.get(n))
    }

    /// A handle on `ns` to enter it: `None` for the host (topo is there).
    fn ns_fd(&mut self, ns: &Ns) -> Result<Option<File>> {
        match ns {
            Ns::Host => Ok(None),
            Ns::Node(n) => {
                let f = self.file(n)?.ok_or_else(|| gone(n))?;
                let f = f
                    .try_clone()
                    .map_err(|e| KernelError::io("duplicate namespace handle", e))?;
                Ok(Some(f))
            }
        }
    }

    /// The index of `l`, from what was read or made before, else asked.
    async fn index_of(&mut self, l: &IfRef) -> Result<u32> {
        if let Some(i) = self.index.get(l) {
            return Ok(*i);
        }
        let c = self.conn(&l.ns)?;
        let link = c
            .link_by_name(&l.name)
            .await?
            .ok_or_else(|| KernelError::netlink(format!("find {l}"), 19, "no such device"))?;
        self.index.insert(l.clone(), link.index);
        Ok(link.index)
    }

    /// The inode of a namespace, which names it for as long as it lives;
    /// `None` when a node's is gone.
    fn ns_inode(&mut self, ns: &Ns) -> Option<u64> {
        use std::os::unix::fs::MetadataExt;
        match ns {
            Ns::Host => std::fs::metadata("/proc/self/ns/net").ok().map(|m| m.ino()),
            Ns::Node(n) => self.file(n).ok()??.metadata().ok().map(|m| m.ino()),
        }
    }

    fn forget_ns(&mut self, ns: &Ns) {
        self.conns.remove(ns);
        if let Ns::Node(n) = ns {
            self.files.remove(n.as_str());
        }
        let from = IfRef::new(ns.clone(), "");
        let gone: Vec<IfRef> = self
            .index
            .range(from..)
            .take_while(|(l, _)| l.ns == *ns)
            .map(|(l, _)| l.clone())
            .collect();
        for l in gone {
            self.index.remove(&l);
        }
    }
}

fn gone(n: &str) -> KernelError {
    KernelError::new(format!("open namespace {n}"), "it does not exist")
}
