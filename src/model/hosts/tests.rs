use super::*;
use crate::model::{build, Prior};
use crate::spec::load_str;

fn spec(text: &str) -> LabSpec {
    load_str("lab.yaml", text).expect("parses")
}

/// The messages of `place`, with the line each points at.
fn errors(text: &str) -> Vec<(u32, String)> {
    match place(&spec(text)) {
        Ok(_) => vec![],
        Err(d) => d.into_iter().map(|d| (d.pos.line, d.message)).collect(),
    }
}

const TWO: &str = "name: mega
hosts:
  h1: { address: 192.168.0.1 }
  h2: { address: 192.168.0.2, ssh: lab@h2.example, topo: /usr/local/bin/topo }
networks:
  net1: { host: h1, subnet: 12.0.1.0/24, gateway: 12.0.1.200, nodes: [a1, a2] }
  net6: { host: h2, subnet: 12.0.6.0/24, gateway: 12.0.6.200, nodes: [b1], masquerade: true }
nodes:
  c1: { host: h2 }
links:
  - endpoints: [b1:eth9, c1:eth9]
";

#[test]
fn every_object_is_on_its_host() {
    let p = place(&spec(TWO)).unwrap();
    let on = |n: &str| p.nodes[n].as_str();
    assert_eq!(
        (on("a1"), on("a2"), on("b1"), on("c1")),
        ("h1", "h1", "h2", "h2")
    );
    assert_eq!(p.bridges["net1"], "h1");
    assert_eq!(p.networks["net6"], "h2");
    assert_eq!(p.hosts["h1"].ssh, "root@192.168.0.1");
    assert_eq!(p.hosts["h2"].ssh, "lab@h2.example");
    assert_eq!(p.hosts["h2"].topo, "/usr/local/bin/topo");
    assert_eq!(p.hosts["h1"].topo, "topo");
    assert_eq!(p.hosts["h1"].mtu, 1500);
}

#[test]
fn each_share_builds_and_holds_only_its_own() {
    let s = spec(TWO);
    for (host, share) in shares(&s).unwrap() {
        let v = build(&share, &Prior::new()).unwrap_or_else(|d| panic!("{host}: {d:?}"));
        let nodes: Vec<&str> = v.model.nodes.iter().map(String::as_str).collect();
        let routes: Vec<String> = share
            .host
            .as_ref()
            .unwrap()
            .value
            .routes
            .iter()
            .map(|r| {
                format!(
                    "{} via {}",
                    r.value.to.value,
                    r.value.via.as_ref().unwrap().value
                )
            })
            .collect();
        match host.as_str() {
            "h1" => {
                assert_eq!(nodes, ["a1", "a2"]);
                assert_eq!(routes, ["12.0.6.0/24 via 192.168.0.2"]);
            }
            "h2" => {
                assert_eq!(nodes, ["b1", "c1"]);
                assert_eq!(routes, ["12.0.1.0/24 via 192.168.0.1"]);
                assert_eq!(share.links.len(), 1);
            }
            other => panic!("unexpected host {other}"),
        }
        let sysctls = &share.host.as_ref().unwrap().value.sysctls;
        assert!(sysctls.contains_key("net.ipv4.ip_forward"), "{host}");
        assert!(
            !sysctls.contains_key("net.ipv6.conf.all.forwarding"),
            "{host}"
        );
        let sh = share.share.as_ref().unwrap();
        assert_eq!(sh.host, host);
        let lab: Vec<String> = sh.lab_subnets.iter().map(ToString::to_string).collect();
        assert_eq!(lab, ["12.0.1.0/24", "12.0.6.0/24"]);
    }
}

#[test]
fn a_route_the_file_writes_wins_over_the_derived_one() {
    let text = TWO.replace(
        "nodes:\n  c1:",
        "host:\n  routes: [{ to: 12.0.6.0/24, via: 192.168.0.9 }]\nnodes:\n  c1:",
    );
    let s = spec(&text);
    let (_, h1) = shares(&s).unwrap().into_iter().next().unwrap();
    let routes = &h1.host.as_ref().unwrap().value.routes;
    assert_eq!(routes.len(), 1);
    assert_eq!(routes[0].value.via.as_ref().unwrap().value, "192.168.0.9");
}

