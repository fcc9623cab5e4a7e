//! Kernel messages into topo's small views of links, addresses, routes
//! and forwarding entries, read straight from the bytes: a link message
//! is a few kilobytes (every address family's configuration), and
//! decoding it whole into the crate's types took an allocation per
//! attribute, a read-back thread's main cost and what made the threads
//! wait on the allocator's lock. Field numbers: include/uapi/linux/
//! rtnetlink.h, if_link.h, if_addr.h, neighbour.h.

use super::raw::{attrs, text, u32_at};
use crate::machine::{Addr, FdbEntry, Link, Route, TunInfo, VxlanInfo};
use ipnet::IpNet;
use netlink_packet_core::Emitable;
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::LinkMessage;
use std::net::IpAddr;

#[cfg(test)]
mod oracle;
#[cfg(test)]
mod tests;

/// Message types of the answers parsed here.
pub const RTM_NEWLINK: u16 = 16;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_NEWROUTE: u16 = 24;
pub const RTM_NEWNEIGH: u16 = 28;

/// Family header lengths: ifinfomsg, ifaddrmsg, rtmsg, ndmsg.
const IFINFO: usize = 16;
const IFADDR: usize = 8;
const RTMSG: usize = 12;
const NDMSG: usize = 12;

/// A link message's body (its ifinfomsg and attributes).
pub fn link(b: &[u8]) -> Option<Link> {
    const IFF_UP: u32 = 1;
    const ADDRESS: u16 = 1;
    const IFNAME: u16 = 3;
    const MTU: u16 = 4;
    const MASTER: u16 = 10;
    const OPERSTATE: u16 = 16;
    const LINKINFO: u16 = 18;
    const IFALIAS: u16 = 20;
    const AF_SPEC: u16 = 26;
    // IF_OPER_UNKNOWN and IF_OPER_UP: traffic flows.
    const RUNNING: [u8; 2] = [0, 6];
    if b.len() < IFINFO {
        return None;
    }
    let mut l = Link::named(u32_at(b, 4), "");
    l.up = u32_at(b, 8) & IFF_UP != 0;
    for (kind, v) in attrs(&b[IFINFO..]) {
        match kind {
            IFNAME => l.name = text(v),
            IFALIAS => l.alias = Some(text(v)),
            MTU => l.mtu = u32_of(v).unwrap_or(0),
            ADDRESS => l.mac = <[u8; 6]>::try_from(v).ok(),
            MASTER => l.master = u32_of(v),
            OPERSTATE => l.running = v.first().is_some_and(|s| RUNNING.contains(s)),
            AF_SPEC => l.promote = promote_secondaries(v),
            LINKINFO => link_info(v, &mut l),
            _ => {}
        }
    }
    Some(l)
}

/// A link message's name and interface group (IFLA_GROUP).
pub fn name_and_group(b: &[u8]) -> Option<(String, u32, u32)> {
    const IFNAME: u16 = 3;
    const GROUP: u16 = 27;
    if b.len() < IFINFO {
        return None;
    }
    let (mut name, mut group) = (None, 0);
    for (kind, v) in attrs(&b[IFINFO..]) {
        match kind {
            IFNAME => name = Some(text(v)),
            GROUP => group = u32_of(v).unwrap_or(0),
            _ => {}
        }
    }
    Some((name?, u32_at(b, 4), group))
}

/// IFLA_INET_CONF of the AF_INET part: its values in IPV4_DEVCONF_*
/// order, from 1; PROMOTE_SECONDARIES is the 20th.
fn promote_secondaries(spec: &[u8]) -> bool {
    const AF_INET: u16 = 2;
    const INET_CONF: u16 = 1;
    const PROMOTE: usize = 20;
    attrs(spec)
        .filter(|(family, _)| *family == AF_INET)
        .flat_map(|(_, v)| attrs(v))
        .filter(|(kind, _)| *kind == INET_CONF)
        .any(|(_, conf)| {
            conf.get((PROMOTE - 1) * 4..PROMOTE * 4)
                .and_then(u32_of)
                .is_some_and(|p| p != 0)
        })
}

