//! Persistent taps by ioctl on /dev/net/tun: the kernel refuses tun/tap
//! creation over rtnetlink. A tap belongs to the network namespace of the
//! process that opened /dev/net/tun, so the ioctls run on a short-lived
//! thread of their own that enters the tap's namespace first and ends
//! after: no runtime thread ever changes namespace. The device is made
//! persistent last, so a failure halfway leaves nothing: a tap that is not
//! persistent goes when its file closes.

use crate::machine::TapOptions;
use nix::sched::{setns, CloneFlags};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd};

// From include/uapi/linux/if_tun.h.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const TUNSETPERSIST: libc::c_ulong = 0x4004_54cb;
const TUNSETOWNER: libc::c_ulong = 0x4004_54cc;
const TUNSETGROUP: libc::c_ulong = 0x4004_54ce;
const IFF_TAP: u16 = 0x0002;
const IFF_MULTI_QUEUE: u16 = 0x0100;
const IFF_NO_PI: u16 = 0x1000;
/// Refuse to attach to an existing device of that name.
const IFF_TUN_EXCL: u16 = 0x8000;

/// `struct ifreq` as TUNSETIFF reads it: the name and the flags.
#[repr(C)]
struct IfReq {
    name: [u8; libc::IFNAMSIZ],
    flags: u16,
    _pad: [u8; 22],
}

/// What to do with the tap.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Make a new one (EBUSY if the name is taken).
    Create,
    /// Attach to the existing one and set its owner, group, persistence.
    Change,
}

/// Makes or changes the persistent tap `name` in the namespace `ns` (the
/// current one when `None`).
pub(super) fn tap(ns: Option<File>, name: &str, o: TapOptions, mode: Mode) -> io::Result<()> {
    if name.len() >= libc::IFNAMSIZ {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let name = name.to_string();
    std::thread::spawn(move || -> io::Result<()> {
        if let Some(f) = &ns {
            setns(f.as_fd(), CloneFlags::CLONE_NEWNET)?;
        }
        let tun = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/net/tun")?;
        let mut req = IfReq {
            name: [0; libc::IFNAMSIZ],
            flags: IFF_TAP | IFF_NO_PI,
            _pad: [0; 22],
        };
        req.name[..name.len()].copy_from_slice(name.as_bytes());
        if o.multi_queue {
            req.flags |= IFF_MULTI_QUEUE;
        }
        if mode == Mode::Create {
            req.flags |= IFF_TUN_EXCL;
        }
        // SAFETY: TUNSETIFF reads and writes a `struct ifreq`, which `req`
        // is laid out as, and lives across the call.
        ioctl(&tun, TUNSETIFF, &mut req as *mut IfReq as libc::c_ulong)?;
        if let Some(u) = o.owner {
            ioctl(&tun, TUNSETOWNER, libc::c_ulong::from(u))?;
        }
        if let Some(g) = o.group {
            ioctl(&tun, TUNSETGROUP, libc::c_ulong::from(g))?;
        }
        ioctl(&tun, TUNSETPERSIST, 1)?;
        Ok(())
    })
    .join()
    .map_err(|_| io::Error::other("tap thread panicked"))?
}

/// One ioctl whose argument is a value, or a pointer the caller keeps
/// valid.
fn ioctl(f: &File, req: libc::c_ulong, arg: libc::c_ulong) -> io::Result<()> {
    // SAFETY: `f` is an open file; the tun ioctls used here take a value
    // or a pointer to a live `IfReq`.
    let r = unsafe { libc::ioctl(f.as_raw_fd(), req as _, arg) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    super::count_write();
    Ok(())
}
