//! Every lab in topologies/ on the real kernel, each in its own private
//! namespaces: apply, packets that prove the scenario right after it, a
//! second run that has nothing to do, and a destroy that leaves nothing
//! behind.
//!
//! Each seed's test also runs its tutorial's own commands (iptables rules
//! written as the nft rules iptables-nft makes of them) in a second sandbox,
//! measures both the same way (a ping from every namespace to every address,
//! and the peer address TCP servers see, port forwards included), and asserts
//! where the two differ: exactly where the file's comment says topo differs
//! on purpose.
//!
//! The harness every seed uses is here, with the list of labs; each seed's
//! test is in a file of its own.

mod example;
mod seed_000;
mod seed_001;
mod seed_002;
mod seed_003;
mod seed_004;

use crate::common;

use common::{text, Sandbox, TcpServer};

/// The labs tested here; `every_lab_file_has_a_test` keeps it complete.
/// seed-000-containers and seed-001-dhcp need worlds of their own (running
/// containers, VMs leasing their addresses): their tests are in
/// tests/seed_labs.rs. The big labs in few lines (clos-2-2-2,
/// mininet-tree-2-3, netnslab-*) are tested, and edited, in tests/biglabs.rs.
const COVERED: &[&str] = &[
    "clos-2-2-2.yaml",
    "example.yaml",
    "mininet-tree-2-3.yaml",
    "netnslab-demo.yaml",
    "netnslab-ring-3-routers.yaml",
    "seed-000-containers.yaml",
    "seed-000-meganet.yaml",
    "seed-000-two-hosts.yaml",
    "seed-001-dhcp.yaml",
    "seed-001-router.yaml",
    "seed-002-two-namespaces.yaml",
    "seed-003-bridge.yaml",
    "seed-004-red-blue.yaml",
];

fn lab_path(name: &str) -> String {
    format!("{}/topologies/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Applies the lab and checks the first run wrote something.
fn apply(sb: &Sandbox, file: &str) {
    let report: serde_json::Value =
        serde_json::from_str(&sb.topo_ok(&["apply", "--json", file])).expect("apply JSON");
    assert!(
        report["writes"].as_u64().unwrap() > 0,
        "the first apply writes: {report:#}"
    );
    assert!(
        report["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["status"] == "done"),
        "{report:#}"
    );
}

/// A ping that must go unanswered (the lab does not connect the two).
fn no_ping(sb: &Sandbox, from: &str, to: &str) {
    let out = sb.sh(&format!("ip netns exec {from} ping -c1 -W1 {to}"));
    assert!(
        !out.status.success(),
        "{from} should not reach {to}:\n{}",
        text(&out.stdout)
    );
}

/// The plan after apply is empty, and a second apply sends nothing.
fn converged(sb: &Sandbox, file: &str) {
    let out = sb.topo(&["plan", "--detailed-exitcode", file]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "plan after apply is empty:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).starts_with("No changes."),
        "{}",
        text(&out.stdout)
    );
    let again: serde_json::Value =
        serde_json::from_str(&sb.topo_ok(&["apply", "--json", file])).expect("apply JSON");
    assert_eq!(
        again["writes"], 0,
        "a second apply sends no write request: {again:#}"
    );
    assert_eq!(again["actions"].as_array().unwrap().len(), 0, "{again:#}");
}

/// Destroy leaves exactly what was there before the lab (`baseline`).
fn destroyed(sb: &Sandbox, file: &str, baseline: &str) {
    sb.topo_ok(&["destroy", file]);
    assert_eq!(sb.residue(), baseline, "destroy leaves nothing behind");
}

/// The second run has nothing to do, then destroy leaves no residue.
fn converged_then_destroyed(sb: &Sandbox, file: &str) {
    converged(sb, file);
    destroyed(sb, file, "");
}

#[test]
fn every_lab_file_has_a_test() {
    let mut files: Vec<String> =
        std::fs::read_dir(format!("{}/topologies", env!("CARGO_MANIFEST_DIR")))
            .expect("topologies/")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
            .collect();
    files.sort();
    assert_eq!(
        files, COVERED,
        "add a test to tests/seeds/ for each new lab in topologies/ (and list it in COVERED in tests/seeds/mod.rs)"
    );
}

// ---------------------------------------------------------------------------
// Tutorial against lab.

/// What to measure: a ping from every `from` to every `to`, and the peer
/// address each TCP server sees from each of its clients.
struct Probe {
    from: &'static [&'static str],
    to: &'static [&'static str],
    /// (server, port, clients as (client, address, port))
    tcp: &'static [TcpServer<'static>],
}

/// One line per measurement: `FROM -> TO: yes|no`, then `tcp SERVER:PORT <-
/// CLIENT -> ADDRESS:PORT: PEER|none`.
fn behaviour(sb: &Sandbox, p: &Probe) -> Vec<String> {
    let mut lines = sb.ping_matrix(p.from, p.to);
    lines.extend(sb.tcp_matrix(p.tcp));
    lines
}

