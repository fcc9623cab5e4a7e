//! Every field topo reads, from a live dump of a private namespace that
//! holds one of each thing it parses: read from the bytes, it must equal
//! what netlink-packet-route's types give (`oracle`), message by message.

use super::{oracle, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWROUTE};
use crate::machine::local::netlink::read::{no_stats, Reader};
use crate::machine::local::netlink::{Conn, NlRoute, SetLink};
use crate::machine::local::tap::Mode;
use crate::machine::{Addr, FdbEntry, Link, Route};
use crate::machine::{BridgeOptions, KernelError, TapOptions, VxlanOptions};
use netlink_packet_core::ParseableParametrized;
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::LinkMessage;
use netlink_packet_route::neighbour::NeighbourMessage;
use netlink_packet_route::route::{RouteHeader, RouteMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

/// Each answer of one dump: its message type and body.
type Answers = Vec<(u16, Vec<u8>)>;

fn dump(r: &mut Reader, req: RouteNetlinkMessage) -> Answers {
    let mut out = Vec::new();
    r.each(req, true, "dump", |kind, b| out.push((kind, b.to_vec())))
        .unwrap();
    out
}

fn crate_decoded(kind: u16, b: &[u8]) -> RouteNetlinkMessage {
    RouteNetlinkMessage::parse_with_param(b, kind).unwrap()
}

/// Runs on a thread in an anonymous network namespace (gone with it),
/// which topo's own requests fill with one of each case.
fn live_answers() -> Option<[Answers; 4]> {
    if !nix::unistd::geteuid().is_root() {
        assert!(std::env::var_os("CI").is_none(), "needs root in CI");
        return None;
    }
    let t = std::thread::spawn(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(make()).unwrap();
        let here = std::fs::File::open("/proc/thread-self/ns/net").unwrap();
        let tap = TapOptions {
            owner: Some(1000),
            group: Some(100),
            multi_queue: true,
        };
        crate::machine::local::tap::tap(Some(here), "tp0", tap, Mode::Create).unwrap();
        let mut r = Reader::open(None).unwrap();
        let links = dump(
            &mut r,
            RouteNetlinkMessage::GetLink(no_stats(LinkMessage::default())),
        );
        let addrs = dump(
            &mut r,
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        );
        let mut routes = Vec::new();
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut m = RouteMessage::default();
            m.header = RouteHeader {
                address_family: family,
                ..RouteHeader::default()
            };
            routes.extend(dump(&mut r, RouteNetlinkMessage::GetRoute(m)));
        }
        let mut n = NeighbourMessage::default();
        n.header.family = AddressFamily::Bridge;
        let fdb = dump(&mut r, RouteNetlinkMessage::GetNeighbour(n));
        [links, addrs, routes, fdb]
    });
    Some(t.join().unwrap())
}

/// Bridges with and without spanning tree, a veth on each (one end
/// marked, with a smaller MTU and topo's fresh settings), VXLAN devices
/// over IPv4 and IPv6 with a remote, addresses (a secondary, a tentative
/// one), routes through gateways.
async fn make() -> crate::machine::Result<()> {
    let c = Conn::open(None)?;
    let stp = BridgeOptions {
        stp: true,
        forward_delay: Some(4),
    };
    c.create_bridge("br0", &stp, None).await?;
    let plain = BridgeOptions {
        stp: false,
        forward_delay: None,
    };
    c.create_bridge("br1", &plain, None).await?;
    c.create_veth(("v0", None), ("v1", None), None, 0).await?;
    c.create_veth(("v2", None), ("v3", None), None, 0).await?;
    let index = |n: &'static str| {
        let c = c.clone();
        async move { Ok::<u32, KernelError>(c.link_by_name(n).await?.unwrap().index) }
    };
    let (br0, br1, v0, v1) = (
        index("br0").await?,
        index("br1").await?,
        index("v0").await?,
        index("v1").await?,
    );
    let set = |master, alias, mtu, fresh| SetLink {
        alias,
        up: Some(true),
        mtu,
        mac: None,
        master,
        fresh,
    };
    c.set_link(
        v0,
        &set(Some(br0), Some("topo:t:n1/eth0"), Some(1400), false),
        "v0",
    )
    .await?;
    c.set_link(v1, &set(None, None, None, true), "v1").await?;
    c.set_link(index("v2").await?, &set(Some(br1), None, None, false), "v2")
        .await?;
    for n in ["br0", "br1", "v3"] {
        c.set_link(index(n).await?, &set(None, None, None, false), n)
            .await?;
    }
    let vx = |vni, local: &str, port, dev: Option<&str>, learning| VxlanOptions {
        vni,
        local: Some(local.parse().unwrap()),
        port,
        dev: dev.map(str::to_string),
        learning,
    };
    c.create_vxlan(
        "vx0",
        &vx(42, "10.9.0.1", 4789, Some("v1"), true),
        Some(v1),
        None,
    )
    .await?;
    c.create_vxlan("vx6", &vx(43, "fd00::1", 8472, None, false), None, None)
        .await?;
    let vx0 = index("vx0").await?;
    c.add_fdb(vx0, "10.9.0.9".parse().unwrap(), "fdb").await?;
    for (net, nodad) in [
        ("10.9.0.1/24", false),
        ("10.9.0.2/24", false),
        ("fd00::1/64", false),
        ("fd00::2/64", true),
    ] {
        c.add_address(v1, net.parse().unwrap(), nodad, net).await?;
    }
    for (to, via, metric) in [
        ("10.10.0.0/16", "10.9.0.254", 50),
        ("fd01::/64", "fd00::fe", 7),
    ] {
        let r = NlRoute {
            to: to.parse().unwrap(),
            metric,
            via: Some(via.parse().unwrap()),
            oif: Some(v1),
        };
        c.put_route(&r, to).await?;
    }
    Ok(())
}

