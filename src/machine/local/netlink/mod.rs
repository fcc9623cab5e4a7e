//! One rtnetlink connection per namespace, opened once: typed dumps and the
//! few write requests topo needs. Nothing else in topo speaks netlink.

mod addresses;
mod bulk;
mod devices;
mod netconf;
mod nftables;
mod parse;
mod raw;
mod read;

pub use bulk::{delete_links, delete_links_meanwhile, group_for};
pub use netconf::{forwarding, query_for as netconf_query};
pub use nftables::read_table;
pub use read::Reader;

use super::count_write;
use super::netns::with_netns;
use crate::machine::RTPROT_TOPO;
use crate::machine::{Addr, BridgeOptions, KernelError, Link, Result};
use futures::TryStreamExt;
use ipnet::IpNet;
use netlink_packet_core::{NLM_F_ACK, NLM_F_REQUEST};
use netlink_packet_route::link::{
    AfSpecInet, AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InetDevConf, InfoBridge, InfoData,
    InfoKind, InfoVeth, LinkAttribute, LinkExtentMask, LinkMessage,
};
use netlink_packet_route::route::{RouteMessage, RouteProtocol, RouteScope, RouteType};
use netlink_packet_route::AddressFamily;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr, TokioSocket};
use rtnetlink::{Handle, LinkMessageBuilder, LinkUnspec, RouteMessageBuilder};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd};

/// A route netlink socket in the calling thread's namespace, where it stays.
pub fn socket_here() -> std::io::Result<Socket> {
    socket_of(NETLINK_ROUTE)
}

/// A netlink socket of `protocol` in the calling thread's namespace.
fn socket_of(protocol: isize) -> std::io::Result<Socket> {
    let mut s = Socket::new(protocol)?;
    s.bind_auto()?;
    s.connect(&SocketAddr::new(0, 0))?;
    Ok(s)
}

fn nl_error(what: impl Into<String>, e: rtnetlink::Error) -> KernelError {
    match &e {
        rtnetlink::Error::NetlinkError(m) => match m.code {
            Some(c) => {
                let errno = -c.get();
                let message = std::io::Error::from_raw_os_error(errno).to_string();
                KernelError::netlink(what, errno, message)
            }
            None => KernelError::new(what, e),
        },
        _ => KernelError::new(what, e),
    }
}

/// A netlink connection bound to one namespace.
#[derive(Clone)]
pub struct Conn {
    handle: Handle,
}

impl Conn {
    /// Opens a connection in the namespace `ns` (the current one when
    /// `None`). Must run inside the tokio runtime.
    pub fn open(ns: Option<BorrowedFd<'_>>) -> Result<Conn> {
        let sock = match ns {
            Some(fd) => with_netns(fd, socket_here).and_then(|r| r),
            None => socket_here(),
        }
        .map_err(|e| KernelError::io("open netlink socket", e))?;
        Conn::from_socket(sock)
    }

    /// A connection over a socket opened in its namespace before. Must run
    /// inside the tokio runtime.
    pub fn from_socket(sock: Socket) -> Result<Conn> {
        sock.set_non_blocking(true)
            .map_err(|e| KernelError::io("open netlink socket", e))?;
        // SAFETY: the fd is a netlink socket this value owned; ownership
        // moves into the TokioSocket.
        let sock = unsafe { TokioSocket::from_raw_fd(sock.into_raw_fd()) };
        let (conn, handle, _) = rtnetlink::from_socket(sock);
        tokio::spawn(conn);
        Ok(Conn { handle })
    }

    /// Every link, each parsed as it arrives: a kernel link message is a
    /// few kilobytes (configuration of every address family), topo's view
    /// of it a few dozen bytes, and the host of a big lab has thousands.
    /// Statistics are not asked for.
    pub async fn dump_links(&self) -> Result<Vec<Link>> {
        let mut s = self
            .handle
            .link()
            .get()
            .set_filter_mask(AddressFamily::Unspec, vec![LinkExtentMask::SkipStats])
            .execute();
        let mut links = Vec::new();
        while let Some(m) = s.try_next().await.map_err(|e| nl_error("dump links", e))? {
            links.extend(parse::link_of(&m));
        }
        Ok(links)
    }

