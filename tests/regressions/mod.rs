//! Regression tests, without a kernel, for what the in-memory kernel's
//! property tests (tests/properties) found: what the kernel removes by
//! itself along with what a plan deletes or makes anew, foreseen by the
//! plan (the observed state is what the first file made; the plan is the
//! one for the second file), and the stability of allocated addresses.

use topo::kinds::Id;
use topo::model::{IfRef, Model, Ns, Prior};
use topo::observe::Observed;
use topo::plan::{diff, Op, Plan};

mod services;

fn model_of(text: &str) -> Model {
    let spec = match topo::spec::load_str("lab.yaml", text) {
        Ok(s) => s,
        Err(e) => panic!("{}", e.report.render(false)),
    };
    match topo::model::build(&spec, &Prior::new()) {
        Ok(v) => v.model,
        Err(d) => panic!("invalid lab: {d:?}"),
    }
}

/// The plan from what `before` made to what `after` wants.
fn plan(before: &str, after: &str) -> Plan {
    let observed = Observed {
        state: model_of(before).state,
        ..Observed::default()
    };
    let m = model_of(after);
    diff(&m.lab, &m.state, &observed).expect("a plan")
}

fn action<'a>(p: &'a Plan, label: &str) -> Option<&'a topo::plan::Action> {
    p.actions.iter().find(|a| a.id().to_string() == label)
}

#[test]
fn a_per_interface_sysctl_is_set_again_on_its_remade_interface() {
    // b:eth0's veth moves from a to c: b:eth0 is made anew, and a new
    // interface has the kernel's proxy_arp, not the one the lab set.
    let before = r#"
name: v
nodes:
  b:
    interfaces: { eth0: { addresses: [172.16.2.1/24] } }
    sysctls: { net.ipv4.conf.eth0.proxy_arp: 1 }
  a:
    interfaces: { eth0: { addresses: [172.16.2.2/24] } }
links:
  - endpoints: [b:eth0, a:eth0]
"#;
    let after = before
        .replace("[b:eth0, a:eth0]", "[b:eth0, c:eth0]")
        .replace("  a:\n", "  c:\n");
    let p = plan(before, &after);
    let s =
        action(&p, "sysctl net.ipv4.conf.eth0.proxy_arp in b").expect("the sysctl is set again");
    assert_eq!(s.op, Op::Create, "{p:#?}");
    assert_eq!(s.reason.as_deref(), Some("b:eth0 is made anew"));
    // And after the veth that makes the interface.
    let pos = |id: &str| p.actions.iter().position(|a| a.id().to_string() == id);
    assert!(pos("veth b:eth0") < pos("sysctl net.ipv4.conf.eth0.proxy_arp in b"));
    assert!(p
        .actions
        .iter()
        .all(|a| !matches!(a.id(), Id::Sysctl(_)) || a.op == Op::Create));
}

