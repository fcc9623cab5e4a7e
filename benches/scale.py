#!/usr/bin/env python3
"""Scale benchmark (issues 5 and 14): topo against the usual ways of building a
lab and against the kernel floor.

    sudo python3 benches/scale.py                      # N = 10,100, 3 repetitions
    sudo python3 benches/scale.py --sizes 1000,4000 --reps 3 --methods topo,topo_ipv6,floor,floor_ipv6,tree

Above 1000 nodes the lab has one bridge (and /16) per thousand nodes.

Each lab: N nodes, each a network namespace with lo up, eth0 (a veth to one
shared host bridge), an IPv4 address and a default route via the bridge's
gateway; the host forwards (net.ipv4.ip_forward=1), masquerades the lab's
subnet and forwards one TCP port per node (DNAT).

Everything runs inside a private network + mount + PID namespace
(`unshare --mount --net --pid --fork --mount-proc --propagation private`)
with fresh tmpfs mounts on /run/netns and /run/topo. The "host" of the lab is
that private namespace; the machine's own interfaces are never touched. When
the inner process ends, for whatever reason, the kernel frees everything it
made. Afterwards this script checks that the machine's namespaces, links,
nftables ruleset and /run/netns, /run/topo are as they were before.

Methods, measured in the same run:
  topo          the release build: apply from nothing, plan and apply with
                nothing to do, apply after 1% of the nodes' eth0 veths were
                deleted by hand, destroy (timed until the namespaces and their
                links are really gone); peak RSS of every run (wait4).
  topo ipv6     the same lab with `ipv6: true`: apply from nothing and destroy;
                and when no address is tentative (DAD) any more, as for
                floor_ipv6 (benches/tentative.py).
  shell         one `ip` / `nft` / `sysctl` process per step, as the
                tutorials do; tear-down: delete host ends, one `ip netns del`
                per node, `nft delete table`.
  batch         one `ip -batch` for the host, one `ip -n NS -batch` per
                namespace, one `nft -f`; tear-down with one `ip -batch`.
  floor         ../shared/bench/pbnl.c, built in the run (benches/floor.py):
                one C process over rtnetlink and libnftables; set-up with
                IPv6 off before any interface exists (floor_ipv6: on),
                read-back of every namespace, tear-down by interface group;
                with IPv6 on, also timed until no address is tentative: pbnl
                returns while its link-local addresses are still in DAD.
                Up to 1020 nodes (it puts every port on one bridge).
  tree          Mininet's tree,depth=4,fanout=4 as a topo lab: apply and
                destroy until gone (once per repetition, at the first size).
  growth        the floor's set-up and tear-down, topo's apply, plan and
                destroy, for N nodes alone and with 3N nodes of another lab
                present (benches/growth.py; at the first size): growth with
                the machine's size for the floor and topo alike.

Between runs: a pause (--settle), then a wait until the machine's CPUs
have been idle for a second (benches/quiet.py, at most --quiet-limit):
the kernel frees a destroyed lab's namespaces long after they are gone.

Prints a table per N and writes the same as JSON
(benches/results/scale-<date>.json unless --json PATH).
"""

import argparse
import datetime
import ipaddress
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import floor
import growth
import paired
import quiet
import tentative

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SUBNET = ipaddress.ip_network("10.0.0.0/16")
GATEWAY = SUBNET.network_address + 1
BRIDGE = "labbr"
LAB = "scale"
PORT_BASE = 20000
POLL_S = 0.005
GONE_TIMEOUT_S = 300
RUN_TIMEOUT_S = 1200
METHODS = ("topo", "topo_ipv6", "shell", "batch", "floor", "floor_ipv6", "tree", "growth")


def node(i):
    return f"n{i}"


# At most this many ports per bridge (a Linux bridge takes 1024); bigger
# labs have one network per thousand nodes, 10.K.0.0/16 for the K-th.
PER_BRIDGE = 1000


def bridge_of(i):
    return (i - 1) // PER_BRIDGE


def bridge_name(k):
    return BRIDGE if k == 0 else f"{BRIDGE}{k}"


def subnet_of(k):
    return ipaddress.ip_network(f"10.{k}.0.0/16")


def gateway_of(i):
    return subnet_of(bridge_of(i)).network_address + 1


def node_addr(i):
    # topo's IPAM on a fresh lab: gateway .1, then members in order from .2.
    return gateway_of(i) + (i - 1) % PER_BRIDGE + 1


def log(msg):
    print(msg, flush=True)


# --------------------------------------------------------------------------
# Running commands
# --------------------------------------------------------------------------

class RunResult:
    def __init__(self, seconds, rc, maxrss_kb, out, err):
        self.seconds, self.rc, self.maxrss_kb, self.out, self.err = seconds, rc, maxrss_kb, out, err


# pbtime (benches/floor.py), when built: the peak RSS of each run is then the
# command's own, not the forked interpreter's (wait4 of a child forked from
# Python starts its maximum at Python's size, about 18 MiB).
PBTIME = None


