//! The machine handle: every side effect topo has goes through the
//! `Machine` trait: namespaces, links, addresses, routes, sysctls, nft
//! tables, the lab's records and lock, neighbour announcements, running a
//! command in a namespace. `local` is the kernel topo runs on; `memory` is
//! a kernel in memory, with the semantics plans rely on, for tests without
//! root. A place is (machine, namespace): the kinds name namespaces and
//! interfaces, and the machine that holds them carries out the request.

mod error;
mod facts;
pub mod local;
pub mod memory;
pub mod records;

pub use error::{Cause, KernelError};
pub use facts::{
    Addr, BridgeOptions, Depth, Dump, FdbEntry, Link, LinkSettings, Master, NewLink, Route,
    RouteSpec, TapOptions, TunInfo, VxlanInfo, VxlanOptions, RTPROT_KERNEL, RTPROT_TOPO,
};
pub use records::{AttachedRecord, EtcRecord, LabState, Registry, Shared, UplinkRecord};

use crate::model::{Attach, IfRef, Ns};
use std::net::IpAddr;

pub type Result<T> = std::result::Result<T, KernelError>;

/// How long a run waits for another run on the same lab.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// A chain as topo wants it in the lab's nft table of a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantChain<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub hook: &'a str,
    pub prio: i32,
    pub policy: Option<&'a str>,
    /// (comment, statements as JSON text) in order.
    pub rules: Vec<(&'a str, &'a str)>,
}

/// A chain as the kernel has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveChain {
    pub name: String,
    pub policy: Option<String>,
    /// Rule comments in order; `None` for a rule without one.
    pub rules: Vec<Option<String>>,
}

/// The lab's nft table as found in a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Table {
    Absent,
    /// A table of the lab's name that topo did not make.
    Foreign,
    Owned(Vec<LiveChain>),
}

/// A read-back: the dumps of many namespaces, and the lab's nft table in
/// some of them, read meanwhile.
#[derive(Debug, Default)]
pub struct ReadBack {
    pub dumps: Vec<(Ns, Result<Dump>)>,
    pub tables: std::collections::BTreeMap<Ns, Result<Table>>,
}

/// What woke a watch (`topo watch`): a trigger to look again, never state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Something changed in a namespace of the lab, or a namespace came or went.
    Kernel,
    /// The kernel dropped change notifications: look at everything again.
    Lost,
    /// The lab file was written.
    File,
    /// A process of the lab's (a DHCP server) ended.
    Ended,
    /// SIGINT or SIGTERM.
    Stop(i32),
}

/// Change notifications of the machine, for `topo watch`.
#[allow(async_fn_in_trait)]
pub trait Watch {
    /// Listens in these namespaces (and no others) from now on.
    fn follow(&mut self, namespaces: &[Ns]) -> Result<()>;
    /// Wakes too when one of the lab's processes (its DHCP servers, as
    /// they are now) ends: an end sends no netlink event.
    fn follow_processes(&mut self, lab: &str) -> Result<()> {
        let _ = lab;
        Ok(())
    }
    /// Waits for the next wake; no CPU is used while waiting.
    async fn wait(&mut self) -> Result<Wake>;
}

/// What dnsmasq runs with: its configuration file's text, and whether it
/// answers DNS too (else it listens on no DNS port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpConf {
    pub text: String,
    pub dns: bool,
}

/// A DHCP server of the lab's, as its files say (its pid file, or only
/// what a stopped one left: its leases, its configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpFound {
    /// The interface it serves.
    pub on: IfRef,
    /// The configuration it runs with, when the pid file's process is the
    /// lab's dnsmasq serving there; `None` when it is gone, or is another
    /// process (a recycled pid, never signalled), or serves elsewhere (in
    /// another namespace, or an interface of that name made anew since).
    pub conf: Option<String>,
    /// The configuration file is as it was when dnsmasq read it.
    pub intact: bool,
}

/// Which directories `make_netns_dir` made: /etc/netns itself, and the
/// node's own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MadeDirs {
    pub root: bool,
    pub dir: bool,
}

/// How a command run in a namespace ended, when it could not be started.
#[derive(Debug)]
pub enum ExecFailure {
    NotFound(std::io::Error),
    CannotRun(std::io::Error),
}

/// One machine topo acts on. Interfaces are named by namespace and name;
/// the machine resolves them. Every request that changes the machine is
/// counted (`writes`): a no-op apply must send none.
#[allow(async_fn_in_trait)] // topo's runtime is single-threaded: no Send needed.
pub trait Machine {
    /// A lock on the lab for this run, released when dropped; `waiting` is
    /// called once if another run holds it and this one waits.
    type Lock;
    fn lock(&mut self, lab: &str, waiting: &mut dyn FnMut()) -> Result<Self::Lock>;
    /// Change notifications of the machine, and of `file` being written.
    type Watch: Watch;
    fn watch(&mut self, file: Option<&std::path::Path>) -> Result<Self::Watch>;
    /// Why this process cannot change networking, if it cannot.
    fn missing_privileges(&self) -> Option<String>;
    /// Requests that changed the machine so far.
    fn writes(&self) -> u64;
    /// A SIGINT or SIGTERM received since `catch_signals`.
    fn interrupted(&self) -> Option<i32>;
    fn catch_signals(&mut self);
    /// For the crash tests: end the process now, as SIGKILL would.
    fn crash(&mut self);