    pub async fn dump_addresses(&self) -> Result<Vec<Addr>> {
        let mut s = self.handle.address().get().execute();
        let mut addrs = Vec::new();
        while let Some(m) = s
            .try_next()
            .await
            .map_err(|e| nl_error("dump addresses", e))?
        {
            addrs.extend(parse::addr_of(&m));
        }
        Ok(addrs)
    }

    pub async fn link_by_name(&self, name: &str) -> Result<Option<Link>> {
        let mut s = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match s.try_next().await {
            Ok(m) => Ok(m.as_ref().and_then(parse::link_of)),
            Err(rtnetlink::Error::NetlinkError(m)) if m.code.map(|c| -c.get()) == Some(19) => {
                Ok(None)
            }
            Err(e) => Err(nl_error(format!("look up link {name}"), e)),
        }
    }

    /// Creates a bridge, down. Marking and IPv6 settings follow with
    /// `set_link`: the kernel refuses them in a create request.
    /// A fixed MAC keeps the bridge's address when its ports change.
    pub async fn create_bridge(
        &self,
        name: &str,
        opts: &BridgeOptions,
        mac: Option<[u8; 6]>,
    ) -> Result<()> {
        let mut b = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Bridge)
            .name(name.to_string())
            .set_info_data(bridge_data(opts));
        if let Some(m) = mac {
            b = b.address(m.to_vec());
        }
        self.add_link(b.build(), format!("create bridge {name}"))
            .await
    }

    /// Changes a bridge's own options. They live in the link info, which
    /// the kernel reads only from an RTM_NEWLINK without NLM_F_CREATE (a
    /// "changelink"); RTM_SETLINK ignores them.
    pub async fn change_bridge(&self, index: u32, opts: &BridgeOptions, what: &str) -> Result<()> {
        let msg = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Bridge)
            .index(index)
            .set_info_data(bridge_data(opts))
            .build();
        count_write();
        self.handle
            .link()
            .add(msg)
            .set_flags(NLM_F_REQUEST | NLM_F_ACK)
            .execute()
            .await
            .map_err(|e| nl_error(what.to_string(), e))
    }

    /// Creates a veth pair, both ends down, with end `a` here and end `b`
    /// created directly inside the namespace `b_ns` (here when `None`).
    /// Each end gets its MAC and the interface group `group` in the same
    /// request.
    pub async fn create_veth(
        &self,
        a: (&str, Option<[u8; 6]>),
        b: (&str, Option<[u8; 6]>),
        b_ns: Option<BorrowedFd<'_>>,
        group: u32,
    ) -> Result<()> {
        let ((a, a_mac), (b, b_mac)) = (a, b);
        let mut peer = LinkMessageBuilder::<LinkUnspec>::new()
            .name(b.to_string())
            .append_extra_attribute(LinkAttribute::Group(group));
        if let Some(fd) = b_ns {
            peer = peer.setns_by_fd(fd.as_raw_fd());
        }
        if let Some(m) = b_mac {
            peer = peer.address(m.to_vec());
        }
        let mut msg = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Veth)
            .name(a.to_string())
            .append_extra_attribute(LinkAttribute::Group(group))
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build())));
        if let Some(m) = a_mac {
            msg = msg.address(m.to_vec());
        }
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
            .map_err(|e| nl_error(what, e))
    }

    /// Sets what differs: alias, up, mtu, mac, master (`Some(0)` detaches).
    pub async fn set_link(&self, index: u32, s: &SetLink<'_>, what: &str) -> Result<()> {
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
        if s.fresh {
            b = b.append_extra_attribute(fresh_settings());
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
            .map_err(|e| nl_error(what.to_string(), e))
    }

    pub async fn delete_link(&self, index: u32, what: &str) -> Result<()> {
        count_write();
        self.handle
            .link()
            .del(index)
            .execute()
            .await
            .map_err(|e| nl_error(what.to_string(), e))
    }

    /// Adds, or overwrites, a main-table route marked as topo's. Overwriting
    /// is safe: observe refuses a plan where a route of someone else's has
    /// the key, and it makes re-adding a route the kernel may or may not
    /// have removed by itself idempotent.
    pub async fn put_route(&self, r: &NlRoute, what: &str) -> Result<()> {
        let msg = route_message(r)?;
        count_write();
        self.handle
            .route()
            .add(msg)
            .replace()
            .execute()
            .await
            .map_err(|e| nl_error(what.to_string(), e))
    }

    pub async fn delete_route(&self, r: &NlRoute, what: &str) -> Result<()> {
        let mut msg = route_message(r)?;
        // Match the route whatever its scope, as `ip route del` does.
        msg.header.scope = RouteScope::NoWhere;
        count_write();
        self.handle
            .route()
            .del(msg)
            .execute()
            .await
            .map_err(|e| nl_error(what.to_string(), e))
    }
}

