//! Four hosts: everywhere or nowhere, one session per host per run, and
//! the version check in that session.

use super::*;

/// Four hosts, a network on each. Every host's topo is a wrapper that
/// notes each run of it (one a remote session) in `calls-hN`; host 3's
/// injects a fault into apply while `fault` exists; host 4's is another
/// version while `version` exists (saying so first, as this topo does
/// with `--say-version`, and keeping whatever it is sent in `sent-h4`),
/// or a topo from before `--say-version` while `old` exists.
fn four_hosts(sb: &Sandbox, extra: bool) -> String {
    let bin = topo_bin();
    let dir = sb.dir.path().display().to_string();
    let wrap = |i: usize, body: String| {
        let p = sb.dir.path().join(format!("topo{i}"));
        let script = format!(
            "#!/bin/sh\necho \"$*\" >> {dir}/calls-h{i}\n{body}exec {} \"$@\"\n",
            bin.display()
        );
        std::fs::write(&p, script).unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&p)
            .status()
            .unwrap();
        p.display().to_string()
    };
    let claims = |file: &str, version: &str, greets: &str| {
        format!(
            "if [ -e {dir}/{file} ]; then\n  case \" $* \" in *\" --say-version \"*) {greets};; esac\n  [ \"$1\" = --version ] && {{ echo 'topo {version}'; exit 0; }}\nfi\n"
        )
    };
    let h4 = claims(
        "version",
        "0.0.1-other",
        &format!("echo 'topo 0.0.1-other'; cat > {dir}/sent-h4; exit 1"),
    ) + &claims(
        "old",
        "0.0.1-old",
        "echo \"error: unexpected argument '--say-version' found\" >&2; exit 1",
    );
    let mut lab = String::from("name: mh4\nhosts:\n");
    for i in 1..=4 {
        let body = match i {
            3 => format!("[ -e {dir}/fault ] && export TOPO_TEST_FAULT_AT=1\n"),
            4 => h4.clone(),
            _ => String::new(),
        };
        let topo = wrap(i, body);
        lab += &format!("  h{i}: {{ address: 192.168.0.{i}, ssh: h{i}, topo: {topo} }}\n");
    }
    lab += "networks:\n";
    for i in 1..=4 {
        let y = if extra {
            format!(", y{i}")
        } else {
            String::new()
        };
        lab += &format!("  n{i}: {{ host: h{i}, subnet: 12.0.{i}.0/24, nodes: [x{i}{y}] }}\n");
    }
    lab
}

/// The remote sessions each of the four hosts ran since the last call
/// (the words its topo was run with, one line each).
fn sessions(sb: &Sandbox) -> Vec<Vec<String>> {
    (1..=4)
        .map(|i| {
            let f = sb.dir.path().join(format!("calls-h{i}"));
            let said = std::fs::read_to_string(&f).unwrap_or_default();
            let _ = std::fs::remove_file(&f);
            said.lines().map(String::from).collect()
        })
        .collect()
}

/// One session on every host, its topo run as `--say-version VERB - --host hN …`.
fn one_session_each(sb: &Sandbox, verb: &str) {
    for (i, s) in sessions(sb).iter().enumerate() {
        let h = i + 1;
        let expect = format!("--say-version {verb} - --host h{h} ");
        assert!(
            s.len() == 1 && s[0].starts_with(&expect),
            "h{h}: one session, `{expect}…`: {s:?}"
        );
    }
}

/// Namespaces on each of the four hosts.
fn namespaces(sb: &Sandbox, hosts: &Hosts) -> Vec<String> {
    (0..4)
        .map(|i| hosts.sh_ok(sb, i, "ip netns list | cut -d' ' -f1 | sort | tr '\\n' ' '"))
        .collect()
}

