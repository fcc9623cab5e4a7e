"""Running commands and reading the private namespace's state, for the
benchmark's methods (benches/scale.py)."""

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from labs import BRIDGE, SUBNET, bridge_of, gateway_of, node, node_addr

POLL_S = 0.005
GONE_TIMEOUT_S = 300
RUN_TIMEOUT_S = 1200


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