/// The pings as a grid (a row per `from`, `y` or `.` per `to`), then the
/// TCP lines: the form the expected behaviours are written in.
fn render(p: &Probe, lines: &[String]) -> String {
    let width = p.from.iter().map(|f| f.len()).max().unwrap_or(0) + 2;
    let mut out = format!("{:width$}{}\n", "", p.to.join(" "));
    for (i, f) in p.from.iter().enumerate() {
        out += &format!("{f:width$}");
        for (j, t) in p.to.iter().enumerate() {
            let yes = lines[i * p.to.len() + j].ends_with(": yes");
            out += &format!("{:<w$} ", if yes { "y" } else { "." }, w = t.len());
        }
        out = out.trim_end().to_string() + "\n";
    }
    for l in &lines[p.from.len() * p.to.len()..] {
        out += l;
        out += "\n";
    }
    out
}

/// Lines without indentation or runs of spaces, so a grid can be compared
/// with one written by hand.
fn normalized(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

fn assert_behaviour(what: &str, p: &Probe, lines: &[String], expected: &str) {
    let got = render(p, lines);
    assert_eq!(
        normalized(&got),
        normalized(expected),
        "{what} behaves differently; measured:\n{got}"
    );
}

/// The lines where the tutorial and the lab differ: `LINE | topo: VALUE`,
/// LINE being the tutorial's measurement.
fn differences(tutorial: &[String], lab: &[String]) -> Vec<String> {
    assert_eq!(tutorial.len(), lab.len());
    tutorial
        .iter()
        .zip(lab)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("{a} | topo: {}", b.rsplit(": ").next().unwrap()))
        .collect()
}

/// A seed: its file, the machines its tutorial assumes around it (made by
/// the test, the same in both sandboxes), the tutorial's own commands, and
/// what to measure.
struct Seed {
    file: &'static str,
    world: &'static [&'static str],
    tutorial: &'static str,
    probe: Probe,
}

/// Both sandboxes after `compare`, their worlds still up.
struct Compared {
    lab: Sandbox,
    tutorial: Sandbox,
    /// What the lab's sandbox held before apply: the world.
    baseline: String,
}

/// Runs the tutorial's commands in one sandbox and applies the seed's file
/// in another, each after the world, and measures both right after (the two
/// sandboxes in parallel, no waiting). Asserts that the lab behaves as
/// `expected` and that the tutorial differs from it exactly in `differs`.
fn compare(seed: &Seed, expected: &str, differs: &[&str]) -> Option<Compared> {
    let lab = Sandbox::new()?;
    let tutorial = Sandbox::new()?;
    let file = lab_path(seed.file);
    let (tutorial_behaviour, (baseline, lab_behaviour)) = std::thread::scope(|s| {
        let t = s.spawn(|| {
            for w in seed.world {
                tutorial.sh_ok(w);
            }
            tutorial.sh_ok(seed.tutorial);
            behaviour(&tutorial, &seed.probe)
        });
        for w in seed.world {
            lab.sh_ok(w);
        }
        let baseline = lab.residue();
        apply(&lab, &file);
        let b = behaviour(&lab, &seed.probe);
        (t.join().expect("the tutorial's sandbox"), (baseline, b))
    });
    assert_behaviour(seed.file, &seed.probe, &lab_behaviour, expected);
    assert_eq!(
        differences(&tutorial_behaviour, &lab_behaviour),
        differs,
        "where the tutorial's commands and {} differ; the tutorial measured:\n{}",
        seed.file,
        render(&seed.probe, &tutorial_behaviour)
    );
    Some(Compared {
        lab,
        tutorial,
        baseline,
    })
}

/// The lab converges, then destroy leaves only the world.
fn finish(c: &Compared, file: &str) {
    let file = lab_path(file);
    converged(&c.lab, &file);
    destroyed(&c.lab, &file, &c.baseline);
}

/// Whether bridged packets pass the host's IP hooks (the br_netfilter
/// module) is the machine's choice, and it changes what NAT does to them.
/// Each namespace has its own switch: the seeds' worlds turn it off, so the
/// results are the same on every machine; seed 004 is also measured with it
/// on.
const BRIDGED_PLAIN: &str =
    "[ ! -e /proc/sys/net/bridge ] || sysctl -qw net.bridge.bridge-nf-call-iptables=0";
const BRIDGED_THROUGH_NETFILTER: &str = "sysctl -qw net.bridge.bridge-nf-call-iptables=1";

/// A sysctl's value in a namespace (`host` or a node).
fn sysctl(sb: &Sandbox, ns: &str, key: &str) -> String {
    sb.sh_ok(&format!("{}sysctl -n {key}", common::in_ns(ns)))
        .trim()
        .to_string()
}
