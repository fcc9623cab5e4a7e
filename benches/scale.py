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
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import floor
import growth
import quiet
import runner
import tentative
# What growth.py and the others reach through this module (`s.run`, ...).
from labs import BRIDGE, PORT_BASE, SUBNET, batch_scripts, node, shell_scripts, topo_lab, write
from report import summarize, table
from runner import (GONE_TIMEOUT_S, POLL_S, BenchError, check_lab, is_clean, links, log, must,  # noqa: F401
                    netns_left, residue, run, scrub, sh, tail, wait_gone)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
METHODS = ("topo", "topo_ipv6", "shell", "batch", "floor", "floor_ipv6", "tree", "growth")


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
    runner.PBTIME = cfg.get("pbtime")
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
