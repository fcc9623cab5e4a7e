//! Big labs in few lines, on the real kernel, each test in its own private
//! namespaces: every shape `topo new` writes applies and passes its own
//! `tests:` (all pairs ping) right after apply; the labs in topologies/
//! written with ranges, pools, roles and derived routes do too; and
//! editing them (a node, a link, added or removed) renumbers no other
//! interface, still passes, and leaves nothing to do.

use crate::common;

use common::{text, Sandbox};
use std::collections::BTreeMap;

fn lab_path(name: &str) -> String {
    format!("{}/topologies/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `topo test` passes, right after the apply (no sleep in between).
fn passes(sb: &Sandbox, file: &str) {
    let out = sb.topo(&["test", file]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("test result: ok."), "{stdout}");
}

/// The plan after apply is empty.
fn converged(sb: &Sandbox, file: &str) {
    let out = sb.topo(&["plan", "--detailed-exitcode", file]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the plan after apply is empty:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Applies, tests, checks nothing is left to do, destroys, and checks
/// nothing is left behind.
fn round_trip(sb: &Sandbox, file: &str) {
    sb.topo_ok(&["apply", "-q", file]);
    passes(sb, file);
    converged(sb, file);
    sb.topo_ok(&["destroy", "-q", file]);
    assert_eq!(sb.residue(), "", "{file} left something behind");
}

/// A shape `topo new` writes: validated, applied, tested, destroyed.
fn shape(args: &[&str]) {
    let Some(sb) = Sandbox::new() else { return };
    let mut argv = vec!["new"];
    argv.extend_from_slice(args);
    let yaml = sb.topo_ok(&argv);
    assert!(
        yaml.starts_with(&format!("# Made by `topo new {}`.", args.join(" "))),
        "{yaml}"
    );
    let file = sb.lab("new.yaml", &yaml);
    sb.topo_ok(&["validate", &file]);
    // Every node reaches every other: `topo test --pingall`, Mininet's
    // pingall, on top of the lab's own checks.
    sb.topo_ok(&["apply", "-q", &file]);
    let own = sb.topo(&["test", "--json", &file]);
    let all = sb.topo(&["test", "--pingall", "--json", &file]);
    assert_eq!(all.status.code(), Some(0), "{}", text(&all.stdout));
    let count = |o: &std::process::Output| {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("test --json");
        v["checks"].as_array().map_or(0, Vec::len)
    };
    assert!(count(&all) > count(&own), "--pingall added no checks");
    round_trip(&sb, &file);
}

#[test]
fn new_single() {
    shape(&["single", "--nodes", "4"]);
}

#[test]
fn new_linear() {
    shape(&["linear", "--nodes", "4"]);
}

#[test]
fn new_tree() {
    shape(&["tree", "--depth", "3", "--fanout", "2"]);
}

#[test]
fn new_ring() {
    shape(&["ring", "--nodes", "5"]);
}

#[test]
fn new_star() {
    shape(&["star", "--nodes", "4"]);
}

#[test]
fn new_clos() {
    shape(&["clos", "--spines", "2", "--leaves", "3", "--hosts", "2"]);
}

/// Every global address of every lab namespace: `NODE:IF` → addresses.
fn addresses(sb: &Sandbox) -> BTreeMap<String, Vec<String>> {
    let out = sb.sh_ok(
        "for n in $(ip netns list | cut -d' ' -f1); do ip -n $n -o addr show scope global | awk -v n=$n '{print n\":\"$2\" \"$4}'; done",
    );
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in out.lines() {
        let (k, v) = l.split_once(' ').expect("NODE:IF ADDRESS");
        map.entry(k.to_string()).or_default().push(v.to_string());
    }
    map
}

/// Interfaces in both maps keep every address they had.
fn nothing_renumbered(
    before: &BTreeMap<String, Vec<String>>,
    after: &BTreeMap<String, Vec<String>>,
) {
    let kept: Vec<&String> = before.keys().filter(|k| after.contains_key(*k)).collect();
    assert!(
        kept.len() > before.len() / 2,
        "most interfaces stay: {kept:?}"
    );
    for k in kept {
        assert_eq!(before[k], after[k], "{k} was renumbered");
    }
}

#[test]
fn mininet_tree() {
    let Some(sb) = Sandbox::new() else { return };
    round_trip(&sb, &lab_path("mininet-tree-2-3.yaml"));
}

#[test]
fn netnslab_ring() {
    let Some(sb) = Sandbox::new() else { return };
    round_trip(&sb, &lab_path("netnslab-ring-3-routers.yaml"));
}

#[test]
fn netnslab_demo() {
    let Some(sb) = Sandbox::new() else { return };
    round_trip(&sb, &lab_path("netnslab-demo.yaml"));
}

#[test]
fn clos() {
    let Some(sb) = Sandbox::new() else { return };
    round_trip(&sb, &lab_path("clos-2-2-2.yaml"));
}

#[test]
fn a_host_removed_and_one_added_renumber_no_other_in_a_tree() {
    let Some(sb) = Sandbox::new() else { return };
    let file = lab_path("mininet-tree-2-3.yaml");
    sb.topo_ok(&["apply", "-q", &file]);
    passes(&sb, &file);
    let before = addresses(&sb);
    assert_eq!(before["h5:eth0"], ["10.0.0.5/24"]);
    // h5 goes, h10 comes on s2: it takes the lowest free address, h5's.
    let text = std::fs::read_to_string(&file).unwrap();
    let edited = text
        .replace("\"h[1-9]\": {}", "\"h[1-4]\": {}, \"h[6-10]\": {}")
        .replace(
            "[\"h[4-6]:eth0\", \"s[2-4]\"]",
            "[h4:eth0, s2]\n  - endpoints: [h6:eth0, s4]\n  - endpoints: [h10:eth0, s3]",
        )
        .replace(
            "pingall: [\"h[1-9]\"]",
            "pingall: [\"h[1-4]\", \"h[6-10]\"]",
        );
    assert_ne!(edited, text);
    let lab = sb.lab("tree.yaml", &edited);
    sb.topo_ok(&["apply", "-q", &lab]);
    passes(&sb, &lab);
    let after = addresses(&sb);
    assert!(!after.contains_key("h5:eth0"));
    assert_eq!(after["h10:eth0"], ["10.0.0.5/24"]);
    nothing_renumbered(&before, &after);
    converged(&sb, &lab);
    sb.topo_ok(&["destroy", "-q", &lab]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn a_router_and_a_link_added_and_a_host_removed_renumber_no_other() {
    let Some(sb) = Sandbox::new() else { return };
    let file = lab_path("netnslab-demo.yaml");
    sb.topo_ok(&["apply", "-q", &file]);
    passes(&sb, &file);
    let before = addresses(&sb);
    // r3 comes, linked to r2 by a link written first (the p2p pool's
    // first subnet is taken: it gets the next), h2 goes, h5 comes on br1.
    let text = std::fs::read_to_string(&file).unwrap();
    let edited = text
        .replace(
            "\"r[1-2]\": { role: router }",
            "\"r[1-3]\": { role: router }",
        )
        .replace(
            "\"h[1-4]\": { role: host }",
            "h1: { role: host }\n  \"h[3-5]\": { role: host }",
        )
        .replace("links:\n", "links:\n  - endpoints: [r3:eth1, r2:eth3]\n")
        .replace(
            "[\"h[1-2]:eth1\", br1]",
            "[h1:eth1, br1]\n  - endpoints: [h5:eth1, br1]",
        )
        .replace(
            "node: \"h[1-4]\"",
            "node: h1, interface: mgmt0 }, { node: \"h[3-5]\"",
        )
        .replace(
            "pingall: [\"h[1-4]\", \"r[1-2]\"]",
            "pingall: [h1, \"h[3-5]\", \"r[1-3]\"]",
        );
    assert_ne!(edited, text);
    let lab = sb.lab("demo.yaml", &edited);
    sb.topo_ok(&["validate", &lab]);
    sb.topo_ok(&["apply", "-q", &lab]);
    passes(&sb, &lab);
    let after = addresses(&sb);
    assert!(!after.contains_key("h2:eth1"));
    assert_eq!(
        after["r3:eth1"],
        ["10.1.0.2/31"],
        "the next /31: r1-r2 keeps 10.1.0.0/31"
    );
    assert_eq!(
        after["h5:eth1"],
        ["10.2.0.3/24"],
        "h2's, the lowest free of the LAN"
    );
    nothing_renumbered(&before, &after);
    converged(&sb, &lab);
    // And back: the removed link's and router's addresses go, nobody moves.
    sb.topo_ok(&["apply", "-q", &file]);
    passes(&sb, &file);
    let back = addresses(&sb);
    nothing_renumbered(&after, &back);
    converged(&sb, &file);
    sb.topo_ok(&["destroy", "-q", &file]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn a_host_sysctl_only_the_initial_namespace_has_is_refused_at_its_line() {
    let Some(sb) = Sandbox::new() else { return };
    // The sandbox is a namespace of its own, as a container would be.
    let lab = sb.lab(
        "arp.yaml",
        "name: arp\nnodes: { a: {} }\nhost:\n  sysctls: { net.ipv4.neigh.default.gc_thresh3: 65536 }\n",
    );
    sb.topo_ok(&["validate", &lab]);
    for verb in ["plan", "apply"] {
        let out = sb.topo(&[verb, &lab]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("arp.yaml:4:"), "{stderr}");
        assert!(
            stderr.contains("exists only in the machine's initial network namespace, and topo runs in another one"),
            "{stderr}"
        );
    }
    assert_eq!(sb.residue(), "", "nothing was changed");
}
