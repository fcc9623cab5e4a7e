//! A kernel in memory: the second implementation of `Machine`, for tests
//! of plan, apply, rollback and the crash journal without root. It keeps
//! namespaces with their links, addresses, main-table routes, sysctls and
//! nft tables, plus the lab records and the host-sysctl registry, and it
//! answers requests the way the local kernel does (docs kernel-notes.md),
//! errnos included:
//!
//! - creating a name that exists is EEXIST (17); an interface, address or
//!   route that is missing is ENODEV (19), EADDRNOTAVAIL (99) or ESRCH (3);
//!   deleting a missing namespace succeeds, as `delete_namespace` does on
//!   the local kernel (unmount and unlink ignore a missing file);
//! - a veth pair's ends vanish together; deleting a namespace removes
//!   everything in it and the far end of each of its veths, at once or,
//!   with `set_teardown_delay`, that long later (the kernel's asynchronous
//!   teardown: a test of the settle logic);
//! - a primary IPv4 address on an up interface makes a connected route
//!   (protocol kernel, scope link); deleting a primary deletes the
//!   secondaries of its subnet unless the interface promotes them (fresh
//!   interfaces do: `create_*` mark them as the local kernel's `fresh`
//!   settings do); deleting an interface's last IPv4 address flushes its
//!   IPv4 routes; routes vanish with their output device, and with it
//!   going down (IPv6 addresses go down with it too, as with
//!   keep_addr_on_down=0);
//! - routes: put is create-or-replace by (destination, metric); an IPv6
//!   route with metric 0 is stored as 1024; a gateway must be reachable by
//!   an on-link route (ENETUNREACH 101), an output device must be up
//!   (ENETDOWN 100), and the device of a gateway route is the one the
//!   gateway is reached through; a delete with metric 0 takes the first
//!   route of that destination whatever its metric, as the kernel does;
//! - sysctls per namespace with the kernel's defaults for the keys topo
//!   uses (`net.ipv4.ip_forward` and `net.ipv4.conf.all.forwarding` are one
//!   value, and writing it sets every interface's too); a new namespace
//!   copies the host's IPv4 `conf` values (devconf_inherit_init_net=0);
//!   per-interface keys `net.ipv{4,6}.conf.IF.*` exist while IF does;
//!   unknown keys read as `None` and fail to write with ENOENT;
//! - a bridge whose MTU was never set follows its smallest port;
//! - taps have no carrier (no process opens them here); a VXLAN device
//!   with an underlay takes its MTU less 50 (70 over IPv6) and goes when
//!   the underlay goes, two with one VNI and port in a namespace are
//!   EEXIST, a remote added twice is EEXIST and one missing ENOENT.
//!
//! Simplified, on purpose: carrier is immediate (a veth runs when both
//! ends are up), bridge ports forward at once (spanning tree never
//! listens or learns), IPv6 duplicate address detection finishes at once
//! (no address is tentative), no IPv6 link-local addresses or fe80::/64
//! routes are made by the kernel, no local or multicast tables, a
//! `set_link` is checked whole before any of it is applied (the kernel
//! can apply half of one), a bridge created without a MAC keeps its own
//! (the kernel would take its lowest port's), changing an IPv6 address's
//! prefix by a replace keeps its routes, nft tables hold chain names,
//! policies and rule comments (never statements), the lock is always
//! free, no signal ever arrives (a test posts one to a watch), `exec` runs
//! nothing, `crash` panics, and an attached node's handle does not keep
//! its namespace alive (the local machine's open file would).
//!
//! - processes run in namespaces and hold them: a named namespace deleted
//!   while one runs there lives on without a name, interfaces and all;
//!   nodes attached (`attach:`) to a process's, a container's or a bound
//!   file's namespace reach it by the node's name, never listed in
//!   /run/netns;
//! - dnsmasq is such a process, with its pid, index, configuration and
//!   lease files under /run/topo/LAB/dhcp, proven the lab's as the local
//!   machine proves it (`dhcp.rs`); /etc/netns is a tree of files
//!   (`etc.rs`); a watch hears what a netlink listener would (`watch.rs`).
//!
//! For tests: `fork()` copies the machine, `fail_write(n, errno)` makes the n-th changing request from
//! now fail with `errno` (a create-then-mark counts two requests, so a
//! fault can leave an unmarked device, as a killed run can), `canon()` is
//! a canonical text dump to compare states, `announced()` lists the
//! neighbour announcements sent.

