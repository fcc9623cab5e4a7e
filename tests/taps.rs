//! Tap devices in a sandbox: made persistent on their bridge with their
//! owner and group, opened by a process running as that owner (a small
//! Python helper doing what QEMU does: open /dev/net/tun, TUNSETIFF),
//! refused to another user, not waited for by apply (a tap has no carrier
//! until a reader opens it), drift planned and repaired, destroyed.

use crate::common;

use common::{actions, Sandbox};
use std::time::{Duration, Instant};

const LAB: &str = "\
name: vmlab
bridges:
  br-in: { addresses: [10.7.0.1/24] }
  br-r1: { node: r1 }
taps:
  vif1: { bridge: br-in, owner: 4242, group: users, mtu: 1500 }
nodes:
  r1:
    taps:
      vif2: { bridge: br-r1, owner: 4242 }
";

/// Opens tap NAME as QEMU does (IFF_TAP | IFF_NO_PI, an existing device),
/// then, still holding it, prints `ip -br link show NAME`; or prints
/// `refused: ERRNO` when the kernel says no.
const OPEN_TAP: &str = r#"
import fcntl, os, struct, subprocess, sys
name = sys.argv[1]
try:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH22x", name.encode(), 0x0002 | 0x1000))
except OSError as e:
    print("refused:", e.errno)
    sys.exit(0)
print("opened")
sys.stdout.flush()
subprocess.run(["ip", "-br", "link", "show", name])
"#;

/// As root: attaches to tap NAME and gives it owner UID, as a person with
/// `ip tuntap` and a changed mind might (iproute2 refuses an existing tap).
const CHOWN_TAP: &str = r#"
import fcntl, os, struct, sys
name, uid = sys.argv[1], int(sys.argv[2])
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH22x", name.encode(), 0x0002 | 0x1000))
fcntl.ioctl(fd, 0x400454cc, uid)
"#;

/// /dev/net/tun usable by every user inside the sandbox only (this machine
/// has it 0600; the usual default is 0666): a node of the same device on a
/// tmpfs of the sandbox's own mount namespace, bound over it.
fn open_tun_to_all(sb: &Sandbox) {
    let dir = sb.dir.path().join("dev");
    std::fs::create_dir_all(&dir).expect("dev dir");
    let d = dir.display();
    sb.sh_ok(&format!(
        "mount -t tmpfs tmpfs {d} && mknod {d}/tun c 10 200 && chmod 0666 {d}/tun && mount --bind {d}/tun /dev/net/tun"
    ));
}

/// Runs the helper as `uid:gid` (no supplementary groups), in namespace
/// `ns` (`host` or a node).
fn as_user(sb: &Sandbox, ns: &str, uid: u32, gid: u32, tap: &str) -> String {
    let script = sb.dir.path().join("open_tap.py");
    std::fs::write(&script, OPEN_TAP).expect("write helper");
    let enter = if ns == "host" {
        String::new()
    } else {
        format!("ip netns exec {ns} ")
    };
    sb.sh_ok(&format!(
        "{enter}setpriv --reuid={uid} --regid={gid} --clear-groups /usr/bin/python3 {} {tap}",
        script.display()
    ))
}

/// The tap's link info as `ip -d -j` shows it.
fn tap_info(sb: &Sandbox, ns: &str, tap: &str) -> serde_json::Value {
    let out = sb.sh_ok(&format!("ip -n {ns} -d -j link show {tap}"));
    let v: serde_json::Value = serde_json::from_str(&out).expect("ip json");
    v[0].clone()
}

fn host_tap_info(sb: &Sandbox, tap: &str) -> serde_json::Value {
    let out = sb.sh_ok(&format!("ip -d -j link show {tap}"));
    let v: serde_json::Value = serde_json::from_str(&out).expect("ip json");
    v[0].clone()
}

