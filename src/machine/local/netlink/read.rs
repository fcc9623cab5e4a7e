//! Reading a namespace back in one blocking pass: a fresh netlink socket
//! opened inside it, one dump at a time, each message turned into topo's
//! small view as soon as it is read. No task, no queue: the async
//! connection read a whole socket buffer ahead and kept every kernel
//! message (a few kilobytes per link) until it was consumed, which for a
//! big host held most of a lab's read-back in memory at once.

use super::parse::{self, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWROUTE};
use crate::machine::{Dump, KernelError, Link, Result};
use netlink_packet_core::{NetlinkMessage, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkMessage};
use netlink_packet_route::neighbour::NeighbourMessage;
use netlink_packet_route::route::{RouteHeader, RouteMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::Socket;
use std::os::fd::BorrowedFd;

/// Large enough for any one datagram of a dump (the kernel fills up to
/// 32 KiB per read when the buffer allows it).
const BUF: usize = 64 * 1024;

/// One blocking netlink socket in one namespace, with its read buffer.
pub struct Reader {
    sock: Socket,
    buf: Vec<u8>,
    seq: u32,
}

impl Reader {
    /// Opens a socket in `ns` (here when `None`); the thread is back in its
    /// own namespace when this returns.
    pub fn open(ns: Option<BorrowedFd<'_>>) -> Result<Reader> {
        let sock = match ns {
            Some(fd) => super::with_netns(fd, super::socket_here).and_then(|r| r),
            None => super::socket_here(),
        }
        .map_err(|e| KernelError::io("open netlink socket", e))?;
        Ok(Reader {
            sock,
            buf: vec![0; BUF],
            seq: 0,
        })
    }

    /// Links, addresses, routes (both families) and, where a VXLAN device
    /// is, bridge forwarding entries.
    pub fn dump(&mut self) -> Result<Dump> {
        let links = self.links()?;
        let mut d = Dump {
            links,
            ..Dump::default()
        };
        self.each(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            true,
            "dump addresses",
            |kind, b| {
                if kind == RTM_NEWADDR {
                    d.addrs.extend(parse::addr(b));
                }
            },
        )?;
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut r = RouteMessage::default();
            r.header = RouteHeader {
                address_family: family,
                ..RouteHeader::default()
            };
            self.each(
                RouteNetlinkMessage::GetRoute(r),
                true,
                "dump routes",
                |kind, b| {
                    if kind == RTM_NEWROUTE {
                        d.routes.extend(parse::route(b));
                    }
                },
            )?;
        }
        // Forwarding entries only where a VXLAN device is: a big bridge's
        // table holds an entry per port.
        if d.links.iter().any(|l| l.vxlan.is_some()) {
            let mut n = NeighbourMessage::default();
            n.header.family = AddressFamily::Bridge;
            self.each(
                RouteNetlinkMessage::GetNeighbour(n),
                true,
                "dump forwarding entries",
                |kind, b| {
                    if kind == RTM_NEWNEIGH {
                        d.fdb.extend(parse::fdb(b));
                    }
                },
            )?;
        }
        Ok(d)
    }

    /// Every link, without statistics.
    pub fn links(&mut self) -> Result<Vec<Link>> {
        let mut links = Vec::new();
        self.each(
            RouteNetlinkMessage::GetLink(no_stats(LinkMessage::default())),
            true,
            "dump links",
            |kind, b| {
                if kind == RTM_NEWLINK {
                    links.extend(parse::link(b));
                }
            },
        )?;
        Ok(links)
    }

    /// The link called `name`, if there is one.
    pub fn link(&mut self, name: &str) -> Result<Option<Link>> {
        let mut m = no_stats(LinkMessage::default());
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        let mut found = None;
        let what = format!("look up link {name}");
        match self.each(RouteNetlinkMessage::GetLink(m), false, &what, |kind, b| {
            if kind == RTM_NEWLINK {
                found = parse::link(b);
            }
        }) {
            Ok(()) => Ok(found),
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends one request that changes something, and waits for the
    /// kernel's acknowledgement.
    pub fn ack(&mut self, req: RouteNetlinkMessage, what: &str) -> Result<()> {
        self.send_and_read(req, NLM_F_REQUEST | NLM_F_ACK, false, what, |_, _| {})
    }

    /// Sends one request and hands each answer's type and body (family
    /// header and attributes, still bytes) to `each` as it is read, until
    /// the dump's end (or the one answer of a plain request).
    pub(super) fn each(
        &mut self,
        req: RouteNetlinkMessage,
        dump: bool,
        what: &str,
        each: impl FnMut(u16, &[u8]),
    ) -> Result<()> {
        let flags = NLM_F_REQUEST | if dump { NLM_F_DUMP } else { 0 };
        self.send_and_read(req, flags, dump, what, each)
    }

    fn send_and_read(
        &mut self,
        req: RouteNetlinkMessage,
        flags: u16,
        dump: bool,
        what: &str,
        mut each: impl FnMut(u16, &[u8]),
    ) -> Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let mut msg = NetlinkMessage::from(req);
        msg.header.flags = flags;
        msg.header.sequence_number = self.seq;
        msg.finalize();
        let mut out = vec![0; msg.buffer_len()];
        msg.serialize(&mut out);
        let io = |e| KernelError::io(what.to_string(), e);
        self.sock.send(&out, 0).map_err(io)?;
        // An interrupted dump is taken as read: the next plan reads again.
        super::raw::answers(&self.sock, &mut self.buf, self.seq, dump, what, &mut each)?;
        Ok(())
    }
}

/// A link request that asks the kernel to leave statistics out.
pub(super) fn no_stats(mut m: LinkMessage) -> LinkMessage {
    m.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    m
}
