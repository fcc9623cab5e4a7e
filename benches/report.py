"""Medians, ratios and the printed table of a scale run (benches/scale.py)."""

import statistics

import growth
import paired


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