    // Namespaces.
    fn namespaces(&mut self) -> Result<Vec<String>>;
    fn has_namespace(&mut self, name: &str) -> Result<bool>;
    fn create_namespace(&mut self, name: &str) -> Result<()>;
    /// Says which namespaces `create_namespace` will be asked for next, in
    /// order, so the machine may prepare them (nothing is named before
    /// its `create_namespace`).
    fn expect_namespaces(&mut self, _names: Vec<String>) {}
    fn delete_namespace(&mut self, name: &str) -> Result<()>;
    /// Apply is done with `ns` for now: what the machine keeps open for it
    /// can go.
    fn release(&mut self, ns: &Ns);
    /// Makes node `name` stand for the namespace `at` names (never
    /// creating it): requests on the node go there from now on. Returns the
    /// namespace's inode, which tells one namespace from the next.
    fn attach_namespace(&mut self, name: &str, at: &Attach) -> Result<u64>;
    /// The inode of a namespace (the host's, or a node's), if it exists.
    fn namespace_inode(&mut self, ns: &Ns) -> Option<u64>;

    // Reading.
    /// Dumps many namespaces, and reads lab `lab`'s nft table in `tables`,
    /// all at once (in parallel where the machine can).
    async fn dump_many(&mut self, jobs: Vec<(Ns, Depth)>, lab: &str, tables: Vec<Ns>) -> ReadBack;
    async fn links(&mut self, ns: &Ns) -> Result<Vec<Link>>;
    async fn addresses(&mut self, ns: &Ns) -> Result<Vec<Addr>>;
    async fn link(&mut self, l: &IfRef) -> Result<Option<Link>>;

    // Interfaces, addresses, routes.
    async fn create_bridge(&mut self, l: &IfRef, o: &BridgeOptions, end: &NewLink) -> Result<()>;
    async fn change_bridge(&mut self, l: &IfRef, o: &BridgeOptions) -> Result<()>;
    /// A veth pair with end `a` in its namespace and end `b` made directly
    /// in its own; each end marked and given topo's settings for new
    /// interfaces before it first comes up.
    async fn create_veth(&mut self, a: &IfRef, b: &IfRef, ends: [&NewLink; 2]) -> Result<()>;
    /// A persistent tap, owned by `o.owner`/`o.group` when set, marked and
    /// given topo's settings for new interfaces. The kernel makes no tap
    /// over rtnetlink: the local kernel opens /dev/net/tun in the tap's
    /// namespace.
    async fn create_tap(&mut self, l: &IfRef, o: &TapOptions, end: &NewLink) -> Result<()>;
    /// Sets a tap's owner and group (and persistence) in place. Fails with
    /// EBUSY while a process has the tap open (a single-queue tap has one
    /// reader at a time).
    async fn change_tap(&mut self, l: &IfRef, o: &TapOptions) -> Result<()>;
    /// A VXLAN device without remotes (`add_fdb` adds them), marked and
    /// given topo's settings for new interfaces.
    async fn create_vxlan(&mut self, l: &IfRef, o: &VxlanOptions, end: &NewLink) -> Result<()>;
    /// Changes what a VXLAN device can change in place: learning. VNI,
    /// port, local address and underlay need a new device.
    async fn change_vxlan(&mut self, l: &IfRef, o: &VxlanOptions) -> Result<()>;
    /// Adds `dst` to the all-zero forwarding entry of VXLAN device `l`
    /// (`bridge fdb append 00:00:00:00:00:00 dev L dst DST`): broadcast,
    /// unknown and multicast frames go to every remote of that entry.
    async fn add_fdb(&mut self, l: &IfRef, dst: IpAddr) -> Result<()>;
    /// Removes `dst` from that entry, and no other remote.
    async fn delete_fdb(&mut self, l: &IfRef, dst: IpAddr) -> Result<()>;
    async fn set_link(&mut self, l: &IfRef, s: &LinkSettings) -> Result<()>;
    async fn delete_link(&mut self, l: &IfRef) -> Result<()>;
    /// Deletes these interfaces of namespace `ns` (those still there), in
    /// as few requests as the machine can.
    async fn delete_links(&mut self, ns: &Ns, links: &[IfRef]) -> Result<()> {
        let _ = ns;
        for l in links {
            match self.delete_link(l).await {
                Err(e) if e.errno() == Some(libc::ENODEV) => {}
                r => r?,
            }
        }
        Ok(())
    }
    /// Starts deleting these interfaces of `ns` together while the run
    /// goes on, best effort (what is left goes with its namespace);
    /// `finish_meanwhile` waits for it.
    async fn delete_links_meanwhile(&mut self, ns: &Ns, links: &[IfRef]) {
        let _ = self.delete_links(ns, links).await;
    }
    /// Waits for what `delete_links_meanwhile` started.
    fn finish_meanwhile(&mut self) {}
    async fn add_address(&mut self, l: &IfRef, net: ipnet::IpNet, nodad: bool) -> Result<()>;
    async fn delete_address(&mut self, l: &IfRef, net: ipnet::IpNet) -> Result<()>;
    /// Adds or overwrites a route marked as topo's in the main table.
    async fn put_route(&mut self, ns: &Ns, r: &RouteSpec) -> Result<()>;
    async fn delete_route(&mut self, ns: &Ns, r: &RouteSpec) -> Result<()>;
    /// Tells the segment where `addrs` live now (gratuitous ARP for IPv4,
    /// unsolicited neighbour advertisement for IPv6).
    fn announce(&mut self, l: &IfRef, mac: [u8; 6], addrs: &[IpAddr]) -> Result<()>;

