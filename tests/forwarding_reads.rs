//! Forwarding switches are read over netlink (netconf), not /proc/sys: every
//! key that path answers, in a node and in the host, must read what the
//! kernel holds, so a value changed by hand is drift and apply repairs it.

use crate::common;

use common::{in_ns, Sandbox};

/// Every key read over netconf, with the value the lab sets and the one
/// the drift puts back.
const KEYS: [(&str, &str, &str); 5] = [
    ("net.ipv4.ip_forward", "1", "0"),
    ("net.ipv4.conf.all.forwarding", "1", "0"),
    ("net.ipv4.conf.default.forwarding", "1", "0"),
    ("net.ipv6.conf.all.forwarding", "1", "0"),
    ("net.ipv6.conf.default.forwarding", "1", "0"),
];

fn lab(key: &str, value: &str, host: bool) -> String {
    let place = if host { "host:\n" } else { "nodes:\n  n1:\n" };
    let indent = if host { "  " } else { "    " };
    format!("name: fw\n{place}{indent}sysctls: {{ {key}: {value} }}\n")
}

fn read(sb: &Sandbox, host: bool, key: &str) -> String {
    let pre = if host { String::new() } else { in_ns("n1") };
    sb.sh_ok(&format!("{pre}sysctl -n {key}"))
        .trim()
        .to_string()
}

#[test]
fn every_forwarding_key_is_read_as_the_kernel_holds_it() {
    let Some(sb) = Sandbox::new() else { return };
    for host in [false, true] {
        for (key, want, drift) in KEYS {
            let file = sb.lab("fw.yaml", &lab(key, want, host));
            sb.topo_ok(&["apply", &file]);
            assert_eq!(read(&sb, host, key), want, "{key} (host: {host})");
            let plan = sb.topo_ok(&["plan", &file]);
            assert!(plan.contains("No changes"), "{key} (host: {host}): {plan}");
            let pre = if host { String::new() } else { in_ns("n1") };
            sb.sh_ok(&format!("{pre}sysctl -qw {key}={drift}"));
            let plan = sb.topo_ok(&["plan", &file]);
            assert!(
                plan.contains(key) && !plan.contains("No changes"),
                "{key} set to {drift} by hand is drift (host: {host}): {plan}"
            );
            sb.topo_ok(&["apply", &file]);
            assert_eq!(read(&sb, host, key), want, "{key} repaired (host: {host})");
            sb.topo_ok(&["destroy", &file]);
            assert_eq!(sb.residue(), "", "{key} (host: {host})");
        }
    }
}
