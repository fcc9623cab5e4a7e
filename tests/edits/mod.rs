//! Editing a running lab, the whole class: every kind of edit is applied to
//! a live lab and undone again. After each apply the plan must be empty
//! and the lab must carry packets at once, with no sleep: neighbours'
//! caches were warmed before the edit, so a stale MAC, a route the kernel
//! dropped, a tentative IPv6 address or a port that does not forward yet
//! all show as a failed first ping.
//!
//! The base lab and the edit-and-undo walk are here; the edits, by what
//! they change, are in the submodules.

mod drift;
mod interfaces;
mod mtu;
mod networks;
mod renumber;
mod topology;

use crate::common;

use common::{text, Sandbox};

/// Router `r` between bridge `br0` (a, b, r:eth0) and a direct veth to c.
const BASE: &str = r#"
name: edits
nodes:
  a:
    interfaces: { eth0: { addresses: [10.5.0.2/24] } }
    routes: [{ to: default, via: 10.5.0.1 }]
  b:
    interfaces: { eth0: { addresses: [10.5.0.3/24] } }
    routes: [{ to: default, via: 10.5.0.1 }]
  r:
    interfaces:
      eth0: { addresses: [10.5.0.1/24] }
      eth1: { addresses: [10.6.0.1/24] }
    sysctls: { net.ipv4.ip_forward: 1 }
  c:
    interfaces: { eth0: { addresses: [10.6.0.2/24] } }
    routes: [{ to: default, via: 10.6.0.1 }]
bridges:
  br0: {}
links:
  - endpoints: [a:eth0, br0]
  - endpoints: [b:eth0, br0]
  - endpoints: [r:eth0, br0]
  - endpoints: [r:eth1, c:eth0]
"#;

/// Pings that work in BASE: same bridge, routed, direct veth.
const BASE_PINGS: &[(&str, &str)] = &[
    ("a", "10.5.0.3"),
    ("b", "10.5.0.2"),
    ("a", "10.6.0.2"),
    ("c", "10.5.0.2"),
    ("c", "10.5.0.3"),
    ("r", "10.6.0.2"),
];

fn replaced(base: &str, edits: &[(&str, &str)]) -> String {
    let mut s = base.to_string();
    for (from, to) in edits {
        assert!(s.contains(from), "edit `{from}` does not apply");
        s = s.replacen(from, to, 1);
    }
    s
}

fn pings(sb: &Sandbox, what: &str, list: &[(&str, &str)]) {
    for (from, to) in list {
        let out = sb.sh(&format!("ip netns exec {from} ping -c1 -W2 {to}"));
        assert!(
            out.status.success(),
            "{what}: {from} cannot reach {to} at the first ping:\n{}",
            text(&out.stdout)
        );
    }
}

/// The plan is empty and says so with exit 0.
fn converged(sb: &Sandbox, file: &str, what: &str) {
    let out = sb.topo(&["plan", "--detailed-exitcode", file]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: the plan after apply is not empty:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Applies `before`, then `after`, then `before` again: each apply must
/// converge in one run, mark nothing as drift (the file changed, the
/// kernel did not), and leave the lab carrying packets at once.
fn walk(before: &str, before_pings: &[(&str, &str)], after: &str, after_pings: &[(&str, &str)]) {
    let Some(sb) = Sandbox::new() else { return };
    let b = sb.lab("before.yaml", before);
    let a = sb.lab("after.yaml", after);
    sb.topo_ok(&["apply", &b]);
    converged(&sb, &b, "first apply");
    pings(&sb, "before the edit", before_pings);
    for (file, list, what) in [
        (&a, after_pings, "the edit"),
        (&b, before_pings, "its undo"),
    ] {
        let plan = sb.plan_json(file);
        let drift: Vec<&serde_json::Value> = plan["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["drift"] == true)
            .collect();
        assert!(
            drift.is_empty(),
            "{what}: only the file changed, yet drift: {drift:#?}"
        );
        sb.topo_ok(&["apply", file]);
        converged(&sb, file, what);
        pings(&sb, &format!("after {what}"), list);
    }
    sb.topo_ok(&["destroy", &b]);
    assert_eq!(sb.residue(), "");
}

fn walk_base(edits: &[(&str, &str)], after_pings: &[(&str, &str)]) {
    walk(BASE, BASE_PINGS, &replaced(BASE, edits), after_pings);
}
