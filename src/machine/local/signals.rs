//! SIGINT and SIGTERM during apply or destroy: the first one asks the run
//! to stop after the step in flight (and roll back); a second one ends the
//! process at once. A second that comes within `SAME` of the first is the
//! same request delivered twice: `timeout` signals its child and then the
//! child's whole process group, and a run killed that way must still roll
//! back.

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

static PENDING: AtomicI32 = AtomicI32::new(0);
/// When the first signal came, in nanoseconds of the monotonic clock.
static FIRST_AT: AtomicU64 = AtomicU64::new(0);
/// Quicker than a person presses Ctrl-C twice.
const SAME: u64 = 500_000_000;

fn now_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime is async-signal-safe and writes only `t`.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    (t.tv_sec as u64) * 1_000_000_000 + t.tv_nsec as u64
}

extern "C" fn on_signal(sig: i32) {
    let now = now_ns();
    if PENDING.swap(sig, Ordering::SeqCst) == 0 {
        FIRST_AT.store(now, Ordering::SeqCst);
    } else if now.saturating_sub(FIRST_AT.load(Ordering::SeqCst)) >= SAME {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(128 + sig) };
    }
}

/// From now on the first SIGINT or SIGTERM is only recorded.
pub fn catch() -> nix::Result<()> {
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only touches atomics, reads the clock and
        // calls _exit.
        unsafe { sigaction(sig, &action) }?;
    }
    Ok(())
}

/// The signal received since `catch`, if any.
pub fn pending() -> Option<i32> {
    match PENDING.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}
