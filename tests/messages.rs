//! What the user reads when something is wrong: messages in the lab's
//! terms, never Rust's (no debug structs, no type names, no parser APIs).
//! Parser messages of bad files are in tests/corpus/; these need a kernel
//! or look at one message closely.

use crate::common;

use common::{text, Sandbox};

const LAB: &str = r#"
name: msgs
nodes:
  red:
    interfaces:
      eth0: { addresses: [10.7.0.1/24] }
links:
  - endpoints: [red:eth0, host:red-eth0]
"#;

/// Words that give away a debug struct or a Rust type in a message.
fn rust_words(s: &str) -> Vec<&'static str> {
    [
        "Some(", "None", "Link {", "Mac(", "Res::", "Id::", "{ up:", "untagged", "from_str",
    ]
    .into_iter()
    .filter(|w| s.contains(w))
    .collect()
}

#[test]
fn a_stale_saved_plan_names_what_changed_in_words() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("lab.yaml", LAB);
    let saved = format!("{}/plan.json", sb.dir.path().display());
    // Planned against nothing; then the lab is applied under the plan.
    sb.topo_ok(&["plan", "-o", &saved, &lab]);
    sb.topo_ok(&["apply", &lab]);
    let out = sb.topo(&["apply", &saved]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("the saved plan is stale"), "{err}");
    assert!(
        err.contains("  - link red:eth0: planned as absent, now present (up, mtu 1500, mac "),
        "{err}"
    );
    assert!(
        err.contains("  - netns red: planned as absent, now present\n"),
        "{err}"
    );
    assert!(
        rust_words(&err).is_empty(),
        "{:?} in:\n{err}",
        rust_words(&err)
    );

    // Planned against the live lab; then changed by hand.
    let edited = sb.lab(
        "lab.yaml",
        &LAB.replace("10.7.0.1/24] }", "10.7.0.1/24], mtu: 1400 }"),
    );
    sb.topo_ok(&["plan", "-o", &saved, &edited]);
    sb.sh_ok("ip -n red link set eth0 down mtu 1300");
    let err = text(&sb.topo(&["apply", &saved]).stderr);
    assert!(
        err.contains("  - link red:eth0: changed since the plan: up true → false, mtu 1500 → 1300"),
        "{err}"
    );
    assert!(
        rust_words(&err).is_empty(),
        "{:?} in:\n{err}",
        rust_words(&err)
    );
    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(sb.residue(), "");
}
