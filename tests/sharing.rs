//! Labs that share a machine: host sysctls held by several labs, and
//! subnets the host already routes to another lab or to the machine.

use crate::common;

use common::{text, Sandbox};

fn lab(name: &str, subnet: u8, forward: &str) -> String {
    format!(
        "name: {name}\nnodes:\n  n{subnet}:\n    interfaces: {{ eth0: {{ addresses: [10.{subnet}.0.2/24] }} }}\n    routes: [{{ to: default, via: 10.{subnet}.0.1 }}]\nbridges:\n  br{subnet}: {{ addresses: [10.{subnet}.0.1/24] }}\nlinks:\n  - endpoints: [n{subnet}:eth0, br{subnet}]\nhost:\n  sysctls: {{ net.ipv4.ip_forward: {forward} }}\n"
    )
}

fn forward(sb: &Sandbox) -> String {
    sb.sh_ok("sysctl -n net.ipv4.ip_forward").trim().to_string()
}

#[test]
fn a_host_sysctl_two_labs_set_is_restored_when_the_last_goes() {
    let Some(sb) = Sandbox::new() else { return };
    sb.outside();
    sb.sh_ok("ip -n out route add 10.0.0.0/8 via 10.99.0.1");
    let a = sb.lab("a.yaml", &lab("a", 1, "1"));
    let b = sb.lab("b.yaml", &lab("b", 2, "1"));
    for ((first, first_name), (second, node)) in [((&a, "a"), (&b, "n2")), ((&b, "b"), (&a, "n1"))]
    {
        assert_eq!(forward(&sb), "0");
        sb.topo_ok(&["apply", first]);
        assert_eq!(forward(&sb), "1");
        // The value is already right, but the second lab takes its share.
        let plan = sb.topo_ok(&["plan", second]);
        assert!(
            plan.contains("+ sysctl net.ipv4.ip_forward in host")
                && plan.contains(&format!("[shared with lab {first_name}]")),
            "{plan}"
        );
        sb.topo_ok(&["apply", second]);
        let out = sb.topo_ok(&["destroy", first]);
        assert!(out.contains("still holds it: the value stays"), "{out}");
        assert_eq!(forward(&sb), "1", "the other lab still holds it");
        // The lab that stays sees no difference, and still forwards.
        let out = sb.topo(&["plan", "--detailed-exitcode", second]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
        sb.ping(node, "10.99.0.2");
        sb.topo_ok(&["destroy", second]);
        assert_eq!(forward(&sb), "0", "the value from before the first lab");
    }
    sb.drop_outside();
    assert_eq!(sb.residue(), "");
}

#[test]
fn two_labs_cannot_hold_a_host_sysctl_at_different_values() {
    let Some(sb) = Sandbox::new() else { return };
    let a = sb.lab("a.yaml", &lab("a", 1, "1"));
    let b = sb.lab("b.yaml", &lab("b", 2, "0"));
    sb.topo_ok(&["apply", &a]);
    let out = sb.topo(&["apply", &b]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "sysctl net.ipv4.ip_forward in the host is held by lab `a` at 1; this lab wants 0"
        ),
        "{err}"
    );
    assert_eq!(sb.sh_ok("ls /run/netns"), "n1\n", "nothing of b was made");
    sb.topo_ok(&["destroy", &a]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn a_subnet_another_lab_routes_on_the_host_is_a_clash() {
    let Some(sb) = Sandbox::new() else { return };
    let a = sb.lab("a.yaml", &lab("a", 1, "1"));
    // Lab b puts the same subnet on a bridge of its own.
    let b = sb.lab(
        "b.yaml",
        &lab("b", 2, "1")
            .replace("10.2.0.1/24", "10.1.0.1/25")
            .replace("10.2.0.2/24", "10.1.0.2/25")
            .replace("via: 10.2.0.1", "via: 10.1.0.1"),
    );
    sb.topo_ok(&["apply", &a]);
    let out = sb.topo(&["plan", &b]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("address 10.1.0.1/25 on host:br2 would route 10.1.0.0/25 in the host, which already routes 10.1.0.0/24 to lab `a`'s interface br1"),
        "{err}"
    );
    // And the machine's own interfaces: a veth the test makes.
    sb.sh_ok("ip link add mine0 type veth peer name mine1 && ip addr add 10.3.0.1/16 dev mine0 && ip link set mine0 up");
    let c = sb.lab("c.yaml", &lab("c", 3, "1"));
    let out = sb.topo(&["apply", &c]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("the machine's interface mine0"), "{err}");
    sb.sh_ok("ip link del mine0");
    sb.topo_ok(&["destroy", &a]);
    assert_eq!(sb.residue(), "");
}
