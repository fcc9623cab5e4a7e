//! One rtnetlink connection per namespace, opened once: typed dumps and the
//! few write requests topo needs. Nothing else in topo speaks netlink.

use super::netns::with_netns;
use super::{count_write, RTPROT_TOPO};
use futures::TryStreamExt;
use ipnet::IpNet;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoBridge, InfoData, InfoKind, InfoVeth,
    LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteType,
};
use netlink_packet_route::AddressFamily;
use rtnetlink::{Handle, LinkMessageBuilder, LinkUnspec, RouteMessageBuilder};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

/// A failed kernel request, saying what was attempted.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {detail}")]
pub struct KernelError {
    pub what: String,
    pub detail: String,
    /// The errno, when the kernel gave one.
    pub errno: Option<i32>,
}

impl KernelError {
    pub fn new(what: impl Into<String>, e: impl std::fmt::Display) -> Self {
        KernelError {
            what: what.into(),
            detail: e.to_string(),
            errno: None,
        }
    }

    fn netlink(what: impl Into<String>, e: rtnetlink::Error) -> Self {
        let errno = match &e {
            rtnetlink::Error::NetlinkError(m) => m.code.map(|c| -c.get()),
            _ => None,
        };
        let detail = match errno {
            Some(17) => "already exists (File exists)".to_string(),
            Some(1) => {
                "operation not permitted: topo needs CAP_NET_ADMIN (run as root)".to_string()
            }
            Some(19) => "no such device".to_string(),
            _ => e.to_string(),
        };
        KernelError {
            what: what.into(),
            detail,
            errno,
        }
    }
}

pub type Result<T> = std::result::Result<T, KernelError>;

/// An interface as the kernel reports it.
#[derive(Debug, Clone)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub kind: Option<String>,
    pub alias: Option<String>,
    pub mtu: u32,
    pub mac: Option<[u8; 6]>,
    pub master: Option<u32>,
    pub up: bool,
    /// Spanning tree state, for bridges.
    pub stp: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct Addr {
    pub index: u32,
    pub net: IpNet,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub to: IpNet,
    pub metric: u32,
    pub via: Option<IpAddr>,
    pub oif: Option<u32>,
    pub protocol: u8,
}

/// Everything topo reads from one namespace, in one pass.
#[derive(Debug, Clone, Default)]
pub struct Dump {
    pub links: Vec<Link>,
    pub addrs: Vec<Addr>,
    pub routes: Vec<Route>,
}

/// A netlink connection bound to one namespace.
#[derive(Clone)]
pub struct Conn {
    handle: Handle,
}

impl Conn {
    /// Opens a connection in the namespace `ns` (the current one when
    /// `None`). Must run inside the tokio runtime; never awaits while the
    /// thread is in the other namespace.
    pub fn open(ns: Option<BorrowedFd<'_>>) -> Result<Conn> {
        let open =
            || rtnetlink::new_connection().map_err(|e| KernelError::new("open netlink socket", e));
        let (conn, handle, _) = match ns {
            Some(fd) => {
                with_netns(fd, open).map_err(|e| KernelError::new("enter namespace", e))??
            }
            None => open()?,
        };
        tokio::spawn(conn);
        Ok(Conn { handle })
    }

    /// Links, addresses and routes (main table) of the namespace. One dump
    /// at a time: the kernel answers EBUSY to a second dump on one socket.
    pub async fn dump(&self) -> Result<Dump> {
        let fail = |e| KernelError::netlink("dump", e);
        let links = self
            .handle
            .link()
            .get()
            .execute()
            .try_collect::<Vec<_>>()
            .await
            .map_err(fail)?;
        let addrs = self
            .handle
            .address()
            .get()
            .execute()
            .try_collect::<Vec<_>>()
            .await
            .map_err(fail)?;
        let mut routes = Vec::new();
        for family in [
            RouteMessageBuilder::<std::net::Ipv4Addr>::new().build(),
            RouteMessageBuilder::<std::net::Ipv6Addr>::new().build(),
        ] {
            routes.extend(
                self.handle
                    .route()
                    .get(family)
                    .execute()
                    .try_collect::<Vec<_>>()
                    .await
                    .map_err(fail)?,
            );
        }
        Ok(Dump {
            links: links.iter().map(parse_link).collect(),
            addrs: addrs.iter().filter_map(parse_addr).collect(),
            routes: routes.iter().filter_map(parse_route).collect(),
        })
    }

