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
pub mod tempdir;
pub mod traffic;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

pub use traffic::TcpServer;

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
