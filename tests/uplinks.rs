//! Bridge uplinks: an interface the lab did not create (here a veth the
//! test makes, `eth1`, standing for the machine's NIC, its far end in a
//! namespace `lan` standing for the LAN) made a port of a lab bridge, with
//! real packets through it; drift repaired; destroy and edits leave it as
//! it was.

use crate::common;

use common::{actions, Sandbox};

const WITH: &str = r#"
name: up
nodes:
  vm: { interfaces: { eth0: { addresses: [172.16.100.20/24] } } }
bridges:
  br-ex: { addresses: [172.16.100.2/24], uplinks: [eth1] }
links:
  - endpoints: [vm:eth0, br-ex]
"#;

/// The machine's interface: down, with an address of its own.
fn nic(sb: &Sandbox) {
    sb.sh_ok(
        "ip netns add lan && ip link add eth1 type veth peer name eth0 netns lan \
         && ip addr add 192.0.2.1/24 dev eth1 \
         && ip -n lan addr add 172.16.100.10/24 dev eth0 && ip -n lan link set eth0 up && ip -n lan link set lo up",
    );
}

fn drop_nic(sb: &Sandbox) {
    sb.sh_ok("ip link del eth1 && ip netns del lan");
}

/// eth1 as `ip` shows it: master, up or down, its IPv4 addresses.
fn eth1(sb: &Sandbox) -> String {
    let j: serde_json::Value = serde_json::from_str(&sb.sh_ok("ip -j addr show dev eth1")).unwrap();
    let l = &j[0];
    let addrs: Vec<String> = l["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["family"] == "inet")
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
        .collect();
    let up = l["flags"].as_array().unwrap().iter().any(|f| f == "UP");
    format!(
        "master {} {} {}",
        l["master"].as_str().unwrap_or("-"),
        if up { "up" } else { "down" },
        addrs.join(",")
    )
}

fn noop(sb: &Sandbox, lab: &str) {
    assert!(actions(&sb.plan_json(lab)).is_empty(), "plan is empty");
    let again: serde_json::Value =
        serde_json::from_str(&sb.topo_ok(&["apply", "--json", lab])).unwrap();
    assert_eq!(again["writes"], 0);
}

#[test]
fn an_uplink_carries_the_lab_to_the_lan_and_is_left_as_it_was() {
    let Some(sb) = Sandbox::new() else { return };
    nic(&sb);
    assert_eq!(eth1(&sb), "master - down 192.0.2.1/24");
    let lab = sb.lab("lab.yaml", WITH);
    let plan = sb.topo_ok(&["plan", &lab]);
    assert!(plan.contains("+ uplink host:eth1"), "{plan}");
    sb.topo_ok(&["apply", &lab]);
    // Right after apply: the node and the host reach the LAN through eth1.
    sb.ping("vm", "172.16.100.10");
    sb.ping("host", "172.16.100.10");
    assert_eq!(
        eth1(&sb),
        "master br-ex up 192.0.2.1/24",
        "its address stays"
    );
    noop(&sb, &lab);

    // Drift: detached by hand, then set down by hand.
    sb.sh_ok("ip link set eth1 nomaster");
    let p = sb.plan_json(&lab);
    assert_eq!(actions(&p), vec!["update uplink host:eth1"]);
    assert_eq!(p["actions"][0]["drift"], true);
    sb.topo_ok(&["apply", &lab]);
    sb.ping("vm", "172.16.100.10");
    sb.sh_ok("ip link set eth1 down");
    assert_eq!(
        actions(&sb.plan_json(&lab)),
        vec!["update uplink host:eth1"]
    );
    sb.topo_ok(&["apply", &lab]);
    sb.ping("vm", "172.16.100.10");
    noop(&sb, &lab);

    // Edits: without the uplink it is detached and down again; back with it.
    let without = sb.lab("without.yaml", &WITH.replace(", uplinks: [eth1]", ""));
    let plan = sb.topo_ok(&["plan", &without]);
    assert!(plan.contains("it is left down, as it was"), "{plan}");
    sb.topo_ok(&["apply", &without]);
    assert_eq!(eth1(&sb), "master - down 192.0.2.1/24");
    noop(&sb, &without);
    sb.topo_ok(&["apply", &lab]);
    sb.ping("vm", "172.16.100.10");
    noop(&sb, &lab);

    // A renamed bridge takes its uplink along; the new one gets it.
    let renamed = sb.lab("renamed.yaml", &WITH.replace("br-ex", "br-lan"));
    let plan = sb.topo_ok(&["plan", &renamed]);
    assert!(
        plan.contains(
            "+ uplink host:eth1  (port of br-lan)  [it leaves host:br-ex, which is deleted]"
        ),
        "{plan}"
    );
    sb.topo_ok(&["apply", &renamed]);
    sb.ping("vm", "172.16.100.10");
    assert_eq!(eth1(&sb), "master br-lan up 192.0.2.1/24");
    noop(&sb, &renamed);

    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(eth1(&sb), "master - down 192.0.2.1/24", "left as it was");
    drop_nic(&sb);
    assert_eq!(sb.residue(), "");
}

#[test]
fn an_uplink_that_was_up_stays_up() {
    let Some(sb) = Sandbox::new() else { return };
    nic(&sb);
    sb.sh_ok("ip link set eth1 up");
    let lab = sb.lab("lab.yaml", WITH);
    sb.topo_ok(&["apply", &lab]);
    sb.ping("vm", "172.16.100.10");
    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(eth1(&sb), "master - up 192.0.2.1/24");
    drop_nic(&sb);
    assert_eq!(sb.residue(), "");
}

/// The error topo prints for `lab`, which must change nothing.
fn refused(sb: &Sandbox, lab: &str) -> String {
    let before = sb.sh_ok("ip -o link; ip -o addr; ip route");
    let out = sb.topo(&["apply", lab]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        sb.sh_ok("ip -o link; ip -o addr; ip route"),
        before,
        "nothing changed"
    );
    common::text(&out.stderr)
}

#[test]
fn uplinks_the_machine_cannot_give_are_refused_at_their_line() {
    let Some(sb) = Sandbox::new() else { return };
    nic(&sb);
    let lab = sb.lab("lab.yaml", WITH);
    // Missing.
    let missing = sb.lab("missing.yaml", &WITH.replace("[eth1]", "[eth9]"));
    let err = refused(&sb, &missing);
    assert!(err.contains("missing.yaml:6:"), "{err}");
    assert!(
        err.contains("uplink host:eth9 of bridge br-ex does not exist"),
        "{err}"
    );
    // Already a port of someone else's bridge.
    sb.sh_ok("ip link add other type bridge && ip link set eth1 master other");
    let err = refused(&sb, &lab);
    assert!(err.contains("lab.yaml:6:"), "{err}");
    assert!(
        err.contains("uplink host:eth1 is already a port of other"),
        "{err}"
    );
    sb.sh_ok("ip link del other");
    // Carrying the default route; allowed when the bridge says so.
    sb.sh_ok("ip link set eth1 up && ip route add default via 192.0.2.254 dev eth1");
    let err = refused(&sb, &lab);
    assert!(err.contains("carries the machine's default route"), "{err}");
    assert!(err.contains("allow_default_route_uplink: true"), "{err}");
    let allowed = sb.lab(
        "allowed.yaml",
        &WITH.replace(
            "uplinks: [eth1] }",
            "uplinks: [eth1], allow_default_route_uplink: true }",
        ),
    );
    sb.topo_ok(&["apply", &allowed]);
    sb.ping("vm", "172.16.100.10");
    noop(&sb, &allowed);
    sb.topo_ok(&["destroy", &allowed]);
    assert_eq!(eth1(&sb), "master - up 192.0.2.1/24");
    assert!(sb
        .sh_ok("ip route")
        .contains("default via 192.0.2.254 dev eth1"));
    drop_nic(&sb);
    assert_eq!(sb.residue(), "");
}

#[test]
fn uplink_mistakes_in_the_file() {
    let cases = [
        ("[eth0-is-far-too-long]", "uplink `eth0-is-far-too-long`"),
        ("[lo]", "`lo` cannot be a bridge port"),
        (
            "[eth1, eth1]",
            "host:eth1 is already an uplink of bridge `br-ex`",
        ),
    ];
    for (list, want) in cases {
        let yaml = WITH.replace("[eth1]", list);
        let spec = topo::spec::load_str("lab.yaml", &yaml).unwrap();
        let errs = topo::model::build(&spec, &Default::default()).unwrap_err();
        assert!(
            errs.iter()
                .any(|d| d.message.contains(want) && d.help.is_some() && d.pos.line == 6),
            "{want}: {errs:?}"
        );
    }
    // A lab interface is no uplink.
    let yaml =
        format!("{WITH}  - endpoints: [vm:eth1, host:veth-x]\n").replace("[eth1]", "[veth-x]");
    let spec = topo::spec::load_str("lab.yaml", &yaml).unwrap();
    let errs = topo::model::build(&spec, &Default::default()).unwrap_err();
    assert!(
        errs.iter()
            .any(|d| d.message.contains("is an interface the lab creates")),
        "{errs:?}"
    );
}