    pub async fn dump_links(&self) -> Result<Vec<Link>> {
        let links = self
            .handle
            .link()
            .get()
            .execute()
            .try_collect::<Vec<_>>()
            .await;
        Ok(links
            .map_err(|e| KernelError::netlink("dump links", e))?
            .iter()
            .map(parse_link)
            .collect())
    }

    pub async fn link_by_name(&self, name: &str) -> Result<Option<Link>> {
        let mut s = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match s.try_next().await {
            Ok(m) => Ok(m.as_ref().map(parse_link)),
            Err(rtnetlink::Error::NetlinkError(m)) if m.code.map(|c| -c.get()) == Some(19) => {
                Ok(None)
            }
            Err(e) => Err(KernelError::netlink(format!("look up link {name}"), e)),
        }
    }

    /// Creates a bridge, down. Marking and IPv6 settings follow with
    /// `set_link`: the kernel refuses them in a create request.
    pub async fn create_bridge(&self, name: &str, stp: bool) -> Result<()> {
        let b = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Bridge)
            .name(name.to_string())
            .set_info_data(InfoData::Bridge(vec![InfoBridge::StpState(
                if stp { 1 } else { 0 }.into(),
            )]));
        self.add_link(b.build(), format!("create bridge {name}"))
            .await
    }

    /// Creates a veth pair, both ends down, with end `a` here and end `b`
    /// created directly inside the namespace `b_ns` (here when `None`).
    pub async fn create_veth(&self, a: &str, b: &str, b_ns: Option<BorrowedFd<'_>>) -> Result<()> {
        let mut peer = LinkMessageBuilder::<LinkUnspec>::new().name(b.to_string());
        if let Some(fd) = b_ns {
            peer = peer.setns_by_fd(fd.as_raw_fd());
        }
        let msg = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Veth)
            .name(a.to_string())
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build())));
        // The fd stays borrowed until the kernel has answered.
        self.add_link(msg.build(), format!("create veth {a} ↔ {b}"))
            .await
    }

    async fn add_link(&self, msg: LinkMessage, what: String) -> Result<()> {
        count_write();
        self.handle
            .link()
            .add(msg)
            .execute()
            .await
            .map_err(|e| KernelError::netlink(what, e))
    }

    /// Sets what differs: alias, up, mtu, mac, master (`Some(0)` detaches).
    pub async fn set_link(&self, index: u32, s: &LinkSettings<'_>, what: &str) -> Result<()> {
        let mut b = LinkUnspec::new_with_index(index);
        if let Some(mtu) = s.mtu {
            b = b.mtu(mtu);
        }
        if let Some(mac) = s.mac {
            b = b.address(mac.to_vec());
        }
        if let Some(alias) = s.alias {
            b = b.alias(alias.to_string());
        }
        if s.ipv6_off {
            b = without_ipv6(b);
        }
        match s.master {
            Some(0) => b = b.nocontroller(),
            Some(m) => b = b.controller(m),
            None => {}
        }
        match s.up {
            Some(true) => b = b.up(),
            Some(false) => b = b.down(),
            None => {}
        }
        count_write();
        self.handle
            .link()
            .set(b.build())
            .execute()
            .await
            .map_err(|e| KernelError::netlink(what.to_string(), e))
    }

    pub async fn set_bridge_stp(&self, index: u32, stp: bool, what: &str) -> Result<()> {
        let msg = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Bridge)
            .index(index)
            .set_info_data(InfoData::Bridge(vec![InfoBridge::StpState(
                if stp { 1 } else { 0 }.into(),
            )]))
            .build();
        count_write();
        self.handle
            .link()
            .set(msg)
            .execute()
            .await
            .map_err(|e| KernelError::netlink(what.to_string(), e))
    }

    pub async fn delete_link(&self, index: u32, what: &str) -> Result<()> {
        count_write();
        self.handle
            .link()
            .del(index)
            .execute()
            .await
            .map_err(|e| KernelError::netlink(what.to_string(), e))
    }

    pub async fn add_address(&self, index: u32, net: IpNet, what: &str) -> Result<()> {
        count_write();
        self.handle
            .address()
            .add(index, net.addr(), net.prefix_len())
            .execute()
            .await
            .map_err(|e| KernelError::netlink(what.to_string(), e))
    }

    pub async fn delete_address(&self, index: u32, net: IpNet, what: &str) -> Result<()> {
        let mut msg = AddressMessage::default();
        msg.header.family = family(net.addr());
        msg.header.prefix_len = net.prefix_len();
        msg.header.index = index;
        msg.attributes.push(AddressAttribute::Local(net.addr()));
        msg.attributes.push(AddressAttribute::Address(net.addr()));
        count_write();
        self.handle
            .address()
            .del(msg)
            .execute()
            .await
            .map_err(|e| KernelError::netlink(what.to_string(), e))
    }

    /// Adds (or with `replace`, overwrites) a main-table route marked as topo's.
    pub async fn put_route(&self, r: &RouteSpec, replace: bool, what: &str) -> Result<()> {
        let msg = route_message(r)?;
        count_write();
        let req = self.handle.route().add(msg);
        let req = if replace { req.replace() } else { req };
        req.execute()
            .await
            .map_err(|e| KernelError::netlink(what.to_string(), e))
    }

    pub async fn delete_route(&self, r: &RouteSpec, what: &str) -> Result<()> {
        let msg = route_message(r)?;
        count_write();
        self.handle
            .route()
            .del(msg)
            .execute()
            .await
            .map_err(|e| KernelError::netlink(what.to_string(), e))
    }
}