def run(args, env=None, timeout=RUN_TIMEOUT_S, stdin_path=None):
    """Runs one process; wall time, exit code, its own peak RSS, output."""
    if PBTIME:
        with tempfile.NamedTemporaryFile("r") as t:
            r = _run([PBTIME, t.name] + list(args), env, timeout, stdin_path)
            fields = t.read().split()
        if len(fields) >= 4:
            r = RunResult(r.seconds, r.rc, int(fields[3]), r.out, r.err)
        return r
    return _run(args, env, timeout, stdin_path)


def _run(args, env, timeout, stdin_path):
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        try:
            t0 = time.perf_counter()
            p = subprocess.Popen(args, stdout=out, stderr=err, stdin=stdin, env=env)
            killer = threading.Timer(timeout, lambda: _kill(p.pid))
            killer.start()
            try:
                _, status, ru = os.wait4(p.pid, 0)
            finally:
                killer.cancel()
            t1 = time.perf_counter()
            p.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from waiting again
        finally:
            if stdin_path:
                stdin.close()
        out.seek(0)
        err.seek(0)
        return RunResult(t1 - t0, p.returncode, ru.ru_maxrss, out.read().decode(errors="replace"),
                         err.read().decode(errors="replace"))


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def sh(cmd, check=True):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"`{cmd}` failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
    return r.stdout


class BenchError(Exception):
    pass


def must(r, what):
    if r.rc != 0:
        raise BenchError(f"{what} failed (exit {r.rc}): {tail(r.err or r.out)}")
    return r


def tail(text, n=1500):
    text = text.strip()
    return text if len(text) <= n else "..." + text[-n:]


# --------------------------------------------------------------------------
# State of the private namespace
# --------------------------------------------------------------------------

def links():
    return [l.split(":")[1].strip().split("@")[0] for l in sh("ip -o link").splitlines() if l.strip()]


def netns_left():
    return os.listdir("/run/netns")


def is_clean():
    return links() == ["lo"] and not netns_left()


def wait_gone(t0):
    """Polls until only lo is left and /run/netns is empty; returns seconds since t0."""
    deadline = time.perf_counter() + GONE_TIMEOUT_S
    while True:
        if is_clean():
            return time.perf_counter() - t0
        if time.perf_counter() > deadline:
            raise BenchError(f"not gone after {GONE_TIMEOUT_S}s: links {links()[:10]}, netns {netns_left()[:10]}")
        time.sleep(POLL_S)


def residue():
    """What a method left behind besides namespaces and links."""
    left = []
    tables = sh("nft list tables", check=False).strip()
    if tables:
        left.append(f"nft: {tables}")
    run_topo = os.listdir("/run/topo")
    if run_topo:
        left.append(f"/run/topo: {run_topo}")
    routes = sh("ip route show proto 157", check=False).strip()
    if routes:
        left.append(f"routes: {routes}")
    fwd = open("/proc/sys/net/ipv4/ip_forward").read().strip()
    if fwd != "0":
        left.append(f"ip_forward={fwd}")
    return left


def scrub():
    """Removes whatever a failed method left, without timing."""
    sh("ip -all netns delete", check=False)
    for l in links():
        if l != "lo":
            sh(f"ip link del {l}", check=False)
    sh("nft flush ruleset", check=False)
    for e in os.listdir("/run/topo"):
        shutil.rmtree(os.path.join("/run/topo", e), ignore_errors=True)
    with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
        f.write("0")
    wait_gone(time.perf_counter())


def check_lab(n, with_nat):
    """Untimed sanity check of a built lab: counts, lo up, a ping, NAT rules."""
    ls = links()
    nb = bridge_of(n) + 1
    if len(ls) != n + 1 + nb:
        raise BenchError(f"expected {n + 1 + nb} host links (lo, {nb} bridge(s), {n} ports), found {len(ls)}")
    if len(netns_left()) != n:
        raise BenchError(f"expected {n} namespaces, found {len(netns_left())}")
    for i in sorted({1, n}):
        lo = sh(f"ip -n {node(i)} -o link show lo")
        if "UP" not in lo.split("<")[1].split(">")[0].split(","):
            raise BenchError(f"lo is not up in {node(i)}: {lo.strip()}")
        addr = sh(f"ip -n {node(i)} -o -4 addr show dev eth0")
        if f"{node_addr(i)}/{SUBNET.prefixlen}" not in addr:
            raise BenchError(f"{node(i)} eth0 has not {node_addr(i)}: {addr.strip()}")
        route = sh(f"ip -n {node(i)} route show default")
        if f"via {gateway_of(i)}" not in route:
            raise BenchError(f"{node(i)} has no default route via {gateway_of(i)}: {route.strip()}")
    r = run(["ip", "netns", "exec", node(n), "ping", "-c1", "-W3", str(gateway_of(n))])
    if r.rc != 0:
        diag = sh(f"ip -n {node(n)} neigh; ip -n {node(n)} -br link; bridge link show | grep -c forwarding; "
                  f"ip -br link show {BRIDGE}; ip -br addr show {BRIDGE}", check=False)
        r2 = run(["ip", "netns", "exec", node(n), "ping", "-c3", "-W3", str(gateway_of(n))])
        raise BenchError(f"{node(n)} cannot ping {gateway_of(n)}; state: {diag.strip()}; "
                         f"second try: {'answered' if r2.rc == 0 else 'no answer'}: {tail(r2.out, 300)}")
    if open("/proc/sys/net/ipv4/ip_forward").read().strip() != "1":
        raise BenchError("ip_forward is not 1")
    if with_nat:
        rules = sh("nft list ruleset")
        dnat, masq = rules.count("dnat"), rules.count("masquerade")
        if dnat < n or masq < 1:
            raise BenchError(f"expected {n} dnat and 1 masquerade rules, found {dnat} and {masq}")


