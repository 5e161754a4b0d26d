"""SYN: a half-open TCP probe with scapy.

One SYN from a random source port: SYN-ACK is open, RST refused, an ICMP
error is classified by type and code with its sender (a firewall's
administratively prohibited names the firewall). The kernel answers the
SYN-ACK with a RST of its own, as it never sent the SYN: nothing stays open.

Needs root (raw sockets, :mod:`nhn_appliance.probes.raw`); without it the
result is ``needs-root`` and the plain ``tcp`` connect probe is the fallback.
"""

from __future__ import annotations

import random
import time
from typing import Any

from nhn_appliance.probes.context import ProbeContext, in_thread
from nhn_appliance.probes.model import Check, Event, Result, Status
from nhn_appliance.probes.netio import family_of
from nhn_appliance.probes.params import SynParams
from nhn_appliance.probes.raw import icmp_of, local_source, needs_root, raw_socket, scapy_here
from nhn_appliance.probes.reasons import AnyReason, Reason, say


def syn(address: str, port: int, timeout: float) -> tuple[AnyReason, dict[str, Any], list[Event]]:
    """(reason, evidence, events) for one SYN."""
    start = time.monotonic()
    scapy_here()
    from scapy.layers.inet import IP, TCP
    from scapy.layers.inet6 import IPv6

    src = local_source(address)
    sport = random.randint(32768, 60999)
    ip = IPv6(src=src, dst=address) if family_of(address) == 6 else IP(src=src, dst=address)
    probe = ip / TCP(sport=sport, dport=port, flags="S", seq=random.getrandbits(32))
    evidence: dict[str, Any] = {"address": address, "port": port, "source": src, "sport": sport}
    events = [
        Event("send", time.monotonic() - start, address, "tcp", detail=f"SYN from port {sport}")
    ]
    with raw_socket(address) as sock:
        reply = sock.sr1(probe, timeout=max(0.05, timeout - (time.monotonic() - start)), verbose=0)
    if reply is None:
        events.append(Event("recv", time.monotonic() - start, address, "tcp", Reason.TIMEOUT))
        return Reason.TIMEOUT, evidence, events
    icmp = icmp_of(reply)
    reason: Reason
    if icmp is not None:
        evidence |= icmp.as_dict()
        reason, seen = icmp.reason, f"ICMP type {icmp.icmp_type} code {icmp.icmp_code}"
    elif reply.haslayer(TCP):
        flags = reply[TCP].flags
        reason = (
            Reason.OPEN if flags.S and flags.A else Reason.REFUSED if flags.R else Reason.BAD_REPLY
        )
        seen = f"TCP {flags}"
        evidence["flags"] = str(flags)
    else:
        reason, seen = Reason.BAD_REPLY, reply.summary()[:80]
    failure = None if reason == Reason.OPEN else reason
    events.append(Event("recv", time.monotonic() - start, str(reply.src), "tcp", failure, 0, seen))
    return reason, evidence, events


async def run(check: Check[SynParams], ctx: ProbeContext) -> Result:
    if (skipped := needs_root(check)) is not None:
        return skipped
    p = check.params
    reason, evidence, events = await in_thread(ctx, syn, p.address, p.port, ctx.left() - 0.05)
    if reason == Reason.OPEN:
        detail = f"syn {check.target}: SYN-ACK (open)"
        return Result.of(check, Status.OK, reason, detail, events=events, **evidence)
    detail = say("syn", check.target, reason, evidence.get("from", ""))
    return Result.of(check, Status.FAIL, reason, detail, events=events, **evidence)
