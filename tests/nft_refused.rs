//! nft refusing a transaction: apply writes the lab's table while it goes
//! on with other steps, so the refusal comes back later; it must still
//! fail the apply and roll back, from nothing and from a running lab.

use crate::common;

use common::{text, Sandbox};

const LAB: &str = r#"
name: refused
nodes:
  red:
    interfaces: { eth0: { addresses: [192.168.16.1/24] } }
    routes: [ { to: default, via: 192.168.16.5 } ]
bridges:
  v-net-0: { addresses: [192.168.16.5/24] }
links:
  - endpoints: [red:eth0, v-net-0]
host:
  sysctls: { net.ipv4.ip_forward: 1 }
  nat:
    masquerade: [ { source: 192.168.16.0/24, out: uplink0 } ]
"#;

/// An `nft` that refuses the first transaction (`-f`) after `armed` is
/// made, and is the real one otherwise.
fn refusing_nft(sb: &Sandbox) -> (String, String) {
    let script = sb.lab("nft", "");
    let armed = format!("{script}.armed");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \" $* \" in *\" -f \"*)\n  if [ -e {armed} ]; then rm {armed}; cat >/dev/null; echo 'Error: refused by the test' >&2; exit 1; fi;;\nesac\nexec nft \"$@\"\n"
        ),
    )
    .unwrap();
    sb.sh_ok(&format!("chmod +x {script}"));
    (script, armed)
}

fn apply_refused(sb: &Sandbox, nft: &(String, String), lab: &str) -> String {
    std::fs::write(&nft.1, "").unwrap();
    let run = sb.sh(&format!(
        "TOPO_NFT={} {} apply {lab}",
        nft.0,
        common::topo_bin().display()
    ));
    let err = text(&run.stderr);
    assert_eq!(
        run.status.code(),
        Some(1),
        "a refused transaction fails apply:\n{err}"
    );
    assert!(
        err.contains("refused by the test"),
        "nft's words are shown:\n{err}"
    );
    assert!(err.contains("Rollback:"), "{err}");
    assert!(!std::path::Path::new(&nft.1).exists(), "nft was asked");
    err
}

#[test]
fn a_refused_transaction_fails_apply_and_rolls_back() {
    let Some(sb) = Sandbox::new() else { return };
    sb.outside();
    let nft = refusing_nft(&sb);
    let lab = sb.lab("lab.yaml", LAB);

    // From nothing: nothing of the lab is left, not even its records.
    apply_refused(&sb, &nft, &lab);
    assert_eq!(
        sb.sh_ok("ip netns list | grep -v ^out; nft list tables; ls -A /run/topo"),
        ""
    );

    // From a running lab: an edited rule refused leaves the lab as it was.
    sb.topo_ok(&["apply", &lab]);
    let before = sb.sh_ok("nft list table inet topo-refused");
    let edited = sb.lab(
        "edited.yaml",
        &LAB.replace("192.168.16.0/24", "192.168.0.0/16"),
    );
    apply_refused(&sb, &nft, &edited);
    assert_eq!(sb.sh_ok("nft list table inet topo-refused"), before);
    let plan = sb.sh(&format!(
        "{} plan --detailed-exitcode {lab}",
        common::topo_bin().display()
    ));
    assert_eq!(
        plan.status.code(),
        Some(0),
        "the lab is as it was:\n{}",
        text(&plan.stdout)
    );
    sb.ping("red", "10.99.0.2");

    sb.topo_ok(&["destroy", &lab]);
    sb.drop_outside();
    assert_eq!(sb.residue(), "");
}