# --------------------------------------------------------------------------
# Lab files and scripts
# --------------------------------------------------------------------------

def nat_yaml(n, indent="  "):
    lines = [f"{indent}nat:", f"{indent}  masquerade:"]
    lines += [f"{indent}    - {{ source: {subnet_of(k)} }}" for k in range(bridge_of(n) + 1)]
    lines += [f"{indent}  dnat:"]
    lines += [f"{indent}    - {{ proto: tcp, port: {PORT_BASE + i}, to: \"{node(i)}:80\" }}" for i in range(1, n + 1)]
    return lines


def topo_lab(n, ipv6, with_nat):
    lines = [f"# topo scale benchmark lab, N={n} (generated by benches/scale.py)",
             f"name: {LAB}", f"ipv6: {'true' if ipv6 else 'false'}", "networks:"]
    for k in range(bridge_of(n) + 1):
        lines += [f"  {bridge_name(k)}:", f"    subnet: {subnet_of(k)}", "    nodes:"]
        lines += [f"      - {node(i)}" for i in range(1, n + 1) if bridge_of(i) == k]
    lines += ["host:", "  sysctls:", "    net.ipv4.ip_forward: 1"]
    if with_nat:
        lines += nat_yaml(n)
    return "\n".join(lines) + "\n"


def nft_rules(n):
    """The NAT rules in nft syntax: (table/chain set-up, rules)."""
    head = [f"add table ip bench",
            "add chain ip bench postrouting { type nat hook postrouting priority srcnat; policy accept; }",
            "add chain ip bench prerouting { type nat hook prerouting priority dstnat; policy accept; }"]
    rules = [f"add rule ip bench postrouting ip saddr {SUBNET} masquerade"]
    rules += [f"add rule ip bench prerouting tcp dport {PORT_BASE + i} dnat to {node_addr(i)}:80" for i in range(1, n + 1)]
    return head, rules


def q(s):
    return "'" + s.replace("'", "'\\''") + "'"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def shell_scripts(d, n):
    """The tutorials' way: one process per step."""
    net = ["set -e",
           f"ip link add {BRIDGE} type bridge",
           f"ip addr add {GATEWAY}/{SUBNET.prefixlen} dev {BRIDGE}",
           f"ip link set {BRIDGE} up",
           "sysctl -q -w net.ipv4.ip_forward=1"]
    for i in range(1, n + 1):
        ns, port = node(i), f"{node(i)}-eth0"
        net += [f"ip netns add {ns}",
                f"ip -n {ns} link set lo up",
                f"ip link add {port} type veth peer name eth0 netns {ns}",
                f"ip link set {port} master {BRIDGE}",
                f"ip link set {port} up",
                f"ip -n {ns} addr add {node_addr(i)}/{SUBNET.prefixlen} dev eth0",
                f"ip -n {ns} link set eth0 up",
                f"ip -n {ns} route add default via {GATEWAY}"]
    head, rules = nft_rules(n)
    nat = ["set -e"] + [f"nft {q(c)}" for c in head + rules]
    down = ["set -e"]
    down += [f"ip link del {node(i)}-eth0" for i in range(1, n + 1)]
    down += [f"ip netns del {node(i)}" for i in range(1, n + 1)]
    down += [f"ip link del {BRIDGE}", "nft delete table ip bench", "sysctl -q -w net.ipv4.ip_forward=0"]
    return (write(f"{d}/shell-up-net.sh", "\n".join(net) + "\n"),
            write(f"{d}/shell-up-nat.sh", "\n".join(nat) + "\n"),
            write(f"{d}/shell-down.sh", "\n".join(down) + "\n"))


