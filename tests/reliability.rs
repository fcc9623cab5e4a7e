//! Rollback, crash recovery and locking on the real kernel.

use crate::common;

use common::{text, Sandbox};

/// A lab of `n` nodes on one network, with host NAT and a node sysctl.
fn lab(n: usize) -> String {
    let nodes: Vec<String> = (1..=n).map(|i| format!("n{i}")).collect();
    format!(
        "name: rel\nnetworks:\n  net0:\n    subnet: 10.7.0.0/24\n    masquerade: true\n    nodes: [{}]\nnodes:\n  n1:\n    sysctls: {{ net.ipv4.ip_forward: 1 }}\nhost:\n  sysctls: {{ net.ipv4.ip_forward: 1 }}\n  routes: [ {{ to: 10.77.0.0/16, via: 10.7.0.2 }} ]\n  nat:\n    dnat: [ {{ proto: tcp, port: 8080, to: \"n2:80\" }} ]\n",
        nodes.join(", ")
    )
}

fn action_count(sb: &Sandbox, file: &str) -> usize {
    sb.plan_json(file)["actions"].as_array().unwrap().len()
}

/// Everything observable about the sandbox's network, for before/after,
/// less what the kernel changes by itself (operational state, timers).
fn snapshot(sb: &Sandbox) -> String {
    sb.sh_ok(
        "ip netns list; ip -o link show | sed -E 's/^[0-9]+: //; s/@if[0-9]+//; s/state [A-Z]+ //' | sort; \
         ip -o addr | sed -E 's/^[0-9]+: //' | sort; ip route | sed 's/ linkdown//'; nft list ruleset; sysctl -n net.ipv4.ip_forward; \
         for n in $(ip netns list | cut -d' ' -f1); do ip -n $n -o addr | sed -E 's/^[0-9]+: //' | sort; ip -n $n route; ip netns exec $n sysctl -n net.ipv4.ip_forward; done",
    )
}

fn assert_same(a: &str, b: &str, what: &str) {
    if a != b {
        let diff = similar::TextDiff::from_lines(b, a)
            .unified_diff()
            .to_string();
        panic!("{what}: the machine differs from before:\n{diff}");
    }
}

#[test]
fn a_failed_apply_rolls_back_to_where_it_started() {
    let Some(sb) = Sandbox::new() else { return };
    let file = sb.lab("lab.yaml", &lab(3));
    let total = action_count(&sb, &file);
    let before = snapshot(&sb);
    // Faults early, in the middle (links), late (routes, sysctls, nft).
    for k in [0, 1, total / 3, total / 2, total - 2, total - 1] {
        let run = sb.sh(&format!(
            "TOPO_TEST_FAULT_AT={k} {} apply {file}",
            common::topo_bin().display()
        ));
        assert_eq!(run.status.code(), Some(1), "fault at {k} fails the apply");
        let err = text(&run.stderr);
        assert!(err.contains("injected fault"), "{err}");
        assert!(err.contains("Rollback:") || k == 0, "{err}");
        assert_same(&snapshot(&sb), &before, &format!("fault at {k}"));
        // Nothing of the lab is left, not even its records.
        assert_eq!(sb.sh_ok("ls -A /run/topo"), "", "fault at {k}");
    }
}

#[test]
fn a_failed_change_rolls_back_to_the_previous_lab() {
    let Some(sb) = Sandbox::new() else { return };
    let file = sb.lab("lab.yaml", &lab(3));
    sb.topo_ok(&["apply", &file]);
    let before = snapshot(&sb);
    let changed = sb.lab(
        "changed.yaml",
        &lab(3)
            .replace("n1, n2, n3", "n2, n3, n4")
            .replace("port: 8080", "port: 8081")
            .replace("10.77.0.0/16", "10.78.0.0/16"),
    );
    let total = action_count(&sb, &changed);
    assert!(total > 5);
    for k in [1, total / 2, total - 1] {
        let run = sb.sh(&format!(
            "TOPO_TEST_FAULT_AT={k} {} apply {changed}",
            common::topo_bin().display()
        ));
        assert_eq!(run.status.code(), Some(1));
        assert_eq!(
            action_count(&sb, &file),
            0,
            "fault at {k}: the previous lab is intact\n{}",
            text(&run.stderr)
        );
        // Node n1 (deleted by the change) comes back empty if the fault came
        // after its deletion; the report says so, and the next apply refills it.
        if text(&run.stderr).contains("NOT undone") {
            assert!(text(&run.stderr).contains("re-create netns n1"));
            sb.topo_ok(&["apply", &file]);
        }
        assert_same(&snapshot(&sb), &before, &format!("fault at {k}"));
    }
    sb.topo_ok(&["destroy", &file]);
    assert_eq!(sb.residue(), "");
}