#[test]
fn a_filtering_host_accepts_lab_traffic_after_its_own_rules() {
    let text = TWO.replace(
        "nodes:\n  c1:",
        "host:\n  firewall: { forward: drop, rules: [{ chain: forward, source: 12.0.1.9, action: drop }] }\nnodes:\n  c1:",
    );
    let s = spec(&text);
    for (host, share) in shares(&s).unwrap() {
        let fw = share
            .host
            .as_ref()
            .unwrap()
            .value
            .firewall
            .as_ref()
            .unwrap();
        let rules: Vec<String> = fw
            .value
            .rules
            .iter()
            .map(|r| {
                let r = &r.value;
                let f = |o: &Option<crate::spec::S<String>>| {
                    o.as_ref().map_or("-".to_string(), |v| v.value.clone())
                };
                format!("{} {} {}", f(&r.source), f(&r.destination), r.action.value)
            })
            .collect();
        assert_eq!(
            rules,
            [
                "12.0.1.9 - drop",
                "12.0.1.0/24 - accept",
                "- 12.0.1.0/24 accept",
                "12.0.6.0/24 - accept",
                "- 12.0.6.0/24 accept"
            ],
            "{host}"
        );
        build(&share, &Prior::new()).unwrap_or_else(|d| panic!("{host}: {d:?}"));
    }
}

#[test]
fn checks_run_on_the_host_they_start_from() {
    let text = format!(
        "{TWO}tests:\n  - {{ from: a1, ping: a2 }}\n  - {{ from: b1, ping: a1 }}\n  - {{ from: a1, ping: b1 }}\n  - {{ from: a1, ping: 10.0.0.1 }}\n  - {{ pingall: [a1, b1] }}\n"
    );
    let s = spec(&text);
    let counts: Vec<(String, usize)> = shares(&s)
        .unwrap()
        .into_iter()
        .map(|(h, sh)| (h, sh.tests.as_ref().unwrap().value.checks().len()))
        .collect();
    // h1: a1's three and a1 → b1 of pingall; h2: b1 → a1 twice.
    assert_eq!(counts, [("h1".to_string(), 4), ("h2".to_string(), 2)]);
    let h1 = &shares(&s).unwrap()[0].1;
    let pings: Vec<String> = h1
        .tests
        .as_ref()
        .unwrap()
        .value
        .checks()
        .iter()
        .map(|c| c.value.ping.as_ref().unwrap().value.clone())
        .collect();
    // b1 is on h2: named by the address h2's share gives it.
    assert_eq!(pings, ["a2", "12.0.6.1", "10.0.0.1", "12.0.6.1"]);
    for (h, sh) in shares(&s).unwrap() {
        let v = build(&sh, &Prior::new()).unwrap_or_else(|d| panic!("{h}: {d:?}"));
        crate::model::checks::resolve(&sh, &v.model).unwrap_or_else(|d| panic!("{h}: {d:?}"));
    }
}

#[test]
fn one_host_holds_everything_without_saying_so() {
    let p = place(&spec(
        "name: x\nhosts: { h1: { address: 10.0.0.1 } }\nnodes: { a: {} }\nbridges: { br0: {} }\nlinks: [{ endpoints: [a:eth0, br0] }]\n",
    ))
    .unwrap();
    assert_eq!(p.nodes["a"], "h1");
    assert_eq!(p.bridges["br0"], "h1");
}

#[test]
fn every_placement_mistake_points_at_its_line() {
    let two = "name: x\nhosts:\n  h1: { address: 10.0.0.1 }\n  h2: { address: 10.0.0.2 }\n";
    let cases: &[(&str, u32, &str)] = &[
        ("nodes:\n  a: {}\n", 6, "node `a` is on no host: the lab runs on `h1`, `h2`"),
        ("nodes:\n  a: { host: h3 }\n", 6, "no host named `h3`"),
        ("bridges:\n  br0: {}\n", 6, "bridge `br0` is on no host"),
        ("networks:\n  n: { subnet: 10.1.0.0/24, nodes: [a] }\n", 6, "network `n` is on no host"),
        (
            "networks:\n  n1: { host: h1, subnet: 10.1.0.0/24, nodes: [a] }\n  n2: { host: h2, subnet: 10.2.0.0/24, nodes: [a] }\n",
            7,
            "node `a` is a member of network `n1` on host `h1` and of network `n2` on `h2`",
        ),
        (
            "networks:\n  n1: { host: h1, subnet: 10.1.0.0/24, nodes: [a] }\nnodes:\n  a: { host: h2 }\n",
            8,
            "node `a` is on host `h2`, but its network `n1` is on `h1`",
        ),
        (
            "nodes:\n  a: { host: h1 }\nbridges:\n  br: { node: a, host: h2 }\n",
            8,
            "bridge `br` is in node `a` on host `h1`, not on `h2`",
        ),
    ];
    for (tail, line, msg) in cases {
        let got = errors(&format!("{two}{tail}"));
        assert!(
            got.iter().any(|(l, m)| l == line && m.starts_with(msg)),
            "{tail}: expected line {line} `{msg}`, got {got:?}"
        );
    }
    let bad_hosts: &[(&str, &str)] = &[
        ("  h1: { address: nope }\n", "`nope` is not an IP address"),
        (
            "  h1: { address: 10.0.0.1, ssh: \"-oProxyCommand=x\" }\n",
            "is not an ssh destination",
        ),
        (
            "  h1: { address: 10.0.0.1, topo: \"topo; rm -rf /\" }\n",
            "is not a path to topo",
        ),
        (
            "  h1: { address: 10.0.0.1, mtu: 100 }\n",
            "underlay MTU 100 is out of range",
        ),
        (
            "  h1: { address: 10.0.0.1 }\n  h2: { address: 10.0.0.1 }\n",
            "have the same address",
        ),
        ("  Bad/Name: { address: 10.0.0.1 }\n", "host `Bad/Name`"),
    ];
    for (hosts, msg) in bad_hosts {
        let got = errors(&format!("name: x\nhosts:\n{hosts}"));
        assert!(
            got.iter().any(|(l, m)| *l >= 3 && m.contains(msg)),
            "{hosts}: {got:?}"
        );
    }
    let stray = errors("name: x\nnodes:\n  a: { host: h1 }\n");
    assert_eq!(stray[0].0, 3);
    assert!(stray[0].1.contains("the file has no `hosts:`"), "{stray:?}");
}