/// IFLA_LINKINFO: the kind, the kind's own data, and a bridge port's state.
fn link_info(info: &[u8], l: &mut Link) {
    const KIND: u16 = 1;
    const DATA: u16 = 2;
    const PORT_KIND: u16 = 4;
    const PORT_DATA: u16 = 5;
    let (mut data, mut port_kind, mut port_data) = (None, None, None);
    for (kind, v) in attrs(info) {
        match kind {
            KIND => l.kind = Some(text(v)),
            DATA => data = Some(v),
            PORT_KIND => port_kind = Some(text(v)),
            PORT_DATA => port_data = Some(v),
            _ => {}
        }
    }
    if let Some(d) = data {
        match l.kind.as_deref() {
            Some("bridge") => bridge(d, l),
            Some("tun") => l.tun = Some(tun(d)),
            Some("vxlan") => l.vxlan = Some(vxlan(d)),
            _ => {}
        }
    }
    if let (Some("bridge"), Some(d)) = (port_kind.as_deref(), port_data) {
        l.port_settling = bridge_port_settling(d);
    }
}

fn bridge(d: &[u8], l: &mut Link) {
    const FORWARD_DELAY: u16 = 1;
    const STP_STATE: u16 = 5;
    for (kind, v) in attrs(d) {
        match kind {
            // In clock ticks (USER_HZ, 100 a second).
            FORWARD_DELAY => l.forward_delay = u32_of(v).map(|t| t / 100),
            STP_STATE => l.stp = u32_of(v).map(|s| s != 0),
            _ => {}
        }
    }
}

/// IFLA_BRPORT_STATE: disabled (0), listening (1) or learning (2).
fn bridge_port_settling(d: &[u8]) -> bool {
    const STATE: u16 = 1;
    attrs(d).any(|(kind, v)| kind == STATE && v.first().is_some_and(|s| *s <= 2))
}

/// The attributes of the kernel's `tun_fill_info` (IFLA_TUN_*). Owner and
/// group are absent when unset.
fn tun(d: &[u8]) -> TunInfo {
    const OWNER: u16 = 1;
    const GROUP: u16 = 2;
    const TYPE: u16 = 3;
    const PERSIST: u16 = 6;
    const MULTI_QUEUE: u16 = 7;
    const IFF_TAP: u8 = 0x02;
    let mut t = TunInfo::default();
    for (kind, v) in attrs(d) {
        let flag = v.first().is_some_and(|b| *b != 0);
        match kind {
            OWNER => t.owner = u32_of(v),
            GROUP => t.group = u32_of(v),
            TYPE => t.tap = v.first() == Some(&IFF_TAP),
            PERSIST => t.persist = flag,
            MULTI_QUEUE => t.multi_queue = flag,
            _ => {}
        }
    }
    t
}

fn vxlan(d: &[u8]) -> VxlanInfo {
    const ID: u16 = 1;
    const LINK: u16 = 3;
    const LOCAL: u16 = 4;
    const LEARNING: u16 = 7;
    const PORT: u16 = 15;
    const LOCAL6: u16 = 17;
    let mut x = VxlanInfo {
        vni: 0,
        local: None,
        port: 0,
        dev: None,
        learning: false,
    };
    for (kind, v) in attrs(d) {
        match kind {
            ID => x.vni = u32_of(v).unwrap_or(0),
            LOCAL | LOCAL6 => x.local = ip_of(v).or(x.local),
            // In network byte order.
            PORT => x.port = <[u8; 2]>::try_from(v).map_or(0, u16::from_be_bytes),
            LINK => x.dev = u32_of(v).filter(|i| *i != 0),
            LEARNING => x.learning = v.first().is_some_and(|b| *b != 0),
            _ => {}
        }
    }
    x
}