mod canon;
mod devices;
mod dhcp;
mod etc;
mod links;
mod machine;
mod net;
mod nft;
mod procs;
mod spaces;
mod sysctl;
mod watch;

pub use watch::MemoryWatch;

use crate::machine::{KernelError, LabState, Registry, Result, Route, TapOptions, VxlanInfo};
use crate::model::{IfRef, Ns};
use ipnet::IpNet;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// A handle on one kernel in memory; clones share it, as two processes
/// share the machine they run on.
#[derive(Clone, Default)]
pub struct MemoryKernel {
    k: Rc<RefCell<Kernel>>,
}

/// What a link is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Loopback,
    /// One of the machine's own interfaces (`add_machine_link`).
    Physical,
    Bridge {
        stp: bool,
        forward_delay: u32,
        /// Set by a request: the bridge no longer follows its ports.
        mtu_set: bool,
    },
    /// The other end, by its namespace's inode and its index; `None` once
    /// it is gone (an end lingering after its namespace was deleted).
    Veth {
        peer: Option<(u64, u32)>,
    },
    /// A persistent tap, which no process has open.
    Tap(TapOptions),
    /// A VXLAN device, its underlay by index, and the remotes of its
    /// all-zero forwarding entry.
    Vxlan {
        options: VxlanInfo,
        remotes: Vec<IpAddr>,
    },
}

#[derive(Debug, Clone)]
struct MemLink {
    index: u32,
    name: String,
    kind: Kind,
    alias: Option<String>,
    mtu: u32,
    mac: [u8; 6],
    master: Option<u32>,
    up: bool,
    promote: bool,
    arp_notify: bool,
    /// Per-interface sysctls written or inherited (`net.ipv4.conf.IF.*`
    /// leaf → value).
    sysctls: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct MemAddr {
    index: u32,
    net: IpNet,
    secondary: bool,
}

/// Nft tables of a namespace, by name.
type Tables = BTreeMap<String, nft::NftTable>;

#[derive(Debug, Clone, Default)]
struct Space {
    /// Names the namespace for as long as it lives (a new one of the same
    /// name has another).
    inode: u64,
    links: BTreeMap<u32, MemLink>,
    /// In the kernel's order: per interface, primaries before secondaries.
    addrs: Vec<MemAddr>,
    /// The main table.
    routes: Vec<Route>,
    sysctls: BTreeMap<String, String>,
    nft: Tables,
    next_index: u32,
}

#[derive(Debug, Clone, Default)]
struct Kernel {
    /// The host's and those named in /run/netns.
    spaces: BTreeMap<Ns, Space>,
    /// Namespaces without a name, by inode: a process's own (`unshare
    /// --net`), or a named one deleted while a process still runs in it
    /// or a file is bound to it. The last of those gone, so is it.
    anon: BTreeMap<u64, Space>,
    next_inode: u64,
    /// Nodes standing for namespaces topo did not create (`attach:`), by
    /// node: what topo's handle has open, not kernel state.
    attached: BTreeMap<String, u64>,
    procs: procs::Procs,
    dhcp: dhcp::Servers,
    etc: etc::Etc,
    watchers: watch::Watchers,
    /// dnsmasq is not installed (`set_dnsmasq_missing`).
    dnsmasq_missing: bool,
    records: BTreeMap<String, LabState>,
    registry: Registry,
    writes: u64,
    /// Absolute write number → errno it fails with.
    faults: BTreeMap<u64, i32>,
    teardown: Option<Duration>,
    /// Far ends of veths whose namespace was deleted, due to go: when,
    /// the end's namespace (inode) and index.
    lingering: Vec<(Instant, u64, u32)>,
    announced: Vec<(IfRef, [u8; 6], Vec<IpAddr>)>,
    /// The namespaces each read-back read (whole, or lo for a mark),
    /// oldest first.
    reads: Vec<Vec<Ns>>,
    next_mac: u32,
}

impl MemoryKernel {
    /// A machine with only the host namespace and its `lo`.
    pub fn new() -> Self {
        let k = MemoryKernel::default();
        let mut host = k.k.borrow_mut().fresh_space(&BTreeMap::new());
        host.set_up(1, true);
        k.k.borrow_mut().spaces.insert(Ns::Host, host);
        k
    }

    /// Makes the `n`-th changing request from now fail with `errno`
    /// (1: the next one).
    pub fn fail_write(&self, n: u64, errno: i32) {
        let mut k = self.k.borrow_mut();
        let at = k.writes + n;
        k.faults.insert(at, errno);
    }

