//! Taps and VXLAN devices in a drawing: each a shape of its own, tied to
//! what it is attached to (its bridge, else its node or the host), labelled
//! with what it is (owner; VNI and remotes).

use super::{Device, End};
use crate::kinds::{Kind, State};
use crate::model::IfRef;
use ipnet::IpNet;

pub(super) fn of(st: &State, end: &dyn Fn(&IfRef) -> End) -> Vec<Device> {
    let mut out = Vec::new();
    let mut push = |link: &IfRef, mut lines: Vec<String>| {
        let e = end(link);
        lines.extend(e.addrs.iter().map(IpNet::to_string));
        out.push(Device {
            at: e.at,
            iface: link.clone(),
            lines,
        });
    };
    for (id, t) in &st.tap {
        push(
            &id.link,
            vec![format!("tap {}", id.link.name), t.describe()],
        );
    }
    for (id, v) in &st.vxlan {
        let mut lines = vec![format!("vxlan {}", id.link.name), v.describe()];
        let remotes: Vec<String> = st
            .fdb
            .keys()
            .filter(|f| f.link == id.link)
            .map(|f| f.dst.to_string())
            .collect();
        if !remotes.is_empty() {
            lines.push(format!("to {}", remotes.join(", ")));
        }
        push(&id.link, lines);
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::cli::graph::{dot, mermaid};

    fn model(text: &str) -> crate::model::Model {
        let spec = crate::spec::load_str("lab.yaml", text).expect("parses");
        crate::model::build(&spec, &Default::default())
            .expect("valid")
            .model
    }

    const LAB: &str = "\
name: devs
bridges:
  br-ov: { addresses: [10.50.0.1/24] }
taps:
  vif1: { bridge: br-ov, owner: 1000 }
  vif9: {}
vxlans:
  vx42: { vni: 42, remotes: [10.1.0.2, 10.1.0.3], bridge: br-ov }
";

    #[test]
    fn taps_and_vxlans_hang_off_their_bridge() {
        let d = dot(&model(LAB));
        assert!(d.contains("\"device:host:vif1\" [shape=cds, fillcolor=\"#e2f3dc\", label=\"tap vif1\\nowner 1000\"];"), "{d}");
        assert!(
            d.contains("\"bridge:host:br-ov\" -- \"device:host:vif1\";"),
            "{d}"
        );
        assert!(
            d.contains("label=\"vxlan vx42\\nvni 42, port 4789\\nto 10.1.0.2, 10.1.0.3\""),
            "{d}"
        );
        // A tap on no bridge hangs off the host.
        assert!(d.contains("\"host\" -- \"device:host:vif9\";"), "{d}");
        assert!(d.contains("\"host\" [shape=house"), "{d}");
        let m = mermaid(&model(LAB));
        assert!(
            m.contains("d0>\"tap vif1<br/>owner 1000\"]\n  b0 --- d0"),
            "{m}"
        );
    }
}
