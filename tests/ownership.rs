//! topo changes only what its lab owns. A sandbox is filled with foreign
//! objects: namespaces, bridges, veths, addresses, host routes (proto static
//! and proto 157, topo's own protocol number), nft tables and chains, a
//! sysctl. A lab whose names clash with some of them must fail at plan and at
//! apply without changing anything; a lab with no clash must, through apply
//! and destroy, leave every foreign object byte-for-byte as it was.

use crate::common;

use common::{text, Sandbox};
use serde_json::Value;

/// The foreign objects. None carries topo's marks (interface alias
/// `topo:LAB`, routes recorded in /run/topo/LAB/state.json).
const FOREIGN: &str = "\
ip netns add foreign-ns && ip -n foreign-ns link set lo up \
&& ip netns add red \
&& ip link add fbr0 type bridge && ip link set fbr0 up && ip addr add 10.60.0.1/24 dev fbr0 \
&& ip link add fveth0 type veth peer name fveth1 && ip link set fveth1 master fbr0 \
&& ip link set fveth0 up && ip link set fveth1 up && ip link set fveth0 mtu 1400 \
&& ip addr add 10.50.0.1/24 dev fveth0 && ip addr add 10.50.0.2/24 dev fveth0 \
&& ip link add cl-br type bridge \
&& ip link add red-eth0 type veth peer name fpeer0 \
&& ip route add 10.61.0.0/24 via 10.50.0.9 proto static \
&& ip route add 10.62.0.0/24 dev fveth0 proto 157 \
&& ip route add 10.63.0.0/24 dev fveth0 proto 157 metric 7 \
&& nft add table inet foreign \
&& nft add chain inet foreign input '{ type filter hook input priority 0; policy accept; }' \
&& nft add rule inet foreign input tcp dport 22 counter accept comment \\\"masquerade from 10.80.0.0/24\\\" \
&& nft add table ip nat \
&& nft add chain ip nat postrouting '{ type nat hook postrouting priority 100; }' \
&& nft add rule ip nat postrouting ip saddr 10.50.0.0/24 masquerade \
&& nft add table inet topo-other \
&& nft add chain inet topo-other forward '{ type filter hook forward priority 0; policy drop; }' \
&& sysctl -qw net.ipv4.conf.all.rp_filter=2 \
&& sysctl -qw net.ipv4.ip_forward=1";

/// Lab `own`, clean: names none of the foreign objects use. Its host route
/// 10.62.0.0/24 metric 5 sits next to the foreign proto-157 route to the same
/// prefix with metric 0, and its table is `inet topo-own` beside
/// `inet topo-other`.
const CLEAN: &str = r#"
name: own
nodes:
  green:
    interfaces: { eth0: { addresses: [10.80.0.1/24] } }
    routes: [ { to: default, via: 10.80.0.254 } ]
  yellow:
    interfaces: { eth0: { addresses: [10.80.0.2/24] } }
bridges:
  own-br: { addresses: [10.80.0.254/24] }
links:
  - endpoints: [green:eth0, own-br]
  - endpoints: [yellow:eth0, own-br]
host:
  sysctls: { net.ipv4.ip_forward: 1, net.ipv4.conf.default.rp_filter: 1 }
  routes: [ { to: 10.62.0.0/24, via: 10.80.0.1, metric: 5 } ]
  nat:
    masquerade: [ { source: 10.80.0.0/24, out: fveth0 } ]
    dnat: [ { proto: tcp, port: 8080, to: "green:80" } ]
  firewall:
    rules: [ { chain: input, proto: tcp, port: 22, action: accept } ]
"#;

/// Everything the machine has, as JSON, with volatile fields removed.
fn dump(sb: &Sandbox, ns: &str) -> Value {
    let pre = if ns == "host" {
        String::new()
    } else {
        format!("ip netns exec {ns} ")
    };
    let json = |cmd: &str| -> Value {
        let out = sb.sh_ok(&format!("{pre}{cmd}"));
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("`{cmd}`: {e}\n{out}"))
    };
    let mut d = serde_json::json!({
        "link": json("ip -d -j link show"),
        "addr": json("ip -j addr show"),
        "route": json("ip -j route show table all"),
        "nft": json("nft -j list ruleset"),
        "sysctl": sb.sh_ok(&format!("{pre}sysctl net.ipv4.ip_forward net.ipv4.conf.all.rp_filter net.ipv4.conf.default.rp_filter")),
    });
    normalize(&mut d);
    d
}

