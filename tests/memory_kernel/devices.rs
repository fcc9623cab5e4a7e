//! Taps and VXLAN devices.

use super::*;
use topo::machine::{TapOptions, VxlanOptions};

fn vxlan(vni: u32, dev: Option<&str>) -> VxlanOptions {
    VxlanOptions {
        vni,
        local: Some("10.0.0.1".parse().unwrap()),
        port: 4789,
        dev: dev.map(Into::into),
        learning: false,
    }
}

#[test]
fn a_tap_has_no_carrier_and_changes_its_owner_in_place() {
    let mut m = MemoryKernel::new();
    let vif = host("vif1");
    let o = TapOptions {
        owner: Some(1000),
        ..Default::default()
    };
    block_on(async {
        m.create_tap(&vif, &o, &new("x")).await.unwrap();
        assert_eq!(errno(m.create_tap(&vif, &o, &new("x")).await), Some(17));
        m.set_link(&vif, &up()).await.unwrap();
        let t = m.link(&vif).await.unwrap().unwrap();
        assert_eq!(t.kind.as_deref(), Some("tun"));
        assert!(
            t.up && !t.running && !t.coming_up(),
            "no reader: not waited for"
        );
        let moved = TapOptions {
            owner: Some(1001),
            ..o
        };
        m.change_tap(&vif, &moved).await.unwrap();
        let t = m.link(&vif).await.unwrap().unwrap();
        assert_eq!(
            t.tun.map(|t| (t.owner, t.persist)),
            Some((Some(1001), true))
        );
    });
}

#[test]
fn a_vxlan_device_takes_its_underlays_mtu_and_goes_with_it() {
    let mut m = pair();
    let a = Ns::parse("a");
    let vx = node("a", "vx42");
    block_on(async {
        let s = LinkSettings {
            mtu: Some(9000),
            ..Default::default()
        };
        m.set_link(&node("a", "eth0"), &s).await.unwrap();
        m.create_vxlan(&vx, &vxlan(42, Some("eth0")), &new("x"))
            .await
            .unwrap();
        let again = m
            .create_vxlan(&node("a", "vx43"), &vxlan(42, None), &new("x"))
            .await;
        assert_eq!(errno(again), Some(17), "one VNI and port per namespace");
        let l = m.link(&vx).await.unwrap().unwrap();
        assert_eq!((l.mtu, l.vxlan.map(|v| v.dev)), (8950, Some(Some(2))));
        let dst = "10.0.0.2".parse().unwrap();
        m.add_fdb(&vx, dst).await.unwrap();
        assert_eq!(errno(m.add_fdb(&vx, dst).await), Some(17));
        let d = m
            .dump_many(vec![(a.clone(), Depth::Full)], "lab", vec![])
            .await
            .dumps;
        let fdb = &d[0].1.as_ref().unwrap().fdb;
        assert_eq!((fdb.len(), fdb[0].mac, fdb[0].dst), (1, [0; 6], Some(dst)));
        m.delete_fdb(&vx, dst).await.unwrap();
        assert!(m.delete_fdb(&vx, dst).await.unwrap_err().is_gone());
        let learning = VxlanOptions {
            learning: true,
            ..vxlan(42, Some("eth0"))
        };
        m.change_vxlan(&vx, &learning).await.unwrap();
        let vni = m.change_vxlan(&vx, &vxlan(43, Some("eth0"))).await;
        assert_eq!(errno(vni), Some(95), "a VNI does not change in place");
        m.delete_link(&node("a", "eth0")).await.unwrap();
        assert!(
            m.link(&vx).await.unwrap().is_none(),
            "gone with its underlay"
        );
    });
}
