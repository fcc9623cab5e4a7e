//! Kernel messages into topo's small views of links, addresses and routes.

use crate::machine::{Addr, Link, Route};
use ipnet::IpNet;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage,
};
use netlink_packet_route::link::{
    AfSpecInet, AfSpecUnspec, BridgePortState, InfoBridge, InfoBridgePort, InfoData, InfoPortData,
    LinkAttribute, LinkFlags, LinkInfo, LinkMessage, State,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType,
};
use netlink_packet_route::AddressFamily;
use std::net::IpAddr;

pub(super) fn parse_link(m: &LinkMessage) -> Link {
    let mut l = Link {
        index: m.header.index,
        name: String::new(),
        kind: None,
        alias: None,
        mtu: 0,
        mac: None,
        master: None,
        up: m.header.flags.contains(LinkFlags::Up),
        running: false,
        stp: None,
        forward_delay: None,
        port_settling: false,
        promote: false,
    };
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

pub(super) fn parse_addr(m: &AddressMessage) -> Option<Addr> {
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

pub(super) fn parse_route(m: &RouteMessage) -> Option<Route> {
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