/// Removes fields that change on their own, and entries of the lab itself.
fn normalize(v: &mut Value) {
    // Links: the lab's veth peers and bridge ports come and go; a bridge's
    // counters, timers and the carrier state of a veth whose peer is down
    // change without anyone touching the object. So:
    // - "operstate"/"flags" (LOWER_UP, NO-CARRIER) follow the peer and
    //   STP timers, not a configuration change: dropped for bridges only
    //   (their operstate flips while ports join and leave);
    // - bridge "linkinfo.info_data" timers (`*_timer`) count down all the
    //   time: dropped;
    // - "stats"/"stats64" are absent without -s; nothing to drop.
    // Addresses: "valid_life_time"/"preferred_life_time" are "forever" for
    // static addresses, kept. IPv6 link-local addresses are assigned by the
    // kernel when an interface comes up: kept too (foreign interfaces are not
    // toggled by topo, so they must not change either).
    // nft: "handle" numbers are per-table counters; the foreign tables are
    // not touched, so handles are kept. Counters ("counter": {packets,
    // bytes}) may count packets the kernel itself sends: zeroed.
    match v {
        Value::Object(o) => {
            let is_bridge = o
                .get("linkinfo")
                .and_then(|l| l.get("info_kind"))
                .is_some_and(|k| k == "bridge");
            if is_bridge {
                o.remove("operstate");
                o.remove("flags");
            }
            o.retain(|k, _| !k.ends_with("_timer"));
            if let Some(c) = o.get_mut("counter").and_then(Value::as_object_mut) {
                c.insert("packets".into(), 0.into());
                c.insert("bytes".into(), 0.into());
            }
            for x in o.values_mut() {
                normalize(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalize),
        _ => {}
    }
}

/// The foreign part of a host dump: links, addresses and routes of the lab
/// (named `own-br`, `green-eth0`..., prefixes 10.80/10.62 metric 5) and the
/// lab's table are left out, the rest must be unchanged.
fn foreign_only(mut d: Value) -> Value {
    let lab_link = |name: &str| {
        ["own-br", "green-eth0", "yellow-eth0"].contains(&name) || name.starts_with("tp")
    };
    for key in ["link", "addr"] {
        if let Some(a) = d[key].as_array_mut() {
            a.retain(|l| !l["ifname"].as_str().is_some_and(lab_link));
        }
    }
    if let Some(a) = d["route"].as_array_mut() {
        a.retain(|r| {
            !(r["dev"].as_str().is_some_and(lab_link)
                || (r["dst"] == "10.62.0.0/24" && r["metric"] == 5))
        });
    }
    if let Some(a) = d["nft"]["nftables"].as_array_mut() {
        a.retain(|o| {
            let obj = o.as_object().and_then(|o| o.values().next());
            let table = obj.and_then(|b| b.get("table").or_else(|| b.get("name")));
            !(o.get("table").is_some_and(|t| t["name"] == "topo-own")
                || (o.get("table").is_none() && table.is_some_and(|t| t == "topo-own")))
        });
    }
    // The sysctls the lab sets are restored by destroy: kept as they are.
    d
}

fn setup() -> Option<Sandbox> {
    let sb = Sandbox::new()?;
    sb.sh_ok(FOREIGN);
    // Let the foreign objects settle before the first dump: the bridge's
    // operstate goes from UNKNOWN to UP once its port has carrier, and IPv6
    // link-local addresses are "tentative" until duplicate address detection
    // ends. Both change by themselves, not by anything topo does.
    sb.sh_ok(
        "for i in $(seq 100); do \
           ip -j link show fbr0 | grep -q '\"operstate\":\"UP\"' \
           && [ -z \"$(ip -6 addr show tentative)\" ] && break; sleep 0.1; done",
    );
    Some(sb)
}

fn all_dumps(sb: &Sandbox) -> Vec<(String, Value)> {
    ["host", "foreign-ns", "red"]
        .iter()
        .map(|ns| (ns.to_string(), dump(sb, ns)))
        .collect()
}

fn assert_same(before: &[(String, Value)], after: &[(String, Value)], what: &str) {
    for ((ns, b), (_, a)) in before.iter().zip(after) {
        if a != b {
            let (b, a) = (
                serde_json::to_string_pretty(b).unwrap(),
                serde_json::to_string_pretty(a).unwrap(),
            );
            let diff: String = similar::TextDiff::from_lines(&b, &a)
                .unified_diff()
                .context_radius(3)
                .to_string();
            panic!("{what}: foreign objects in {ns} changed:\n{diff}");
        }
    }
}

#[test]
fn clashing_labs_fail_without_changing_anything() {
    let Some(sb) = setup() else { return };
    let before = all_dumps(&sb);
    let clashes = [
        (
            "namespace",
            CLEAN.replace("green", "red"),
            "namespace red exists",
        ),
        (
            "bridge",
            CLEAN.replace("own-br", "cl-br"),
            "bridge host:cl-br exists",
        ),
        (
            "veth",
            format!("{CLEAN}  interfaces: {{}}\n").replace(
                "  - endpoints: [yellow:eth0, own-br]\n",
                "  - endpoints: [yellow:eth0, own-br]\n  - endpoints: [yellow:e9, host:red-eth0]\n",
            ),
            "host:red-eth0 exists",
        ),
        (
            "route proto static",
            CLEAN.replace(
                "to: 10.62.0.0/24, via: 10.80.0.1, metric: 5",
                "to: 10.61.0.0/24, via: 10.80.0.1",
            ),
            "a route to 10.61.0.0/24 with metric 0 exists in host",
        ),
        (
            "route proto 157",
            CLEAN
                .replace("metric: 5", "metric: 7")
                .replace("10.62.0.0/24", "10.63.0.0/24"),
            "a route to 10.63.0.0/24 with metric 7 exists in host",
        ),
    ];
    for (what, yaml, want) in clashes {
        let lab = sb.lab("clash.yaml", &yaml);
        for verb in ["plan", "apply"] {
            let out = sb.topo(&[verb, &lab]);
            let err = text(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{what}: {verb} must fail:\n{err}"
            );
            assert!(
                err.contains(want),
                "{what}: {verb} names the clash `{want}`:\n{err}"
            );
            assert!(
                err.contains("nothing was changed"),
                "{what}: {verb}:\n{err}"
            );
            assert_same(&before, &all_dumps(&sb), &format!("{what} clash, {verb}"));
        }
    }
    assert_eq!(
        sb.sh_ok("ls -A /run/topo"),
        "",
        "no state left by failed runs"
    );
}

#[test]
fn a_clean_lab_leaves_foreign_objects_byte_for_byte() {
    let Some(sb) = setup() else { return };
    let lab = sb.lab("own.yaml", CLEAN);
    let before = all_dumps(&sb);
    sb.topo_ok(&["apply", &lab]);
    // The lab is really there, next to the foreign objects.
    assert!(sb.sh_ok("ip netns list").contains("green"));
    assert!(sb.sh_ok("nft list tables").contains("topo-own"));
    let during: Vec<(String, Value)> = all_dumps(&sb)
        .into_iter()
        .map(|(ns, d)| {
            let d = if ns == "host" { foreign_only(d) } else { d };
            (ns, d)
        })
        .collect();
    let mut expected = before.clone();
    expected[0].1 = foreign_only(expected[0].1.clone());
    // While the lab runs the only foreign value it changes is none: the
    // sysctls it sets were already 1 (ip_forward) or are default.* ones.
    let strip_sysctl = |v: &mut Vec<(String, Value)>| {
        for (_, d) in v.iter_mut() {
            d.as_object_mut().unwrap().remove("sysctl");
        }
    };
    let (mut e2, mut d2) = (expected.clone(), during);
    strip_sysctl(&mut e2);
    strip_sysctl(&mut d2);
    assert_same(&e2, &d2, "during the lab");
    sb.topo_ok(&["destroy", &lab]);
    assert_same(&before, &all_dumps(&sb), "after apply + destroy");
}

/// A table named like the lab's (`inet topo-own`) that topo did not create:
/// a clash like the others, so plan must refuse rather than plan to delete
/// the chains in it.
#[test]
fn a_foreign_table_with_the_lab_name_is_a_clash() {
    let Some(sb) = setup() else { return };
    sb.sh_ok("nft add table inet topo-own && nft add chain inet topo-own mine '{ type filter hook input priority 5; }' && nft add rule inet topo-own mine tcp dport 1 accept");
    let lab = sb.lab("own.yaml", CLEAN);
    let before = all_dumps(&sb);
    for verb in ["plan", "apply"] {
        let out = sb.topo(&[verb, &lab]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
        assert!(
            text(&out.stderr)
                .contains("nft table inet topo-own exists in host and was not made by topo"),
            "{}",
            text(&out.stderr)
        );
    }
    assert_same(&before, &all_dumps(&sb), "foreign topo-own table");
    // A lab that wants no rules in the host leaves the table alone, and so
    // does destroy.
    let no_nat = sb.lab("own.yaml", &CLEAN[..CLEAN.find("  nat:").unwrap()]);
    let plan = sb.topo_ok(&["plan", &no_nat]);
    assert!(!plan.contains("nft"), "{plan}");
    sb.topo_ok(&["destroy", &no_nat]);
    assert!(sb
        .sh_ok("nft list table inet topo-own")
        .contains("tcp dport 1 accept"));
}

/// An interface someone attached to a lab bridge is not the lab's: the
/// destroy plan names it before deleting the bridge detaches it, and the
/// interface itself stays.
#[test]
fn a_foreign_port_on_a_lab_bridge_is_named_and_survives_destroy() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab(
        "lab.yaml",
        "name: guest\nnodes:\n  a: { interfaces: { eth0: { addresses: [10.66.0.2/24] } } }\nbridges:\n  br0: { addresses: [10.66.0.1/24] }\nlinks:\n  - endpoints: [a:eth0, br0]\n",
    );
    sb.topo_ok(&["apply", &lab]);
    sb.sh_ok("ip link add vm0 type veth peer name vm1 && ip link set vm0 master br0");
    let plan = sb.topo_ok(&["plan", &lab]);
    assert!(
        plan.contains("No changes"),
        "a guest port is no drift: {plan}"
    );
    let out = sb.topo_ok(&["destroy", &lab]);
    assert!(
        out.contains("- bridge host:br0")
            && out.contains("[detaches vm0, which the lab does not own]"),
        "{out}"
    );
    assert!(sb.sh_ok("ip -o link show vm0").contains("vm0"), "vm0 stays");
    sb.sh_ok("ip link del vm0");
    assert_eq!(sb.residue(), "");
}

/// Deleting a lab namespace deletes every interface in it, the lab's or
/// not, and a veth's other end wherever it is. Every one the lab does not
/// own is named in the plan first, whichever way the namespace goes: an
/// apply without the node, destroy with the file, destroy by lab name.
/// Interfaces put in: a veth to the host, a veth to the user's own
/// namespace, a veth between two lab namespaces, a tap.
#[test]
fn what_a_deleted_namespace_takes_that_the_lab_does_not_own_is_named() {
    let Some(sb) = Sandbox::new() else { return };
    let full = "name: inm\nnodes:\n  a: {}\n  b: {}\n  c: {}\n";
    let lab = sb.lab("lab.yaml", full);
    let without_a = sb.lab("without-a.yaml", &full.replace("  a: {}\n", ""));
    let put_in = [
        (
            "ip link add p-host type veth peer name p-in netns a",
            "a",
            "p-in (a veth, and so its other end)",
        ),
        (
            "ip netns add mine; ip link add p-mine netns mine type veth peer name p-b netns b",
            "b",
            "p-b (a veth, and so its other end)",
        ),
        ("ip -n c tuntap add mode tap tp0", "c", "tp0"),
    ];
    for how in ["apply without it", "destroy", "destroy --lab"] {
        sb.topo_ok(&["apply", "-q", &lab]);
        for (cmd, _, _) in &put_in {
            sb.sh_ok(cmd);
        }
        let plan = match how {
            "apply without it" => sb.topo_ok(&["apply", &without_a]),
            "destroy" => sb.topo_ok(&["destroy", &lab]),
            _ => sb.topo_ok(&["destroy", "--lab", "inm"]),
        };
        let expect: &[_] = if how == "apply without it" {
            &put_in[..1]
        } else {
            &put_in[..]
        };
        for (_, ns, named) in expect {
            assert!(
                plan.contains(&format!("- netns {ns}"))
                    && plan.contains(&format!("[deletes {named}, which the lab does not own]")),
                "{how}: {named} in {ns} not named:\n{plan}"
            );
        }
        if how == "apply without it" {
            sb.topo_ok(&["destroy", "-q", &lab]);
        }
        sb.sh_ok("ip netns del mine; ip link del p-host 2>/dev/null; true");
        assert_eq!(sb.residue(), "", "{how}");
    }
}