#[test]
fn no_rollback_keeps_the_partial_state_and_the_next_apply_converges() {
    let Some(sb) = Sandbox::new() else { return };
    let file = sb.lab("lab.yaml", &lab(3));
    let total = action_count(&sb, &file);
    let run = sb.sh(&format!(
        "TOPO_TEST_FAULT_AT={} {} apply --no-rollback {file}",
        total / 2,
        common::topo_bin().display()
    ));
    assert_eq!(run.status.code(), Some(1));
    assert!(text(&run.stderr).contains("not attempted"));
    assert_eq!(
        action_count(&sb, &file),
        total - total / 2,
        "the done half stays"
    );
    sb.topo_ok(&["apply", &file]);
    assert_eq!(action_count(&sb, &file), 0);
    sb.topo_ok(&["destroy", &file]);
    assert_eq!(sb.residue(), "");
}

/// SIGKILL after every action of a 20-node lab in turn: the next apply
/// converges and destroy leaves nothing.
#[test]
fn killed_apply_after_any_action_converges_next_time() {
    let Some(sb) = Sandbox::new() else { return };
    let file = sb.lab("lab.yaml", &lab(20));
    let total = action_count(&sb, &file);
    let topo = common::topo_bin();
    for k in 0..total {
        let run = sb.sh(&format!(
            "TOPO_TEST_KILL_AFTER={k} {} apply {file}",
            topo.display()
        ));
        // sh reports a child killed by SIGKILL as 128 + 9.
        assert_eq!(run.status.code(), Some(137), "killed at {k}");
        let again = sb.sh(&format!("{} apply {file}", topo.display()));
        assert!(
            again.status.success(),
            "after a kill at {k}, apply converges:\n{}{}",
            text(&again.stdout),
            text(&again.stderr)
        );
        assert_eq!(action_count(&sb, &file), 0, "kill at {k}");
        let kill_destroy = sb.sh(&format!(
            "TOPO_TEST_KILL_AFTER={} {} destroy {file}",
            k % 7,
            topo.display()
        ));
        let _ = kill_destroy;
        sb.topo_ok(&["destroy", &file]);
        assert_eq!(sb.residue(), "", "after a kill at {k}");
    }
    eprintln!("walked {total} kill points");
}

#[test]
fn a_second_run_on_the_same_lab_waits_for_the_first() {
    let Some(sb) = Sandbox::new() else { return };
    let file = sb.lab("lab.yaml", &lab(2));
    // Hold the lab's lock (an abstract socket) for a moment, as a running
    // topo would.
    let out = sb.sh(&format!(
        "(timeout 1.5 socat ABSTRACT-LISTEN:topo/lab/rel,fork /dev/null &) ; sleep 0.3; start=$(date +%s%N); {} plan {file} >/dev/null; echo $(( ($(date +%s%N) - start) / 1000000 ))",
        common::topo_bin().display()
    ));
    assert!(out.status.success());
    let waited_ms: u64 = text(&out.stdout).trim().parse().unwrap();
    assert!(
        waited_ms >= 900,
        "plan waited for the lock ({waited_ms} ms)"
    );
    assert!(text(&out.stderr).contains("another topo run holds lab `rel`; waiting"));
    // Another lab is not held up.
    let other = sb.lab("other.yaml", "name: other\nnodes: { x: {} }\n");
    let quick = sb.sh_ok(&format!(
        "(timeout 1.5 socat ABSTRACT-LISTEN:topo/lab/rel,fork /dev/null &); sleep 0.3; start=$(date +%s%N); {} plan {other} >/dev/null; echo $(( ($(date +%s%N) - start) / 1000000 ))",
        common::topo_bin().display()
    ));
    assert!(
        quick.trim().parse::<u64>().unwrap() < 900,
        "another lab does not wait"
    );
}

#[test]
fn quiet_waits_for_the_lock_without_a_word() {
    let Some(sb) = Sandbox::new() else { return };
    let file = sb.lab("lab.yaml", &lab(2));
    for verb in ["plan", "apply", "show", "destroy"] {
        let out = sb.sh(&format!(
            "(timeout 0.8 socat ABSTRACT-LISTEN:topo/lab/rel,fork /dev/null &) ; sleep 0.3; {} -q {verb} {file} >/dev/null",
            common::topo_bin().display()
        ));
        assert!(out.status.success(), "{verb}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stderr),
            "",
            "-q {verb} said something while it waited"
        );
    }
    assert_eq!(sb.residue(), "");
}

