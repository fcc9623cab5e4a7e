//! Taps and VXLAN devices on the in-memory kernel, through the pipeline.

use super::{converge, run, same};
use topo::machine::memory::MemoryKernel;

/// Two node namespaces standing in for hosts, joined by an underlay veth,
/// each with a VXLAN device on a bridge; a tap on a host bridge.
const OVERLAY: &str = "\
name: p
taps:
  vif1: { bridge: br-in, owner: 4242 }
bridges:
  br-in: {}
  br-ov1: { node: h1 }
  br-ov2: { node: h2 }
nodes:
  h1:
    interfaces: { eth0: { addresses: [10.1.0.1/24] } }
    vxlans:
      vx42: { vni: 42, local: 10.1.0.1, port: 4789, remotes: [10.1.0.2], bridge: br-ov1, dev: eth0 }
  h2:
    interfaces: { eth0: { addresses: [10.1.0.2/24] } }
    vxlans:
      vx42: { vni: 42, local: 10.1.0.2, port: 4789, remotes: [10.1.0.1], bridge: br-ov2 }
  a: { interfaces: { eth0: { addresses: [10.50.0.1/24] } } }
  b: { interfaces: { eth0: { addresses: [10.50.0.2/24] } } }
links:
  - endpoints: [h1:eth0, h2:eth0]
  - { endpoints: [a:eth0, br-ov1], mtu: 1450 }
  - { endpoints: [b:eth0, br-ov2], mtu: 1450 }
";

#[test]
fn taps_and_vxlans_converge_and_destroy_leaves_nothing() {
    let m = MemoryKernel::new();
    let empty = m.canon();
    converge(&m, OVERLAY).unwrap();
    let more = OVERLAY.replace("remotes: [10.1.0.2]", "remotes: [10.1.0.2, 10.1.0.3]");
    converge(&m, &more).unwrap();
    let owner = more.replace("owner: 4242", "owner: 4243");
    converge(&m, &owner).unwrap();
    converge(
        &m,
        &owner.replace("vni: 42, local: 10.1.0.2", "vni: 43, local: 10.1.0.2"),
    )
    .unwrap();
    run::destroy(&m, "p").unwrap();
    same(&empty, &m.canon()).unwrap();
}

#[test]
fn a_vxlan_device_goes_with_its_underlay() {
    // h1:eth0 is made anew (its veth now leads to h3): the kernel deletes
    // vx42, whose underlay it is, along with it.
    let m = MemoryKernel::new();
    converge(&m, OVERLAY).unwrap();
    let moved = OVERLAY
        .replace("[h1:eth0, h2:eth0]", "[h1:eth0, h3:eth0]")
        .replace(
            "  a: {",
            "  h3: { interfaces: { eth0: { addresses: [10.1.0.2/24] } } }\n  a: {",
        )
        .replace(
            "    interfaces: { eth0: { addresses: [10.1.0.2/24] } }\n    vxlans:",
            "    vxlans:",
        )
        .replace(
            "local: 10.1.0.2, port: 4789, remotes: [10.1.0.1], bridge: br-ov2",
            "port: 4789, remotes: [10.1.0.1], bridge: br-ov2",
        );
    converge(&m, &moved).unwrap();
}