const STRETCHED: &str = "name: mega
hosts:
  h1: { address: 192.168.0.1 }
  h2: { address: 192.168.0.2, mtu: 9000 }
networks:
  net1: { host: h1, subnet: 12.0.1.0/24, gateway: 12.0.1.200, nodes: [a1, a2] }
  net6: { host: h2, subnet: 12.0.6.0/24, gateway: 12.0.6.200, nodes: [b1] }
  stretched: { hosts: [h1, h2], subnet: 10.50.0.0/24, gateway: { host: h1, address: 10.50.0.254 }, nodes: [{ node: b1, interface: eth1 }, { node: a1, interface: eth1 }, { node: a2, interface: eth1, address: 10.50.0.1 }] }
nodes:
  c1: { host: h2 }
links:
  - endpoints: [a2:eth9, c1:eth9]
";

#[test]
fn a_stretched_network_is_one_segment_that_every_host_computes_alike() {
    let s = spec(STRETCHED);
    let p = place(&s).unwrap();
    let st = &p.stretched["stretched"];
    assert_eq!(st.hosts, ["h1", "h2"]);
    // The smallest underlay's MTU less the encapsulation.
    assert_eq!(st.mtu, 1450);
    // Fixed first, then in file order; the gateway is never handed out.
    let addr = |n: &str| st.addresses[&(n.to_string(), "eth1".to_string())].to_string();
    assert_eq!(
        (addr("b1"), addr("a1"), addr("a2")),
        ("10.50.0.2".into(), "10.50.0.3".into(), "10.50.0.1".into())
    );
    // Placement is a function of the file: the same twice.
    let again = place(&s).unwrap();
    assert_eq!(again.stretched["stretched"].vni, st.vni);
    assert!(st.vni >= 4096);
    assert_eq!(p.cross.len(), 1);
    assert_ne!(p.cross[0].vni, st.vni);
    let mut bridge_macs = Vec::new();
    for (host, share) in shares(&s).unwrap() {
        let v = build(&share, &Prior::new()).unwrap_or_else(|d| panic!("{host}: {d:?}"));
        // One segment: the bridge of each host has a MAC of its own.
        let mac = v
            .model
            .state
            .link
            .iter()
            .find(|(id, _)| id.link.ns == crate::model::Ns::Host && id.link.name == "stretched")
            .map(|(_, l)| l.mac);
        bridge_macs.push(mac.expect("the bridge's link"));
        let vx = &share.vxlans[&format!("vx{}", st.vni)].value;
        let remote = if host == "h1" {
            "192.168.0.2"
        } else {
            "192.168.0.1"
        };
        assert_eq!(
            vx.remotes
                .iter()
                .map(|r| r.value.as_str())
                .collect::<Vec<_>>(),
            [remote]
        );
        assert_eq!(vx.port.as_ref().unwrap().value, 4789);
        assert_eq!(vx.mtu.as_ref().unwrap().value, 1450);
        let link_vx = &share.vxlans[&format!("vx{}", p.cross[0].vni)].value;
        assert_eq!(
            link_vx.bridge.as_ref().unwrap().value,
            format!("xl{}", p.cross[0].vni)
        );
        let st_state = format!("{:?}", v.model.state);
        match host.as_str() {
            "h1" => {
                // The gateway lives on h1's bridge.
                assert!(st_state.contains("10.50.0.254/24"), "{host}");
                assert!(st_state.contains("10.50.0.3/24") && st_state.contains("10.50.0.1/24"));
                assert!(!st_state.contains("10.50.0.2/24"));
            }
            _ => {
                assert!(
                    !st_state.contains("10.50.0.254/24"),
                    "h2's bridge carries no gateway"
                );
                assert!(st_state.contains("10.50.0.2/24"));
                assert!(!st_state.contains("10.50.0.3/24"));
            }
        }
        // No route to a stretched subnet: it is one segment everywhere.
        let routes = &share.host.as_ref().unwrap().value.routes;
        assert!(
            routes
                .iter()
                .all(|r| !r.value.to.value.starts_with("10.50.")),
            "{host}"
        );
    }
}

