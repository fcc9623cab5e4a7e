//! Traffic through a sandbox: an outside world to reach, and pings and TCP
//! connections, one at a time or a whole matrix at once.

use super::{in_ns, text, Sandbox};

impl Sandbox {
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
}

/// A TCP client for `Sandbox::tcp_matrix`: (namespace, address, port).
pub type TcpClient<'a> = (&'a str, &'a str, u16);

/// A TCP server for `Sandbox::tcp_matrix`: (namespace, port, its clients).
pub type TcpServer<'a> = (&'a str, u16, &'a [TcpClient<'a>]);
