"""When a lab's IPv6 addresses become usable: tentative addresses (still
in duplicate address detection) across the host and every namespace under
/run/netns, read over rtnetlink (RTM_GETADDR dumps), one namespace at a
time from this process.

pbnl returns while the kernel still runs DAD on the link-local addresses
it made; topo adds its own with IFA_F_NODAD and returns with them usable.
`wait_usable` gives the first a comparable end.
"""

import ctypes
import os
import socket
import struct
import time

CLONE_NEWNET = 0x40000000
RTM_GETADDR, NLMSG_DONE, NLMSG_ERROR = 22, 3, 2
NLM_F_REQUEST, NLM_F_DUMP = 1, 0x300
IFA_F_TENTATIVE = 0x40
IFA_FLAGS = 8
AF_INET6 = 10

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def _tentative_here():
    """Tentative IPv6 addresses in the current network namespace."""
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    try:
        s.bind((0, 0))
        msg = struct.pack("=LHHLL", 16 + 8, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
        s.send(msg + struct.pack("=BBBBL", AF_INET6, 0, 0, 0, 0))
        count = 0
        while True:
            data = s.recv(1 << 16)
            off = 0
            while off + 16 <= len(data):
                length, kind = struct.unpack_from("=LH", data, off)
                if kind == NLMSG_DONE:
                    return count
                if kind == NLMSG_ERROR:
                    raise OSError("RTM_GETADDR dump refused")
                flags = data[off + 16 + 2]
                # IFA_FLAGS, when present, holds all the flags (u32).
                a = off + 16 + 8
                while a + 4 <= off + length:
                    alen, atype = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    if atype == IFA_FLAGS:
                        flags = struct.unpack_from("=L", data, a + 4)[0]
                    a += (alen + 3) & ~3
                count += bool(flags & IFA_F_TENTATIVE)
                off += (length + 3) & ~3
    finally:
        s.close()


def tentative():
    """Tentative addresses in the host and in every namespace in /run/netns,
    and when the last one was seen (time.perf_counter(); None: none seen)."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    seen = None

    def count_here():
        nonlocal seen
        n = _tentative_here()
        if n:
            seen = time.perf_counter()
        return n

    try:
        count = count_here()
        for name in sorted(os.listdir("/run/netns")):
            fd = os.open(os.path.join("/run/netns", name), os.O_RDONLY)
            try:
                _setns(fd)
                count += count_here()
            finally:
                os.close(fd)
        return count, seen
    finally:
        _setns(home)
        os.close(home)


def wait_usable(limit_s=30.0):
    """Passes over every namespace until one finds no tentative address.

    Returns the seconds from the call to the last time a tentative address
    was seen (0 when the first pass found none): a lower bound of when
    every address became usable.
    """
    t0 = time.perf_counter()
    last_seen = 0.0
    while True:
        n, seen = tentative()
        now = time.perf_counter() - t0
        if n == 0:
            return last_seen
        last_seen = seen - t0
        time.sleep(0.02)  # leave the CPUs to the kernel's own work between passes
        if now > limit_s:
            raise RuntimeError(f"{n} addresses still tentative after {limit_s:.0f}s")
