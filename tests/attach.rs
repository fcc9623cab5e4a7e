//! Nodes attached to namespaces topo did not create (`attach:`): a process
//! the test starts in its own `unshare --net` holds the namespace; topo
//! adds the lab's objects there, never creates or deletes the namespace,
//! and destroy leaves the process with its lo alone.

use crate::common;

use common::{actions, text, Sandbox};

/// A process in a network namespace of its own; its pid, once it is in
/// that namespace (until unshare has run, `$!` is in the shell's).
fn holder(sb: &Sandbox) -> String {
    sb.sh_ok(
        "unshare --net sleep 600 >/dev/null 2>&1 & p=$!; \
         while [ \"$(readlink /proc/$p/ns/net)\" = \"$(readlink /proc/self/ns/net)\" ]; do sleep 0.01; done; \
         echo $p",
    )
    .trim()
    .to_string()
}

fn lab(pid: &str) -> String {
    format!(
        r#"
name: att
nodes:
  web:
    attach: {{ pid: {pid} }}
    sysctls: {{ net.ipv4.ip_forward: 1 }}
networks:
  net:
    subnet: 10.5.0.0/24
    nodes: [web, other]
"#
    )
}

/// `CMD` run in the namespace of process `pid`.
fn inside(sb: &Sandbox, pid: &str, cmd: &str) -> String {
    sb.sh_ok(&format!("nsenter -t {pid} -n {cmd}"))
}

fn alive(sb: &Sandbox, pid: &str) -> bool {
    sb.processes().iter().any(|(p, _)| p.to_string() == pid)
}

fn noop(sb: &Sandbox, lab: &str) {
    assert!(actions(&sb.plan_json(lab)).is_empty(), "plan is empty");
    let again: serde_json::Value =
        serde_json::from_str(&sb.topo_ok(&["apply", "--json", lab])).unwrap();
    assert_eq!(again["writes"], 0);
}

#[test]
fn an_attached_namespace_joins_the_lab_and_keeps_only_its_lo_after_destroy() {
    let Some(sb) = Sandbox::new() else { return };
    let pid = holder(&sb);
    let file = sb.lab("lab.yaml", &lab(&pid));
    let plan = sb.topo_ok(&["plan", &file]);
    assert!(
        plan.contains(&format!("+ netns web  (attached to pid {pid})")),
        "{plan}"
    );
    sb.topo_ok(&["apply", &file]);
    // Right after apply, from the process's own namespace.
    inside(&sb, &pid, "ping -c1 -W2 10.5.0.1");
    let other = sb.sh_ok("ip -n other -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1");
    inside(&sb, &pid, &format!("ping -c1 -W2 {}", other.trim()));
    assert_eq!(
        inside(&sb, &pid, "sysctl -n net.ipv4.ip_forward").trim(),
        "1"
    );
    assert!(
        sb.sh_ok("ip netns list")
            .lines()
            .all(|l| !l.starts_with("web")),
        "no /run/netns/web"
    );
    // topo exec reaches it by the node's name.
    let links = sb.topo_ok(&["exec", &file, "web", "--", "ip", "-o", "link"]);
    assert!(links.contains(": eth0@"), "{links}");
    noop(&sb, &file);

    // Drift inside it: the lab's interface deleted by hand.
    inside(&sb, &pid, "ip link del eth0");
    let got = actions(&sb.plan_json(&file));
    assert!(
        got.contains(&"create veth host:web-eth0".to_string()),
        "{got:?}"
    );
    sb.topo_ok(&["apply", &file]);
    inside(&sb, &pid, "ping -c1 -W2 10.5.0.1");
    noop(&sb, &file);

    // Edits: the node leaves the file (what the lab put there goes, the
    // namespace stays), and comes back.
    let without = sb.lab(
        "without.yaml",
        "name: att\nnetworks:\n  net: { subnet: 10.5.0.0/24, nodes: [other] }\n",
    );
    sb.topo_ok(&["apply", &without]);
    noop(&sb, &without);
    assert_eq!(only_lo(&sb, &pid), "1: lo");
    assert_eq!(
        inside(&sb, &pid, "sysctl -n net.ipv4.ip_forward").trim(),
        "0",
        "put back"
    );
    sb.topo_ok(&["apply", &file]);
    inside(&sb, &pid, "ping -c1 -W2 10.5.0.1");
    noop(&sb, &file);

    sb.topo_ok(&["destroy", &file]);
    assert!(alive(&sb, &pid), "the process still runs");
    assert_eq!(only_lo(&sb, &pid), "1: lo");
    assert_eq!(
        inside(&sb, &pid, "sysctl -n net.ipv4.ip_forward").trim(),
        "0"
    );
    sb.sh_ok(&format!("kill {pid}"));
    assert_eq!(sb.residue(), "");
}

