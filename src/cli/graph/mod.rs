//! `topo graph`: the lab drawn from the validated model, without a kernel.
//!
//! Nodes sit on the left (a "nodes" cluster), the host's bridges on the right
//! (a "host" cluster), and every veth is one line between the two things its
//! ends are attached to: a node, a bridge (for a bridge port), or the host
//! itself (a host end without a bridge). A line's label names both ends'
//! interfaces with their addresses. Dot and Mermaid text come from the same
//! `Diagram`; SVG and PNG are drawn by Graphviz `dot` from the dot text.

mod devices;
mod dot;
mod mermaid;

pub use dot::dot;
pub use mermaid::mermaid;

use super::{exit, GraphFormat};
use crate::model::{IfRef, Model, Ns};
use crate::Error;
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Something a line can end at.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Vertex {
    Node(String),
    Bridge(IfRef),
    Host,
}

/// One end of a veth: where it attaches, and its interface.
#[derive(Clone, Debug)]
struct End {
    at: Vertex,
    iface: IfRef,
    addrs: Vec<IpNet>,
}

impl End {
    fn text(&self) -> String {
        let mut s = match self.at {
            Vertex::Bridge(_) => format!("port {}", self.iface.name),
            _ => self.iface.name.to_string(),
        };
        for a in &self.addrs {
            s += &format!(" {a}");
        }
        s
    }
}

/// A device with one side only in the lab: a tap (a VM is at its other
/// end), a VXLAN device (other hosts are).
#[derive(Clone, Debug)]
struct Device {
    at: Vertex,
    iface: IfRef,
    lines: Vec<String>,
}

/// What the drawing holds, in a stable order.
struct Diagram {
    lab: String,
    /// Node name → label lines under the name (routes, rules).
    nodes: BTreeMap<String, Vec<String>>,
    /// Bridge → its addresses.
    bridges: BTreeMap<IfRef, Vec<IpNet>>,
    /// Whether a veth ends on the host without a bridge.
    host: bool,
    /// The host's rules (NAT, filter), by comment.
    host_rules: Vec<String>,
    /// Veths, node end first when there is one.
    edges: Vec<(End, End)>,
    /// Taps and VXLAN devices, each drawn at what it is attached to.
    devices: Vec<Device>,
}

fn diagram(m: &Model) -> Diagram {
    let mut addrs: BTreeMap<&IfRef, Vec<IpNet>> = BTreeMap::new();
    let mut masters: BTreeMap<&IfRef, &str> = BTreeMap::new();
    let mut d = Diagram {
        lab: m.lab.clone(),
        nodes: m.nodes.iter().map(|n| (n.clone(), vec![])).collect(),
        bridges: BTreeMap::new(),
        host: false,
        host_rules: vec![],
        edges: vec![],
        devices: vec![],
    };
    let st = &m.state;
    for id in st.address.keys() {
        addrs.entry(&id.link).or_default().push(id.address);
    }
    for (id, l) in &st.link {
        if let Some(mst) = &l.master {
            masters.insert(&id.link, mst);
        }
    }
    for id in st.bridge.keys() {
        d.bridges.insert(id.link.clone(), vec![]);
    }
    for (id, r) in &st.route {
        let mut line = if id.key.to.prefix_len() == 0 {
            "default".to_string()
        } else {
            id.key.to.to_string()
        };
        if let Some(v) = r.via {
            line += &format!(" via {v}");
        }
        if let Some(dv) = r.dev.as_ref().filter(|_| r.via.is_none()) {
            line += &format!(" dev {dv}");
        }
        if let Ns::Node(n) = &id.ns {
            d.nodes.entry(n.to_string()).or_default().push(line);
        }
    }
    // A DNAT is two rules (prerouting, nat-output) with one text.
    for id in st.rule.keys() {
        let list = match &id.ns {
            Ns::Host => &mut d.host_rules,
            Ns::Node(n) => d.nodes.entry(n.to_string()).or_default(),
        };
        if !list.contains(&id.rule) {
            list.push(id.rule.clone());
        }
    }
    for (b, list) in d.bridges.iter_mut() {
        *list = addrs.get(b).cloned().unwrap_or_default();
    }
    let end = |r: &IfRef| End {
        at: match (masters.get(r), &r.ns) {
            (Some(mst), ns) => Vertex::Bridge(IfRef::new(ns.clone(), *mst)),
            (None, Ns::Host) => Vertex::Host,
            (None, Ns::Node(n)) => Vertex::Node(n.to_string()),
        },
        iface: r.clone(),
        addrs: addrs.get(r).cloned().unwrap_or_default(),
    };
    d.devices = devices::of(st, &end);
    d.host |= d.devices.iter().any(|dev| dev.at == Vertex::Host);
    for (id, v) in &st.veth {
        {
            let (a, b) = (end(&id.link), end(&v.peer));
            // The node end first: dot ranks tails left of heads.
            let pair = if matches!(a.at, Vertex::Node(_)) || !matches!(b.at, Vertex::Node(_)) {
                (a, b)
            } else {
                (b, a)
            };
            d.host |= pair.0.at == Vertex::Host || pair.1.at == Vertex::Host;
            d.edges.push(pair);
        }
    }
    d
}

/// A bridge as drawn: its name, with the node in front when it is not the host's.
fn bridge_name(b: &IfRef) -> String {
    match &b.ns {
        Ns::Host => b.name.to_string(),
        _ => b.to_string(),
    }
}