#[test]
fn every_tunnel_mistake_points_at_its_line() {
    let two = "name: x\nhosts:\n  h1: { address: 10.0.0.1 }\n  h2: { address: 10.0.0.2 }\n";
    let cases: &[(&str, u32, &str)] = &[
        ("networks:\n  s: { hosts: [h1], subnet: 10.5.0.0/24 }\n", 6, "network `s` is stretched over 1 host(s)"),
        ("networks:\n  s: { hosts: [h1, h1], subnet: 10.5.0.0/24 }\n", 6, "lists host `h1` twice"),
        ("networks:\n  s: { host: h1, hosts: [h1, h2], subnet: 10.5.0.0/24 }\n", 6, "has both `host:` and `hosts:`"),
        ("networks:\n  s: { hosts: [h1, h2], subnet: 10.5.0.0/24, gateway: 10.5.0.1 }\n", 6, "say which carries its gateway"),
        ("networks:\n  s: { hosts: [h1, h2], subnet: 10.5.0.0/24, gateway: { host: h3, address: 10.5.0.1 } }\n", 6, "network `s` does not span host `h3`"),
        ("networks:\n  s: { hosts: [h1, h2], subnet: 10.5.0.0/24, gateway: { host: h1, address: 10.6.0.1 } }\n", 6, "gateway 10.6.0.1 is not a usable address of 10.5.0.0/24"),
        ("networks:\n  s: { hosts: [h1, h2], subnet: 10.5.0.0/24, mtu: 1500 }\n", 6, "has mtu 1500, but its VXLAN overlay carries at most 1450"),
        ("networks:\n  s: { hosts: [h1, h2], subnet: 10.5.0.0/24, nodes: [a] }\n", 6, "node `a` is on no host: a stretched network does not say which"),
        ("networks:\n  s: { host: h1, subnet: 10.5.0.0/24, vni: 7 }\n", 6, "network `s` is on one host: it has no VNI"),
        (
            "networks:\n  s:\n    hosts: [h1, h2]\n    subnet: 10.5.0.0/24\n    dhcp: { range: 10.5.0.100-10.5.0.150 }\n",
            9,
            "topo serves DHCP only on a network of one host",
        ),
        (
            "networks:\n  s: { hosts: [h1, h2], subnet: 10.5.0.0/24, vni: 7 }\n  t: { hosts: [h1, h2], subnet: 10.6.0.0/24, vni: 7 }\n",
            7,
            "VNI 7 is another network's too",
        ),
        (
            "nodes:\n  a: { host: h1 }\n  b: { host: h2 }\nlinks:\n  - { endpoints: [a:eth0, b:eth0], mtu: 9000 }\n",
            9,
            "this link between hosts `h1` and `h2` has mtu 9000",
        ),
    ];
    for (tail, line, msg) in cases {
        let got = errors(&format!("{two}{tail}"));
        assert!(
            got.iter().any(|(l, m)| l == line && m.contains(msg)),
            "{tail}: expected line {line} `{msg}`, got {got:?}"
        );
    }
    let alone = errors("name: x\nvxlan_port: 4790\nnetworks:\n  s: { subnet: 10.5.0.0/24, hosts: [a, b], vni: 3 }\n");
    let lines: Vec<u32> = alone.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [2, 4, 4], "{alone:?}");
}

#[test]
fn derived_vnis_stay_put_when_other_segments_come_and_go() {
    use super::tunnels::derive_vni;
    use std::collections::BTreeSet;
    let none = BTreeSet::new();
    let a = derive_vni("lab", "network a", &none);
    assert_eq!(a, derive_vni("lab", "network a", &none));
    assert_ne!(a, derive_vni("other", "network a", &none));
    // Taken: the next free one, wrapping inside the range.
    let taken: BTreeSet<u32> = [a, a + 1].into();
    assert_eq!(derive_vni("lab", "network a", &taken), a + 2);
    assert!((4096..1 << 24).contains(&a));
}
