"""PATH: a short traceroute that shows which uplink the traffic leaves by.

One probe per hop with TTL 1..max_hops (UDP to the traceroute ports, or a
TCP SYN when the check names a port), at most :data:`RATE` packets a second,
all within the per-check timeout. Each hop's address and round-trip time;
it stops at the destination or at an ICMP unreachable. The evidence names
the source address, interface and gateway the kernel chose and the first
hop that answered: the uplink in use.

Needs root (raw sockets); without it the result is ``needs-root``.
"""

from __future__ import annotations

import random
import select
import time
from typing import Any

from nhn_appliance.probes.context import SLICE, CancelToken, ProbeContext, in_thread
from nhn_appliance.probes.model import Check, Event, Result, Status
from nhn_appliance.probes.netio import family_of
from nhn_appliance.probes.params import PathParams
from nhn_appliance.probes.raw import icmp_of, local_source, needs_root, raw_socket, scapy_here
from nhn_appliance.probes.reasons import Reason

RATE = 20.0  # packets a second, at most
LINGER = 0.3  # seconds to wait for earlier hops once the end is known
TRACE_PORT = 33434


def _hop_of(
    reply: Any, address: str, base: int, max_hops: int
) -> tuple[int, dict[str, Any]] | None:
    """(ttl, hop) when ``reply`` answers one of our probes, else None."""
    icmp = icmp_of(reply)
    if icmp is None:  # a TCP answer from the destination itself
        top = reply.payload
        if type(top).__name__ != "TCP" or str(reply.src) != address:
            return None
        ttl = int(top.dport) - base
        hop: dict[str, Any] = {
            "address": address,
            "kind": "destination",
            "reply": f"TCP {top.flags}",
        }
    else:
        inner = reply.payload.payload  # IPerror / IPerror6 quoting our probe
        try:
            ttl = int(inner.payload.sport) - base
            if str(inner.dst) != address:
                return None
        except AttributeError:
            return None
        hop = {
            "address": icmp.offender,
            "kind": "unreachable",
            "icmp_type": icmp.icmp_type,
            "icmp_code": icmp.icmp_code,
        }
        if icmp.reason == Reason.TIMEOUT:
            hop["kind"] = "time-exceeded"
        elif icmp.reason == Reason.REFUSED:  # port unreachable: only the destination says that
            hop["kind"] = "destination"
        else:
            hop["reason"] = icmp.reason
    return (ttl, hop) if 1 <= ttl <= max_hops else None


def trace(
    address: str, max_hops: int, port: int | None, timeout: float, cancel: CancelToken
) -> tuple[dict[str, Any], list[Event]]:
    start = time.monotonic()
    conf = scapy_here()
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6

    six = family_of(address) == 6
    src = local_source(address)
    iface, _, gateway = (conf.route6 if six else conf.route).route(address)
    base = random.randint(33000, 60000)

    def probe(ttl: int) -> Any:
        ip = IPv6(src=src, dst=address, hlim=ttl) if six else IP(src=src, dst=address, ttl=ttl)
        if port:
            return ip / TCP(sport=base + ttl, dport=port, flags="S", seq=random.getrandbits(32))
        return ip / UDP(sport=base + ttl, dport=TRACE_PORT + ttl - 1)

    deadline = start + timeout
    sent: dict[int, float] = {}  # ttl -> when
    hops: dict[int, dict[str, Any]] = {}
    events: list[Event] = []
    end_ttl: int | None = None  # the first TTL that reached the destination or an unreachable
    end_at = 0.0  # when it did
    with raw_socket(address) as sock:
        next_send = time.monotonic()
        while not cancel.cancelled:
            now = time.monotonic()
            if (
                now >= deadline
                or len(hops) >= max_hops
                or (
                    end_ttl
                    and (now >= end_at + LINGER or all(t in hops for t in range(1, end_ttl)))
                )
            ):
                break
            ttl = len(sent) + 1
            if end_ttl is None and ttl <= max_hops and now >= next_send:
                sent[ttl] = time.time()
                sock.send(probe(ttl))
                events.append(
                    Event(
                        "send", now - start, address, "tcp" if port else "udp", detail=f"ttl {ttl}"
                    )
                )
                next_send = now + 1.0 / RATE
                continue
            sending = end_ttl is None and ttl <= max_hops
            wait = min(SLICE, deadline - now, next_send - now if sending else SLICE)
            if not select.select([sock.ins], [], [], max(0.001, wait))[0]:
                continue
            reply = sock.recv()
            found = reply is not None and _hop_of(reply, address, base, len(sent))
            if not found or found[0] in hops:
                continue
            ttl, hop = found
            hop["rtt_ms"] = round((float(reply.time) - sent[ttl]) * 1000, 2)
            hops[ttl] = hop
            events.append(
                Event(
                    "recv",
                    time.monotonic() - start,
                    hop["address"],
                    hop["kind"],
                    hop.get("reason"),
                    detail=f"ttl {ttl}",
                )
            )
            if hop["kind"] != "time-exceeded" and (end_ttl is None or ttl < end_ttl):
                end_ttl, end_at = ttl, end_at or time.monotonic()
    last = end_ttl or len(sent)
    listed = [{"ttl": t, **hops.get(t, {"address": None})} for t in range(1, last + 1)]
    end = hops.get(end_ttl, {}) if end_ttl else {}
    answered = [h for h in listed if h["address"]]
    return {
        "address": address,
        "max_hops": max_hops,
        "proto": "tcp" if port else "udp",
        **({"port": port} if port else {}),
        "source": src,
        "iface": str(iface),
        "gateway": None if gateway in ("0.0.0.0", "::") else gateway,
        "first_hop": answered[0]["address"] if answered else None,
        "reached": end.get("kind") == "destination",
        "stopped": end.get("reason"),
        "sent": len(sent),
        "hops": listed,
    }, events


async def run(check: Check[PathParams], ctx: ProbeContext) -> Result:
    if (skipped := needs_root(check)) is not None:
        return skipped
    p = check.params
    address, max_hops = p.address, p.max_hops
    if not 1 <= max_hops <= 30:
        detail = f"max_hops {max_hops} is not 1..30"
        return Result.of(check, Status.ERROR, Reason.BAD_INPUT, detail)
    ev, events = await in_thread(
        ctx, trace, address, max_hops, p.port or None, ctx.left() - 0.05, ctx.cancel
    )
    via = f"via {ev['iface']} from {ev['source']}, first hop {ev['first_hop']}"
    forwarded = any(h.get("kind") == "time-exceeded" for h in ev["hops"])
    n = len(ev["hops"])
    if ev["reached"]:
        result = Result.of(
            check, Status.OK, Reason.ANSWERED, f"path to {address}: {n} hops {via}", **ev
        )
    elif forwarded:
        stop = f"stopped: {ev['stopped']}" if ev["stopped"] else "the destination did not answer"
        result = Result.of(check, Status.OK, Reason.OK, f"path to {address}: {via}; {stop}", **ev)
    elif ev["stopped"]:
        result = Result.of(
            check,
            Status.FAIL,
            Reason.of(ev["stopped"]),
            f"path to {address}: {ev['stopped']} at hop {n} ({ev['first_hop']})",
            **ev,
        )
    else:
        result = Result.of(
            check,
            Status.FAIL,
            Reason.TIMEOUT,
            f"path to {address}: no hop answered within {ctx.timeout:g} s "
            f"(leaving by {ev['iface']} from {ev['source']})",
            **ev,
        )
    result.events = events
    return result
