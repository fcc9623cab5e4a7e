"""Growth with the machine's size, for topo and the floor alike.

pbnl puts every port on one bridge, so it cannot build the 4000-node lab
(four bridges of 1000). Instead: the floor's and topo's N nodes are timed
on an empty machine, then again with 3N nodes of another topo lab present
(three bridges of N, its own names and subnets): the same N nodes, as the
last quarter of a 4N-node machine. What grows for both is the kernel's.
"""

import os
import re
import time


def filler_lab(s, n):
    """3n nodes on three bridges of n, named and addressed apart from the measured lab."""
    t = s.topo_lab(3 * n, False, False).replace("name: scale", "name: filler").replace("labbr", "fillbr")
    t = re.sub(r"- n(\d+)", r"- f\1", t)
    return re.sub(r"subnet: 10\.(\d+)\.0\.0/16", lambda m: f"subnet: 10.{100 + int(m.group(1))}.0.0/16", t)


def _wait_back(s, links, netns, t0):
    """Polls until the host has `links` links and /run/netns `netns` entries again."""
    deadline = time.perf_counter() + s.GONE_TIMEOUT_S
    while len(s.links()) != links or len(s.netns_left()) != netns:
        if time.perf_counter() > deadline:
            raise s.BenchError(f"not back to {links} links and {netns} namespaces after {s.GONE_TIMEOUT_S}s")
        time.sleep(s.POLL_S)
    return time.perf_counter() - t0


def bench_growth(s, pbnl, topo, d, n, rec):
    """Records floor_setup, apply, plan and destroy, each `_alone` and `_among` (3n more nodes)."""
    lab = s.write(f"{d}/growth-lab.yaml", s.topo_lab(n, False, True))
    fill = s.write(f"{d}/growth-filler.yaml", filler_lab(s, n))
    env = s.topo_env()
    keys = ("/proc/sys/net/ipv6/conf/default/disable_ipv6", "/proc/sys/net/ipv6/conf/all/disable_ipv6")

    def measure(tag):
        links, netns = len(s.links()), len(s.netns_left())
        if pbnl:
            saved = {k: open(k).read() for k in keys}  # pbnl leaves IPv6 off in the host's defaults
            try:
                r = s.must(s.run([pbnl, "setup", str(n)], env={**os.environ, "PBNL_NOIPV6": "1"}), "pbnl setup")
                rec(f"floor_setup_{tag}", r.seconds, r.maxrss_kb)
                t0 = time.perf_counter()
                s.must(s.run([pbnl, "teardown", str(n), "group"]), "pbnl teardown")
                rec(f"floor_teardown_{tag}", _wait_back(s, links, netns, t0), None)
            finally:
                for k, v in saved.items():
                    with open(k, "w") as f:
                        f.write(v)
        r = s.must(s.run([topo, "apply", lab], env=env), "topo apply")
        rec(f"apply_{tag}", r.seconds, r.maxrss_kb)
        r = s.must(s.run([topo, "plan", "--detailed-exitcode", lab], env=env), "topo plan")
        rec(f"plan_{tag}", r.seconds, r.maxrss_kb)
        t0 = time.perf_counter()
        s.must(s.run([topo, "destroy", lab], env=env), "topo destroy")
        rec(f"destroy_{tag}", _wait_back(s, links, netns, t0), None)

    measure("alone")
    s.must(s.run([topo, "apply", fill], env=env), "topo apply (filler)")
    try:
        measure("among")
    finally:
        t0 = time.perf_counter()
        s.must(s.run([topo, "destroy", fill], env=env), "topo destroy (filler)")
        s.wait_gone(t0)


# (label, operation) rows of the table: alone, among, and their ratio.
ROWS = (("floor", "floor_setup"), ("floor", "floor_teardown"), ("topo", "apply"), ("topo", "plan"), ("topo", "destroy"))


def table_lines(s_n, fmt):
    """The growth table for one size's summary `s_n` (medians), if measured."""
    g = s_n.get("growth")
    if not g:
        return []
    lines = ["", "growth: the same nodes alone and with 3N more present (the last quarter of 4N), seconds",
             f"| {'method':<7}| {'operation':<16}| {'alone':>8} | {'among 3N':>9} | {'among/alone':>11} |",
             f"|{'-' * 8}|{'-' * 17}|{'-' * 10}|{'-' * 11}|{'-' * 13}|"]
    for label, op in ROWS:
        a = g.get(f"{op}_alone", {}).get("median_s")
        b = g.get(f"{op}_among", {}).get("median_s")
        if a and b:
            lines.append(f"| {label:<7}| {op:<16}| {fmt(a):>8} | {fmt(b):>9} | {b / a:>11.2f} |")
    return lines
