"""Waiting for the machine to be quiet between measured runs.

A destroy returns when the lab is gone from view, but the kernel frees
the namespaces behind it on its own workers for many seconds after: a run
started then shares the CPUs with that clean-up and is slower for it
(measured: IPv6-on apply at N=1000 took 10.6 s a minute after a test run,
6.2 s on an idle machine). So between runs we wait until the CPUs have
been idle for a while, as read from /proc/stat (the whole machine: the
clean-up runs outside our namespace).
"""

import time

WINDOW_S = 0.25   # one sample
BUSY_MAX = 0.10   # a sample counts as quiet when under 10% of the CPU time was busy
QUIET_SAMPLES = 4  # this many quiet samples in a row (one second)


def _cpu_times():
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields), idle


def busy_fraction(window_s=WINDOW_S):
    total0, idle0 = _cpu_times()
    time.sleep(window_s)
    total1, idle1 = _cpu_times()
    total = total1 - total0
    return 1.0 - (idle1 - idle0) / total if total > 0 else 0.0


def wait_quiet(limit_s):
    """Wait until the machine is quiet, at most limit_s; returns (seconds waited, quiet reached)."""
    t0 = time.perf_counter()
    streak = 0
    while streak < QUIET_SAMPLES:
        if time.perf_counter() - t0 > limit_s:
            return time.perf_counter() - t0, False
        streak = streak + 1 if busy_fraction() < BUSY_MAX else 0
    return time.perf_counter() - t0, True