#[test]
fn a_tap_on_its_bridge_opens_as_its_owner_and_no_one_else() {
    let Some(sb) = Sandbox::new() else { return };
    open_tun_to_all(&sb);
    let lab = sb.lab("vmlab.yaml", LAB);
    let t = Instant::now();
    sb.topo_ok(&["apply", &lab]);
    // A tap has no carrier until a reader opens it: apply does not wait
    // for it (its wait gives up after 5 s).
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "apply waited for taps: {:?}",
        t.elapsed()
    );
    assert!(sb.topo_ok(&["plan", &lab]).contains("No changes"));

    let vif1 = host_tap_info(&sb, "vif1");
    assert_eq!(vif1["master"], "br-in", "{vif1:#}");
    assert_eq!(vif1["mtu"], 1500);
    assert_eq!(vif1["ifalias"], "topo:vmlab");
    let data = &vif1["linkinfo"]["info_data"];
    assert_eq!(vif1["linkinfo"]["info_kind"], "tun");
    assert_eq!(data["type"], "tap");
    assert_eq!(data["persist"], true);
    assert_eq!(data["user"], 4242, "{data:#}");
    assert!(data["group"] == "users" || data["group"] == 100, "{data:#}");
    assert!(vif1["flags"]
        .as_array()
        .unwrap()
        .contains(&"NO-CARRIER".into()));
    let vif2 = tap_info(&sb, "r1", "vif2");
    assert_eq!(vif2["master"], "br-r1", "{vif2:#}");
    assert_eq!(vif2["linkinfo"]["info_data"]["user"], 4242);

    // The owner, in the tap's group, opens it; while it holds it, the tap
    // has carrier.
    let out = as_user(&sb, "host", 4242, 100, "vif1");
    assert!(out.starts_with("opened\n"), "{out}");
    assert!(out.contains(" UP "), "an open tap has carrier: {out}");
    let out = as_user(&sb, "r1", 4242, 4242, "vif2");
    assert!(out.starts_with("opened\n"), "{out}");
    // Another user, or the owner outside the tap's group, may not.
    assert_eq!(as_user(&sb, "host", 4243, 100, "vif1"), "refused: 1\n");
    assert_eq!(as_user(&sb, "host", 4242, 4242, "vif1"), "refused: 1\n");
    // Closed again, it stays (persistent), and nothing drifted.
    assert!(sb.topo_ok(&["plan", &lab]).contains("No changes"));

    let show = sb.topo_ok(&["show", &lab]);
    assert!(
        show.lines().any(|l| l.starts_with("host       vif1")
            && l.contains("tap")
            && l.contains("owner 4242, group 100")
            && l.ends_with("ok")),
        "{show}"
    );

    sb.topo_ok(&["destroy", &lab]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn tap_drift_and_edits_are_planned_and_repaired() {
    let Some(sb) = Sandbox::new() else { return };
    let lab = sb.lab("vmlab.yaml", LAB);
    sb.topo_ok(&["apply", &lab]);

    // Deleted by hand: made again, on its bridge.
    sb.sh_ok("ip link del vif1");
    let plan = sb.plan_json(&lab);
    assert_eq!(
        actions(&plan),
        ["create tap host:vif1", "create link host:vif1"]
    );
    assert!(plan["actions"][0]["drift"].as_bool().unwrap());
    sb.topo_ok(&["apply", &lab]);
    assert_eq!(host_tap_info(&sb, "vif1")["master"], "br-in");

    // Another owner by hand: set back in place.
    let chown = sb.dir.path().join("chown_tap.py");
    std::fs::write(&chown, CHOWN_TAP).expect("write helper");
    sb.sh_ok(&format!("/usr/bin/python3 {} vif1 4243", chown.display()));
    let plan = sb.plan_json(&lab);
    assert_eq!(actions(&plan), ["update tap host:vif1"]);
    assert_eq!(
        plan["actions"][0]["changes"],
        serde_json::json!([{"attr": "owner", "before": "4243", "after": "4242"}])
    );
    sb.topo_ok(&["apply", &lab]);
    assert_eq!(
        host_tap_info(&sb, "vif1")["linkinfo"]["info_data"]["user"],
        4242
    );
    assert!(sb.topo_ok(&["plan", &lab]).contains("No changes"));

    // A new owner in the file changes in place; no owner at all needs a
    // new tap (the kernel never unsets one).
    let edited = sb.lab(
        "vmlab.yaml",
        &LAB.replace("owner: 4242, group", "owner: 4244, group"),
    );
    assert_eq!(actions(&sb.plan_json(&edited)), ["update tap host:vif1"]);
    sb.topo_ok(&["apply", &edited]);
    let unowned = sb.lab("vmlab.yaml", &LAB.replace("owner: 4242, group", "group"));
    let plan = sb.topo_ok(&["plan", &unowned]);
    assert!(
        plan.contains(
            "-/+ tap host:vif1  (group 100)  [replace: a tap's owner cannot be unset in place]"
        ),
        "{plan}"
    );
    sb.topo_ok(&["apply", &unowned]);
    let data = host_tap_info(&sb, "vif1")["linkinfo"]["info_data"].clone();
    assert!(data.get("user").is_none(), "{data:#}");
    assert!(sb.topo_ok(&["plan", &unowned]).contains("No changes"));

    // Removed from the file: deleted, the bridge stays.
    let without = sb.lab(
        "vmlab.yaml",
        &LAB.replace(
            "taps:\n  vif1: { bridge: br-in, owner: 4242, group: users, mtu: 1500 }\n",
            "",
        ),
    );
    assert_eq!(actions(&sb.plan_json(&without)), ["delete tap host:vif1"]);
    sb.topo_ok(&["apply", &without]);
    assert!(!sb.sh("ip link show vif1").status.success());

    sb.topo_ok(&["destroy", &without]);
    assert_eq!(sb.residue(), "");
}
