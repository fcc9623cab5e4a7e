//! Renumbering under a running lab: a link or node moves to another
//! subnet, and the file now reaches the old subnet through a gateway. The
//! kernel's connected route of the old address still holds that prefix
//! until the plan deletes the address (or its interface): it is no clash.

use super::{converged, pings, walk_base};
use crate::common::{text, Sandbox};

/// r's link to c moves from 10.6.0.0/24 to 10.7.0.0/24; c keeps 10.6.0.2
/// as a /32, which r now reaches through c.
#[test]
fn a_link_renumbered_with_a_route_to_its_old_subnet() {
    walk_base(
        &[
            ("eth1: { addresses: [10.6.0.1/24] }", "eth1: { addresses: [10.7.0.1/24] }\n    routes: [{ to: 10.6.0.0/24, via: 10.7.0.2 }]"),
            ("eth0: { addresses: [10.6.0.2/24] } }\n    routes: [{ to: default, via: 10.6.0.1 }]",
             "eth0: { addresses: [10.7.0.2/24, 10.6.0.2/32] } }\n    routes: [{ to: default, via: 10.7.0.1 }]"),
        ],
        &[("r", "10.6.0.2"), ("r", "10.7.0.2"), ("a", "10.6.0.2"), ("c", "10.5.0.2")],
    );
}

/// r's link to c goes altogether (its interface with it); c joins br0 and
/// keeps 10.6.0.2 as a /32, which r reaches through c's new address.
#[test]
fn an_interface_removed_with_a_route_to_its_old_subnet() {
    walk_base(
        &[
            ("      eth1: { addresses: [10.6.0.1/24] }\n", "    routes: [{ to: 10.6.0.0/24, via: 10.5.0.9 }]\n"),
            ("eth0: { addresses: [10.6.0.2/24] } }\n    routes: [{ to: default, via: 10.6.0.1 }]",
             "eth0: { addresses: [10.5.0.9/24, 10.6.0.2/32] } }\n    routes: [{ to: default, via: 10.5.0.1 }]"),
            ("  - endpoints: [r:eth1, c:eth0]", "  - endpoints: [c:eth0, br0]"),
        ],
        &[("r", "10.6.0.2"), ("a", "10.6.0.2"), ("c", "10.5.0.3")],
    );
}

/// A route to the subnet of an address the file keeps is still refused:
/// the kernel's connected route stays, and the lab does not own it.
#[test]
fn a_route_to_a_subnet_whose_address_stays_is_still_a_clash() {
    let Some(sb) = Sandbox::new() else { return };
    let before = sb.lab("before.yaml", super::BASE);
    let after = sb.lab(
        "after.yaml",
        &super::BASE.replace(
            "eth1: { addresses: [10.6.0.1/24] }",
            "eth1: { addresses: [10.6.0.1/24] }\n    routes: [{ to: 10.6.0.0/24, via: 10.5.0.3 }]",
        ),
    );
    sb.topo_ok(&["apply", &before]);
    let out = sb.topo(&["apply", &after]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("route to 10.6.0.0/24"), "{err}");
    converged(&sb, &before, "after the refused edit");
    sb.topo_ok(&["destroy", &before]);
    assert_eq!(sb.residue(), "");
}

/// Growing a ring by a router renumbers the link that closes it: every
/// size to the next applies in one run, and the lab's own checks pass.
#[test]
fn a_ring_grows_router_by_router() {
    let Some(sb) = Sandbox::new() else { return };
    let mut last = None;
    for n in ["3", "4", "5"] {
        let yaml = sb.topo_ok(&["new", "ring", "--nodes", n, "--name", "ring"]);
        let file = sb.lab(&format!("ring{n}.yaml"), &yaml);
        sb.topo_ok(&["apply", "-q", &file]);
        converged(&sb, &file, &format!("ring of {n}"));
        let t = sb.topo(&["test", &file]);
        assert_eq!(t.status.code(), Some(0), "ring of {n}: {}", text(&t.stdout));
        pings(&sb, &format!("ring of {n}"), &[("r1", "10.1.0.1")]);
        last = Some(file);
    }
    sb.topo_ok(&["destroy", "-q", &last.unwrap()]);
    assert_eq!(sb.residue(), "");
}

/// A node goes, and the subnet its veth gave the other end is now reached
/// through a gateway on another link: the route must not be added while
/// that end, which the kernel removes a little after the namespace, still
/// holds the subnet (it went out through it, and vanished with it).
#[test]
fn a_route_waits_for_the_veth_end_a_deleted_node_leaves() {
    let after = r#"
name: dv
nodes:
  a: { interfaces: { eth0: { addresses: [10.50.0.2/24] } }, routes: [{ to: default, via: 10.50.0.1 }] }
  c: { interfaces: { eth0: { addresses: [10.50.0.1/24] } } }
links:
  - endpoints: [a:eth0, c:eth0]
"#;
    let before = r#"
name: dv
nodes:
  a: { interfaces: { eth0: { addresses: [10.60.0.2/24] }, eth1: { addresses: [10.50.0.1/24] } } }
  b: { interfaces: { eth0: { addresses: [10.50.0.2/24] } } }
  c: { interfaces: { eth0: { addresses: [10.60.0.1/24] } } }
links:
  - endpoints: [a:eth0, c:eth0]
  - endpoints: [a:eth1, b:eth0]
"#;
    super::walk(
        before,
        &[("a", "10.60.0.1"), ("a", "10.50.0.2")],
        after,
        &[("a", "10.50.0.1"), ("c", "10.50.0.2")],
    );
}
