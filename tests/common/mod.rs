//! A private network + mount namespace per test, so kernel tests run in
//! parallel and never touch the machine's own network.
//!
//! A holder process (`unshare --net --mount`) owns the namespaces, with fresh
//! tmpfs mounts on /run/netns and /run/topo, and /etc overlaid by a tmpfs
//! (so /etc/netns files a lab writes never reach the machine's /etc);
//! every command of the test runs inside it through `nsenter`. When the
//! holder dies, the kernel frees everything the test made.

#![allow(dead_code)]

pub mod hosts;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

pub struct Sandbox {
    holder: Child,
    pub dir: tempdir::Dir,
    /// What /etc/netns held when the sandbox started (`find` output).
    etc_netns: String,
}

/// Whether kernel tests can run here; in CI they must.
pub fn kernel_tests_possible() -> bool {
    let root = nix_uid_is_root();
    if !root && std::env::var_os("CI").is_some() {
        panic!("kernel tests need root, and CI is set: they must not be skipped");
    }
    if !root {
        eprintln!("skipping kernel test: not root");
    }
    root
}

fn nix_uid_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Uid:")
                    .map(|v| v.split_whitespace().nth(1) == Some("0"))
            })
        })
        .unwrap_or(false)
}

pub fn topo_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_topo"))
}

