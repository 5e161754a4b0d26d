"""Raw-socket helpers shared by syn, path and sniff (scapy, root).

Packets go out through raw IP sockets, so the kernel picks route,
interface and neighbour, in the network namespace of the calling thread;
scapy's own route and interface tables are re-read there too
(:func:`scapy_here`). scapy is imported only inside the functions that
send, so the command line stays fast.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

from nhn_appliance.probes.model import Check, Result, Status
from nhn_appliance.probes.netio import IcmpError, family_of
from nhn_appliance.probes.params import Params
from nhn_appliance.probes.reasons import Reason

FALLBACK = (
    "the tcp probe (kind tcp, a plain connect) needs no root and tells open, refused "
    "and rejected apart"
)
CAP_NET_RAW = 13
FRESH = 10.0  # seconds scapy's route table is trusted before it is read again
_lock = threading.Lock()
_loaded: list[Any] = [
    None,
    0.0,
]  # (network namespace, its interfaces) scapy's tables are from; when


def raw_allowed() -> bool:
    """Root and CAP_NET_RAW (a root in a container may lack the capability)."""
    if os.geteuid() != 0:
        return False
    try:
        with open("/proc/thread-self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> CAP_NET_RAW & 1)
    except (OSError, ValueError):
        pass
    return True


def needs_root(check: Check[Params]) -> Result | None:
    """A ``needs-root`` result when raw sockets are not allowed, else None."""
    if raw_allowed():
        return None
    return Result.of(
        check,
        Status.SKIPPED,
        Reason.NEEDS_ROOT,
        f"{check.kind} {check.target} needs root with CAP_NET_RAW (raw sockets); "
        f"fallback: {FALLBACK}",
    )


def scapy_here() -> Any:
    """scapy's ``conf``, with routes and interfaces of this thread's network namespace.

    scapy reads them at import; a thread moved with setns (the tests, or an
    appliance probing from another namespace) would otherwise use stale ones.
    They are read again when the namespace or its interfaces change, and
    routes after :data:`FRESH` seconds; once, for many concurrent checks.
    """
    import scapy.layers.inet  # noqa: F401  (registers IP, TCP, UDP, ICMP)
    import scapy.layers.inet6  # noqa: F401  (registers the IPv6 layers)
    from scapy.config import conf

    here = (os.stat("/proc/thread-self/ns/net").st_ino, tuple(socket.if_nameindex()))
    with _lock:
        if here != _loaded[0] or time.monotonic() - _loaded[1] > FRESH:
            conf.route.resync()
            conf.route6.resync()
            if here != _loaded[0]:
                conf.ifaces.reload()  # empties the table for a moment: only when needed
            _loaded[:] = [here, time.monotonic()]
    return conf


def local_source(address: str) -> str:
    """The source address the kernel picks for ``address`` (no packet is sent)."""
    family = socket.AF_INET6 if family_of(address) == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.connect((address, 9))
        return str(s.getsockname()[0])


def raw_socket(address: str) -> Any:
    """A scapy L3 socket over a raw IP socket: the kernel routes, scapy parses."""
    from scapy.supersocket import L3RawSocket, L3RawSocket6

    return L3RawSocket6() if family_of(address) == 6 else L3RawSocket()


def icmp_of(reply: Any) -> IcmpError | None:
    """The ICMP error in a parsed reply (IPv4 or IPv6), with its sender, or None."""
    top = reply.payload
    name = type(top).__name__
    if name == "ICMP" or (name.startswith("ICMPv6") and getattr(top, "type", 255) < 128):
        family = 4 if name == "ICMP" else 6
        return IcmpError(0, int(top.type), int(top.code), str(reply.src), family)
    return None