#[test]
fn a_per_interface_sysctl_the_file_drops_is_restored_before_its_interface_goes() {
    // The lab recorded proxy_arp's value from before; only its own delete
    // forgets that record, so it is not left to claim the interface's
    // successor. The other node's name sorts before b and after it: the
    // order must not follow from names.
    for other in ["a", "d"] {
        let before = r#"
name: v
nodes:
  b:
    interfaces: { eth0: { addresses: [172.16.2.1/24] } }
    sysctls: { net.ipv4.conf.eth0.proxy_arp: 1 }
  a:
    interfaces: { eth0: { addresses: [172.16.2.2/24] } }
links:
  - endpoints: [b:eth0, a:eth0]
"#
        .replace("  a:\n", &format!("  {other}:\n"))
        .replace("a:eth0]", &format!("{other}:eth0]"));
        let gone =
            format!("  {other}:\n    interfaces: {{ eth0: {{ addresses: [172.16.2.2/24] }} }}\n");
        let without_sysctl = before
            .replace("    sysctls: { net.ipv4.conf.eth0.proxy_arp: 1 }\n", "")
            .replace(&gone, "");
        // b:eth0 made again on another veth, or not at all.
        let afters = [
            without_sysctl.replace(&format!("[b:eth0, {other}:eth0]"), "[b:eth0, host:h2]"),
            without_sysctl
                .replace(&format!("  - endpoints: [b:eth0, {other}:eth0]\n"), "")
                .replace("links:\n", "")
                .replace(
                    "  b:\n    interfaces: { eth0: { addresses: [172.16.2.1/24] } }\n",
                    "  b: {}\n",
                ),
        ];
        for after in &afters {
            let p = plan(&before, after);
            let pos = |id: &str| p.actions.iter().position(|a| a.id().to_string() == id);
            let s =
                pos("sysctl net.ipv4.conf.eth0.proxy_arp in b").expect("deleted by its own action");
            assert_eq!(p.actions[s].op, Op::Delete, "{p:#?}");
            // Before the other namespace goes, which takes b:eth0 along.
            assert!(
                Some(s) < pos(&format!("netns {other}")),
                "{after}\n{:#?}",
                p.actions
                    .iter()
                    .map(|a| a.id().to_string())
                    .collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn a_member_keeps_its_allocated_address_when_it_has_a_link_local_one() {
    // b got .3 while another member had .2; that member is gone. Its
    // link-local address (topo adds one from the MAC when the lab has
    // IPv6) is no reason to renumber it to .2.
    let m = model_of(
        r#"
name: v
ipv6: true
networks:
  net0: { subnet: 10.100.0.0/24, nodes: [{ node: b, interface: n0 }] }
"#,
    );
    let n0 = IfRef::new(Ns::parse("b"), "n0");
    let link_local = m
        .state
        .address
        .keys()
        .find(|id| id.link == n0 && id.address.addr().is_ipv6())
        .expect("a link-local address")
        .address
        .addr();
    let live = Prior::from([(n0, vec!["10.100.0.3".parse().unwrap(), link_local])]);
    assert!(!topo::model::ipam::allocation_holds(&m, &live));
}

#[test]
fn a_bridge_mtu_had_only_by_following_its_ports_is_written_when_they_change() {
    // br0 had 1400 from its only port, as the kernel does for a bridge
    // whose MTU nobody set; the file now sets 1400 and drops the port.
    // Without the port the kernel would put br0 back at 1500.
    let before = r#"
name: v
nodes:
  a: { interfaces: { eth0: { addresses: [10.1.0.2/24] } } }
bridges:
  br0: { addresses: [10.1.0.1/24] }
links:
  - { endpoints: [a:eth0, br0], mtu: 1400 }
"#;
    let after = r#"
name: v
bridges:
  br0: { addresses: [10.1.0.1/24], mtu: 1400 }
"#;
    let mut observed = Observed {
        state: model_of(before).state,
        ..Observed::default()
    };
    let br0 = topo::kinds::LinkId {
        link: IfRef::new(Ns::Host, "br0"),
    };
    observed.state.link.get_mut(&br0).expect("br0").mtu = Some(1400);
    let m = model_of(after);
    let p = diff(&m.lab, &m.state, &observed).expect("a plan");
    let a = action(&p, "link host:br0").expect("br0's MTU is written");
    assert_eq!(a.op, Op::Update, "{p:#?}");
    assert_eq!(
        a.after().map(|r| r.describe()),
        Some(a.before().unwrap().describe())
    );
    // After the port has gone.
    assert_eq!(p.actions.last().map(|a| a.id()), Some(a.id()));
    // A bridge the file gives no MTU has what a new one would: without
    // ports, 1500.
    let p = diff(
        &m.lab,
        &model_of(&after.replace(", mtu: 1400", "")).state,
        &observed,
    )
    .expect("a plan");
    let a = action(&p, "link host:br0").expect("br0 goes back to 1500");
    assert!(a.after().unwrap().describe().contains("mtu 1500"), "{p:#?}");
}

#[test]
fn a_node_made_while_the_host_forwards_does_not_forward() {
    use topo::machine::memory::MemoryKernel;
    use topo::machine::Machine;
    let mut m = MemoryKernel::new();
    m.write_sysctl(&Ns::Host, "net.ipv4.ip_forward", "1")
        .unwrap();
    let l = topo::load_text("lab.yaml".into(), "name: v\nnodes: { a: {} }\n".into()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = topo::prepare_on(m.clone(), &l, &|_| {}).await.unwrap();
        topo::apply(s, Default::default()).await.unwrap();
    });
    let a = Ns::parse("a");
    assert_eq!(
        m.read_sysctl(&a, "net.ipv4.ip_forward").unwrap().as_deref(),
        Some("0")
    );
    assert_eq!(
        m.read_sysctl(&a, "net.ipv4.conf.lo.forwarding")
            .unwrap()
            .as_deref(),
        Some("0")
    );
}

#[test]
fn rollback_puts_back_the_nft_table_of_a_namespace_the_run_deleted() {
    use topo::machine::memory::MemoryKernel;
    use topo::machine::{Machine, Table};
    let lab = |node: &str| {
        let text = format!(
            "name: v\nnodes:\n  {node}:\n    firewall: {{ input: drop, rules: [ {{ chain: input, proto: tcp, port: 22, action: accept }} ] }}\n"
        );
        topo::load_text("lab.yaml".into(), text).unwrap()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let apply = |m: &MemoryKernel, l: &topo::Loaded| {
        rt.block_on(async {
            let s = topo::prepare_on(m.clone(), l, &|_| {}).await?;
            let opts = topo::apply::Options {
                rollback: true,
                verify: true,
                stop_after: None,
                ..Default::default()
            };
            topo::apply(s, opts).await
        })
    };
    let m = MemoryKernel::new();
    apply(&m, &lab("b")).unwrap();
    let before = m.canon();
    // Renaming b deletes its namespace, table and all; the last write of
    // the run (c's table) fails.
    let trial = m.fork();
    let w = trial.writes();
    apply(&trial, &lab("c")).unwrap();
    m.fail_write(trial.writes() - w, 12);
    assert!(apply(&m, &lab("c")).is_err());
    let mut m2 = m.clone();
    let table = m2.nft_read(&Ns::parse("b"), "v").unwrap();
    assert!(matches!(table, Table::Owned(c) if c.len() == 1));
    assert_eq!(before, m.canon());
}

#[test]
fn a_failed_namespace_delete_leaves_its_veths_alone() {
    // Deleting a's namespace fails: its veth to the host is still a live
    // pair, not an end left behind to delete after a grace period.
    use topo::machine::memory::MemoryKernel;
    use topo::machine::Machine;
    let with_a = "name: v\nnodes: { a: { interfaces: { eth0: { addresses: [10.9.0.2/24] } } } }\nlinks: [ { endpoints: [a:eth0, host:a0] } ]\n";
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let apply = |m: &MemoryKernel, text: &str, rollback: bool| {
        let l = topo::load_text("lab.yaml".into(), text.into()).unwrap();
        rt.block_on(async {
            let s = topo::prepare_on(m.clone(), &l, &|_| {}).await?;
            let opts = topo::apply::Options {
                rollback,
                verify: true,
                stop_after: None,
                ..Default::default()
            };
            topo::apply(s, opts).await
        })
    };
    let mut m = MemoryKernel::new();
    apply(&m, with_a, true).unwrap();
    m.fail_write(1, 16);
    let t = std::time::Instant::now();
    assert!(apply(&m, "name: v\n", false).is_err());
    assert!(
        t.elapsed() < std::time::Duration::from_secs(1),
        "{:?}",
        t.elapsed()
    );
    let host_end = IfRef::new(Ns::Host, "a0");
    assert!(rt.block_on(m.link(&host_end)).unwrap().is_some());
}

#[test]
fn a_vxlan_device_is_made_again_when_its_underlay_is() {
    // h1:eth0's veth now leads to h3: eth0 is made anew, and the kernel
    // deletes vx42 with it, its underlay.
    let before = r#"
name: v
nodes:
  h1:
    interfaces: { eth0: { addresses: [10.1.0.1/24] } }
    vxlans: { vx42: { vni: 42, local: 10.1.0.1, remotes: [10.1.0.2], dev: eth0 } }
  h2: { interfaces: { eth0: { addresses: [10.1.0.2/24] } } }
links:
  - endpoints: [h1:eth0, h2:eth0]
"#;
    let after = before
        .replace("[h1:eth0, h2:eth0]", "[h1:eth0, h3:eth0]")
        .replace("  h2:", "  h3:");
    let p = plan(before, &after);
    let v = action(&p, "vxlan h1:vx42").expect("made again");
    assert_eq!(v.op, Op::Create, "{p:#?}");
    assert_eq!(
        v.reason.as_deref(),
        Some("the kernel removes it with its underlay h1:eth0")
    );
    for id in ["link h1:vx42", "fdb h1:vx42 dst 10.1.0.2"] {
        assert_eq!(action(&p, id).map(|a| a.op), Some(Op::Create), "{id}");
    }
}

#[test]
fn a_failed_restore_of_a_host_sysctl_keeps_the_value_from_before() {
    // The write that puts ip_forward back fails: the lab still holds it,
    // and the value from before the lab (0) is still known, so destroy
    // restores it later (it came back as 1, the lab's own value).
    use topo::machine::memory::MemoryKernel;
    use topo::machine::Machine;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let apply = |m: &MemoryKernel, text: &str| {
        let l = topo::load_text("lab.yaml".into(), text.into()).unwrap();
        rt.block_on(async {
            let s = topo::prepare_on(m.clone(), &l, &|_| {}).await?;
            let opts = topo::apply::Options {
                rollback: true,
                verify: true,
                stop_after: None,
                ..Default::default()
            };
            topo::apply(s, opts).await
        })
    };
    let mut m = MemoryKernel::new();
    apply(
        &m,
        "name: v\nhost: { sysctls: { net.ipv4.ip_forward: 1 } }\n",
    )
    .unwrap();
    m.fail_write(1, 1);
    assert!(apply(&m, "name: v\nnodes: { a: {} }\n").is_err());
    let shared = m.load_host_sysctls().unwrap();
    assert_eq!(shared["net.ipv4.ip_forward"].original, "0");
    rt.block_on(async {
        let s = topo::prepare_destroy_on(m.clone(), "v", &|_| {})
            .await
            .unwrap();
        let opts = topo::apply::Options {
            rollback: false,
            verify: true,
            stop_after: None,
            ..Default::default()
        };
        topo::apply(s, opts).await.unwrap();
    });
    let now = m.read_sysctl(&Ns::Host, "net.ipv4.ip_forward").unwrap();
    assert_eq!(now.as_deref(), Some("0"));
    assert!(m.load_host_sysctls().unwrap().is_empty());
}
