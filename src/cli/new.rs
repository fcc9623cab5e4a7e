//! `topo new SHAPE`: a lab file of a common shape on standard output,
//! Mininet's (single, linear, tree) and netlab's (ring, star, clos),
//! written with ranges, pools, roles and derived routes so that it stays
//! readable, with a comment at the top saying how it was made. Every
//! shape passes `topo validate`, applies, and passes its own `tests:`.

use super::args::Shape;
use super::exit;
use std::fmt::Write;

/// The most nodes a generated lab may have: what one range stands for.
const MOST: u64 = crate::spec::expand::RANGE_MAX;

pub(super) fn run(shape: &Shape, name: Option<&str>) -> i32 {
    let nodes = match *shape {
        Shape::Tree { depth, fanout } => u64::from(fanout).checked_pow(depth),
        Shape::Clos { leaves, hosts, .. } => Some(u64::from(leaves) * u64::from(hosts)),
        _ => Some(0),
    };
    if nodes.is_none_or(|n| n > MOST) {
        eprintln!(
            "error: that lab would have more than {MOST} hosts\nhelp: choose a smaller shape"
        );
        return exit::ERROR;
    }
    print!("{}", lab(shape, name));
    exit::OK
}

/// The lab file of `shape`, named `name` or after the shape.
pub fn lab(shape: &Shape, name: Option<&str>) -> String {
    let (command, mut body) = match *shape {
        Shape::Single { nodes } => (format!("single --nodes {nodes}"), single(nodes)),
        Shape::Linear { nodes } => (format!("linear --nodes {nodes}"), linear(nodes)),
        Shape::Tree { depth, fanout } => (
            format!("tree --depth {depth} --fanout {fanout}"),
            tree(depth, fanout),
        ),
        Shape::Ring { nodes } => (format!("ring --nodes {nodes}"), ring(nodes)),
        Shape::Star { nodes } => (format!("star --nodes {nodes}"), star(nodes)),
        Shape::Clos {
            spines,
            leaves,
            hosts,
        } => (
            format!("clos --spines {spines} --leaves {leaves} --hosts {hosts}"),
            clos(spines, leaves, hosts),
        ),
    };
    let default = command
        .split_whitespace()
        .filter(|w| !w.starts_with("--"))
        .collect::<Vec<_>>()
        .join("-");
    let name = name.unwrap_or(&default);
    let mut out = format!("# Made by `topo new {command}`.\n");
    out += &body.about;
    let _ = writeln!(out, "name: {name}");
    out += &std::mem::take(&mut body.yaml);
    out
}

/// A shape's explanation (comment lines) and its lab, without `name:`.
struct Body {
    about: String,
    yaml: String,
}

/// `p[a-b]` quoted for YAML, or `pa` when the range holds one name.
fn range(prefix: &str, a: u32, b: u32, suffix: &str) -> String {
    if a == b {
        format!("{prefix}{a}{suffix}")
    } else {
        format!("\"{prefix}[{a}-{b}]{suffix}\"")
    }
}

/// The LAN pool for `hosts` addresses on one segment: a /24 when they
/// fit, else the smallest subnet of 10.0.0.0/8 that holds them.
fn lan_pool(hosts: u32) -> String {
    let mut prefix = 24;
    while prefix > 8 && (1u64 << (32 - prefix)) - 2 < u64::from(hosts) {
        prefix -= 1;
    }
    if prefix == 24 {
        "addressing: { lan: 10.0.0.0/24 }\n".to_string()
    } else {
        format!("addressing: {{ lan: 10.0.0.0/{prefix}, lan_prefix: {prefix} }}\n")
    }
}

/// A note on the kernel's neighbour table when every pair of `hosts` on
/// one segment will talk (`pingall`): each needs an entry per other.
fn arp_note(hosts: u32) -> String {
    let pairs = u64::from(hosts) * u64::from(hosts.saturating_sub(1));
    if pairs <= 1024 {
        return String::new();
    }
    format!("# All pairs on one LAN need {pairs} neighbour entries: raise the machine's\n# net.ipv4.neigh.default.gc_thresh3 (1024 by default) past that before `topo test`.\n")
}

fn tests(names: &str) -> String {
    format!("tests:\n  - pingall: [{names}]\n")
}

fn single(n: u32) -> Body {
    let hosts = range("h", 1, n, "");
    Body {
        about: format!("# Mininet's --topo single,{n}: one switch (a bridge), {n} hosts on it, one LAN.\n{}", arp_note(n)),
        yaml: format!(
            "nodes: {{ {hosts}: {{}} }}\nbridges: {{ s1: {{}} }}\n{}links:\n  - endpoints: [{}, s1]\n{}",
            lan_pool(n),
            range("h", 1, n, ":eth0"),
            tests(&hosts)
        ),
    }
}