impl Sandbox {
    /// A new private network + mount namespace; `None` when not root outside CI.
    pub fn new() -> Option<Sandbox> {
        if !kernel_tests_possible() {
            return None;
        }
        std::fs::create_dir_all("/run/netns").expect("create /run/netns");
        std::fs::create_dir_all("/run/topo").expect("create /run/topo");
        let dir = tempdir::Dir::new();
        // The overlay's upper layer lives on a tmpfs mounted (inside the
        // sandbox only) in the test's folder: writes under /etc stay there.
        let etc = dir.path().join(".etc");
        std::fs::create_dir_all(&etc).expect("create the /etc overlay's folder");
        let etc = etc.display();
        let script = format!(
            "mount --make-rprivate / && mount -t tmpfs tmpfs /run/netns && mount -t tmpfs tmpfs /run/topo \
             && mount -t tmpfs tmpfs {etc} && mkdir {etc}/upper {etc}/work \
             && mount -t overlay overlay -o lowerdir=/etc,upperdir={etc}/upper,workdir={etc}/work /etc \
             && ip link set lo up && echo ready && exec sleep infinity"
        );
        let mut holder = Command::new("unshare")
            .args([
                "--mount",
                "--net",
                "--propagation",
                "private",
                "sh",
                "-c",
                &script,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start unshare (util-linux)");
        let mut line = String::new();
        BufReader::new(holder.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("holder output");
        assert_eq!(line.trim(), "ready", "sandbox did not start");
        let mut sb = Sandbox {
            holder,
            dir,
            etc_netns: String::new(),
        };
        sb.etc_netns = sb.etc_netns_now();
        Some(sb)
    }

    /// The holder process: `/proc/PID/root/run/netns/NODE` is a node's
    /// namespace file, for a test that enters it itself.
    pub fn pid(&self) -> u32 {
        self.holder.id()
    }

    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.args([
            "--target",
            &self.holder.id().to_string(),
            "--mount",
            "--net",
            "--",
            program,
        ]);
        c.env_remove("TOPO_LOG");
        c
    }

    /// Runs topo inside the sandbox.
    pub fn topo(&self, args: &[&str]) -> Output {
        let bin = topo_bin();
        let out = self
            .command(bin.to_str().expect("utf-8 path"))
            .args(args)
            .output()
            .expect("run topo");
        log("topo", args, &out);
        out
    }

    /// Runs topo and insists on success; returns stdout.
    pub fn topo_ok(&self, args: &[&str]) -> String {
        let out = self.topo(args);
        assert!(
            out.status.success(),
            "topo {args:?} failed:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Runs a shell command inside the sandbox.
    pub fn sh(&self, script: &str) -> Output {
        let out = self
            .command("sh")
            .args(["-c", script])
            .output()
            .expect("run sh");
        log("sh", &[script], &out);
        out
    }

    pub fn sh_ok(&self, script: &str) -> String {
        let out = self.sh(script);
        assert!(
            out.status.success(),
            "`{script}` failed:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Writes a lab file into the test's folder and returns its path.
    pub fn lab(&self, name: &str, yaml: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::File::create(&p)
            .and_then(|mut f| f.write_all(yaml.as_bytes()))
            .expect("write lab");
        p.to_string_lossy().into_owned()
    }

    /// One ping from a node (or the host, `host`) that must be answered.
    pub fn ping(&self, from: &str, to: &str) {
        let cmd = if from == "host" {
            format!("ping -c1 -W2 {to}")
        } else {
            format!("ip netns exec {from} ping -c1 -W2 {to}")
        };
        let out = self.sh(&cmd);
        assert!(
            out.status.success(),
            "{from} cannot reach {to}:\n{}",
            text(&out.stdout)
        );
    }

    fn etc_netns_now(&self) -> String {
        text(&self.sh("find /etc/netns 2>/dev/null | sort").stdout)
    }

    /// Runs udhcpc once in `name`: the lease it got, as `IP router=R dns=D`,
    /// with the address and default route configured.
    pub fn dhcp_lease(&self, name: &str) -> String {
        let script = self.dir.path().join("udhcpc.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\ncase \"$1\" in bound|renew)\n  ip addr flush dev \"$interface\"\n  ip addr add \"$ip/$subnet\" dev \"$interface\"\n  [ -n \"$router\" ] && ip route replace default via \"$router\"\n  echo \"LEASE $ip router=$router dns=$dns\";;\nesac\n",
        )
        .unwrap();
        self.sh_ok(&format!("chmod +x {}", script.display()));
        let out = self.sh_ok(&format!(
            "ip netns exec {name} busybox udhcpc -i eth0 -n -q -f -t 5 -T 1 -s {} 2>&1",
            script.display()
        ));
        out.lines()
            .find_map(|l| l.strip_prefix("LEASE "))
            .unwrap_or_else(|| panic!("no lease in {name}:\n{out}"))
            .trim()
            .to_string()
    }

    /// Everything a lab could leave behind: namespaces, non-lo links, nft
    /// tables, run files, /etc/netns files and folders. Empty means no
    /// residue.
    pub fn residue(&self) -> String {
        // Not what a lab leaves: the ids the kernel gives namespaces a veth
        // peer points into, the queueing discipline a link gets once up.
        let mut r: String = self.sh("ip netns list | cut -d' ' -f1; ip -o link show | grep -v ': lo:' | sed 's/ qdisc [a-z_]*//'; nft list tables 2>/dev/null; ls -A /run/topo; ip route show proto 157").stdout.iter().map(|b| *b as char).collect();
        let etc = self.etc_netns_now();
        if etc != self.etc_netns {
            r += &format!("/etc/netns now:\n{etc}");
        }
        r
    }

    /// An outside world: namespace `out` at 10.99.0.2, the host at 10.99.0.1
    /// on `uplink0`. Made by the test, not by the lab; `drop_outside` removes it.
    pub fn outside(&self) {
        self.sh_ok(
            "ip netns add out && ip link add uplink0 type veth peer name eth0 netns out \
             && ip addr add 10.99.0.1/24 dev uplink0 && ip link set uplink0 up \
             && ip -n out addr add 10.99.0.2/24 dev eth0 && ip -n out link set eth0 up && ip -n out link set lo up",
        );
    }

    pub fn drop_outside(&self) {
        self.sh_ok("ip link del uplink0 && ip netns del out");
    }

    /// Runs a one-shot TCP server in `server` (a node, `out`, or `host`) on
    /// `port` that answers with the peer address it sees, connects to it from
    /// `client` at `addr:cport`, and returns the answer ("" when no connection).
    pub fn tcp_peer(
        &self,
        server: &str,
        port: u16,
        client: &str,
        addr: &str,
        cport: u16,
    ) -> String {
        let inns = |ns: &str| {
            if ns == "host" {
                String::new()
            } else {
                format!("ip netns exec {ns} ")
            }
        };
        let script = format!(
            "{s}timeout 5 socat -u TCP-LISTEN:{port},reuseaddr SYSTEM:'echo $SOCAT_PEERADDR' & pid=$!; \
             for i in $(seq 50); do {s}ss -ltn | grep -q ':{port} ' && break; sleep 0.05; done; \
             {c}timeout 2 socat -u TCP:{addr}:{cport},connect-timeout=1 STDOUT; kill $pid 2>/dev/null; wait $pid 2>/dev/null; true",
            s = inns(server),
            c = inns(client),
        );
        self.sh_ok(&script).trim().to_string()
    }

    /// One ping from each of `from` (nodes, namespaces the test made, or
    /// `host`) to each address in `to`, all at once, so a whole matrix takes
    /// about as long as one unanswered ping. One line per pair,
    /// `FROM -> TO: yes` or `FROM -> TO: no`, in the order given.
    pub fn ping_matrix(&self, from: &[&str], to: &[&str]) -> Vec<String> {
        let mut script = String::new();
        let mut lines = Vec::new();
        for (i, f) in from.iter().enumerate() {
            for (j, t) in to.iter().enumerate() {
                script += &format!(
                    "({}ping -c1 -W2 {t} >/dev/null 2>&1 && echo {i}.{j}) &\n",
                    in_ns(f)
                );
                lines.push((format!("{i}.{j}"), format!("{f} -> {t}")));
            }
        }
        script += "wait\n";
        let out = self.sh_ok(&script);
        let ok: Vec<&str> = out.lines().collect();
        lines
            .into_iter()
            .map(|(key, pair)| {
                let answer = if ok.contains(&key.as_str()) {
                    "yes"
                } else {
                    "no"
                };
                format!("{pair}: {answer}")
            })
            .collect()
    }

    /// Which source address TCP servers see. Each `(server, port, clients)`
    /// is one server in `server` (a node, a namespace the test made, or
    /// `host`) on `port` that answers every connection with the peer address
    /// it sees; all servers start first, then every `(client, address,
    /// port)` connects at the same time. One line per client, `tcp
    /// SERVER:PORT <- CLIENT -> ADDRESS:PORT: PEER`, with PEER `none` when
    /// no connection was made. Servers in one namespace need distinct ports.
    pub fn tcp_matrix(&self, servers: &[TcpServer<'_>]) -> Vec<String> {
        let mut script = String::from("servers=; clients=\n");
        for (server, port, _) in servers {
            let s = in_ns(server);
            script += &format!(
                "{s}timeout 10 socat TCP-LISTEN:{port},reuseaddr,fork SYSTEM:'echo $SOCAT_PEERADDR' & servers=\"$servers $!\"\n\
                 for i in $(seq 100); do {s}ss -ltn | grep -q ':{port} ' && break; sleep 0.05; done\n"
            );
        }
        let mut lines = Vec::new();
        for (server, port, clients) in servers {
            for (c, addr, cport) in clients.iter() {
                let i = lines.len();
                script += &format!(
                    "(seen=$({}timeout 3 socat -u TCP:{addr}:{cport},connect-timeout=2 STDOUT 2>/dev/null); echo \"{i} ${{seen:-none}}\") & clients=\"$clients $!\"\n",
                    in_ns(c)
                );
                lines.push(format!("tcp {server}:{port} <- {c} -> {addr}:{cport}"));
            }
        }
        script += "wait $clients; kill $servers 2>/dev/null; wait $servers 2>/dev/null; true\n";
        let out = self.sh_ok(&script);
        lines
            .into_iter()
            .enumerate()
            .map(|(i, line)| {
                let seen = out
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{i} ")))
                    .unwrap_or("none");
                format!("{line}: {seen}")
            })
            .collect()
    }

    /// Processes running in the sandbox (its mount namespace), zombies
    /// left out: (pid, command name).
    pub fn processes(&self) -> Vec<(u32, String)> {
        let ns = |pid: &str| std::fs::read_link(format!("/proc/{pid}/ns/mnt")).ok();
        let mine = ns(&self.holder.id().to_string());
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let pid = e.file_name().to_string_lossy().into_owned();
            let Ok(n) = pid.parse::<u32>() else { continue };
            if n == self.holder.id() || ns(&pid) != mine || mine.is_none() {
                continue;
            }
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let Some((head, rest)) = stat.rsplit_once(") ") else {
                continue;
            };
            if rest.starts_with('Z') {
                continue;
            }
            let comm = head
                .split_once(" (")
                .map(|(_, c)| c.to_string())
                .unwrap_or_default();
            out.push((n, comm));
        }
        out
    }

    /// The pids of the sandbox's running processes named `comm`.
    pub fn pids_of(&self, comm: &str) -> Vec<u32> {
        self.processes()
            .into_iter()
            .filter(|(_, c)| c == comm)
            .map(|(p, _)| p)
            .collect()
    }

    /// The plan as JSON.
    pub fn plan_json(&self, file: &str) -> serde_json::Value {
        serde_json::from_str(&self.topo_ok(&["plan", "--json", file])).expect("plan JSON")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Whatever a failed test left running in the sandbox (a daemon
        // would keep its namespaces alive), by pid.
        for (pid, _) in self.processes() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// A TCP client for `Sandbox::tcp_matrix`: (namespace, address, port).
pub type TcpClient<'a> = (&'a str, &'a str, u16);

/// A TCP server for `Sandbox::tcp_matrix`: (namespace, port, its clients).
pub type TcpServer<'a> = (&'a str, u16, &'a [TcpClient<'a>]);

/// The prefix that runs a command in a namespace: nothing for `host`.
pub fn in_ns(ns: &str) -> String {
    if ns == "host" {
        String::new()
    } else {
        format!("ip netns exec {ns} ")
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn log(what: &str, args: &[&str], out: &Output) {
    eprintln!(
        "$ {what} {}\n{}{}",
        args.join(" "),
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The actions of a JSON plan as "op address" lines.
pub fn actions(plan: &serde_json::Value) -> Vec<String> {
    plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| {
            format!(
                "{} {}",
                a["op"].as_str().unwrap(),
                a["address"].as_str().unwrap()
            )
        })
        .collect()
}

pub mod tempdir {
    use std::path::{Path, PathBuf};

    /// A folder removed on drop.
    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new() -> Dir {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let p = std::env::temp_dir().join(format!(
                "topo-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).expect("temp dir");
            Dir(p)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