/// An address message's body (ifaddrmsg and attributes).
pub fn addr(b: &[u8]) -> Option<Addr> {
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's
    // on point-to-point links, and the only one for IPv6.
    const ADDRESS: u16 = 1;
    const LOCAL: u16 = 2;
    const FLAGS: u16 = 8;
    const SECONDARY: u32 = 0x01;
    const TENTATIVE: u32 = 0x40;
    if b.len() < IFADDR {
        return None;
    }
    let (mut local, mut address) = (None, None);
    let mut flags = u32::from(b[2]);
    for (kind, v) in attrs(&b[IFADDR..]) {
        match kind {
            LOCAL => local = ip_of(v),
            ADDRESS => address = ip_of(v),
            FLAGS => flags |= u32_of(v).unwrap_or(0),
            _ => {}
        }
    }
    Some(Addr {
        index: u32_at(b, 4),
        net: IpNet::new(local.or(address)?, b[1]).ok()?,
        secondary: flags & SECONDARY != 0,
        tentative: flags & TENTATIVE != 0,
    })
}

/// A route message's body: unicast routes of the main table only.
pub fn route(b: &[u8]) -> Option<Route> {
    const AF_INET6: u8 = 10;
    const RTN_UNICAST: u8 = 1;
    const MAIN: u32 = 254;
    const DST: u16 = 1;
    const OIF: u16 = 4;
    const GATEWAY: u16 = 5;
    const PRIORITY: u16 = 6;
    const TABLE: u16 = 15;
    if b.len() < RTMSG || b[7] != RTN_UNICAST {
        return None;
    }
    let any = match b[0] {
        AF_INET6 => IpAddr::from([0u16; 8]),
        _ => IpAddr::from([0u8; 4]),
    };
    let mut table = u32::from(b[4]);
    let mut r = Route {
        to: IpNet::new(any, 0).ok()?,
        metric: 0,
        via: None,
        oif: None,
        protocol: b[5],
        scope: b[6],
    };
    for (kind, v) in attrs(&b[RTMSG..]) {
        match kind {
            DST => r.to = IpNet::new(ip_of(v)?, b[1]).ok()?,
            GATEWAY => r.via = ip_of(v),
            PRIORITY => r.metric = u32_of(v).unwrap_or(0),
            OIF => r.oif = u32_of(v),
            TABLE => table = u32_of(v).unwrap_or(table),
            _ => {}
        }
    }
    (table == MAIN).then_some(r)
}

/// One entry of a bridge-family neighbour dump (ndmsg and attributes).
pub fn fdb(b: &[u8]) -> Option<FdbEntry> {
    const DST: u16 = 1;
    const LLADDR: u16 = 2;
    if b.len() < NDMSG {
        return None;
    }
    let (mut mac, mut dst) = (None, None);
    for (kind, v) in attrs(&b[NDMSG..]) {
        match kind {
            LLADDR => mac = <[u8; 6]>::try_from(v).ok(),
            DST => dst = ip_of(v),
            _ => {}
        }
    }
    Some(FdbEntry {
        index: u32_at(b, 4),
        mac: mac?,
        dst,
    })
}

/// A link the async connection decoded: its bytes again, parsed here, so
/// that one parser reads every link.
pub fn link_of(m: &LinkMessage) -> Option<Link> {
    let mut b = vec![0; m.buffer_len()];
    m.emit(&mut b);
    link(&b)
}

/// The same for an address.
pub fn addr_of(m: &AddressMessage) -> Option<Addr> {
    let mut b = vec![0; m.buffer_len()];
    m.emit(&mut b);
    addr(&b)
}

fn u32_of(v: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(v).ok().map(u32::from_ne_bytes)
}

fn ip_of(v: &[u8]) -> Option<IpAddr> {
    match v.len() {
        4 => <[u8; 4]>::try_from(v).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(v).ok().map(IpAddr::from),
        _ => None,
    }
}
