use super::*;
use crate::kinds::{
    Address, AddressId, Bridge, BridgeId, Link, LinkId, Netns, NetnsId, Route, Veth,
};
use crate::model::{Name, RouteKey, Scope};

fn link(ns: &str, name: &str) -> IfRef {
    IfRef::new(Ns::parse(ns), name)
}

fn up(master: Option<&str>) -> Link {
    Link {
        up: true,
        mtu: None,
        mac: None,
        master: master.map(Name::from),
    }
}

#[test]
fn namespaces_before_links_before_addresses_before_routes() {
    let mut st = State::new();
    let eth0 = link("red", "eth0");
    let port = link("host", "red-eth0");
    let route = RouteId {
        ns: Ns::parse("red"),
        key: RouteKey::new("0.0.0.0/0".parse().unwrap(), 0),
    };
    st.insert::<Route>(
        route.clone(),
        Route {
            via: Some("10.0.0.1".parse().unwrap()),
            dev: None,
            scope: Scope::Global,
            derived: false,
        },
    );
    let addr = AddressId {
        link: eth0.clone(),
        address: "10.0.0.2/24".parse().unwrap(),
    };
    st.insert::<Address>(addr.clone(), Address {});
    st.insert::<Link>(LinkId { link: eth0.clone() }, up(None));
    st.insert::<Link>(LinkId { link: port.clone() }, up(Some("br0")));
    st.insert::<Link>(
        LinkId {
            link: link("host", "br0"),
        },
        up(None),
    );
    let br = BridgeId {
        link: link("host", "br0"),
    };
    st.insert::<Bridge>(
        br,
        Bridge {
            stp: false,
            forward_delay: None,
        },
    );
    st.insert::<Veth>(VethId { link: port.clone() }, Veth { peer: eth0.clone() });
    st.insert::<Netns>(NetnsId { name: "red".into() }, Netns::default());
    let order = creation_order(&st).unwrap();
    let pos = |id: &Id| order.iter().position(|x| x == id).unwrap();
    let netns = Id::Netns(NetnsId { name: "red".into() });
    let veth = Id::Veth(VethId { link: port.clone() });
    assert!(pos(&netns) < pos(&veth));
    assert!(pos(&veth) < pos(&Id::Link(LinkId { link: eth0.clone() })));
    assert!(
        pos(&Id::Link(LinkId {
            link: link("host", "br0")
        })) < pos(&Id::Link(LinkId { link: port.clone() }))
    );
    assert!(pos(&Id::Link(LinkId { link: eth0.clone() })) < pos(&Id::Address(addr)));
    assert_eq!(order.last().unwrap().kind(), "route");
    assert_eq!(
        order,
        creation_order(&st).unwrap(),
        "order is deterministic"
    );
}

#[test]
fn a_bridge_enslaved_to_itself_is_a_named_cycle() {
    let mut st = State::new();
    let a = link("host", "a");
    let b = link("host", "b");
    st.insert::<Link>(LinkId { link: a.clone() }, up(Some("b")));
    st.insert::<Link>(LinkId { link: b.clone() }, up(Some("a")));
    let err = creation_order(&st).unwrap_err();
    assert_eq!(
        err.0,
        vec![Id::Link(LinkId { link: a }), Id::Link(LinkId { link: b })]
    );
    assert!(err
        .to_string()
        .starts_with("dependency cycle through link host:a → link host:b"));
}