/// SIGKILL at moments spread over a whole apply (and destroy) of a 20-node
/// lab, mid-action included: the next run converges and destroy leaves
/// nothing. Delays are fixed fractions of a measured run, so a failure
/// reproduces.
#[test]
fn killed_at_any_moment_the_next_run_converges() {
    let Some(sb) = Sandbox::new() else { return };
    let file = sb.lab("lab.yaml", &lab(20));
    let topo = common::topo_bin();
    let timed = |verb: &str| -> f64 {
        let out = sb.sh_ok(&format!(
            "s=$(date +%s%N); {} {verb} {file} >/dev/null; echo $(( ($(date +%s%N) - s) / 1000 ))",
            topo.display()
        ));
        out.trim().parse::<f64>().unwrap() / 1e6
    };
    let apply_s = timed("apply");
    let destroy_s = timed("destroy");
    let steps = 24;
    for i in 0..steps {
        let frac = (i as f64 + 0.5) / steps as f64;
        let kill = |verb: &str, secs: f64| {
            sb.sh(&format!("{} {verb} {file} >/dev/null 2>&1 & p=$!; sleep {secs:.4}; kill -9 $p 2>/dev/null; wait $p; true", topo.display()));
        };
        kill("apply", apply_s * frac);
        let again = sb.topo(&["apply", &file]);
        assert!(
            again.status.success(),
            "apply after a kill at {:.0}% of apply:\n{}{}",
            frac * 100.0,
            text(&again.stdout),
            text(&again.stderr)
        );
        assert_eq!(
            action_count(&sb, &file),
            0,
            "kill at {:.0}% of apply",
            frac * 100.0
        );
        kill("destroy", destroy_s * frac);
        let gone = sb.topo(&["destroy", &file]);
        assert!(
            gone.status.success(),
            "destroy after a kill at {:.0}% of destroy:\n{}",
            frac * 100.0,
            text(&gone.stderr)
        );
        assert_eq!(sb.residue(), "", "kill at {:.0}%", frac * 100.0);
    }
    eprintln!("killed {steps} applies and {steps} destroys at spread moments (apply {apply_s:.3} s, destroy {destroy_s:.3} s)");
}

/// A step the kernel "accepted" without effect: the re-read after apply
/// catches it and names the object.
#[test]
fn verify_after_apply_names_what_the_kernel_did_not_do() {
    let Some(sb) = Sandbox::new() else { return };
    let file = sb.lab("lab.yaml", &lab(3));
    let plan = sb.plan_json(&file);
    let actions = plan["actions"].as_array().unwrap();
    let k = actions
        .iter()
        .position(|a| a["kind"] == "sysctl" && a["namespace"] == "n1")
        .expect("a node sysctl action");
    let what = actions[k]["address"].as_str().unwrap().to_string();
    let run = sb.sh(&format!(
        "TOPO_TEST_SKIP_AT={k} {} apply {file}",
        common::topo_bin().display()
    ));
    assert_eq!(run.status.code(), Some(1));
    let err = text(&run.stderr);
    assert!(
        err.contains("after apply the kernel still differs from the file"),
        "{err}"
    );
    assert!(err.contains(&what), "{what} is named: {err}");
    // A failed verify rolls back like any other failure: the lab is gone
    // again, as it was before this first apply.
    assert!(err.contains("Rollback:"), "{err}");
    assert_eq!(sb.residue(), "", "rolled back to nothing\n{err}");
    sb.topo_ok(&["apply", &file]);
    // The same on a change: the lab is back as it was.
    let before = snapshot(&sb);
    let changed = sb.lab("lab.yaml", &lab(4));
    let plan = sb.plan_json(&changed);
    let k = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .position(|a| a["kind"] == "address")
        .expect("an address action");
    let run = sb.sh(&format!(
        "TOPO_TEST_SKIP_AT={k} {} apply {changed}",
        common::topo_bin().display()
    ));
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    assert_same(&snapshot(&sb), &before, "after a failed verify of a change");
    sb.topo_ok(&["destroy", &file]);
    assert_eq!(sb.residue(), "");
}

/// The same signal twice at once, as `timeout` sends it (to topo, then to
/// its whole process group), is one request to stop: the run still rolls
/// back and says so, where a second signal later would end it at once.
/// Both come from topo itself at a known step, so the second is sure to
/// find the first already taken.
#[test]
fn the_same_signal_twice_at_once_is_one_request_to_stop() {
    let Some(sb) = Sandbox::new() else { return };
    let file = sb.lab("lab.yaml", &lab(40));
    let before = snapshot(&sb);
    let err = sb.dir.path().join("err");
    let run = sb.sh(&format!(
        "TOPO_TEST_SIGNAL_AT=30 TOPO_TEST_SIGNALS=2 {} apply {file} >/dev/null 2>{err}; echo \"exit $?\"; cat {err}",
        common::topo_bin().display(),
        err = err.display()
    ));
    let out = text(&run.stdout);
    assert!(out.contains("exit 130"), "{out}");
    assert!(out.contains("stopped by signal"), "{out}");
    assert!(out.contains("Rollback:"), "{out}");
    assert_same(&snapshot(&sb), &before, "after SIGINT twice");
    assert_eq!(sb.residue(), "");
}