#[test]
fn every_field_reads_from_the_bytes_as_the_crate_decodes_it() {
    let Some([links, addrs, routes, fdb]) = live_answers() else {
        return;
    };
    let mut got_links: Vec<Link> = Vec::new();
    for (kind, b) in &links {
        assert_eq!(*kind, RTM_NEWLINK);
        let RouteNetlinkMessage::NewLink(m) = crate_decoded(*kind, b) else {
            panic!("not a link")
        };
        let l = super::link(b).unwrap();
        assert_eq!(l, oracle::parse_link(&m));
        // The async connection's messages, written out again, read the same.
        assert_eq!(super::link_of(&m).as_ref(), Some(&l));
        got_links.push(l);
    }
    let mut got_addrs: Vec<Addr> = Vec::new();
    for (kind, b) in &addrs {
        assert_eq!(*kind, RTM_NEWADDR);
        let RouteNetlinkMessage::NewAddress(m) = crate_decoded(*kind, b) else {
            panic!("not an address")
        };
        let a = super::addr(b);
        assert_eq!(a, oracle::parse_addr(&m));
        assert_eq!(super::addr_of(&m), a);
        got_addrs.extend(a);
    }
    let mut got_routes: Vec<Route> = Vec::new();
    for (kind, b) in &routes {
        assert_eq!(*kind, RTM_NEWROUTE);
        let RouteNetlinkMessage::NewRoute(m) = crate_decoded(*kind, b) else {
            panic!("not a route")
        };
        let r = super::route(b);
        assert_eq!(r, oracle::parse_route(&m));
        got_routes.extend(r);
    }
    let mut got_fdb: Vec<FdbEntry> = Vec::new();
    for (kind, b) in &fdb {
        assert_eq!(*kind, RTM_NEWNEIGH);
        let RouteNetlinkMessage::NewNeighbour(m) = crate_decoded(*kind, b) else {
            panic!("not a neighbour")
        };
        let e = super::fdb(b);
        assert_eq!(e, oracle::parse_fdb(&m));
        got_fdb.extend(e);
    }
    covers_every_field(&got_links, &got_addrs, &got_routes, &got_fdb, routes.len());
}

/// The namespace really held each case: a field the kernel stopped
/// reporting, or a command that made something else, fails here.
fn covers_every_field(
    links: &[Link],
    addrs: &[Addr],
    routes: &[Route],
    fdb: &[FdbEntry],
    answers: usize,
) {
    let by = |n: &str| links.iter().find(|l| l.name == n).unwrap();
    let (br0, br1, v0, v1) = (by("br0"), by("br1"), by("v0"), by("v1"));
    assert_eq!(
        (br0.kind.as_deref(), br0.stp, br0.forward_delay),
        (Some("bridge"), Some(true), Some(4))
    );
    assert_eq!((br1.stp, br1.forward_delay), (Some(false), Some(15)));
    assert_eq!(
        (v0.mtu, v0.master, v0.alias.as_deref()),
        (1400, Some(br0.index), Some("topo:t:n1/eth0"))
    );
    assert!(v0.up && v0.running && v0.port_settling && v0.mac.is_some());
    assert!(v1.promote && !v0.promote && !by("v2").port_settling);
    assert!(!by("vx6").up && !by("vx6").running);
    let tp0 = by("tp0").tun.unwrap();
    assert!(tp0.tap && tp0.multi_queue && tp0.persist);
    assert_eq!((tp0.owner, tp0.group), (Some(1000), Some(100)));
    let (vx0, vx6) = (by("vx0").vxlan.unwrap(), by("vx6").vxlan.unwrap());
    assert_eq!(
        (vx0.vni, vx0.port, vx0.dev, vx0.learning),
        (42, 4789, Some(v1.index), true)
    );
    assert_eq!(vx0.local, Some("10.9.0.1".parse().unwrap()));
    assert_eq!(
        (vx6.vni, vx6.port, vx6.dev, vx6.learning),
        (43, 8472, None, false)
    );
    assert_eq!(vx6.local, Some("fd00::1".parse().unwrap()));
    let addr = |a: &str| addrs.iter().find(|x| x.net.to_string() == a).unwrap();
    assert!(!addr("10.9.0.1/24").secondary && addr("10.9.0.2/24").secondary);
    assert_eq!(addr("10.9.0.1/24").index, v1.index);
    assert!(addr("fd00::1/64").tentative && !addr("fd00::2/64").tentative);
    let route = |to: &str| routes.iter().find(|r| r.to.to_string() == to);
    let r4 = route("10.10.0.0/16").unwrap();
    assert_eq!(
        (r4.via, r4.metric, r4.oif),
        (Some("10.9.0.254".parse().unwrap()), 50, Some(v1.index))
    );
    let r6 = route("fd01::/64").unwrap();
    assert_eq!((r6.via, r6.metric), (Some("fd00::fe".parse().unwrap()), 7));
    // The local table's routes (each address's own, broadcasts) are not
    // topo's to read: the dump has them, the view leaves them out.
    assert!(route("10.9.0.1/32").is_none() && answers > routes.len());
    assert!(fdb
        .iter()
        .any(|e| e.index == by("vx0").index && e.dst == Some("10.9.0.9".parse().unwrap())));
    assert!(fdb
        .iter()
        .any(|e| e.index == v0.index && e.mac == v0.mac.unwrap()));
}
