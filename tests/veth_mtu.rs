//! A veth whose two ends would get different MTUs is a validate error, at
//! the setting that disagrees, with the other end's value and line. Packets
//! larger than the smaller MTU would be dropped at the receiving end.

use topo::diag::{Diagnostic, Level};
use topo::model::{build, Validated};
use topo::spec::load_str;

fn built(text: &str) -> Result<Validated, Vec<Diagnostic>> {
    let spec = load_str("lab.yaml", text).unwrap_or_else(|e| panic!("{}", e.report.render(false)));
    build(&spec, &Default::default())
}

fn errors(text: &str) -> Vec<Diagnostic> {
    built(text)
        .expect_err("expected validation errors")
        .into_iter()
        .filter(|d| d.level == Level::Error)
        .collect()
}

fn the_error(text: &str) -> Diagnostic {
    let mut ds = errors(text);
    assert_eq!(ds.len(), 1, "{ds:#?}");
    ds.remove(0)
}

fn line_col(text: &str, needle: &str) -> (u32, u32) {
    let (i, l) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(needle))
        .unwrap_or_else(|| panic!("no `{needle}`"));
    (i as u32 + 1, l.find(needle).unwrap() as u32 + 1)
}

fn at(d: &Diagnostic) -> (u32, u32) {
    (d.pos.line, d.pos.col)
}

#[test]
fn two_interface_settings_that_differ() {
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { mtu: 9000 }\n  blue:\n    interfaces:\n      eth0: { mtu: 1500 }\nlinks:\n  - endpoints: [red:eth0, blue:eth0]\n";
    let d = the_error(text);
    assert_eq!(
        d.message,
        "veth end blue:eth0 has mtu 1500, but its other end red:eth0 has mtu 9000 from its `mtu:` at line 5"
    );
    assert_eq!(at(&d), line_col(text, "1500"));
    assert!(d.help.as_deref().unwrap().contains("same MTU"), "{d:?}");
}

#[test]
fn an_interface_setting_that_differs_from_the_link() {
    // The link says 1400 for both ends; host:v-red's own setting says 9000.
    let text = "name: lab\nnodes:\n  red: {}\nhost:\n  interfaces:\n    v-red: { mtu: 9000 }\nlinks:\n  - endpoints: [red:eth0, host:v-red]\n    mtu: 1400\n";
    let d = the_error(text);
    assert_eq!(
        d.message,
        "veth end host:v-red has mtu 9000, but its other end red:eth0 has mtu 1400 from the link's `mtu:` at line 9"
    );
    assert_eq!(at(&d), line_col(text, "9000"));
}

#[test]
fn a_bridge_port_end_counts_too() {
    let text = "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { mtu: 1400 }\nbridges:\n  br0: {}\nhost:\n  interfaces:\n    red-eth0: { mtu: 1500 }\nlinks:\n  - endpoints: [red:eth0, br0]\n";
    let d = the_error(text);
    assert!(
        d.message.starts_with("veth end host:red-eth0 has mtu 1500"),
        "{d:?}"
    );
}

#[test]
fn every_mismatch_is_reported() {
    let text = "name: lab\nnodes:\n  a:\n    interfaces:\n      e1: { mtu: 1400 }\n      e2: { mtu: 1300 }\nlinks:\n  - endpoints: [a:e1, host:v1]\n    mtu: 1500\n  - endpoints: [a:e2, host:v2]\n    mtu: 1500\n";
    let ds = errors(text);
    assert_eq!(ds.len(), 2, "{ds:#?}");
    assert_eq!(at(&ds[0]), line_col(text, "1400"));
    assert_eq!(at(&ds[1]), line_col(text, "1300"));
}

#[test]
fn agreeing_or_unset_ends_are_fine() {
    for text in [
        // Only the link's mtu: both ends.
        "name: lab\nnodes:\n  red: {}\nlinks:\n  - endpoints: [red:eth0, host:v-red]\n    mtu: 9000\n",
        // Both ends override it alike.
        "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { mtu: 9000 }\nhost:\n  interfaces:\n    v-red: { mtu: 9000 }\nlinks:\n  - endpoints: [red:eth0, host:v-red]\n    mtu: 1500\n",
        // One end set, the other left to the kernel: not compared.
        "name: lab\nnodes:\n  red:\n    interfaces:\n      eth0: { mtu: 1400 }\nlinks:\n  - endpoints: [red:eth0, host:v-red]\n",
        // A network member's interface, the bridge port left alone.
        "name: lab\nnodes:\n  c1: { interfaces: { eth0: { mtu: 9000 } } }\nnetworks:\n  net: { subnet: 10.1.0.0/24, nodes: [c1] }\n",
    ] {
        if let Err(ds) = built(text) {
            panic!("{text}\n{ds:#?}");
        }
    }
}
