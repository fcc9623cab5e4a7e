//! Machines that turn IPv6 off for new interfaces
//! (`net.ipv6.conf.default.disable_ipv6 = 1`, a common hardening step):
//! a lab with IPv6 addresses still applies, and IPv6 turned off by hand on
//! one of the lab's interfaces is drift that apply repairs.

use crate::common;

use common::{text, Sandbox};

const LAB: &str = "
name: v6off
ipv6: true
bridges:
  br6: { addresses: [10.9.0.1/24, 'fd00:9::1/64'] }
nodes:
  a: { interfaces: { eth0: { addresses: [10.9.0.2/24, 'fd00:9::2/64'] } } }
links:
  - endpoints: [a:eth0, br6]
";

fn converged(sb: &Sandbox, f: &str) {
    let out = sb.topo(&["plan", "--detailed-exitcode", f]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn ipv6_off_for_new_interfaces_and_by_hand() {
    let Some(sb) = Sandbox::new() else { return };
    sb.sh_ok("sysctl -qw net.ipv6.conf.default.disable_ipv6=1");
    let f = sb.lab("v6off.yaml", LAB);
    sb.topo_ok(&["apply", &f]);
    sb.ping("a", "fd00:9::1");
    converged(&sb, &f);
    // Off by hand on the node's end: its addresses go, apply puts IPv6
    // back on and them with it.
    sb.sh_ok("ip netns exec a sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1");
    let out = sb.topo(&["plan", "--detailed-exitcode", &f]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "drift not seen:\n{}",
        text(&out.stdout)
    );
    sb.topo_ok(&["apply", &f]);
    sb.ping("a", "fd00:9::1");
    converged(&sb, &f);
    sb.topo_ok(&["destroy", &f]);
    assert_eq!(sb.residue(), "");
}