    /// A copy of this machine that goes its own way from now on (to try a
    /// run without changing this one).
    pub fn fork(&self) -> MemoryKernel {
        let k = self.k.borrow().clone();
        MemoryKernel {
            k: Rc::new(RefCell::new(k)),
        }
    }

    /// Far ends of a deleted namespace's veths go `delay` later; `None`
    /// (the default): at once.
    pub fn set_teardown_delay(&self, delay: Option<Duration>) {
        self.k.borrow_mut().teardown = delay;
    }

    /// The namespaces each read-back (`dump_many`) read, whole or for the
    /// lab's mark, oldest first: what a run looked at.
    pub fn reads(&self) -> Vec<Vec<Ns>> {
        self.k.borrow().reads.clone()
    }

    /// Announcements sent: interface, MAC, addresses.
    pub fn announced(&self) -> Vec<(IfRef, [u8; 6], Vec<IpAddr>)> {
        self.k.borrow().announced.clone()
    }

    /// An interface of the machine's own (not made by topo), up, with
    /// `addrs`: someone else's objects for clash tests.
    pub fn add_machine_link(&self, ns: &Ns, name: &str, addrs: &[IpNet]) -> Result<()> {
        let mut k = self.k.borrow_mut();
        let mac = k.mac();
        let sp = k.space_mut(ns)?;
        let index = sp.add_link(name, Kind::Physical, mac);
        sp.set_up(index, true);
        for a in addrs {
            sp.add_addr(index, *a);
        }
        Ok(())
    }

    /// Runs `f` on the kernel, after what was due by now (lingering ends
    /// going); a watch hears of any change either made.
    fn with<T>(&self, f: impl FnOnce(&mut Kernel) -> T) -> T {
        let mut k = self.k.borrow_mut();
        let before = k.watchers.looking().then(|| k.watched());
        k.reap();
        let out = f(&mut k);
        if let Some(before) = before {
            let after = k.watched();
            k.watchers.wake_on(&before, &after);
        }
        out
    }
}

impl Kernel {
    /// Counts one changing request; fails it when a fault is set for it.
    fn write(&mut self, what: impl Into<String>) -> Result<()> {
        self.writes += 1;
        match self.faults.remove(&self.writes) {
            Some(errno) => Err(errno_error(what, errno)),
            None => Ok(()),
        }
    }

    /// A MAC for an interface created without one: locally administered.
    fn mac(&mut self) -> [u8; 6] {
        self.next_mac += 1;
        let [_, a, b, c] = self.next_mac.to_be_bytes();
        [0x02, 0x6d, 0x65, a, b, c]
    }

    /// Removes the lingering ends whose time has come.
    fn reap(&mut self) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.lingering)
            .into_iter()
            .partition(|(t, _, _)| *t <= now);
        self.lingering = later;
        for (_, inode, index) in due {
            if let Some(sp) = self.by_inode_mut(inode) {
                sp.remove_device(index);
            }
        }
    }
}

impl Space {
    fn fresh(inode: u64, host: &BTreeMap<String, String>) -> Space {
        let mut sp = Space {
            inode,
            next_index: 1,
            sysctls: sysctl::defaults(host),
            ..Space::default()
        };
        sp.add_link("lo", Kind::Loopback, [0; 6]);
        if let Some(lo) = sp.links.get_mut(&1) {
            lo.mtu = 65536;
        }
        sp
    }

    fn add_link(&mut self, name: &str, kind: Kind, mac: [u8; 6]) -> u32 {
        let index = self.next_index;
        self.next_index += 1;
        let sysctls = sysctl::interface_defaults(&self.sysctls);
        let link = MemLink {
            index,
            name: name.to_string(),
            kind,
            alias: None,
            mtu: 1500,
            mac,
            master: None,
            up: false,
            promote: false,
            arp_notify: false,
            sysctls,
        };
        self.links.insert(index, link);
        index
    }

    fn by_name(&self, name: &str) -> Option<u32> {
        self.links
            .values()
            .find(|l| l.name == name)
            .map(|l| l.index)
    }

    fn find(&self, l: &IfRef) -> Result<u32> {
        self.by_name(&l.name)
            .ok_or_else(|| errno_error(format!("find {l}"), 19))
    }
}

fn no_namespace(ns: &Ns) -> KernelError {
    KernelError::new(format!("open namespace {ns}"), "it does not exist")
}

/// A netlink-style refusal with the system's words for `errno`.
fn errno_error(what: impl Into<String>, errno: i32) -> KernelError {
    let message = std::io::Error::from_raw_os_error(errno).to_string();
    KernelError::netlink(what, errno, message)
}
