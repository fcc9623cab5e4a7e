//! Forwarding of a namespace read over netlink (RTM_GETNETCONF) instead of
//! /proc/sys. The kernel keeps one dentry per namespace for each /proc/sys
//! name, all in one hash chain, so a lookup there walks every namespace
//! on the machine: at 1000 namespaces, opening one sysctl file cost more
//! than making a veth. netlink-packet-route has no netconf messages, so
//! the few bytes are written and read here.

use super::raw::{attrs, u32_at, Msg, Raw, Req, NLM_F_REQUEST};
use crate::machine::{KernelError, Result};
use netlink_sys::protocols::NETLINK_ROUTE;
use std::os::fd::BorrowedFd;

const RTM_NEWNETCONF: u16 = 80;
const RTM_GETNETCONF: u16 = 82;
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

/// The forwarding value of configuration `index` (`all`/`default`) of
/// `family` in namespace `ns`, as /proc/sys would print it.
pub fn forwarding(ns: Option<BorrowedFd<'_>>, family: u8, index: i32) -> Result<String> {
    let what = "read forwarding over netlink";
    let mut raw = Raw::open(NETLINK_ROUTE, ns)?;
    let req = Req {
        kind: RTM_GETNETCONF,
        flags: NLM_F_REQUEST,
        head: &[family],
        attrs: &[(NETCONFA_IFINDEX, &index.to_ne_bytes())],
    };
    let mut found = None;
    raw.each(&req, what, |m| {
        if let Msg::Answer(RTM_NEWNETCONF, body) = m {
            found = attrs(body)
                .find(|(k, v)| *k == NETCONFA_FORWARDING && v.len() >= 4)
                .map(|(_, v)| u32_at(v, 0).to_string());
        }
    })?;
    found.ok_or_else(|| KernelError::new(what, "no forwarding in the answer"))
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
}
