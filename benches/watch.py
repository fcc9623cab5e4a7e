#!/usr/bin/env python3
"""`topo watch` (issue 13): how fast drift is repaired, and what idling costs.

    sudo python3 benches/watch.py                # 100 nodes, 5 repairs of each kind
    sudo python3 benches/watch.py --nodes 300 --reps 3

Inside a private network + mount + PID namespace of its own (the machine's
interfaces are never touched; the kernel frees everything at the end):
a lab of NODES nodes on one network with masquerade, kept by `topo watch`.

Measured:
  veth deleted     `ip link del` of one node's host-side veth until the veth
                   is back and the node answers a ping
  ruleset flushed  `nft flush ruleset` until the lab's table is back
  idle CPU         the watch's user+system time over IDLE seconds with
                   nothing happening (from /proc/PID/stat)
  memory           the watch's peak RSS (VmHWM) at the end

Targets (issue 13): each repair within 1 s of the change, no CPU while
idle, under 32 MiB.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def sh(cmd):
    return subprocess.run(cmd, shell=True, text=True, capture_output=True)


def until(cmd, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if sh(cmd).returncode == 0:
            return time.monotonic()
        time.sleep(0.002)
    sys.exit(f"never true: {cmd}")


def cpu_ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def inner(args):
    sh("mount -t tmpfs tmpfs /run/netns 2>/dev/null || (mkdir -p /run/netns && mount -t tmpfs tmpfs /run/netns)")
    os.makedirs("/run/topo", exist_ok=True)
    sh("mount -t tmpfs tmpfs /run/topo; ip link set lo up")
    work = tempfile.mkdtemp(prefix="topo-watch-bench.")
    nodes = ", ".join(f"n{i}" for i in range(args.nodes))
    lab = f"{work}/lab.yaml"
    open(lab, "w").write(
        f"name: wb\nnetworks:\n  net: {{ subnet: 10.80.0.0/16, masquerade: true, nodes: [{nodes}] }}\n"
        "host:\n  sysctls: { net.ipv4.ip_forward: 1 }\n"
    )
    w = subprocess.Popen([args.topo, "watch", lab], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in w.stderr:
        if "watching lab" in line:
            break
    # Drain the log so the watch never blocks on a full pipe.
    import threading
    threading.Thread(target=lambda: [None for _ in w.stderr], daemon=True).start()
    res = {"veth": [], "nft": []}
    for r in range(args.reps):
        node = f"n{(r * 7) % args.nodes}"
        addr = sh(f"ip -n {node} -4 -o addr show eth0").stdout.split()[3].split("/")[0]
        t = time.monotonic()
        sh(f"ip link del {node}-eth0")
        done = until(f"ip netns exec {node} ping -c1 -W1 10.80.0.1 >/dev/null && ip link show {node}-eth0 >/dev/null")
        res["veth"].append(done - t)
        t = time.monotonic()
        sh("nft flush ruleset")
        done = until("nft list table inet topo-wb >/dev/null 2>&1")
        res["nft"].append(done - t)
        del addr
    time.sleep(1.0)
    before = cpu_ticks(w.pid)
    time.sleep(args.idle)
    idle_ticks = cpu_ticks(w.pid) - before
    hwm = next(l for l in open(f"/proc/{w.pid}/status") if l.startswith("VmHWM")).split()[1]
    w.terminate()
    w.wait(timeout=30)
    subprocess.run([args.topo, "destroy", "-q", lab], check=True)
    print(json.dumps({
        "nodes": args.nodes, "reps": args.reps, "seconds": res,
        "median": {k: statistics.median(v) for k, v in res.items()},
        "max": {k: max(v) for k, v in res.items()},
        "idle_seconds": args.idle, "idle_cpu_ticks": idle_ticks,
        "ticks_per_second": os.sysconf("SC_CLK_TCK"),
        "peak_rss_kib": int(hwm), "exit": w.returncode,
    }))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--idle", type=float, default=10.0)
    ap.add_argument("--topo", default=os.path.join(REPO, "target", "release", "topo"))
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.inner:
        return inner(a)
    if os.geteuid() != 0:
        sys.exit("run as root (sudo): the benchmark makes namespaces")
    if not os.path.exists(a.topo):
        subprocess.run(["cargo", "build", "--release", "-q"], cwd=REPO, check=True)
    r = subprocess.run(
        ["unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc", "--propagation", "private",
         sys.executable, os.path.abspath(__file__), "--inner", "--nodes", str(a.nodes), "--reps", str(a.reps),
         "--idle", str(a.idle), "--topo", os.path.abspath(a.topo)],
        capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(r.stdout + r.stderr)
    d = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"topo watch, {d['nodes']} nodes, {d['reps']} repairs of each kind (target: each within 1 s):")
    for k, name in (("veth", "veth deleted, until it pings again"), ("nft", "nft flush ruleset, until the table is back")):
        print(f"  {name:44} median {d['median'][k]*1000:7.1f} ms   max {d['max'][k]*1000:7.1f} ms")
    print(f"  {'CPU while idle ' + str(d['idle_seconds']) + ' s':44} {d['idle_cpu_ticks']} ticks (1/{d['ticks_per_second']} s each)")
    print(f"  {'peak RSS (target < 32 MiB)':44} {d['peak_rss_kib']/1024:7.1f} MiB")
    print(f"  exit code after SIGTERM: {d['exit']}")


if __name__ == "__main__":
    main()
