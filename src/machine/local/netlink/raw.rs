//! Netlink messages the crates have no types for (netconf, nftables),
//! written and read as bytes: a header, a family header, attributes.

use super::with_netns;
use crate::machine::{KernelError, Result};
use netlink_sys::Socket;
use std::os::fd::BorrowedFd;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
pub const NLM_F_REQUEST: u16 = 1;
pub const NLM_F_DUMP: u16 = 0x300;
/// A dump the kernel's state changed under: read it again.
const NLM_F_DUMP_INTR: u16 = 0x10;

/// One blocking netlink socket of any protocol, in one namespace.
pub struct Raw {
    sock: Socket,
    buf: Vec<u8>,
    seq: u32,
}

/// What a request's answers bring, one at a time.
pub enum Msg<'a> {
    /// The kernel's answer: its type, and its attributes.
    Answer(u16, &'a [u8]),
    /// Forget the answers so far: they come again.
    Restart,
}

/// A request: message type and flags, the family header, attributes.
pub struct Req<'a> {
    pub kind: u16,
    pub flags: u16,
    pub head: &'a [u8],
    pub attrs: &'a [(u16, &'a [u8])],
}

impl Raw {
    /// A socket of `protocol` in `ns` (here when `None`).
    pub fn open(protocol: isize, ns: Option<BorrowedFd<'_>>) -> Result<Raw> {
        let open = || super::socket_of(protocol);
        let sock = match ns {
            Some(fd) => with_netns(fd, open).and_then(|r| r),
            None => open(),
        }
        .map_err(|e| KernelError::io("open netlink socket", e))?;
        Ok(Raw {
            sock,
            buf: vec![0; 64 * 1024],
            seq: 0,
        })
    }

    /// Sends `req` and hands each answer's type and body (after the family
    /// header) to `each`, until the end of a dump, or the one answer of a
    /// plain request. A dump the kernel marks as interrupted is read again
    /// from the start, after `each(Msg::Restart)`.
    pub fn each(&mut self, req: &Req<'_>, what: &str, mut each: impl FnMut(Msg<'_>)) -> Result<()> {
        for _ in 0..3 {
            match self.once(req, what, &mut each)? {
                true => return Ok(()),
                false => each(Msg::Restart),
            }
        }
        Err(KernelError::new(what, "the dump kept changing under it"))
    }

    /// `false` when the dump was interrupted.
    fn once(&mut self, req: &Req<'_>, what: &str, each: &mut impl FnMut(Msg<'_>)) -> Result<bool> {
        self.seq = self.seq.wrapping_add(1);
        let msg = encode(req, self.seq);
        let io = |e| KernelError::io(what, e);
        self.sock.send(&msg, 0).map_err(io)?;
        let dump = req.flags & NLM_F_DUMP == NLM_F_DUMP;
        let head = (req.head.len() + 3) & !3;
        answers(
            &self.sock,
            &mut self.buf,
            self.seq,
            dump,
            what,
            &mut |kind, body| each(Msg::Answer(kind, body.get(head..).unwrap_or_default())),
        )
    }
}

/// Reads the answers to request `seq` from `sock` (through `buf`) until
/// the end of a dump, or the one answer of a plain request, handing each
/// one's type and body (what follows the netlink header) to `each`.
/// `false` when the kernel marked the dump interrupted.
pub fn answers(
    sock: &Socket,
    buf: &mut [u8],
    seq: u32,
    dump: bool,
    what: &str,
    each: &mut impl FnMut(u16, &[u8]),
) -> Result<bool> {
    let io = |e| KernelError::io(what, e);
    let mut intr = false;
    loop {
        let n = sock.recv(&mut &mut buf[..], 0).map_err(io)?;
        let mut off = 0;
        while off + 16 <= n {
            let m = &buf[off..n];
            let len = u32_at(m, 0) as usize;
            if len < 16 || len > m.len() {
                return Err(KernelError::new(what, "truncated netlink message"));
            }
            let (kind, flags) = (u16_at(m, 4), u16_at(m, 6));
            off += (len + 3) & !3;
            if u32_at(m, 8) != seq {
                continue;
            }
            intr |= flags & NLM_F_DUMP_INTR != 0;
            match kind {
                NLMSG_ERROR if len >= 20 => {
                    let errno = -(u32_at(m, 16) as i32);
                    if errno == 0 {
                        return Ok(true);
                    }
                    let message = std::io::Error::from_raw_os_error(errno).to_string();
                    return Err(KernelError::netlink(what, errno, message));
                }
                NLMSG_DONE => return Ok(!intr),
                _ => {
                    each(kind, &m[16..len]);
                    if !dump {
                        return Ok(true);
                    }
                }
            }
        }
    }
}

fn encode(req: &Req<'_>, seq: u32) -> Vec<u8> {
    let pad = |v: &mut Vec<u8>| v.resize((v.len() + 3) & !3, 0);
    let mut body = req.head.to_vec();
    pad(&mut body);
    for (kind, value) in req.attrs {
        body.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        body.extend_from_slice(&kind.to_ne_bytes());
        body.extend_from_slice(value);
        pad(&mut body);
    }
    let mut msg = Vec::with_capacity(16 + body.len());
    msg.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
    msg.extend_from_slice(&req.kind.to_ne_bytes());
    msg.extend_from_slice(&req.flags.to_ne_bytes());
    msg.extend_from_slice(&seq.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(&body);
    msg
}

pub fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

pub fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The attributes `b` as (type, value), nesting and byte-order flags off.
pub fn attrs(mut b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if b.len() < 4 {
            return None;
        }
        let len = u16_at(b, 0) as usize;
        if len < 4 || len > b.len() {
            return None;
        }
        let item = (u16_at(b, 2) & 0x3fff, &b[4..len]);
        b = &b[((len + 3) & !3).min(b.len())..];
        Some(item)
    })
}

/// A NUL-terminated string attribute's text.
pub fn text(v: &[u8]) -> String {
    let end = v.iter().position(|b| *b == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_padded_and_attributes_walked() {
        let name = b"topo-x\0";
        let req = Req {
            kind: 0x0a01,
            flags: NLM_F_REQUEST,
            head: &[1, 0, 0, 0],
            attrs: &[(1, name), (2, &[7, 0, 0, 0])],
        };
        let m = encode(&req, 9);
        assert_eq!(m.len() as u32, u32_at(&m, 0));
        assert_eq!(m.len() % 4, 0);
        assert_eq!((u16_at(&m, 4), u32_at(&m, 8)), (0x0a01, 9));
        let got: Vec<(u16, Vec<u8>)> = attrs(&m[20..]).map(|(k, v)| (k, v.to_vec())).collect();
        assert_eq!(got, vec![(1, name.to_vec()), (2, vec![7, 0, 0, 0])]);
        assert_eq!(text(name), "topo-x");
        // A truncated attribute ends the walk.
        assert_eq!(attrs(&m[20..26]).count(), 0);
    }
}
