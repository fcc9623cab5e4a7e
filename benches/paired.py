"""Ratios to the floor taken round by round.

The machine's speed drifts by half within an hour (the same floor took
1.6 to 2.3 s), so a ratio of medians can mix a fast round of one side
with a slow round of the other. Each round runs topo and the floor one
after the other; the ratio of that round's two figures is the pair's,
and the median over rounds is the figure to quote. Give the methods
side by side (--methods topo,floor,topo_ipv6,floor_ipv6) so a pair's
two runs are also next to each other in time.
"""

import statistics

# (key, label, topo method, topo operation, floor method, floor operation)
PAIRS = [
    ("apply", "apply, IPv6 off", "topo", "apply", "floor", "setup"),
    ("apply_ipv6", "apply, IPv6 on", "topo_ipv6", "apply", "floor_ipv6", "setup"),
    ("usable_ipv6", "IPv6 on, until no address is tentative", "topo_ipv6", "apply_usable", "floor_ipv6", "setup_usable"),
    ("plan_noop", "no-op plan / read-back", "topo", "plan_noop", "floor", "readback"),
    ("apply_noop", "no-op apply / read-back", "topo", "apply_noop", "floor", "readback"),
    ("destroy", "destroy, until gone", "topo", "destroy", "floor", "teardown"),
]


def ratios(methods):
    """Per pair: the median, min and max of the rounds' ratios, or nothing
    when the two sides have not the same number of rounds (a failed run)."""
    out = {}
    for key, _label, am, aop, bm, bop in PAIRS:
        a = methods.get(am, {}).get(aop, {}).get("seconds") or []
        b = methods.get(bm, {}).get(bop, {}).get("seconds") or []
        if not a or len(a) != len(b) or not all(b):
            continue
        rs = [x / y for x, y in zip(a, b)]
        out[key] = {"median": statistics.median(rs), "min": min(rs), "max": max(rs), "rounds": len(rs)}
    return out


def table_lines(s, fmt):
    p = s.get("paired") or {}
    if not p:
        return []
    lines = ["against the floor, round by round (median of the rounds' ratios, min-max):"]
    for key, label, *_ in PAIRS:
        r = p.get(key)
        if r:
            lines.append(f"  {label:<40} {fmt(r['median'])}  ({fmt(r['min'])}-{fmt(r['max'])}, {r['rounds']} rounds)")
    return lines
