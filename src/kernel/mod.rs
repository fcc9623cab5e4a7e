//! The only code that touches the system: namespaces, netlink, sysctls,
//! and the small state file for what the kernel cannot hold.

pub mod announce;
pub mod host_sysctls;
pub mod lock;
pub mod netlink;
pub mod netns;
pub mod nft;
pub mod probe;
pub mod signals;
pub mod state_file;
pub mod sysctl;

use std::sync::atomic::{AtomicU64, Ordering};

/// Route protocol number that marks routes topo created (unused in
/// /etc/iproute2/rt_protos; `ip route` shows it as `proto 157`).
pub const RTPROT_TOPO: u8 = 157;

static WRITES: AtomicU64 = AtomicU64::new(0);

/// Counts one request that changes the system (netlink write, namespace
/// create/delete, sysctl write). A no-op apply must leave this at zero.
pub(crate) fn count_write() {
    WRITES.fetch_add(1, Ordering::Relaxed);
}

/// Requests that changed the system since the process started.
pub fn write_count() -> u64 {
    WRITES.load(Ordering::Relaxed)
}

/// The alias that marks an interface or namespace as owned by `lab`.
pub fn owner_mark(lab: &str) -> String {
    format!("topo:{lab}")
}
