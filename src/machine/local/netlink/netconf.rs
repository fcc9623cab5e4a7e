//! Forwarding of a namespace read over netlink (RTM_GETNETCONF) instead of
//! /proc/sys. The kernel keeps one dentry per namespace for each /proc/sys
//! name, all in one hash chain, so a lookup there walks every namespace
//! on the machine: at 1000 namespaces, opening one sysctl file cost more
//! than making a veth. netlink-packet-route has no netconf messages, so
//! the few bytes are written and read here.

use super::Reader;
use crate::machine::{KernelError, Result};

const RTM_NEWNETCONF: u16 = 80;
const RTM_GETNETCONF: u16 = 82;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const NETCONFA_IFINDEX: u16 = 1;
const NETCONFA_FORWARDING: u16 = 2;
const NETCONFA_IFINDEX_ALL: i32 = -1;
const NETCONFA_IFINDEX_DEFAULT: i32 = -2;

/// The netconf query that answers a sysctl key, if one does: its address
/// family and which configuration (`all` or `default`).
pub fn query_for(key: &str) -> Option<(u8, i32)> {
    let (family, which) = match key {
        "net.ipv4.ip_forward" | "net.ipv4.conf.all.forwarding" => (libc::AF_INET, "all"),
        "net.ipv4.conf.default.forwarding" => (libc::AF_INET, "default"),
        "net.ipv6.conf.all.forwarding" => (libc::AF_INET6, "all"),
        "net.ipv6.conf.default.forwarding" => (libc::AF_INET6, "default"),
        _ => return None,
    };
    let index = if which == "all" {
        NETCONFA_IFINDEX_ALL
    } else {
        NETCONFA_IFINDEX_DEFAULT
    };
    Some((family as u8, index))
}

impl Reader {
    /// The forwarding value of configuration `index` (`all`/`default`) of
    /// `family`, as /proc/sys would print it.
    pub fn forwarding(&mut self, family: u8, index: i32) -> Result<String> {
        let what = "read forwarding over netlink";
        self.seq = self.seq.wrapping_add(1);
        // nlmsghdr (16), netconfmsg (1, padded to 4), NETCONFA_IFINDEX (8).
        let mut req = Vec::with_capacity(28);
        req.extend_from_slice(&28u32.to_ne_bytes());
        req.extend_from_slice(&RTM_GETNETCONF.to_ne_bytes());
        req.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
        req.extend_from_slice(&self.seq.to_ne_bytes());
        req.extend_from_slice(&0u32.to_ne_bytes());
        req.extend_from_slice(&[family, 0, 0, 0]);
        req.extend_from_slice(&8u16.to_ne_bytes());
        req.extend_from_slice(&NETCONFA_IFINDEX.to_ne_bytes());
        req.extend_from_slice(&index.to_ne_bytes());
        let io = |e| KernelError::io(what, e);
        self.sock.send(&req, 0).map_err(io)?;
        loop {
            let n = self.sock.recv(&mut &mut self.buf[..], 0).map_err(io)?;
            let mut off = 0;
            while off + 16 <= n {
                let m = &self.buf[off..n];
                let len = u32_at(m, 0) as usize;
                if len < 16 || len > m.len() {
                    return Err(KernelError::new(what, "truncated netlink message"));
                }
                let (kind, seq) = (u16_at(m, 4), u32_at(m, 8));
                off += (len + 3) & !3;
                if seq != self.seq {
                    continue;
                }
                match kind {
                    NLMSG_ERROR if len >= 20 => {
                        let errno = -(u32_at(m, 16) as i32);
                        let message = std::io::Error::from_raw_os_error(errno).to_string();
                        return Err(KernelError::netlink(what, errno, message));
                    }
                    RTM_NEWNETCONF => {
                        return attr_u32(&m[20.min(len)..len], NETCONFA_FORWARDING)
                            .map(|v| v.to_string())
                            .ok_or_else(|| KernelError::new(what, "no forwarding in the answer"));
                    }
                    _ => {}
                }
            }
        }
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The u32 attribute `kind` among the attributes `b`.
fn attr_u32(mut b: &[u8], kind: u16) -> Option<u32> {
    while b.len() >= 4 {
        let len = u16_at(b, 0) as usize;
        if len < 4 || len > b.len() {
            return None;
        }
        if u16_at(b, 2) & 0x3fff == kind && len >= 8 {
            return Some(u32_at(b, 4));
        }
        b = &b[((len + 3) & !3).min(b.len())..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_netconf_answers() {
        assert_eq!(
            query_for("net.ipv4.ip_forward"),
            Some((libc::AF_INET as u8, -1))
        );
        assert_eq!(
            query_for("net.ipv6.conf.default.forwarding"),
            Some((libc::AF_INET6 as u8, -2))
        );
        assert_eq!(query_for("net.ipv4.conf.eth0.forwarding"), None);
        assert_eq!(query_for("net.ipv4.conf.all.rp_filter"), None);
    }

    #[test]
    fn attributes_are_walked() {
        // IFINDEX (-1), then FORWARDING (1).
        let mut b = vec![8, 0, 1, 0];
        b.extend_from_slice(&(-1i32).to_ne_bytes());
        b.extend_from_slice(&[8, 0, 2, 0]);
        b.extend_from_slice(&1u32.to_ne_bytes());
        assert_eq!(attr_u32(&b, NETCONFA_FORWARDING), Some(1));
        assert_eq!(attr_u32(&b, 5), None);
        assert_eq!(attr_u32(&b[..6], NETCONFA_FORWARDING), None);
    }
}
