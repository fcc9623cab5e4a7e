#!/usr/bin/env python3
"""Labs across machines (issue 12): `--all-hosts` against one host's share.

    sudo python3 benches/multihost.py                  # 1000 nodes over 4 hosts, 3 rounds
    sudo python3 benches/multihost.py --nodes 200 --hosts 2 --reps 1

Four simulated hosts on this machine, as in the tests (tests/common/hosts.rs):
each a network namespace with its own mount namespace (a tmpfs on /run, so
its own /run/netns and /run/topo) and PID namespace, joined by an underlay
bridge, each running a real sshd (Debian's openssh-server) on its underlay
address. All of it lives inside one private network + mount + PID
namespace of this script's own: the machine's interfaces are never
touched, and when it ends the kernel frees everything.

The lab: NODES nodes, an equal share on each host, each host with one
network (a bridge, a /16, a default route per node), so every host derives
routes to the other hosts' networks.

Measured, in interleaved rounds (medians reported):
  all-hosts apply    `topo apply --all-hosts` from nothing, from the sandbox
  all-hosts plan     `topo plan --all-hosts` with nothing to do
  all-hosts destroy  `topo destroy --all-hosts`
  share apply        the slowest host's share applied on that host itself,
                     `topo apply --host hN` (its destroy untimed after)
  ssh connections    accepted by each host's sshd per --all-hosts apply
  ssh sessions       remote commands each host's sshd started per run

Targets (issue 12): all-hosts apply within 1.3x of the slowest share,
no-op plan under 1 s, exactly one ssh connection per host per run (and
in it one session per host: the version check is part of it).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=True, check=True, text=True, capture_output=True, **kw).stdout


def inner(args):
    """Runs inside the private namespaces: hosts, lab, measurements."""
    topo = args.topo
    work = tempfile.mkdtemp(prefix="topo-mh-bench.")
    for k in ("host_key", "client_key"):
        sh(f"ssh-keygen -q -t ed25519 -N '' -f {work}/{k}")
    shutil.copy(f"{work}/client_key.pub", f"{work}/authorized_keys")
    sh("ip link set lo up && ip link add ul0 type bridge && ip addr add 192.168.0.254/24 dev ul0 && ip link set ul0 up")
    holders, cfg = [], ""
    for i in range(1, args.hosts + 1):
        addr = f"192.168.0.{i}"
        with open(f"{work}/sshd_h{i}.conf", "w") as f:
            f.write(
                f"Port 22\nListenAddress {addr}\nHostKey {work}/host_key\nAuthorizedKeysFile {work}/authorized_keys\n"
                "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                f"UsePAM no\nStrictModes no\nPidFile /run/sshd.pid\nPrintMotd no\nLogLevel VERBOSE\n"
                f"SetEnv PATH={os.path.dirname(topo)}:/usr/sbin:/usr/bin:/sbin:/bin\n"
            )
        script = (
            # A plain server's root: this machine's ~/.bashrc (which bash reads
            # for every ssh command) runs pyenv, 0.3 s a session here.
            "mount --make-rprivate / && { [ ! -e /root/.bashrc ] || mount --bind /dev/null /root/.bashrc; } "
            "&& mount -t tmpfs tmpfs /run && mkdir -p /run/netns /run/topo /run/sshd "
            "&& ip link set lo up && echo up "
            "&& while ! ip link show eth0 >/dev/null 2>&1; do sleep 0.01; done "
            f"&& ip addr add {addr}/24 dev eth0 && ip link set eth0 up "
            f"&& /usr/sbin/sshd -f {work}/sshd_h{i}.conf -D -E {work}/sshd_h{i}.log & exec sleep infinity"
        )
        p = subprocess.Popen(
            ["unshare", "--net", "--mount", "--pid", "--fork", "--kill-child", "--propagation", "private", "sh", "-c", script],
            stdout=subprocess.PIPE, text=True,
        )
        assert p.stdout.readline().strip() == "up"
        sh(f"ip link add h{i}-ul type veth peer name eth0 netns {p.pid} && ip link set h{i}-ul master ul0 && ip link set h{i}-ul up")
        holders.append(p)
        cfg += (
            f"Host h{i} {addr}\n  HostName {addr}\n  User root\n  IdentityFile {work}/client_key\n  IdentitiesOnly yes\n"
            "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  BatchMode yes\n"
        )
    with open(f"{work}/ssh_config", "w") as f:
        f.write(cfg)
    for i in range(1, args.hosts + 1):
        for _ in range(500):
            if subprocess.run(["ssh", "-F", f"{work}/ssh_config", f"h{i}", "true"], capture_output=True).returncode == 0:
                break
            time.sleep(0.02)
    per = args.nodes // args.hosts
    lab = "name: mhbench\nhosts:\n"
    for i in range(1, args.hosts + 1):
        lab += f"  h{i}: {{ address: 192.168.0.{i}, ssh: h{i} }}\n"
    lab += "networks:\n"
    for i in range(1, args.hosts + 1):
        nodes = ", ".join(f"n{i}x{k}" for k in range(per))
        lab += f"  net{i}: {{ host: h{i}, subnet: 10.{i}.0.0/16, nodes: [{nodes}] }}\n"
    path = f"{work}/lab.yaml"
    with open(path, "w") as f:
        f.write(lab)

    def logged(i, what):
        try:
            return open(f"{work}/sshd_h{i}.log").read().count(what)
        except FileNotFoundError:
            return 0

    def conns(i):
        return logged(i, "Accepted publickey")

    def sessions(i):
        # One a remote command (sshd's log says each at LogLevel VERBOSE).
        return logged(i, "Starting session: command")

    def timed(argv, host=None):
        if host is not None:
            argv = ["nsenter", "--target", str(holders[host - 1].pid), "--net", "--mount", "--"] + argv
        t = time.monotonic()
        r = subprocess.run(argv, capture_output=True, text=True)
        dt = time.monotonic() - t
        if r.returncode not in (0, 2):
            sys.exit(f"{' '.join(argv)} failed:\n{r.stdout}{r.stderr}")
        return dt

    allh = ["--all-hosts", "--ssh-config", f"{work}/ssh_config", "-q"]
    if args.trace:
        # One traced apply and its destroy: where the time goes, nothing timed.
        env = dict(os.environ, TOPO_LOG="topo=debug", NO_COLOR="1")
        r = subprocess.run([topo, "apply", path] + allh[:-1], capture_output=True, text=True, env=env)
        with open(args.trace, "w") as f:
            f.write(r.stderr)
        # The pieces of a run, one at a time.
        pieces = {}
        for name, argv, host in [
            ("ssh h1 true (a cold connection)", ["ssh", "-F", f"{work}/ssh_config", "h1", "true"], None),
            ("ssh h1 topo --version", ["ssh", "-F", f"{work}/ssh_config", "h1", "topo", "--version"], None),
            ("master up", ["ssh", "-F", f"{work}/ssh_config", "-o", f"ControlPath={work}/m.ctl", "-o", "ControlMaster=yes", "-o", "ControlPersist=yes", "-f", "-N", "h1"], None),
            ("true over the master", ["ssh", "-F", f"{work}/ssh_config", "-o", f"ControlPath={work}/m.ctl", "-T", "h1", "true"], None),
            ("true over the master again", ["ssh", "-F", f"{work}/ssh_config", "-o", f"ControlPath={work}/m.ctl", "-T", "h1", "true"], None),
            ("topo --version over the master", ["ssh", "-F", f"{work}/ssh_config", "-o", f"ControlPath={work}/m.ctl", "-T", "h1", "topo", "--version"], None),
            ("plan --host h1 on h1 (nothing to do)", [topo, "plan", "-q", path, "--host", "h1"], 1),
            ("plan --all-hosts (nothing to do)", [topo, "plan", path] + allh, None),
        ]:
            if "--all-hosts" in argv:
                r = subprocess.run(argv[:-1], capture_output=True, text=True, env=env)
                with open(args.trace, "a") as f:
                    f.write(r.stderr)
            if host is not None:
                argv = ["nsenter", "--target", str(holders[host - 1].pid), "--net", "--mount", "--"] + argv
            t = time.monotonic()
            subprocess.run(argv, capture_output=True)
            pieces[name] = round(time.monotonic() - t, 3)
        with open(args.trace, "a") as f:
            f.write(json.dumps(pieces, indent=1) + "\n")
        subprocess.run([topo, "destroy", path] + allh, capture_output=True)
        for p in holders:
            p.kill()
            p.wait()
        shutil.rmtree(work)
        print(json.dumps({"trace": args.trace, "rc": r.returncode}))
        return
    res = {k: [] for k in ("apply", "plan", "destroy", "share", "shares_at_once")}
    connections, per_run = [], {"apply": [], "plan": [], "destroy": []}
    every = range(1, args.hosts + 1)
    for _ in range(args.reps):
        before = [conns(i) for i in every]
        for verb, argv in [("apply", [topo, "apply", path]),
                           ("plan", [topo, "plan", path, "--detailed-exitcode"]),
                           ("destroy", [topo, "destroy", path])]:
            started = [sessions(i) for i in every]
            res[verb].append(timed(argv + allh))
            per_run[verb].append([sessions(i) - b for i, b in zip(every, started)])
            if verb == "apply":
                connections.append([conns(i) - b for i, b in zip(every, before)])
        # Each share alone on its own host; the slowest is the yardstick.
        shares = []
        for i in range(1, args.hosts + 1):
            shares.append(timed([topo, "apply", "-q", path, "--host", f"h{i}"], host=i))
            timed([topo, "destroy", "-q", path, "--host", f"h{i}"], host=i)
        res["share"].append(max(shares))
        # Every share at once, each on its own host, without ssh: what the
        # hosts' work costs when they share this machine's cores.
        t = time.monotonic()
        ps = [subprocess.Popen(["nsenter", "--target", str(holders[i - 1].pid), "--net", "--mount", "--",
                                topo, "apply", "-q", path, "--host", f"h{i}"]) for i in range(1, args.hosts + 1)]
        if any(p.wait() != 0 for p in ps):
            sys.exit("a share failed to apply")
        res["shares_at_once"].append(time.monotonic() - t)
        for i in range(1, args.hosts + 1):
            timed([topo, "destroy", "-q", path, "--host", f"h{i}"], host=i)
    for p in holders:
        p.kill()
        p.wait()
    shutil.rmtree(work)
    med = {k: statistics.median(v) for k, v in res.items()}
    out = {
        "nodes": per * args.hosts,
        "hosts": args.hosts,
        "reps": args.reps,
        "seconds": res,
        "median": med,
        "apply_ratio": med["apply"] / med["share"],
        "apply_over_shares_at_once": med["apply"] / med["shares_at_once"],
        "cpus": os.cpu_count(),
        "connections_per_host_per_apply": connections,
        "sessions_per_host_per_run": per_run,
    }
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--hosts", type=int, default=4)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--topo", default=os.path.join(REPO, "target", "release", "topo"))
    ap.add_argument("--out", help="also write the raw numbers (JSON) to this file")
    ap.add_argument("--trace", help="write the debug log of one --all-hosts apply to this file, and time nothing")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inner:
        return inner(args)
    if os.geteuid() != 0:
        sys.exit("run as root (sudo): the benchmark makes namespaces")
    if not os.path.exists(args.topo):
        subprocess.run(["cargo", "build", "--release", "-q"], cwd=REPO, check=True)
    cmd = ["unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc", "--propagation", "private",
           sys.executable, os.path.abspath(__file__), "--inner", "--nodes", str(args.nodes),
           "--hosts", str(args.hosts), "--reps", str(args.reps), "--topo", os.path.abspath(args.topo)]
    if args.trace:
        cmd += ["--trace", os.path.abspath(args.trace)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(r.stdout + r.stderr)
    d = json.loads(r.stdout.strip().splitlines()[-1])
    if args.trace:
        print(f"debug log of one --all-hosts apply: {d['trace']} (exit {d['rc']})")
        return
    if args.out:
        with open(args.out, "w") as f:
            json.dump(d, f, indent=1)
            f.write("\n")
    m = d["median"]
    print(f"{d['nodes']} nodes over {d['hosts']} hosts, {d['reps']} rounds, medians:")
    print(f"  {'--all-hosts apply from nothing':36} {m['apply']:7.2f} s")
    print(f"  {'slowest share, applied on its host':36} {m['share']:7.2f} s")
    print(f"  {'ratio (target <= 1.3)':36} {d['apply_ratio']:7.2f}")
    print(f"  {'every share at once, each on its host':36} {m['shares_at_once']:7.2f} s   ({d['cpus']} CPUs for {d['hosts']} hosts)")
    print(f"  {'--all-hosts apply / shares at once':36} {d['apply_over_shares_at_once']:7.2f}")
    print(f"  {'--all-hosts no-op plan (target < 1 s)':36} {m['plan']:7.2f} s")
    print(f"  {'--all-hosts destroy':36} {m['destroy']:7.2f} s")
    print(f"  ssh connections per host per apply: {d['connections_per_host_per_apply']}")
    for verb, n in d["sessions_per_host_per_run"].items():
        print(f"  ssh sessions per host per {verb}: {n}")


if __name__ == "__main__":
    main()
