//! Per-node resolv.conf (`dns:`) and hosts files (`etc_hosts: true`) under
//! /etc/netns (inside the sandbox's own /etc), as the node's commands see
//! them through `topo exec` and `ip netns exec`: names resolve, and a
//! lookup reaches the declared name server (a UDP listener sees it).

use crate::common;

use common::{actions, text, Sandbox};

const LAB: &str = r#"
name: dns
etc_hosts: true
nodes:
  red:
    dns: { nameservers: [10.0.0.53], search: [lab.example], options: ["timeout:1", "attempts:1"] }
  blue: {}
  ns1: {}
networks:
  net:
    subnet: 10.0.0.0/24
    nodes: [red, blue, { node: ns1, address: 10.0.0.53 }]
"#;

fn noop(sb: &Sandbox, lab: &str) {
    assert!(actions(&sb.plan_json(lab)).is_empty(), "plan is empty");
    let again: serde_json::Value =
        serde_json::from_str(&sb.topo_ok(&["apply", "--json", lab])).unwrap();
    assert_eq!(again["writes"], 0);
}

/// What `getent hosts NAME` prints in `node`, through `topo exec`.
fn getent(sb: &Sandbox, lab: &str, node: &str, name: &str) -> String {
    let out = sb.topo(&["exec", lab, node, "--", "getent", "hosts", name]);
    text(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn names_resolve_in_the_nodes_and_lookups_reach_the_name_server() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    sb.topo_ok(&["apply", &lab]);
    let blue = sb.sh_ok("ip -n blue -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1");
    let blue = blue.trim();
    // Right after apply, through topo exec and through ip netns exec.
    assert_eq!(
        getent(&sb, &lab, "red", "blue"),
        format!("{blue} blue blue.dns")
    );
    assert_eq!(
        getent(&sb, &lab, "ns1", "blue.dns"),
        format!("{blue} blue blue.dns")
    );
    let ip = sb.sh_ok("ip netns exec blue getent hosts red");
    assert!(ip.contains("red red.dns"), "{ip}");
    let resolv = sb.sh_ok("cat /etc/netns/red/resolv.conf");
    assert!(
        resolv.starts_with("# topo:dns: written by topo"),
        "{resolv}"
    );
    assert!(
        resolv.contains("nameserver 10.0.0.53\nsearch lab.example\noptions timeout:1 attempts:1\n"),
        "{resolv}"
    );
    // The machine's own files are untouched; only the node sees its own.
    let inside = sb.topo_ok(&["exec", &lab, "red", "--", "cat", "/etc/resolv.conf"]);
    assert_eq!(inside, resolv);
    assert!(!sb.sh_ok("cat /etc/resolv.conf").contains("10.0.0.53"));

    // A name no hosts file has goes to red's name server, with the search
    // domain: a UDP listener on ns1's port 53 sees the query.
    let seen = sb.dir.path().join("query");
    let script = format!(
        "ip netns exec ns1 timeout 4 socat -u UDP-RECV:53 OPEN:{},creat,append & l=$!\n\
         for i in $(seq 100); do ip netns exec ns1 ss -uln | grep -q ':53 ' && break; sleep 0.05; done\n\
         {} exec {lab} red -- getent hosts nowhere; kill $l; wait $l; true",
        seen.display(),
        common::topo_bin().display()
    );
    sb.sh_ok(&script);
    let q = std::fs::read(&seen).expect("the listener saw a query");
    let q = String::from_utf8_lossy(&q);
    assert!(
        q.contains("nowhere") && q.contains("lab") && q.contains("example"),
        "{q:?}"
    );
    noop(&sb, &lab);
    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn edited_and_deleted_files_are_drift_and_repaired() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    sb.topo_ok(&["apply", &lab]);
    sb.sh_ok("echo 'nameserver 9.9.9.9' >> /etc/netns/red/resolv.conf && rm /etc/netns/blue/hosts");
    let p = sb.plan_json(&lab);
    let mut got = actions(&p);
    got.sort();
    assert_eq!(
        got,
        vec![
            "create file /etc/netns/blue/hosts",
            "update file /etc/netns/red/resolv.conf",
        ]
    );
    assert!(p["actions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["drift"] == true));
    let plan = sb.topo_ok(&["plan", &lab]);
    assert!(
        plan.contains("lines: nameserver 9.9.9.9 → (none)"),
        "{plan}"
    );
    sb.topo_ok(&["apply", &lab]);
    assert!(!sb
        .sh_ok("cat /etc/netns/red/resolv.conf")
        .contains("9.9.9.9"));
    assert!(getent(&sb, &lab, "blue", "red").ends_with("red red.dns"));
    noop(&sb, &lab);
    // The whole folder removed by hand.
    sb.sh_ok("rm -r /etc/netns/red");
    sb.topo_ok(&["apply", &lab]);
    assert!(getent(&sb, &lab, "red", "ns1").starts_with("10.0.0.53"));
    noop(&sb, &lab);
    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn edits_add_and_remove_files_and_their_folders() {
    let Some(sb) = Sandbox::new() else { return };
    let without = sb.lab(
        "without.yaml",
        &LAB.replace("etc_hosts: true\n", "").replace(
            "  red:\n    dns: { nameservers: [10.0.0.53], search: [lab.example], options: [\"timeout:1\", \"attempts:1\"] }\n",
            "  red: {}\n",
        ),
    );
    let lab = sb.lab("lab.yaml", LAB);
    // Someone else's folder, with a file of theirs, stays as it is.
    sb.sh_ok("mkdir -p /etc/netns/blue && echo theirs > /etc/netns/blue/other");
    for (file, files) in [(&without, 0), (&lab, 4), (&without, 0), (&lab, 4)] {
        sb.topo_ok(&["apply", file]);
        noop(&sb, file);
        let n = sb.sh_ok("find /etc/netns -name hosts -o -name resolv.conf | wc -l");
        assert_eq!(n.trim(), files.to_string(), "{file}");
    }
    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(
        sb.sh_ok("find /etc/netns | sort"),
        "/etc/netns\n/etc/netns/blue\n/etc/netns/blue/other\n"
    );
    sb.sh_ok("rm -r /etc/netns/blue");
    let _ = sb.sh("rmdir /etc/netns");
    assert_eq!(sb.residue(), "");
}

#[test]
fn a_file_topo_did_not_write_is_a_clash() {
    let Some(sb) = Sandbox::new() else { return };
    sb.sh_ok("mkdir -p /etc/netns/red && echo 'nameserver 1.1.1.1' > /etc/netns/red/resolv.conf");
    let lab = sb.lab("lab.yaml", LAB);
    let out = sb.topo(&["apply", &lab]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "/etc/netns/red/resolv.conf exists and was written by someone else, not by lab dns"
        ),
        "{err}"
    );
    assert_eq!(
        sb.sh_ok("cat /etc/netns/red/resolv.conf"),
        "nameserver 1.1.1.1\n"
    );
    assert!(sb.sh_ok("ip netns list").is_empty(), "nothing was made");
    sb.sh_ok("rm -r /etc/netns/red");
    let _ = sb.sh("rmdir /etc/netns");
    assert_eq!(sb.residue(), "");
}

#[test]
fn dns_mistakes_point_at_the_value() {
    let cases = [
        (
            "nameservers: [dns.example]",
            "name server `dns.example` is not an address",
        ),
        (
            "nameservers: [10.0.0.1, 10.0.0.1]",
            "name server 10.0.0.1 is listed twice",
        ),
        (
            "nameservers: [10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4]",
            "more than 3 name servers",
        ),
        ("search: [\"lab example\"]", "search domain `lab example`"),
        ("options: [rotat]", "`rotat` is not a resolver option"),
        (
            "options: [\"ndots:99\"]",
            "option `ndots:99` needs a number from 0 to 15",
        ),
    ];
    for (dns, want) in cases {
        let yaml = format!("name: d\nnodes:\n  red:\n    dns: {{ {dns} }}\n");
        let spec = topo::spec::load_str("lab.yaml", &yaml).unwrap();
        let errs = topo::model::build(&spec, &Default::default()).unwrap_err();
        let d = errs
            .iter()
            .find(|d| d.message.contains(want))
            .unwrap_or_else(|| panic!("{want}: {errs:?}"));
        assert!(d.help.is_some(), "{d:?}");
        assert_eq!((d.pos.line, d.pos.col > 12), (4, true), "{d:?}");
    }
    let spec = topo::spec::load_str("lab.yaml", "name: d\nhosts: yes\n");
    assert!(spec.is_err(), "hosts is a boolean");
}