def batch_scripts(d, n):
    """ip -batch for the host, ip -n NS -batch per namespace, one nft -f."""
    host = [f"netns add {node(i)}" for i in range(1, n + 1)]
    host += [f"link add {BRIDGE} type bridge", f"addr add {GATEWAY}/{SUBNET.prefixlen} dev {BRIDGE}", f"link set {BRIDGE} up"]
    for i in range(1, n + 1):
        port = f"{node(i)}-eth0"
        host += [f"link add {port} type veth peer name eth0 netns {node(i)}", f"link set {port} master {BRIDGE}", f"link set {port} up"]
    write(f"{d}/host.batch", "\n".join(host) + "\n")
    net = ["set -e", f"ip -batch {d}/host.batch"]
    for i in range(1, n + 1):
        write(f"{d}/{node(i)}.batch", "\n".join(["link set lo up",
                                                 f"addr add {node_addr(i)}/{SUBNET.prefixlen} dev eth0",
                                                 "link set eth0 up",
                                                 f"route add default via {GATEWAY}"]) + "\n")
        net.append(f"ip -n {node(i)} -batch {d}/{node(i)}.batch")
    net.append("sysctl -q -w net.ipv4.ip_forward=1")
    head, rules = nft_rules(n)
    write(f"{d}/bench.nft", "\n".join(head + rules) + "\n")
    nat = ["set -e", f"nft -f {d}/bench.nft"]
    downb = [f"link del {node(i)}-eth0" for i in range(1, n + 1)]
    downb += [f"netns del {node(i)}" for i in range(1, n + 1)]
    downb.append(f"link del {BRIDGE}")
    write(f"{d}/down.batch", "\n".join(downb) + "\n")
    write(f"{d}/down.nft", "delete table ip bench\n")
    down = ["set -e", f"ip -batch {d}/down.batch", f"nft -f {d}/down.nft", "sysctl -q -w net.ipv4.ip_forward=0"]
    return (write(f"{d}/batch-up-net.sh", "\n".join(net) + "\n"),
            write(f"{d}/batch-up-nat.sh", "\n".join(nat) + "\n"),
            write(f"{d}/batch-down.sh", "\n".join(down) + "\n"))


# --------------------------------------------------------------------------
# The methods (inside the private namespace)
# --------------------------------------------------------------------------

def topo_env():
    env = dict(os.environ)
    env.pop("TOPO_LOG", None)
    env["NO_COLOR"] = "1"
    return env


