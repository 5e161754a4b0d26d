"""SYN: a half-open TCP probe with scapy, and the raw-socket helpers path and sniff share.

One SYN from a random source port: SYN-ACK is open, RST refused, an ICMP
error is classified by type and code with its sender (a firewall's
administratively prohibited names the firewall). The kernel answers the
SYN-ACK with a RST of its own, as it never sent the SYN: nothing stays open.

Needs root (raw sockets); without it the result is ``needs-root`` and the
plain ``tcp`` connect probe is the fallback. scapy is imported only inside
the functions that send, so the command line stays fast. Packets go out
through raw IP sockets, so the kernel picks route, interface and neighbour,
in the network namespace of the calling thread; scapy's own route and
interface tables are re-read there too (:func:`scapy_here`).
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import threading
import time

from nhn_appliance.probes.model import Check, Event, Result, Status
from nhn_appliance.probes.netio import IcmpError, family_of

FALLBACK = (
    "the tcp probe (kind tcp, a plain connect) needs no root and tells open, refused "
    "and rejected apart"
)
CAP_NET_RAW = 13
FRESH = 10.0  # seconds scapy's route table is trusted before it is read again
_lock = threading.Lock()
_loaded: list = [None, 0.0]  # (network namespace, its interfaces) scapy's tables are from; when


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


def needs_root(check: Check) -> Result | None:
    """A ``needs-root`` result when raw sockets are not allowed, else None."""
    if raw_allowed():
        return None
    return Result.of(
        check,
        Status.SKIPPED,
        "needs-root",
        f"{check.kind} {check.target} needs root with CAP_NET_RAW (raw sockets); "
        f"fallback: {FALLBACK}",
    )


def scapy_here():
    """scapy's ``conf``, with routes and interfaces of this thread's network namespace.

    scapy reads them at import; a thread moved with setns (the tests, or an
    appliance probing from another namespace) would otherwise use stale ones.
    They are read again when the namespace or its interfaces change, and
    routes after :data:`FRESH` seconds; once, for many concurrent checks.
    """
    import scapy.layers.inet  # noqa: F401  (registers IP, TCP, UDP, ICMP)
    import scapy.layers.inet6  # noqa: F401  # noqa: F401 - registers the IPv6 layers
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
        return s.getsockname()[0]


def raw_socket(address: str):
    """A scapy L3 socket over a raw IP socket: the kernel routes, scapy parses."""
    from scapy.supersocket import L3RawSocket, L3RawSocket6

    return L3RawSocket6() if family_of(address) == 6 else L3RawSocket()


def icmp_of(reply) -> IcmpError | None:
    """The ICMP error in a parsed reply (IPv4 or IPv6), with its sender, or None."""
    top = reply.payload
    name = type(top).__name__
    if name == "ICMP" or (name.startswith("ICMPv6") and getattr(top, "type", 255) < 128):
        family = 4 if name == "ICMP" else 6
        return IcmpError(0, int(top.type), int(top.code), str(reply.src), family)
    return None


def syn(address: str, port: int, timeout: float) -> tuple[str, dict, list[Event]]:
    """(reason, evidence, events) for one SYN."""
    start = time.monotonic()
    scapy_here()
    from scapy.layers.inet import IP, TCP
    from scapy.layers.inet6 import IPv6

    src = local_source(address)
    sport = random.randint(32768, 60999)
    ip = IPv6(src=src, dst=address) if family_of(address) == 6 else IP(src=src, dst=address)
    probe = ip / TCP(sport=sport, dport=port, flags="S", seq=random.getrandbits(32))
    evidence: dict = {"address": address, "port": port, "source": src, "sport": sport}
    events = [
        Event("send", time.monotonic() - start, address, "tcp", detail=f"SYN from port {sport}")
    ]
    with raw_socket(address) as sock:
        reply = sock.sr1(probe, timeout=max(0.05, timeout - (time.monotonic() - start)), verbose=0)
    if reply is None:
        events.append(Event("recv", time.monotonic() - start, address, "tcp", "timeout"))
        return "timeout", evidence, events
    icmp = icmp_of(reply)
    if icmp is not None:
        evidence |= icmp.as_dict()
        reason, seen = icmp.reason, f"ICMP type {icmp.icmp_type} code {icmp.icmp_code}"
    elif reply.haslayer(TCP):
        flags = reply[TCP].flags
        reason = "open" if flags.S and flags.A else "refused" if flags.R else "bad-reply"
        seen = f"TCP {flags}"
        evidence["flags"] = str(flags)
    else:
        reason, seen = "bad-reply", reply.summary()[:80]
    events.append(
        Event(
            "recv",
            time.monotonic() - start,
            str(reply.src),
            "tcp",
            None if reason == "open" else reason,
            detail=seen,
        )
    )
    return reason, evidence, events


async def run(check: Check, ctx) -> Result:
    if (skipped := needs_root(check)) is not None:
        return skipped
    address, port = check.params["address"], int(check.params["port"])
    reason, evidence, events = await asyncio.to_thread(syn, address, port, ctx.timeout - 0.05)
    if reason == "open":
        result = Result.of(
            check, Status.OK, "open", f"syn {check.target}: SYN-ACK (open)", **evidence
        )
    else:
        result = Result.of(
            check, Status.FAIL, reason, _say(reason, check.target, evidence), **evidence
        )
    result.events = events
    return result


def _say(reason: str, target: str, evidence: dict) -> str:
    sender = f" from {evidence['from']}" if evidence.get("from") else ""
    return {
        "refused": f"syn {target}: refused (TCP reset or port unreachable{sender})",
        "timeout": f"syn {target}: no answer to the SYN (dropped, or nothing there)",
        "icmp-admin-prohibited": f"syn {target}: rejected by a firewall (ICMP administratively "
        f"prohibited{sender})",
        "network-unreachable": f"syn {target}: network unreachable{sender}",
        "icmp-host-unreachable": f"syn {target}: host unreachable{sender}",
    }.get(reason, f"syn {target}: {reason}{sender}")