    // Sysctls and nft.
    fn read_sysctl(&mut self, ns: &Ns, key: &str) -> Result<Option<String>>;
    fn write_sysctl(&mut self, ns: &Ns, key: &str, value: &str) -> Result<()>;
    fn nft_read(&mut self, ns: &Ns, lab: &str) -> Result<Table>;
    /// Replaces the lab's table in `ns` with exactly `chains`, atomically;
    /// no chains: deletes it.
    fn nft_replace(&mut self, ns: &Ns, lab: &str, chains: &[WantChain<'_>]) -> Result<()>;
    /// The table as it is, for `nft_restore`.
    fn nft_snapshot(&mut self, ns: &Ns, lab: &str) -> Result<Option<String>>;
    /// Waits for writes still under way (an nft transaction); their error,
    /// if one failed.
    fn writes_done(&mut self) -> Result<()> {
        Ok(())
    }
    fn nft_restore(&mut self, ns: &Ns, lab: &str, snapshot: Option<&str>) -> Result<()>;
    /// Whether `e` says the nft program is missing (labs without rules do
    /// not need it).
    fn nft_missing(e: &KernelError) -> bool
    where
        Self: Sized,
    {
        matches!(e.cause, Cause::Missing { .. })
    }

    // The lab's records: what the kernel cannot hold.
    fn load_state(&mut self, lab: &str) -> Result<LabState>;
    fn save_state(&mut self, lab: &str, st: &LabState) -> Result<()>;
    fn load_host_sysctls(&mut self) -> Result<Registry>;
    /// Changes the shared host sysctls under a machine-wide lock.
    fn update_host_sysctls<T>(&mut self, f: impl FnOnce(&mut Registry) -> T) -> Result<T>;
    /// Labs with records here, for messages.
    fn labs(&mut self) -> Vec<String>;

    // Files `ip netns exec NODE` binds over /etc: /etc/netns/NODE/NAME.
    fn read_netns_file(&mut self, node: &str, name: &str) -> Result<Option<String>>;
    /// Replaces the file's contents at once (the directory must exist).
    fn write_netns_file(&mut self, node: &str, name: &str, text: &str) -> Result<()>;
    /// Removes the file; one already gone is no error.
    fn remove_netns_file(&mut self, node: &str, name: &str) -> Result<()>;
    /// Makes /etc/netns/NODE (and /etc/netns) where missing.
    fn make_netns_dir(&mut self, node: &str) -> Result<MadeDirs>;
    /// Removes /etc/netns/NODE if it is empty (and then /etc/netns too if
    /// `root` and empty); false when it holds other files and stays.
    fn remove_netns_dir(&mut self, node: &str, root: bool) -> Result<bool>;

    // DHCP servers (dnsmasq), each serving one interface.
    /// The lab's servers, by their files (a stopped one's too).
    async fn dhcp_servers(&mut self, lab: &str) -> Result<Vec<DhcpFound>>;
    /// Why no DHCP server can run here, if none can (dnsmasq missing).
    fn dhcp_unavailable(&mut self) -> Option<String>;
    /// Starts dnsmasq on `on` in its namespace, first stopping the one the
    /// lab runs there (its leases are kept).
    async fn start_dhcp(&mut self, lab: &str, on: &IfRef, conf: &DhcpConf) -> Result<()>;
    /// Stops the lab's dnsmasq on `on` (only a process proven to be it)
    /// and removes its files; its leases too with `forget_leases`.
    fn stop_dhcp(&mut self, lab: &str, on: &IfRef, forget_leases: bool) -> Result<()>;

    /// Replaces this process with `argv` run in namespace `ns` (for a
    /// node, with its /etc/netns files bound over /etc, as `ip netns exec`
    /// does); returns only when that fails.
    fn exec(&mut self, ns: &Ns, argv: &[String]) -> ExecFailure;
}
