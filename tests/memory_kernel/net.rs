//! Addresses and routes, and what goes along with them.

use super::*;

/// topo's routes in `ns`.
fn ours(m: &mut MemoryKernel, ns: &Ns) -> Vec<topo::machine::Route> {
    let d = block_on(m.dump_many(vec![(ns.clone(), Depth::Full)], "lab", vec![])).dumps;
    let d = d.into_iter().next().unwrap().1.unwrap();
    d.routes
        .into_iter()
        .filter(|r| r.protocol == RTPROT_TOPO)
        .collect()
}

#[test]
fn routes_go_with_their_device_and_ipv4_ones_with_its_last_ipv4_address() {
    let mut m = pair();
    let a = Ns::parse("a");
    let eth0 = node("a", "eth0");
    block_on(async {
        m.add_address(&eth0, net("10.0.0.2/24"), true)
            .await
            .unwrap();
        m.add_address(&eth0, net("fd00::2/64"), true).await.unwrap();
        m.put_route(&a, &route("0.0.0.0/0", Some("10.0.0.1"), None))
            .await
            .unwrap();
        m.put_route(&a, &route("::/0", Some("fd00::1"), None))
            .await
            .unwrap();
    });
    let routes = ours(&mut m, &a);
    assert_eq!(routes.len(), 2);
    assert_eq!(routes[1].metric, 1024, "an IPv6 metric 0 is stored as 1024");
    assert!(
        routes.iter().all(|r| r.oif == Some(2)),
        "the device the gateway is on"
    );
    block_on(m.delete_address(&eth0, net("10.0.0.2/24"))).unwrap();
    let left = ours(&mut m, &a);
    assert_eq!(
        left.len(),
        1,
        "the IPv4 route went with the last IPv4 address"
    );
    assert!(left[0].to.addr().is_ipv6());
    block_on(m.delete_link(&eth0)).unwrap();
    assert!(ours(&mut m, &a).is_empty(), "routes go with their device");
}

#[test]
fn a_gateway_must_be_reachable_and_a_device_up() {
    let mut m = pair();
    let a = Ns::parse("a");
    let eth0 = node("a", "eth0");
    block_on(async {
        let far = m
            .put_route(&a, &route("0.0.0.0/0", Some("10.0.0.1"), None))
            .await;
        assert_eq!(errno(far), Some(101));
        m.put_route(&a, &route("10.0.0.0/16", None, Some("eth0")))
            .await
            .unwrap();
        // A route onto the device makes its gateways reachable; put again
        // replaces it.
        m.put_route(&a, &route("0.0.0.0/0", Some("10.0.0.1"), None))
            .await
            .unwrap();
        m.put_route(&a, &route("0.0.0.0/0", Some("10.0.0.9"), None))
            .await
            .unwrap();
        let d = m
            .dump_many(vec![(a.clone(), Depth::Full)], "lab", vec![])
            .await
            .dumps
            .remove(0)
            .1
            .unwrap();
        let defaults: Vec<_> = d.routes.iter().filter(|r| r.to.prefix_len() == 0).collect();
        assert_eq!(defaults.len(), 1);
        assert_eq!(defaults[0].via, Some("10.0.0.9".parse().unwrap()));
        let down = LinkSettings {
            up: Some(false),
            ..Default::default()
        };
        m.set_link(&eth0, &down).await.unwrap();
        let d = m
            .dump_many(vec![(a.clone(), Depth::Full)], "lab", vec![])
            .await
            .dumps
            .remove(0)
            .1
            .unwrap();
        assert!(d.routes.is_empty(), "down flushes the routes through it");
        let r = m
            .put_route(&a, &route("10.1.0.0/16", None, Some("eth0")))
            .await;
        assert_eq!(errno(r), Some(100));
    });
}

#[test]
fn a_primary_takes_its_secondaries_unless_the_interface_promotes_them() {
    let mut m = MemoryKernel::new();
    let o = BridgeOptions {
        stp: false,
        forward_delay: None,
    };
    let br = host("br0");
    block_on(async {
        m.create_bridge(&br, &o, &new("x")).await.unwrap();
        for a in ["10.0.0.1/24", "10.0.0.2/24", "10.1.0.1/24"] {
            m.add_address(&br, net(a), true).await.unwrap();
        }
        let addrs = m.addresses(&Ns::Host).await.unwrap();
        let second = addrs.iter().find(|a| a.net == net("10.0.0.2/24")).unwrap();
        assert!(second.secondary);
        // Fresh interfaces promote: the secondary becomes the primary.
        m.delete_address(&br, net("10.0.0.1/24")).await.unwrap();
        let addrs = m.addresses(&Ns::Host).await.unwrap();
        let second = addrs.iter().find(|a| a.net == net("10.0.0.2/24")).unwrap();
        assert!(!second.secondary);
        m.write_sysctl(&Ns::Host, "net.ipv4.conf.br0.promote_secondaries", "0")
            .unwrap();
        m.add_address(&br, net("10.0.0.3/24"), true).await.unwrap();
        m.delete_address(&br, net("10.0.0.2/24")).await.unwrap();
        let addrs = m.addresses(&Ns::Host).await.unwrap();
        let on_br: Vec<_> = addrs
            .iter()
            .filter(|a| a.net.addr().is_ipv4() && a.index != 1)
            .collect();
        assert_eq!(
            on_br.len(),
            1,
            "without promotion the secondary went too: {on_br:?}"
        );
    });
}
