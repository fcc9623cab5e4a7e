//! For the tests only: topo's views of kernel messages decoded through
//! netlink-packet-route's types, as topo read them until the parser
//! beside read the bytes itself. Each message of a live dump must read
//! the same both ways.

use crate::machine::{Addr, FdbEntry, Link, Route, TunInfo, VxlanInfo};
use ipnet::IpNet;
use netlink_packet_core::Emitable;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage,
};
use netlink_packet_route::link::{
    AfSpecInet, AfSpecUnspec, BridgePortState, InfoBridge, InfoBridgePort, InfoData, InfoPortData,
    InfoTun, InfoVxlan, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, State,
};
use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType,
};
use netlink_packet_route::AddressFamily;
use std::net::IpAddr;

pub fn parse_link(m: &LinkMessage) -> Link {
    let mut l = Link::named(m.header.index, "");
    l.up = m.header.flags.contains(LinkFlags::Up);
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => l.name = n.clone(),
            LinkAttribute::IfAlias(s) => l.alias = Some(s.clone()),
            LinkAttribute::Mtu(v) => l.mtu = *v,
            LinkAttribute::Address(b) => l.mac = <[u8; 6]>::try_from(b.as_slice()).ok(),
            LinkAttribute::Controller(c) => l.master = Some(*c),
            LinkAttribute::OperState(s) => l.running = matches!(s, State::Up | State::Unknown),
            LinkAttribute::AfSpecUnspec(specs) => {
                for spec in specs {
                    if let AfSpecUnspec::Inet(inet) = spec {
                        for i in inet {
                            if let AfSpecInet::DevConf(c) = i {
                                l.promote = c.promote_secondaries != 0;
                            }
                        }
                    }
                }
            }
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    match i {
                        LinkInfo::Kind(k) => l.kind = Some(k.to_string()),
                        LinkInfo::Data(InfoData::Bridge(opts)) => {
                            for o in opts {
                                match o {
                                    InfoBridge::StpState(s) => l.stp = Some(u32::from(*s) != 0),
                                    // In clock ticks (USER_HZ, 100 a second).
                                    InfoBridge::ForwardDelay(d) => l.forward_delay = Some(d / 100),
                                    _ => {}
                                }
                            }
                        }
                        LinkInfo::Data(InfoData::Tun(nlas)) => l.tun = Some(parse_tun(nlas)),
                        LinkInfo::Data(InfoData::Vxlan(opts)) => l.vxlan = Some(parse_vxlan(opts)),
                        LinkInfo::PortData(InfoPortData::BridgePort(opts)) => {
                            l.port_settling = opts.iter().any(|o| {
                                matches!(
                                    o,
                                    InfoBridgePort::State(
                                        BridgePortState::Disabled
                                            | BridgePortState::Listening
                                            | BridgePortState::Learning
                                    )
                                )
                            })
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    l
}

/// The crate leaves a tun's info data raw (`InfoTun::Other`): its
/// attributes, split by the crate, are written out again and read by the
/// parser under test.
fn parse_tun(nlas: &[InfoTun]) -> TunInfo {
    let mut b = vec![0u8; nlas.buffer_len()];
    nlas.emit(&mut b);
    super::tun(&b)
}

fn parse_vxlan(opts: &[InfoVxlan]) -> VxlanInfo {
    let mut x = VxlanInfo {
        vni: 0,
        local: None,
        port: 0,
        dev: None,
        learning: false,
    };
    for o in opts {
        match o {
            InfoVxlan::Id(v) => x.vni = *v,
            InfoVxlan::Local(a) => x.local = Some(IpAddr::V4(*a)),
            InfoVxlan::Local6(a) => x.local = Some(IpAddr::V6(*a)),
            InfoVxlan::Port(p) => x.port = *p,
            InfoVxlan::Link(i) if *i != 0 => x.dev = Some(*i),
            InfoVxlan::Learning(b) => x.learning = *b,
            _ => {}
        }
    }
    x
}

/// One forwarding entry of a bridge-family neighbour dump.
pub fn parse_fdb(m: &NeighbourMessage) -> Option<FdbEntry> {
    let mut mac = None;
    let mut dst = None;
    for a in &m.attributes {
        match a {
            NeighbourAttribute::LinkLayerAddress(b) => mac = <[u8; 6]>::try_from(b.as_slice()).ok(),
            NeighbourAttribute::Destination(NeighbourAddress::Inet(v)) => {
                dst = Some(IpAddr::V4(*v))
            }
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(v)) => {
                dst = Some(IpAddr::V6(*v))
            }
            // In a bridge-family message the crate leaves the address raw.
            NeighbourAttribute::Destination(NeighbourAddress::Other(b)) => {
                dst = match b.len() {
                    4 => <[u8; 4]>::try_from(b.as_slice()).ok().map(IpAddr::from),
                    16 => <[u8; 16]>::try_from(b.as_slice()).ok().map(IpAddr::from),
                    _ => None,
                }
            }
            _ => {}
        }
    }
    Some(FdbEntry {
        index: m.header.ifindex,
        mac: mac?,
        dst,
    })
}

pub fn parse_addr(m: &AddressMessage) -> Option<Addr> {
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's
    // on point-to-point links, and the only one for IPv6.
    let mut local = None;
    let mut address = None;
    let mut secondary = m.header.flags.contains(AddressHeaderFlags::Secondary);
    let mut tentative = m.header.flags.contains(AddressHeaderFlags::Tentative);
    for a in &m.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Flags(f) => {
                secondary |= f.contains(AddressFlags::Secondary);
                tentative |= f.contains(AddressFlags::Tentative);
            }
            _ => {}
        }
    }
    let ip = local.or(address)?;
    Some(Addr {
        index: m.header.index,
        net: IpNet::new(ip, m.header.prefix_len).ok()?,
        secondary,
        tentative,
    })
}

pub fn parse_route(m: &RouteMessage) -> Option<Route> {
    let h: &RouteHeader = &m.header;
    if h.kind != RouteType::Unicast {
        return None;
    }
    let mut table = u32::from(h.table);
    let mut r = Route {
        to: IpNet::new(
            if h.address_family == AddressFamily::Inet6 {
                IpAddr::from([0u16; 8])
            } else {
                IpAddr::from([0u8; 4])
            },
            0,
        )
        .ok()?,
        metric: 0,
        via: None,
        oif: None,
        protocol: u8::from(h.protocol),
        scope: u8::from(h.scope),
    };
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(d) => {
                r.to = IpNet::new(route_ip(d)?, h.destination_prefix_length).ok()?
            }
            RouteAttribute::Gateway(g) => r.via = route_ip(g),
            RouteAttribute::Priority(p) => r.metric = *p,
            RouteAttribute::Oif(o) => r.oif = Some(*o),
            RouteAttribute::Table(t) => table = *t,
            _ => {}
        }
    }
    (table == 254).then_some(r)
}

fn route_ip(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v) => Some(IpAddr::V4(*v)),
        RouteAddress::Inet6(v) => Some(IpAddr::V6(*v)),
        _ => None,
    }
}