fn linear(n: u32) -> Body {
    let hosts = range("h", 1, n, "");
    let mut links = String::new();
    if n > 1 {
        let _ = writeln!(
            links,
            "  - endpoints: [{}, {}]",
            range("s", 1, n - 1, ""),
            range("s", 2, n, "")
        );
    }
    let _ = writeln!(
        links,
        "  - endpoints: [{}, {}]",
        range("h", 1, n, ":eth0"),
        range("s", 1, n, "")
    );
    Body {
        about: format!("# Mininet's --topo linear,{n}: {n} switches (bridges) in a line, host hK on switch sK, one LAN.\n{}", arp_note(n)),
        yaml: format!(
            "nodes: {{ {hosts}: {{}} }}\nbridges: {{ {}: {{}} }}\n{}links:\n{links}{}",
            range("s", 1, n, ""),
            lan_pool(n),
            tests(&hosts)
        ),
    }
}

/// Mininet's tree: switches level by level (s1 the root), `fanout` hosts
/// on each switch of the last level. The K-th children of all switches of
/// a level are one line: switch J of a level has children J, J+N, J+2N...
/// of the next (N switches on its level), and so do the leaves' hosts.
fn tree(depth: u32, fanout: u32) -> Body {
    let mut links = String::new();
    let mut first = 1; // the first switch of the level
    for level in 0..depth {
        let count = fanout.pow(level);
        let next = first + count;
        let last_level = level + 1 == depth;
        let (child, child_first, suffix) = if last_level {
            ("h", 1, ":eth0")
        } else {
            ("s", next, "")
        };
        let parents = range("s", first, next - 1, "");
        if count == 1 {
            let all = range(child, child_first, child_first + fanout - 1, suffix);
            let _ = writeln!(links, "  - endpoints: [{all}, {parents}]");
            first = next;
            continue;
        }
        for k in 0..fanout {
            let a = child_first + k * count;
            let _ = writeln!(
                links,
                "  - endpoints: [{}, {parents}]",
                range(child, a, a + count - 1, suffix)
            );
        }
        first = next;
    }
    let hosts_n = fanout.pow(depth);
    let hosts = range("h", 1, hosts_n, "");
    let about = format!(
        "# Mininet's --topo tree,depth={depth},fanout={fanout}: {} switches (bridges), {hosts_n} hosts, one LAN.\n\
         # A line links the K-th children of a level: of its N switches, sJ holds J, J+N, J+2N...\n{}",
        first - 1,
        arp_note(hosts_n)
    );
    Body {
        about,
        yaml: format!(
            "nodes: {{ {hosts}: {{}} }}\nbridges: {{ {}: {{}} }}\n{}links:\n{links}{}",
            range("s", 1, first - 1, ""),
            lan_pool(hosts_n),
            tests(&hosts)
        ),
    }
}

/// Pools and derived routes of the routed shapes.
const ROUTED: &str =
    "addressing: { p2p: 10.1.0.0/16, loopback: 10.255.0.0/24 }\nrouting: { static: auto }\n";
const ROUTED_LANS: &str = "addressing: { p2p: 10.1.0.0/16, lan: 10.2.0.0/16, loopback: 10.255.0.0/24 }\nrouting: { static: auto }\n";

fn ring(n: u32) -> Body {
    let hosts = range("h", 1, n, "");
    let routers = range("r", 1, n, "");
    Body {
        about: format!("# netlab's ring: {n} routers in a ring, a host on each; link addresses from the p2p\n# pool, static routes derived along shortest paths, hosts routed via their router.\n"),
        yaml: format!(
            "{ROUTED}nodes:\n  {routers}: {{ role: router }}\n  {hosts}: {{ role: host }}\nlinks:\n  - endpoints: [{}, {}]\n  - endpoints: [r{n}:eth1, r1:eth2]\n  - endpoints: [{}, {}]\n{}",
            range("r", 1, n - 1, ":eth1"),
            range("r", 2, n, ":eth2"),
            range("h", 1, n, ":eth0"),
            range("r", 1, n, ":eth0"),
            tests(&format!("{hosts}, {routers}"))
        ),
    }
}

fn star(n: u32) -> Body {
    let hosts = range("h", 1, n, "");
    Body {
        about: format!("# A star: one router in the middle, {n} hosts each on a link of their own\n# (addresses from the p2p pool), routed through it.\n"),
        yaml: format!(
            "addressing: {{ p2p: 10.1.0.0/16 }}\nnodes:\n  r1: {{ role: router }}\n  {hosts}: {{ role: host }}\nlinks:\n  - endpoints: [{}, {}]\n{}",
            range("h", 1, n, ":eth0"),
            range("r1:eth", 1, n, ""),
            tests(&format!("{hosts}, r1"))
        ),
    }
}