/// Attributes to change on a link; `None` leaves one as it is.
#[derive(Debug, Default, Clone)]
pub struct LinkSettings<'a> {
    pub alias: Option<&'a str>,
    pub up: Option<bool>,
    pub mtu: Option<u32>,
    pub mac: Option<[u8; 6]>,
    pub master: Option<u32>,
    /// Turn IPv6 address generation off (before the link first comes up).
    pub ipv6_off: bool,
}

/// A route as topo writes it.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub to: IpNet,
    pub metric: u32,
    pub via: Option<IpAddr>,
    pub oif: Option<u32>,
}

fn route_message(r: &RouteSpec) -> Result<RouteMessage> {
    let mut b = RouteMessageBuilder::<IpAddr>::new()
        .destination_prefix(r.to.addr(), r.to.prefix_len())
        .map_err(|e| KernelError::new(format!("route to {}", r.to), e))?
        .protocol(RouteProtocol::Other(RTPROT_TOPO))
        .priority(r.metric);
    if let Some(v) = r.via {
        b = b
            .gateway(v)
            .map_err(|e| KernelError::new(format!("route via {v}"), e))?;
    }
    if let Some(o) = r.oif {
        b = b.output_interface(o);
    }
    let mut msg = b.build();
    msg.header.kind = RouteType::Unicast;
    Ok(msg)
}

/// Without IPv6, the interface comes up with no link-local address, no DAD
/// and no multicast reports: most of the kernel's cost on big bridges.
fn without_ipv6(b: LinkMessageBuilder<LinkUnspec>) -> LinkMessageBuilder<LinkUnspec> {
    b.append_extra_attribute(LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(
        vec![AfSpecInet6::AddrGenMode(In6AddrGenMode::None)],
    )]))
}

fn family(a: IpAddr) -> AddressFamily {
    if a.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

fn parse_link(m: &LinkMessage) -> Link {
    let mut l = Link {
        index: m.header.index,
        name: String::new(),
        kind: None,
        alias: None,
        mtu: 0,
        mac: None,
        master: None,
        up: m.header.flags.contains(LinkFlags::Up),
        stp: None,
    };
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => l.name = n.clone(),
            LinkAttribute::IfAlias(s) => l.alias = Some(s.clone()),
            LinkAttribute::Mtu(v) => l.mtu = *v,
            LinkAttribute::Address(b) if b.len() == 6 => {
                l.mac = Some(b.as_slice().try_into().expect("6 bytes"))
            }
            LinkAttribute::Controller(c) => l.master = Some(*c),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    match i {
                        LinkInfo::Kind(k) => l.kind = Some(k.to_string()),
                        LinkInfo::Data(InfoData::Bridge(opts)) => {
                            l.stp = opts.iter().find_map(|o| match o {
                                InfoBridge::StpState(s) => Some(u32::from(*s) != 0),
                                _ => None,
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

fn parse_addr(m: &AddressMessage) -> Option<Addr> {
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's
    // on point-to-point links, and the only one for IPv6.
    let mut local = None;
    let mut address = None;
    for a in &m.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            _ => {}
        }
    }
    let ip = local.or(address)?;
    Some(Addr {
        index: m.header.index,
        net: IpNet::new(ip, m.header.prefix_len).ok()?,
    })
}

fn parse_route(m: &RouteMessage) -> Option<Route> {
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