fn route_message(r: &NlRoute) -> Result<RouteMessage> {
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
    // As `ip route add PREFIX dev X` does: a route without a gateway is on
    // the link, so gateways behind it are reachable. IPv6 has no scopes.
    if r.via.is_none() && r.to.addr().is_ipv4() {
        msg.header.scope = RouteScope::Link;
    }
    Ok(msg)
}

/// A bridge's own options; a forward delay is in clock ticks (USER_HZ).
fn bridge_data(b: &BridgeOptions) -> InfoData {
    let mut opts = vec![InfoBridge::StpState(if b.stp { 1 } else { 0 }.into())];
    if let Some(d) = b.forward_delay {
        // Before spanning tree starts: it takes the delay as it starts.
        opts.insert(0, InfoBridge::ForwardDelay(d * 100));
    }
    InfoData::Bridge(opts)
}

/// The per-interface settings of a new interface, in one attribute, set
/// before it first comes up. IPv6 address generation is off: topo adds the
/// link-local address itself when the lab has IPv6, without DAD, so it is
/// usable at once (and a big bridge is spared the kernel's DAD flood).
fn fresh_settings() -> LinkAttribute {
    let mut conf = InetDevConf::default();
    conf.promote_secondaries = 1;
    conf.arp_notify = 1;
    LinkAttribute::AfSpecUnspec(vec![
        AfSpecUnspec::Inet(vec![AfSpecInet::DevConfRequest(conf)]),
        AfSpecUnspec::Inet6(vec![AfSpecInet6::AddrGenMode(In6AddrGenMode::None)]),
    ])
}

fn family(a: IpAddr) -> AddressFamily {
    if a.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

/// Attributes to change on a link by index; `None` leaves one as it is.
#[derive(Debug, Default, Clone)]
pub struct SetLink<'a> {
    pub alias: Option<&'a str>,
    pub up: Option<bool>,
    pub mtu: Option<u32>,
    pub mac: Option<[u8; 6]>,
    /// `Some(0)` detaches from the bridge.
    pub master: Option<u32>,
    /// For an interface topo just made: keep IPv4 secondaries when their
    /// primary goes, announce address changes by gratuitous ARP, and leave
    /// IPv6 addresses to topo (no kernel-made link-local, no DAD on it).
    pub fresh: bool,
}

/// A route as netlink takes it: the output interface by index.
#[derive(Debug, Clone)]
pub struct NlRoute {
    pub to: IpNet,
    pub metric: u32,
    pub via: Option<IpAddr>,
    pub oif: Option<u32>,
}