/// Finds `prog` on PATH.
fn which(prog: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(prog))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Draws `source` with Graphviz (`dot`, the program found on PATH) into the
/// bytes of `format` (svg, png).
fn render_with_dot(source: &str, format: &str, dot: Option<PathBuf>) -> Result<Vec<u8>, String> {
    let Some(dot) = dot else {
        return Err(format!(
            "drawing {format} needs Graphviz's `dot`, which is not on PATH\nhelp: install it (apt-get install graphviz), or print the source with --format dot or --format mermaid"
        ));
    };
    let mut child = Command::new(&dot)
        .arg(format!("-T{format}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", dot.display()))?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(source.as_bytes())
        .map_err(|e| format!("cannot write to dot: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("cannot run dot: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "dot failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

/// The `graph` verb.
pub fn run(
    file: &str,
    format: GraphFormat,
    output: Option<&str>,
    host: Option<&str>,
) -> Result<i32, Error> {
    let l = crate::load(file)?.for_host(host)?;
    let v = crate::validate(&l, &Default::default())?;
    if !v.warnings.is_empty() {
        eprint!(
            "{}",
            l.report(v.warnings)
                .render(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        );
    }
    let m = v.model;
    let bytes = match format {
        GraphFormat::Dot => dot(&m).into_bytes(),
        GraphFormat::Mermaid => mermaid(&m).into_bytes(),
        GraphFormat::Svg | GraphFormat::Png => {
            let f = if format == GraphFormat::Svg {
                "svg"
            } else {
                "png"
            };
            if f == "png" && output.is_none() && std::io::stdout().is_terminal() {
                eprintln!("error: a PNG is binary: write it to a file with -o lab.png (or redirect stdout)");
                return Ok(exit::ERROR);
            }
            match render_with_dot(&dot(&m), f, which("dot")) {
                Ok(b) => b,
                Err(msg) => {
                    eprintln!("error: {msg}");
                    return Ok(exit::ERROR);
                }
            }
        }
    };
    let written = match output {
        Some(path) => std::fs::write(path, &bytes).map_err(|e| format!("cannot write {path}: {e}")),
        None => std::io::stdout()
            .write_all(&bytes)
            .map_err(|e| format!("cannot write to stdout: {e}")),
    };
    if let Err(msg) = written {
        eprintln!("error: {msg}");
        return Ok(exit::ERROR);
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAB: &str = r##"
name: tiny
nodes:
  red:
    interfaces: { eth0: { addresses: [10.0.0.2/24] } }
    routes: [ { to: default, via: 10.0.0.1 } ]
  blue:
    interfaces:
      eth0: { addresses: [10.0.0.3/24] }
      eth1: { addresses: [10.9.0.1/30] }
bridges:
  br0: { addresses: [10.0.0.1/24] }
links:
  - endpoints: [red:eth0, br0]
  - endpoints: [blue:eth0, br0]
  - endpoints: [blue:eth1, host:up0]
"##;

    fn model(text: &str) -> Model {
        let spec = crate::spec::load_str("tiny.yaml", text)
            .unwrap_or_else(|e| panic!("{:?}", e.report.diagnostics));
        crate::model::build(&spec, &Default::default())
            .unwrap_or_else(|d| panic!("{d:?}"))
            .model
    }

    #[test]
    fn dot_has_clusters_shapes_and_labelled_links() {
        let d = dot(&model(LAB));
        assert!(d.contains("rankdir=LR"), "{d}");
        assert!(d.contains("subgraph cluster_nodes"), "{d}");
        assert!(d.contains("subgraph cluster_host"), "{d}");
        assert!(
            d.contains(r##""bridge:host:br0" [shape=hexagon, fillcolor="#d6e8ff", label="br0\n10.0.0.1/24"];"##),
            "{d}"
        );
        assert!(
            d.contains(r##""node:red" [shape=box, style="rounded,filled", fillcolor="#fff3c4", label="red\ndefault via 10.0.0.1"];"##),
            "{d}"
        );
        // A bridge port: node end first, the port named on the bridge side.
        assert!(
            d.contains(
                r##""node:red" -- "bridge:host:br0" [label="eth0 10.0.0.2/24\nport red-eth0"];"##
            ),
            "{d}"
        );
        // A host end without a bridge ends at the host.
        assert!(d.contains(r##""host" [shape=house"##), "{d}");
        assert!(
            d.contains(r##""node:blue" -- "host" [label="eth1 10.9.0.1/30\nup0"];"##),
            "{d}"
        );
        insta::assert_snapshot!(d);
    }

    #[test]
    fn mermaid_has_the_same_content() {
        let m = mermaid(&model(LAB));
        assert!(m.starts_with("flowchart LR\n"), "{m}");
        assert!(m.contains(r##"b0{{"br0<br/>10.0.0.1/24"}}"##), "{m}");
        assert!(m.contains(r##"n1("red<br/>default via 10.0.0.1")"##), "{m}");
        assert!(
            m.contains(r##"n1 ---|"eth0 10.0.0.2/24<br/>port red-eth0"| b0"##),
            "{m}"
        );
        assert!(
            m.contains(r##"n0 ---|"eth1 10.9.0.1/30<br/>up0"| host"##),
            "{m}"
        );
        insta::assert_snapshot!(m);
    }

    #[test]
    fn missing_dot_program_says_how_to_install_it() {
        let msg = render_with_dot("graph x {}", "svg", None).expect_err("no dot");
        assert!(msg.contains("apt-get install graphviz"), "{msg}");
    }
}