#[test]
fn four_hosts_are_applied_everywhere_or_nowhere() {
    let Some(sb) = Sandbox::new() else { return };
    let hosts = sb.hosts(4);
    let base = sb.lab("base.yaml", &four_hosts(&sb, false));
    let edit = sb.lab("edit.yaml", &four_hosts(&sb, true));
    let before: Vec<usize> = (0..4).map(|i| hosts.connections(i)).collect();
    let started: Vec<usize> = (0..4).map(|i| hosts.sessions(i)).collect();
    all_ok(&sb, &hosts, &["apply", &base]);
    // One connection per host, and in it one session: the version check,
    // the plan and the apply are one run of topo there.
    for i in 0..4 {
        assert_eq!(
            hosts.connections(i) - before[i],
            1,
            "connections to h{}",
            i + 1
        );
        assert_eq!(hosts.sessions(i) - started[i], 1, "sessions on h{}", i + 1);
    }
    one_session_each(&sb, "apply");
    // Every node reaches every other host's node at once.
    for i in 1..=4 {
        let pings: Vec<String> = (1..=4)
            .filter(|j| *j != i)
            .map(|j| format!("ip netns exec x{i} ping -c1 -W2 12.0.{j}.1"))
            .collect();
        hosts.sh_ok(&sb, i - 1, &pings.join(" && "));
    }
    let applied = namespaces(&sb, &hosts);
    assert_eq!(applied, ["x1 ", "x2 ", "x3 ", "x4 "]);

    // A plan saved for every host applies exactly, or is refused whole.
    let saved = sb.dir.path().join("plans.json").display().to_string();
    let out = all(
        &sb,
        &hosts,
        &["plan", &edit, "-o", &saved, "--detailed-exitcode"],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "changes pending: {}",
        text(&out.stderr)
    );
    one_session_each(&sb, "plan");
    hosts.sh_ok(&sb, 1, "ip netns add y2");
    let out = all(&sb, &hosts, &["apply", &saved]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let said = format!("{}{err}", text(&out.stdout));
    assert!(
        said.contains("h2: not applied, nothing changed: the saved plan is stale"),
        "{said}"
    );
    assert!(said.contains("netns y2"), "names the stale object: {said}");
    for h in ["h1", "h3", "h4"] {
        assert!(
            said.contains(&format!("{h}: not applied, nothing changed")),
            "{said}"
        );
    }
    assert_eq!(namespaces(&sb, &hosts), ["x1 ", "x2 y2 ", "x3 ", "x4 "]);
    hosts.sh_ok(&sb, 1, "ip netns del y2");
    sessions(&sb);
    all_ok(&sb, &hosts, &["apply", &saved]);
    one_session_each(&sb, "apply");
    assert_eq!(
        namespaces(&sb, &hosts),
        ["x1 y1 ", "x2 y2 ", "x3 y3 ", "x4 y4 "]
    );
    hosts.sh_ok(&sb, 3, "ip netns exec y4 ping -c1 -W2 12.0.1.2");
    all_ok(&sb, &hosts, &["apply", &base]);
    assert_eq!(namespaces(&sb, &hosts), applied);

    // A fault on the third host: every host ends where it was.
    std::fs::write(sb.dir.path().join("fault"), "").unwrap();
    let out = all(&sb, &hosts, &["apply", &edit]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("h3: rolled back: apply failed at"), "{said}");
    assert!(said.contains("injected fault"), "{said}");
    for h in ["h1", "h2", "h4"] {
        assert!(
            said.contains(&format!("{h}: rolled back: rolled back")),
            "{h}: {said}"
        );
    }
    assert_eq!(namespaces(&sb, &hosts), applied);
    let out = all(&sb, &hosts, &["plan", &base, "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    std::fs::remove_file(sb.dir.path().join("fault")).unwrap();

    // Another topo on one host: refused before anything runs, and before
    // any host is sent the file (h4 says its version, then keeps what it
    // gets: nothing). Destroy, which changes as soon as it reads the
    // file, is refused alike.
    std::fs::write(sb.dir.path().join("version"), "").unwrap();
    sessions(&sb);
    for verb in ["apply", "destroy"] {
        let out = all(&sb, &hosts, &[verb, &edit]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{verb}: {err}");
        assert!(err.contains("host `h4` runs topo 0.0.1-other"), "{err}");
        assert!(
            err.contains(&format!("this machine topo {}", env!("CARGO_PKG_VERSION"))),
            "{err}"
        );
        assert_eq!(namespaces(&sb, &hosts), applied, "{verb}");
        let sent = std::fs::read_to_string(sb.dir.path().join("sent-h4")).unwrap();
        assert_eq!(sent, "", "{verb}: h4 was sent something");
        one_session_each(&sb, verb);
    }
    std::fs::remove_file(sb.dir.path().join("version")).unwrap();
    // A topo from before `--say-version`: its `--version` names it.
    std::fs::write(sb.dir.path().join("old"), "").unwrap();
    let out = all(&sb, &hosts, &["apply", &edit]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("host `h4` runs topo 0.0.1-old"), "{err}");
    assert!(
        err.contains(&format!("this machine topo {}", env!("CARGO_PKG_VERSION"))),
        "{err}"
    );
    assert_eq!(namespaces(&sb, &hosts), applied);
    assert_eq!(
        sessions(&sb)[3].last().map(String::as_str),
        Some("--version")
    );
    std::fs::remove_file(sb.dir.path().join("old")).unwrap();

    // A host that cannot be reached: the run fails before any change.
    hosts.stop_sshd(&sb, 1);
    let out = all(&sb, &hosts, &["apply", &edit]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot reach host `h2` over ssh (h2)"),
        "{err}"
    );
    assert!(
        err.contains("Connection refused"),
        "ssh's own message: {err}"
    );
    assert_eq!(namespaces(&sb, &hosts), applied);
    assert_eq!(ssh_left(&sb, &hosts), "");
}