def bench_topo(topo, d, n, ipv6, with_nat, full, rec):
    lab = write(f"{d}/lab-{'v6' if ipv6 else 'v4'}.yaml", topo_lab(n, ipv6, with_nat))
    env = topo_env()

    def timed(op, args):
        r = must(run([topo] + args + [lab], env=env), f"topo {' '.join(args)}")
        rec(op, r.seconds, r.maxrss_kb)
        return r

    def converged(after):
        r = run([topo, "plan", "--detailed-exitcode", lab], env=env)
        if r.rc != 0:
            raise BenchError(f"plan after {after} is not empty (exit {r.rc}): {tail(r.out + r.err)}")

    r = timed("apply", ["apply"])
    if ipv6:  # the same end as the floor's: no address left in DAD
        rec("apply_usable", r.seconds + tentative.wait_usable(), None)
    check_lab(n, with_nat)
    converged("apply")
    if full:
        r = timed("plan_noop", ["plan", "--detailed-exitcode"])  # exit 0: nothing to do
        timed("apply_noop", ["apply"])
        converged("apply with nothing to do")
        # Untimed: a second no-op apply with --json reports its netlink write requests (must be 0).
        r = must(run([topo, "apply", "--json", lab], env=env), "topo apply --json (nothing to do)")
        try:
            rec("apply_noop_writes", json.loads(r.out)["writes"], None)
        except (ValueError, KeyError, TypeError):
            raise BenchError(f"apply --json printed no \"writes\": {tail(r.out, 300)}")
        k = max(1, n // 100)
        victims = sorted({min(n, max(1, round((j + 0.5) * n / k))) for j in range(k)})
        for i in victims:
            sh(f"ip -n {node(i)} link del eth0")
        r = timed("apply_drift", ["apply"])
        rec("drift_nodes", len(victims), None)
        converged("apply after drift")
        check_lab(n, with_nat)
    t0 = time.perf_counter()
    r = must(run([topo, "destroy", lab], env=env), "topo destroy")
    rec("destroy_cmd", r.seconds, r.maxrss_kb)
    rec("destroy", wait_gone(t0), r.maxrss_kb)
    left = residue()
    if left:
        raise BenchError(f"topo destroy left: {left}")


def bench_script(up_net, up_nat, down, n, rec):
    env = dict(os.environ)
    r1 = must(run(["bash", up_net], env=env), up_net)
    r2 = must(run(["bash", up_nat], env=env), up_nat)
    rec("setup_net", r1.seconds, None)
    rec("setup_nat", r2.seconds, None)
    rec("setup", r1.seconds + r2.seconds, None)
    check_lab(n, True)
    t0 = time.perf_counter()
    r = must(run(["bash", down], env=env), down)
    rec("teardown_cmd", r.seconds, None)
    rec("teardown", wait_gone(t0), None)
    left = residue()
    if left:
        raise BenchError(f"{down} left: {left}")


def nat_probe(topo, d):
    """Does this topo build turn `host: nat:` into nftables rules?"""
    # The brief form `host: { nat: ... to: "n1:80" }` with n1 on a network, so that
    # n1 has the IPv4 address a DNAT target needs.
    probe = ("name: natprobe\n"
             f"networks: {{ {BRIDGE}: {{ subnet: {SUBNET}, nodes: [n1] }} }}\n"
             f"host: {{ nat: {{ masquerade: [ {{ source: {SUBNET} }} ], dnat: [ {{ proto: tcp, port: {PORT_BASE + 1}, to: \"n1:80\" }} ] }} }}\n")
    path = write(f"{d}/natprobe.yaml", probe)
    env = topo_env()
    r = run([topo, "validate", path], env=env)
    if r.rc != 0:
        return {"supported": False, "stage": "validate", "detail": tail(r.err or r.out, 600)}
    r = run([topo, "apply", path], env=env)
    rules = sh("nft list ruleset", check=False)
    result = {"supported": False, "stage": "apply", "detail": ""}
    if r.rc != 0:
        result["detail"] = "validate accepts nat:, apply fails: " + tail(r.err or r.out, 600)
    elif "dnat" not in rules or "masquerade" not in rules:
        result["detail"] = "validate accepts nat:, but apply makes no nftables rules"
    else:
        p = run([topo, "plan", "--detailed-exitcode", path], env=env)
        if p.rc != 0:
            result["detail"] = f"nat rules made, but plan after apply is not empty (exit {p.rc})"
        else:
            result = {"supported": True, "stage": "apply", "detail": "nat rules made and plan empty"}
    run([topo, "destroy", path], env=env)
    scrub()
    return result


def inner(cfg):
    # Safety: never run the benchmark in the machine's own network namespace.
    if os.stat("/proc/self/ns/net").st_ino == cfg["outer_netns"] or os.getpid() != 1:
        sys.exit("inner part must run in the private namespace started by benches/scale.py")
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    sh("mount -t tmpfs tmpfs /run/netns && mount -t tmpfs tmpfs /run/topo && ip link set lo up")
    if not is_clean():
        sys.exit(f"private namespace not empty: {links()}")
    topo, settle = cfg["topo"], cfg["settle"]
    global PBTIME
    PBTIME = cfg.get("pbtime")
    d = tempfile.mkdtemp(prefix="topo-scale-")  # in the caller's /tmp; removed by the outer part
    out = {"nat": None, "sizes": {}, "errors": [], "settles": [], "notes": [cfg.get("pbnl_note", "")]}
    out["nat"] = nat = nat_probe(topo, d)
    log(f"topo NAT: {'yes' if nat['supported'] else 'not in topo yet'} ({nat['detail']})")
    with_nat = nat["supported"]

    def save():
        with open(cfg["result"], "w") as f:
            json.dump(out, f, indent=1)

    for n in cfg["sizes"]:
        res = out["sizes"][str(n)] = {m: {} for m in METHODS}
        nd = f"{d}/n{n}"
        os.makedirs(nd, exist_ok=True)
        scripts = {"shell": shell_scripts(nd, n), "batch": batch_scripts(nd, n)}
        for rep in range(cfg["reps"]):
            for method in cfg["methods"]:
                def rec(op, seconds, rss, method=method):
                    e = res[method].setdefault(op, {"seconds": [], "rss_kb": []})
                    e["seconds"].append(seconds)
                    if rss is not None:
                        e["rss_kb"].append(rss)
                log(f"N={n} rep {rep + 1}/{cfg['reps']}: {method} ...")
                t = time.perf_counter()
                try:
                    if not is_clean() or residue():
                        scrub()
                    if method in ("floor", "floor_ipv6") and not cfg.get("pbnl"):
                        continue
                    if method in ("floor", "floor_ipv6") and n > floor.PBNL_MAX:
                        note = f"N={n}: no floor: pbnl puts every port on one bridge, which takes at most 1024"
                        if note not in out["notes"]:
                            out["notes"].append(note)
                        continue
                    if method in ("tree", "growth") and n != cfg["sizes"][0]:
                        continue
                    if method == "topo":
                        bench_topo(topo, nd, n, False, with_nat, True, rec)
                    elif method == "floor":
                        floor.bench_floor(sys.modules[__name__], cfg["pbnl"], n, False, rec)
                    elif method == "floor_ipv6":
                        floor.bench_floor(sys.modules[__name__], cfg["pbnl"], n, True, rec)
                    elif method == "tree":
                        floor.bench_tree(sys.modules[__name__], topo, nd, rec)
                    elif method == "growth":
                        growth.bench_growth(sys.modules[__name__], cfg.get("pbnl"), topo, nd, n, rec)
                    elif method == "topo_ipv6":
                        bench_topo(topo, nd, n, True, with_nat, False, rec)
                    else:
                        bench_script(*scripts[method], n, rec)
                except (BenchError, RuntimeError) as e:
                    msg = f"N={n} rep {rep + 1} {method}: {e}"
                    log("  FAILED: " + msg)
                    out["errors"].append(msg)
                    try:
                        scrub()
                    except Exception as e2:  # the namespace dies with us anyway
                        out["errors"].append(f"scrub after failure: {e2}")
                log(f"  {method} done in {time.perf_counter() - t:.1f}s")
                save()
                time.sleep(settle)
                if cfg["quiet_limit"] > 0:  # the kernel may still be freeing the last run's namespaces
                    waited, ok = quiet.wait_quiet(cfg["quiet_limit"])
                    out["settles"].append(round(waited, 2))
                    if not ok:
                        log(f"  the machine was still busy after {waited:.0f}s; going on")
    shutil.rmtree(d, ignore_errors=True)
    save()


# --------------------------------------------------------------------------
# The outer part (on the machine itself: build, snapshot, table, JSON)
# --------------------------------------------------------------------------

def host_snapshot():
    def cmd(c):
        return subprocess.run(c, shell=True, capture_output=True, text=True).stdout
    return {
        "netns": cmd("ip netns list"),
        "links": cmd("ip -o link | sed 's/^[0-9]*: //; s/ qdisc.*//'"),
        "nft": cmd("nft list ruleset"),
        "run_netns": sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else None,
        "run_topo": sorted(os.listdir("/run/topo")) if os.path.isdir("/run/topo") else None,
        "ip_forward": open("/proc/sys/net/ipv4/ip_forward").read().strip(),
    }


def median(xs):
    return statistics.median(xs) if xs else None


def summarize(raw):
    """Medians per method and operation, and the ratios."""
    summary = {}
    for n, methods in raw["sizes"].items():
        s = summary[n] = {}
        for m, ops in methods.items():
            s[m] = {op: {"median_s": median(v["seconds"]), "min_s": min(v["seconds"]) if v["seconds"] else None,
                         "max_s": max(v["seconds"]) if v["seconds"] else None, "runs": len(v["seconds"]),
                         "peak_rss_kb": max(v["rss_kb"]) if v["rss_kb"] else None} for op, v in ops.items()}

        def g(m, op):
            return s.get(m, {}).get(op, {}).get("median_s")

        def ratio(a, b):
            return a / b if a and b else None

        with_nat = raw["nat"]["supported"]
        setup_base = "setup" if with_nat else "setup_net"
        s["ratios"] = {
            "setup_topo_over_batch": ratio(g("topo", "apply"), g("batch", setup_base)),
            "setup_shell_over_topo": ratio(g("shell", setup_base), g("topo", "apply")),
            "setup_topo_ipv6_over_batch": ratio(g("topo_ipv6", "apply"), g("batch", setup_base)),
            "setup_shell_over_topo_ipv6": ratio(g("shell", setup_base), g("topo_ipv6", "apply")),
            "teardown_topo_over_batch": ratio(g("topo", "destroy"), g("batch", "teardown")),
            "teardown_shell_over_topo": ratio(g("shell", "teardown"), g("topo", "destroy")),
            "baseline_setup_compared": setup_base,
            # Against the floor (pbnl), the targets: apply 1.2, no-op 2 (of the read-back), destroy 1.2.
            "apply_over_floor": ratio(g("topo", "apply"), g("floor", "setup")),
            "apply_ipv6_over_floor_ipv6": ratio(g("topo_ipv6", "apply"), g("floor_ipv6", "setup")),
            "usable_ipv6_over_floor_ipv6": ratio(g("topo_ipv6", "apply_usable"), g("floor_ipv6", "setup_usable")),
            "plan_noop_over_readback": ratio(g("topo", "plan_noop"), g("floor", "readback")),
            "apply_noop_over_readback": ratio(g("topo", "apply_noop"), g("floor", "readback")),
            "destroy_over_floor": ratio(g("topo", "destroy"), g("floor", "teardown")),
            "tree_destroy_over_apply": ratio(g("tree", "destroy"), g("tree", "apply")),
        }
        s["paired"] = paired.ratios(methods)
    return summary


def fmt(x, unit=""):
    if x is None:
        return "-"
    if unit == "kb":
        return f"{x / 1024:.1f}"
    return f"{x:.3f}" if x < 10 else f"{x:.2f}"


def table(raw, summary):
    lines = []
    with_nat = raw["nat"]["supported"]
    nat_note = ""
    rows = [("topo", "apply (from nothing)" + nat_note, "apply"),
            ("topo", "plan (nothing to do)", "plan_noop"),
            ("topo", "apply (nothing to do)", "apply_noop"),
            ("topo", "apply (1% drift repaired)", "apply_drift"),
            ("topo", "destroy (until gone)", "destroy"),
            ("topo", "  of which destroy returns", "destroy_cmd"),
            ("topo ipv6:true", "apply (from nothing)" + nat_note, "apply"),
            ("topo ipv6:true", "  until no address is tentative", "apply_usable"),
            ("topo ipv6:true", "destroy (until gone)", "destroy"),
            ("shell", "set up (with NAT)", "setup"),
            ("shell", "  of which NAT (nft per rule)", "setup_nat"),
            ("shell", "tear down (until gone)", "teardown"),
            ("batch", "set up (with NAT)", "setup"),
            ("batch", "  of which NAT (nft -f)", "setup_nat"),
            ("batch", "tear down (until gone)", "teardown"),
            ("floor", "set up (pbnl, IPv6 off)", "setup"),
            ("floor", "read back", "readback"),
            ("floor", "tear down (until gone)", "teardown"),
            ("floor IPv6 on", "set up (pbnl)", "setup"),
            ("floor IPv6 on", "  until no address is tentative", "setup_usable"),
            ("floor IPv6 on", "tear down (until gone)", "teardown"),
            ("topo tree", "apply tree,4,4 (from nothing)", "apply"),
            ("topo tree", "destroy (until gone)", "destroy")]
    keys = {"topo": "topo", "topo ipv6:true": "topo_ipv6", "shell": "shell", "batch": "batch",
            "floor": "floor", "floor IPv6 on": "floor_ipv6", "topo tree": "tree"}
    for n in summary:
        s = summary[n]
        lines.append("")
        lines.append(f"N = {n}  (median of {raw['reps']} run(s), seconds; peak RSS of the topo process)"
                     + ("" if with_nat else "; topo labs without NAT: not in topo yet, baselines with NAT"))
        lines.append(f"| {'method':<15}| {'operation':<40}| {'median s':>9} | {'min s':>8} | {'max s':>8} | {'peak RSS MiB':>12} |")
        lines.append(f"|{'-' * 16}|{'-' * 41}|{'-' * 11}|{'-' * 10}|{'-' * 10}|{'-' * 14}|")
        for label, opname, op in rows:
            e = s.get(keys[label], {}).get(op)
            if not e:
                continue
            lines.append(f"| {label:<15}| {opname:<40}| {fmt(e['median_s']):>9} | {fmt(e['min_s']):>8} | {fmt(e['max_s']):>8} | {fmt(e['peak_rss_kb'], 'kb'):>12} |")
        r = s["ratios"]
        base = "set up incl. NAT" if with_nat else "set up without NAT (topo has none yet)"
        drift = s.get("topo", {}).get("drift_nodes")
        if drift:
            lines.append(f"drift: {int(drift['median_s'])} node(s) lost eth0")
        writes = raw["sizes"][n].get("topo", {}).get("apply_noop_writes")
        if writes:
            lines.append(f"no-op apply netlink write requests (apply --json \"writes\"): {writes['seconds']}")
        lines.append(f"ratios (baselines' {base}):")
        lines.append(f"  set up:    topo/batch {fmt(r['setup_topo_over_batch'])}   shell/topo {fmt(r['setup_shell_over_topo'])}"
                     f"   | with ipv6:true: topo/batch {fmt(r['setup_topo_ipv6_over_batch'])}   shell/topo {fmt(r['setup_shell_over_topo_ipv6'])}")
        lines.append(f"  tear down: topo/batch {fmt(r['teardown_topo_over_batch'])}   shell/topo {fmt(r['teardown_shell_over_topo'])}")
        lines.append(f"  against the floor: apply {fmt(r['apply_over_floor'])} (IPv6 on {fmt(r['apply_ipv6_over_floor_ipv6'])};"
                     f" until no address is tentative {fmt(r.get('usable_ipv6_over_floor_ipv6'))}),"
                     f" no-op plan/read-back {fmt(r['plan_noop_over_readback'])}, no-op apply/read-back {fmt(r['apply_noop_over_readback'])},"
                     f" destroy {fmt(r['destroy_over_floor'])}")
        if r["tree_destroy_over_apply"]:
            lines.append(f"  tree,4,4: destroy/apply {fmt(r['tree_destroy_over_apply'])}")
        lines += paired.table_lines(s, fmt)
        lines += growth.table_lines(s, fmt)
    notes = [x for x in raw.get("notes", []) if x]
    waits = raw.get("settles") or []
    if waits:
        notes.append(f"waited for an idle machine after each run: median {statistics.median(waits):.1f} s, "
                     f"longest {max(waits):.1f} s ({len(waits)} runs)")
    if notes:
        lines.append("")
        lines += notes
    if raw["errors"]:
        lines.append("")
        lines.append("ERRORS:")
        lines += ["  " + e for e in raw["errors"]]
    return "\n".join(lines)


def machine():
    mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal:")), "0")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())

    def v(c):
        return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip().splitlines()[0:1]
    return {"nproc": os.cpu_count(), "mem_total_gib": round(int(mem) / 1024 / 1024, 1), "cpu": cpu,
            "kernel": platform.release(), "iproute2": (v("ip -V") or [""])[0], "nft": (v("nft --version") or [""])[0],
            "python": platform.python_version()}


def git_info():
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")  # read only: never refresh the index

    def g(*a):
        r = subprocess.run(["git", "-C", REPO, *a], capture_output=True, text=True, env=env)
        return r.stdout.rstrip("\n") if r.returncode == 0 else None
    status = g("status", "--porcelain", "--untracked-files=no")
    return {"repo": REPO, "commit": g("rev-parse", "HEAD"), "src_modified": bool(status) if status is not None else None,
            "modified": status.splitlines() if status else []}


def sha256(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def outer(args):
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces, bridges, nftables)")
    for tool in ("ip", "nft", "unshare", "sysctl", "ping", "bash"):
        if not shutil.which(tool):
            sys.exit(f"missing tool: {tool} (apt-get install iproute2 nftables util-linux procps iputils-ping)")
    sizes = [int(x) for x in args.sizes.split(",") if x]
    methods = args.methods.split(",")
    if not set(methods) <= set(METHODS):
        sys.exit("--methods: a subset of " + ",".join(METHODS))
    if any(n < 1 for n in sizes):
        sys.exit("sizes must be 1 or more")
    if any(n > 1020 for n in sizes) and set(methods) & {"shell", "batch"}:
        sys.exit("shell and batch put every node on one bridge (at most 1024 ports): sizes up to 1020 for them")

    build = git_info()  # before building: the tree the binary comes from (another user may edit it later)
    if args.topo:
        src_bin = os.path.abspath(args.topo)
    else:
        log("building: cargo build --release")
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
        src_bin = os.path.join(REPO, "target", "release", "topo")
    work = tempfile.mkdtemp(prefix="topo-scale-")
    pbnl, pbnl_note = (None, "")
    if set(methods) & {"floor", "floor_ipv6", "growth"}:
        pbnl, pbnl_note = floor.build_pbnl(work)
        log(pbnl_note)
    topo = os.path.join(work, "topo")
    shutil.copy2(src_bin, topo)  # a concurrent rebuild cannot swap the binary mid-run
    created = [p for p in ("/run/netns", "/run/topo") if not os.path.isdir(p)]
    for p in created:
        os.makedirs(p)  # mount points only; removed again below
    before = host_snapshot()
    cfg = {"topo": topo, "pbtime": floor.build_pbtime(work), "pbnl": pbnl, "pbnl_note": pbnl_note, "sizes": sizes, "reps": args.reps, "methods": methods, "settle": args.settle, "quiet_limit": args.quiet_limit,
           "result": os.path.join(work, "inner.json"), "outer_netns": os.stat("/proc/self/ns/net").st_ino}
    write(os.path.join(work, "cfg.json"), json.dumps(cfg))
    started = datetime.datetime.now().astimezone()
    t0 = time.perf_counter()
    rc = None
    try:
        p = subprocess.Popen(["unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc", "--propagation", "private",
                              "--kill-child", sys.executable, os.path.abspath(__file__), "--inner", os.path.join(work, "cfg.json")])
        try:
            rc = p.wait()
        except KeyboardInterrupt:
            p.send_signal(signal.SIGINT)
            try:
                rc = p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = p.wait()
            raise
    finally:
        # The private namespaces die with the inner process; prove it.
        after = host_snapshot()
        for p_ in created:
            try:
                os.rmdir(p_)
            except OSError:
                pass
        unchanged = before == after
        diff = {k: {"before": before[k], "after": after[k]} for k in before if before[k] != after[k]}
        if unchanged:
            log("machine check: namespaces, links, nftables, /run/netns, /run/topo, ip_forward unchanged")
        else:
            log(f"machine check: CHANGED: {json.dumps(diff)[:2000]}")
    wall = time.perf_counter() - t0
    try:
        raw = json.load(open(cfg["result"]))
    except (OSError, ValueError):
        shutil.rmtree(work, ignore_errors=True)
        sys.exit(f"benchmark produced no result (exit {rc})")
    raw["reps"] = args.reps
    summary = summarize(raw)
    doc = {"date": started.isoformat(timespec="seconds"),
           "command": " ".join(["python3", os.path.relpath(os.path.abspath(__file__), os.getcwd())] + sys.argv[1:]),
           "wall_seconds": round(wall, 1), "machine": machine(), "topo_build": build,
           "topo_bin": {"path": src_bin, "given": bool(args.topo), "sha256": sha256(topo),
                        "mtime": datetime.datetime.fromtimestamp(os.stat(src_bin).st_mtime).astimezone().isoformat(timespec="seconds")}, "nat_in_topo": raw["nat"],
           "sizes": sizes, "reps": args.reps, "methods": methods, "host_unchanged": unchanged,
           "host_diff": diff, "inner_exit": rc, "errors": raw["errors"], "summary": summary, "raw": raw["sizes"]}
    path = args.json or os.path.join(HERE, "results", f"scale-{started.strftime('%Y-%m-%d-%H%M%S')}.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write(path, json.dumps(doc, indent=1) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    print(table(raw, summary))
    print(f"\nwall time {wall:.0f}s; JSON: {path}")
    if not unchanged:
        sys.exit(3)
    if raw["errors"] or rc != 0:
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10,100", help="comma-separated node counts (default 10,100)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions per size and method; the median is reported (default 3)")
    ap.add_argument("--methods", default="topo,topo_ipv6,floor,floor_ipv6,tree,shell,batch", help="subset of " + ",".join(METHODS))
    ap.add_argument("--json", help="where to write the JSON (default benches/results/scale-<date>.json)")
    ap.add_argument("--topo", help="use this topo binary instead of building target/release/topo")
    ap.add_argument("--settle", type=float, default=1.0, help="pause in seconds between measured runs (default 1)")
    ap.add_argument("--quiet-limit", type=float, default=60.0,
                    help="after the pause, wait up to this many seconds for the CPUs to be idle (0: do not wait; default 60)")
    ap.add_argument("--inner", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inner:
        inner(json.load(open(args.inner)))
    else:
        outer(args)


if __name__ == "__main__":
    main()
