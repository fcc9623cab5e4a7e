//! Simulated hosts inside a test's sandbox, for labs across machines. Each
//! host is a network namespace with a mount namespace of its own (a fresh
//! tmpfs on /run, so its own /run/netns and /run/topo) and a PID namespace
//! whose init dies with the test, joined to the sandbox by a veth on the
//! underlay bridge `ul0`, and running a real sshd (Debian's openssh-server)
//! that listens only on its underlay address, with keys in the test's
//! folder. The sandbox itself (192.168.0.254) is the machine the user runs
//! `topo --all-hosts` on.

use super::{text, Sandbox};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct Hosts {
    holders: Vec<Child>,
    /// The ssh client configuration naming every host (`Host h1` …).
    pub ssh_config: PathBuf,
    /// Underlay addresses, by host index (h1 is index 0).
    pub addresses: Vec<String>,
    dir: PathBuf,
}

/// The underlay address of host `i` (0-based): 192.168.0.1, .2, …
pub fn underlay(i: usize) -> String {
    format!("192.168.0.{}", i + 1)
}

impl Sandbox {
    /// `n` simulated hosts named h1..hN, reachable over ssh as those names
    /// (or their addresses) with `ssh -F hosts.ssh_config`, where `topo` on
    /// the PATH is the topo under test.
    pub fn hosts(&self, n: usize) -> Hosts {
        let dir = self.dir.path();
        let keygen = |file: &str| {
            let key = dir.join(file);
            let ok = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(&key)
                .status()
                .expect("ssh-keygen (openssh-client)");
            assert!(ok.success(), "ssh-keygen");
            key
        };
        let host_key = keygen("host_key");
        let client_key = keygen("client_key");
        let authorized = dir.join("authorized_keys");
        std::fs::copy(client_key.with_extension("pub"), &authorized).expect("authorized_keys");
        self.sh_ok("ip link add ul0 type bridge && ip addr add 192.168.0.254/24 dev ul0 && ip link set ul0 up");
        let mut ssh_config = String::new();
        let mut holders = Vec::new();
        let mut addresses = Vec::new();
        for i in 0..n {
            let addr = underlay(i);
            let name = format!("h{}", i + 1);
            let cfg = dir.join(format!("sshd_{name}.conf"));
            std::fs::write(
                &cfg,
                format!(
                    "Port 22\nListenAddress {addr}\nHostKey {}\nAuthorizedKeysFile {}\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile /run/sshd.pid\nPrintMotd no\nLogLevel VERBOSE\nSetEnv PATH={}:/usr/sbin:/usr/bin:/sbin:/bin\n",
                    host_key.display(),
                    authorized.display(),
                    super::topo_bin().parent().expect("topo's folder").display()
                ),
            )
            .expect("sshd config");
            // The host's init waits for its underlay interface, then
            // starts sshd; everything in its PID namespace dies with it.
            let script = format!(
                "mount --make-rprivate / && mount -t tmpfs tmpfs /run && mkdir -p /run/netns /run/topo /run/sshd \
                 && ip link set lo up && echo up \
                 && while ! ip link show eth0 >/dev/null 2>&1; do sleep 0.01; done \
                 && ip addr add {addr}/24 dev eth0 && ip link set eth0 up \
                 && /usr/sbin/sshd -f {} -D -E {} & exec sleep infinity",
                cfg.display(),
                dir.join(format!("sshd_{name}.log")).display()
            );
            let mut holder = self
                .command("unshare")
                .args([
                    "--net",
                    "--mount",
                    "--pid",
                    "--fork",
                    "--kill-child",
                    "--propagation",
                    "private",
                    "sh",
                    "-c",
                    &script,
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start a host");
            let mut line = String::new();
            BufReader::new(holder.stdout.take().expect("stdout"))
                .read_line(&mut line)
                .expect("host output");
            assert_eq!(line.trim(), "up", "host {name} did not start");
            // nsenter execs unshare: this pid is the process in the host's
            // network and mount namespaces.
            let pid = holder.id();
            self.sh_ok(&format!(
                "ip link add {name}-ul type veth peer name eth0 netns {pid} \
                 && ip link set {name}-ul master ul0 && ip link set {name}-ul up"
            ));
            ssh_config += &format!(
                "Host {name} {addr}\n  HostName {addr}\n  User root\n  IdentityFile {}\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  BatchMode yes\n  ConnectTimeout 5\n",
                client_key.display()
            );
            holders.push(holder);
            addresses.push(addr);
        }
        let ssh_config_path = dir.join("ssh_config");
        std::fs::write(&ssh_config_path, ssh_config).expect("ssh config");
        let hosts = Hosts {
            holders,
            ssh_config: ssh_config_path,
            addresses,
            dir: dir.to_path_buf(),
        };
        // Ready when a real ssh session works, not when sshd says so.
        for i in 0..n {
            let start = Instant::now();
            loop {
                let out = self.sh(&format!(
                    "ssh -F {} h{} true",
                    hosts.ssh_config.display(),
                    i + 1
                ));
                if out.status.success() {
                    break;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "h{} is not reachable over ssh: {}",
                    i + 1,
                    text(&out.stderr)
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        hosts
    }
}

impl Hosts {
    /// ssh connections host `i` accepted so far (its sshd's log).
    pub fn connections(&self, i: usize) -> usize {
        std::fs::read_to_string(self.dir.join(format!("sshd_h{}.log", i + 1)))
            .unwrap_or_default()
            .matches("Accepted publickey")
            .count()
    }

    /// Sessions (remote commands) host `i`'s sshd started so far, over
    /// all its connections (its log says each at LogLevel VERBOSE).
    pub fn sessions(&self, i: usize) -> usize {
        std::fs::read_to_string(self.dir.join(format!("sshd_h{}.log", i + 1)))
            .unwrap_or_default()
            .matches("Starting session: command")
            .count()
    }

    /// Stops host `i`'s sshd: the host stays, but cannot be reached.
    /// (By its unique config path: the pid file holds a pid of the
    /// host's own PID namespace, which means another process out here.)
    pub fn stop_sshd(&self, sb: &Sandbox, i: usize) {
        let cfg = self.dir.join(format!("sshd_h{}.conf", i + 1));
        // The listener names itself `sshd: /usr/sbin/sshd -f CONFIG ...`.
        sb.sh_ok(&format!(
            "pkill -f '^sshd: /usr/sbin/sshd -f {} '",
            cfg.display()
        ));
    }

    /// A one-shot TCP server in node `server` of host `si` on `port`
    /// answers with the peer address it sees; node `client` of host `ci`
    /// connects to `addr`. Returns the answer ("" when no connection).
    pub fn tcp_peer(
        &self,
        sb: &Sandbox,
        (si, server): (usize, &str),
        port: u16,
        (ci, client): (usize, &str),
        addr: &str,
    ) -> String {
        let pid = self.holders[si].id();
        let listen = format!(
            "ip netns exec {server} timeout 5 socat -u TCP-LISTEN:{port},reuseaddr SYSTEM:'echo $SOCAT_PEERADDR'"
        );
        let child = Command::new("nsenter")
            .args([
                "--target",
                &pid.to_string(),
                "--net",
                "--mount",
                "--",
                "sh",
                "-c",
                &listen,
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the listener");
        let ready = format!(
            "for i in $(seq 100); do ip netns exec {server} ss -ltn | grep -q ':{port} ' && exit 0; sleep 0.02; done; exit 1"
        );
        assert!(
            self.sh(sb, si, &ready).status.success(),
            "listener in {server} did not start"
        );
        self.sh(
            sb,
            ci,
            &format!("ip netns exec {client} timeout 3 socat -u TCP:{addr}:{port},connect-timeout=2 STDOUT"),
        );
        // The listener prints what it saw, then exits (or times out).
        let out = child.wait_with_output().expect("listener output");
        text(&out.stdout).trim().to_string()
    }

    /// Every process the hosts run (machine pids), for checks that none
    /// outlives them.
    pub fn processes(&self) -> Vec<u32> {
        fn tree(pid: u32, out: &mut Vec<u32>) {
            out.push(pid);
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default();
            for c in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                tree(c, out);
            }
        }
        let mut out = Vec::new();
        for h in &self.holders {
            tree(h.id(), &mut out);
        }
        out
    }

    /// Runs `script` on host `i` (0-based) directly, in its namespaces (not
    /// over ssh): what the test checks there.
    pub fn sh(&self, sb: &Sandbox, i: usize, script: &str) -> Output {
        let pid = self.holders[i].id();
        sb.sh(&format!(
            "nsenter --target {pid} --net --mount -- sh -c {}",
            shell_quote(script)
        ))
    }

    pub fn sh_ok(&self, sb: &Sandbox, i: usize, script: &str) -> String {
        let out = self.sh(sb, i, script);
        assert!(
            out.status.success(),
            "h{}: `{script}` failed:\n{}{}",
            i + 1,
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }
}

impl Drop for Hosts {
    /// Ends each host's init (its PID namespace goes with it: the kernel
    /// kills every process in it) and waits until all of them are gone.
    fn drop(&mut self) {
        let tree = self.processes();
        for h in &mut self.holders {
            let _ = h.kill();
            let _ = h.wait();
        }
        let start = Instant::now();
        while tree.iter().any(|p| alive(*p)) && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A process that exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.split(") ").nth(1).unwrap_or("").starts_with('Z'))
        .unwrap_or(false)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