/// The interfaces of `pid`'s namespace, `N: NAME` each.
fn only_lo(sb: &Sandbox, pid: &str) -> String {
    inside(sb, pid, "ip -o link")
        .lines()
        .map(|l| {
            l.split(':')
                .take(2)
                .collect::<Vec<_>>()
                .join(":")
                .trim()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_namespace_made_anew_shows_everything_of_the_lab_missing() {
    let Some(sb) = Sandbox::new() else { return };
    // A named namespace someone else made, as a restarted container would.
    sb.sh_ok("ip netns add foo");
    let file = sb.lab(
        "lab.yaml",
        "name: att\nnodes:\n  web: { attach: { netns: /run/netns/foo } }\nnetworks:\n  net: { subnet: 10.5.0.0/24, nodes: [web] }\n",
    );
    sb.topo_ok(&["apply", &file]);
    sb.sh_ok("ip netns exec foo ping -c1 -W2 10.5.0.1");
    noop(&sb, &file);
    // The kernel reaps the old namespace's veth a little later.
    sb.sh_ok("ip netns del foo && ip netns add foo && while ip link show web-eth0 >/dev/null 2>&1; do sleep 0.01; done");
    let mut got = actions(&sb.plan_json(&file));
    got.sort();
    assert!(got.contains(&"create netns web".to_string()), "{got:?}");
    assert!(
        got.contains(&"create veth host:web-eth0".to_string()),
        "{got:?}"
    );
    assert!(
        got.iter().any(|a| a.starts_with("create address 10.5.0.")),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|a| a.starts_with("create route default in web")),
        "{got:?}"
    );
    sb.topo_ok(&["apply", &file]);
    sb.sh_ok("ip netns exec foo ping -c1 -W2 10.5.0.1");
    noop(&sb, &file);
    sb.topo_ok(&["destroy", &file]);
    assert_eq!(sb.sh_ok("ip -n foo -o link | wc -l").trim(), "1");
    sb.sh_ok("ip netns del foo");
    assert_eq!(sb.residue(), "");
}

#[test]
fn what_cannot_be_attached_is_refused_at_its_line() {
    let Some(sb) = Sandbox::new() else { return };
    let refused = |yaml: &str, want: &str| {
        let file = sb.lab("lab.yaml", yaml);
        let out = sb.topo(&["plan", &file]);
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        assert!(err.contains("lab.yaml:4:"), "{err}");
        assert!(err.contains(want), "{want}: {err}");
    };
    refused(
        "name: att\nnodes:\n  web:\n    attach: { pid: 999999999 }\n",
        "attach node web to pid 999999999: no process 999999999 is running",
    );
    refused(
        "name: att\nnodes:\n  web:\n    attach: { netns: /run/netns/nope }\n",
        "/run/netns/nope does not exist",
    );
    refused(
        "name: att\nnodes:\n  web:\n    attach: { netns: /etc/hostname }\n",
        "/etc/hostname is not a network namespace",
    );
    refused(
        "name: att\nnodes:\n  web:\n    attach: { container: nope-topo-test }\n",
        "attach node web to container nope-topo-test",
    );
    // The sandbox's holder runs in the namespace topo runs in.
    refused(
        &format!(
            "name: att\nnodes:\n  web:\n    attach: {{ pid: {} }}\n",
            sb.pid()
        ),
        "which is the machine's own namespace",
    );
    assert_eq!(sb.residue(), "");
}

#[test]
fn attach_mistakes_in_the_file() {
    let cases = [
        (
            "{ pid: 1, container: web }",
            "names more than one namespace",
        ),
        ("{}", "names no namespace"),
        ("{ netns: run/netns/foo }", "is not an absolute path"),
        ("{ pid: 0 }", "pid 0 is no process"),
        ("{ container: \"\" }", "is not a container name"),
    ];
    for (attach, want) in cases {
        let yaml = format!("name: att\nnodes:\n  web:\n    attach: {attach}\n");
        let spec = topo::spec::load_str("lab.yaml", &yaml).unwrap();
        let errs = topo::model::build(&spec, &Default::default()).unwrap_err();
        assert!(
            errs.iter()
                .any(|d| d.message.contains(want) && d.help.is_some() && d.pos.line == 4),
            "{want}: {errs:?}"
        );
    }
}

/// Renaming an attached node is refused before anything changes, whether
/// the new name sorts before or after the old one (one order used to
/// apply half, fail and leave a veth the rollback could not make again),
/// and the two applies the help gives work.
#[test]
fn renaming_an_attached_node_is_refused_in_either_order_and_done_in_two_steps() {
    let Some(sb) = Sandbox::new() else { return };
    let pid = holder(&sb);
    let first = sb.lab("first.yaml", &lab(&pid));
    for new in ["aaa", "zzz"] {
        sb.topo_ok(&["apply", "-q", &first]);
        let before = inside(&sb, &pid, "ip -o addr");
        let renamed = sb.lab(&format!("{new}.yaml"), &lab(&pid).replace("web", new));
        let out = sb.topo(&["apply", &renamed]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{new}: {err}");
        assert!(
            err.contains(&format!(
                "node `{new}` would attach to the namespace the lab attached node `web` to"
            )) && err.contains(
                "remove the node from the file and apply, then add it under its new name"
            ),
            "{new}: {err}"
        );
        assert_eq!(inside(&sb, &pid, "ip -o addr"), before, "{new}: changed");
        noop(&sb, &first);
        // The two steps: without the node, then under its new name.
        let without = sb.lab(
            "without.yaml",
            "name: att\nnetworks:\n  net:\n    subnet: 10.5.0.0/24\n    nodes: [other]\n",
        );
        sb.topo_ok(&["apply", "-q", &without]);
        sb.topo_ok(&["apply", "-q", &renamed]);
        noop(&sb, &renamed);
        sb.topo_ok(&["destroy", "-q", &renamed]);
    }
    sb.sh_ok(&format!("kill {pid}"));
    assert_eq!(sb.residue(), "");
}
