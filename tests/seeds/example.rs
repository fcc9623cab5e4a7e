//! example.yaml: the pings its comment promises, and the one it rules out.

use super::*;
#[test]
fn example() {
    let Some(sb) = Sandbox::new() else { return };
    let file = lab_path("example.yaml");
    apply(&sb, &file);
    // The four pings from the file's comment.
    sb.ping("red", "10.10.0.3"); // red -> blue, same bridge
    sb.ping("red", "10.10.0.1"); // red -> its gateway, the host
    sb.ping("green", "10.20.0.1"); // green -> the network's gateway
    sb.ping("blue", "10.20.0.10"); // blue -> green, over demo-net
    sb.ping("blue", "10.10.0.1");
    // blue's eth1 got the lowest free address of demo-net.
    sb.ping("green", "10.20.0.2");
    // As the comment says, red -> green would need the host to forward.
    no_ping(&sb, "red", "10.20.0.10");
    converged_then_destroyed(&sb, &file);
}