fn clos(spines: u32, leaves: u32, per_leaf: u32) -> Body {
    let hosts = range("h", 1, leaves * per_leaf, "");
    let mut links = String::new();
    for s in 1..=spines {
        let _ = writeln!(
            links,
            "  - endpoints: [{}, {}]",
            range(&format!("spine{s}:eth"), 1, leaves, ""),
            range("leaf", 1, leaves, &format!(":eth{s}"))
        );
    }
    for l in 1..=leaves {
        let a = (l - 1) * per_leaf + 1;
        let _ = writeln!(
            links,
            "  - endpoints: [{}, leaf{l}:br0]",
            range("h", a, a + per_leaf - 1, ":eth0")
        );
    }
    Body {
        about: format!("# netlab's clos (leaf and spine): {spines} spines, {leaves} leaves, {per_leaf} hosts per leaf on the leaf's\n# own bridge br0 (one LAN each); every leaf links to every spine. Link addresses\n# from the p2p pool, LANs from the lan pool, static routes derived.\n"),
        yaml: format!(
            "{ROUTED_LANS}nodes:\n  {}: {{ role: router }}\n  {}: {{ role: router, bridges: {{ br0: {{}} }} }}\n  {hosts}: {{ role: host }}\nlinks:\n{links}{}",
            range("spine", 1, spines, ""),
            range("leaf", 1, leaves, ""),
            tests(&hosts)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_2_3_is_mininets_in_a_few_lines() {
        let text = lab(
            &Shape::Tree {
                depth: 2,
                fanout: 3,
            },
            None,
        );
        let want = "\
name: tree-2-3
nodes: { \"h[1-9]\": {} }
bridges: { \"s[1-4]\": {} }
addressing: { lan: 10.0.0.0/24 }
links:
  - endpoints: [\"s[2-4]\", s1]
  - endpoints: [\"h[1-3]:eth0\", \"s[2-4]\"]
  - endpoints: [\"h[4-6]:eth0\", \"s[2-4]\"]
  - endpoints: [\"h[7-9]:eth0\", \"s[2-4]\"]
tests:
  - pingall: [\"h[1-9]\"]
";
        let body: String = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(body, want);
        assert!(text.starts_with("# Made by `topo new tree --depth 2 --fanout 3`."));
    }

    #[test]
    fn every_shape_validates_and_links_what_it_says() {
        let shapes = [
            (Shape::Single { nodes: 2 }, 2, 2),
            (Shape::Single { nodes: 5 }, 5, 5),
            (Shape::Linear { nodes: 2 }, 2, 3),
            (Shape::Linear { nodes: 4 }, 4, 7),
            (
                Shape::Tree {
                    depth: 1,
                    fanout: 3,
                },
                3,
                3,
            ),
            (
                Shape::Tree {
                    depth: 3,
                    fanout: 4,
                },
                64,
                84,
            ),
            (Shape::Ring { nodes: 5 }, 10, 10),
            (Shape::Star { nodes: 4 }, 5, 4),
            (
                Shape::Clos {
                    spines: 2,
                    leaves: 3,
                    hosts: 2,
                },
                11,
                12,
            ),
        ];
        for (shape, nodes, links) in shapes {
            let text = lab(&shape, None);
            let l = crate::load_text("new.yaml".into(), text.clone())
                .unwrap_or_else(|e| panic!("{shape:?}: {e}\n{text}"));
            assert_eq!(l.spec.links.len(), links, "{shape:?}\n{text}");
            let v = crate::validate(&l, &Default::default())
                .unwrap_or_else(|e| panic!("{shape:?}: {e:?}\n{text}"));
            assert_eq!(v.model.nodes.len(), nodes, "{shape:?}");
            assert!(v.warnings.is_empty(), "{shape:?}: {:?}", v.warnings);
            let checks = crate::model::checks::resolve(&l.spec, &v.model).expect("checks");
            assert!(checks.len() >= 2, "{shape:?}");
        }
    }

    #[test]
    fn the_lines_grow_with_depth_and_fanout_not_with_the_hosts() {
        let lines = |d, f| {
            lab(
                &Shape::Tree {
                    depth: d,
                    fanout: f,
                },
                None,
            )
            .lines()
            .count()
        };
        // Mininet's tree,depth=3,fanout=4 took 173 lines written out by hand.
        assert!(lines(3, 4) <= 25, "{}", lines(3, 4));
        assert!(lines(4, 4) <= 30, "{}", lines(4, 4));
    }
}