/// Starts `apply FILE` in the background, sends it SIG once the shell
/// test `until` holds (at most 4 s), and returns "exit N" and its stderr.
fn signalled(sb: &Sandbox, file: &str, until: &str, sig: &str) -> String {
    let err = sb.dir.path().join("err");
    let run = sb.sh(&format!(
        "{} apply {file} >/dev/null 2>{err} & pid=$!; \
         for i in $(seq 400); do {until} && break; sleep 0.01; done; \
         kill -{sig} $pid; wait $pid; echo \"exit $?\"; cat {err}",
        common::topo_bin().display(),
        err = err.display()
    ));
    text(&run.stdout)
}

/// SIGINT or SIGTERM in the middle of an apply: the step in flight is
/// finished, the run rolled back, the summary printed, and the exit code
/// is 128 + the signal; the next apply converges.
#[test]
fn a_signal_stops_apply_with_rollback_and_a_summary() {
    let Some(sb) = Sandbox::new() else { return };
    let file = sb.lab("lab.yaml", &lab(40));
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        let before = snapshot(&sb);
        // Started in the background; the signal comes once some of the
        // lab exists, found by its namespaces appearing.
        let out = signalled(&sb, &file, "[ $(ip netns list | wc -l) -ge 5 ]", sig);
        assert!(out.contains(&format!("exit {code}")), "SIG{sig}: {out}");
        assert!(out.contains("stopped by signal"), "{out}");
        assert!(out.contains("Rollback:"), "{out}");
        assert!(out.contains("not attempted"), "{out}");
        assert_same(&snapshot(&sb), &before, &format!("after SIG{sig}"));
    }
    sb.topo_ok(&["apply", &file]);
    assert_eq!(action_count(&sb, &file), 0);
    // Destroy keeps what it did (undoing a destroy would rebuild what the
    // user wants gone), says what is left, and the next destroy ends it.
    let err = sb.dir.path().join("err");
    // The signal comes at a known step: a destroy is now too quick to
    // catch from outside reliably (namespaces go in about a millisecond).
    let run = sb.sh(&format!(
        "TOPO_TEST_SIGNAL_AT=10 {} destroy {file} >/dev/null 2>{err}; echo \"exit $?\"; cat {err}",
        common::topo_bin().display(),
        err = err.display()
    ));
    let out = text(&run.stdout);
    assert!(out.contains("exit 130"), "{out}");
    assert!(
        out.contains("done") && out.contains("not attempted"),
        "{out}"
    );
    assert!(!out.contains("Rollback:"), "{out}");
    sb.topo_ok(&["destroy", &file]);
    assert_eq!(sb.residue(), "");
}

/// A signal while apply waits for the lab to carry traffic (after its
/// last step: here a spanning-tree bridge's ports, which take seconds to
/// forward) stops the run too: the wait ends, the run rolls back and
/// exits 130; it used to finish and exit 0.
#[test]
fn a_signal_during_the_wait_after_the_last_step_rolls_back() {
    let Some(sb) = Sandbox::new() else { return };
    let file = sb.lab(
        "stp.yaml",
        "name: stpl\nbridges:\n  bs: { stp: true, forward_delay: 4, addresses: [10.93.0.1/24] }\nnodes:\n  n1: { interfaces: { eth0: { addresses: [10.93.0.2/24] } } }\nlinks:\n  - endpoints: [n1:eth0, bs]\n",
    );
    let before = snapshot(&sb);
    // Signalled once n1 has its address (the last step) and the port does
    // not forward yet: apply waits for it.
    let until = "ip -n n1 -br addr show eth0 2>/dev/null | grep -q 10.93.0.2 \
                 && bridge link show | grep -q 'state listening\\|state learning'";
    let out = signalled(&sb, &file, until, "INT");
    assert!(out.contains("exit 130"), "{out}");
    assert!(out.contains("stopped by signal"), "{out}");
    assert!(out.contains("Rollback:"), "{out}");
    assert_same(&snapshot(&sb), &before, "after a signal in the wait");
    assert_eq!(sb.residue(), "");
}
