"""SNIFF: which LAN hosts talk to known-good and known-wrong hosts, passively and briefly.

A bounded capture (a BPF filter on the watched hosts only, nothing stored,
a packet cap, at most the per-check timeout) that lists the hosts talking
to the good hosts and to the bad ones; the plan takes both from the
catalogue (payment terminals: the accepted and the rejected endpoints). The
evidence keeps only addresses, ports, protocol, counts and times: never
payload bytes.

Needs root (raw sockets); without it the result is ``needs-root``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from typing import Any

from nhn_appliance.probes.context import SLICE, CancelToken, ProbeContext, in_thread
from nhn_appliance.probes.model import Check, Result, Status
from nhn_appliance.probes.params import SniffParams
from nhn_appliance.probes.raw import needs_root, scapy_here
from nhn_appliance.probes.reasons import Reason

MAX_PACKETS = 10_000  # the capture stops after this many
MAX_PAIRS = 256  # (host, peer) pairs kept
MAX_PORTS = 16  # ports kept per pair


def _norm(address: str) -> str:
    return ipaddress.ip_address(address).compressed


def capture(
    good: list[str],
    bad: list[str],
    seconds: float,
    budget: float,
    iface: str | None,
    cancel: CancelToken,
) -> dict[str, Any]:
    """Listen ``seconds``, but end within ``budget`` seconds of the call, set-up included."""
    start = time.monotonic()
    scapy_here()
    from scapy.sendrecv import AsyncSniffer

    verdict = {_norm(a): "good" for a in good} | {_norm(a): "bad" for a in bad}
    ifaces = [iface] if iface else [n for _, n in socket.if_nameindex() if n != "lo"]
    bpf = " or ".join(f"host {a}" for a in verdict)
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    t0 = time.time()

    def seen(pkt: Any) -> None:  # runs in the sniffer's thread; reads headers only
        ip = pkt.getlayer("IP") or pkt.getlayer("IPv6")
        if ip is None:
            return
        src, dst = _norm(ip.src), _norm(ip.dst)
        if (src in verdict) == (dst in verdict):
            return
        peer, host, outbound = (dst, src, True) if dst in verdict else (src, dst, False)
        key = (host, peer)
        if key not in pairs and len(pairs) >= MAX_PAIRS:
            return
        top = ip.payload
        name = type(top).__name__
        proto = (
            name.lower()
            if name in ("TCP", "UDP")
            else "icmp"
            if name.startswith("ICMP")
            else str(ip.proto if ip.version == 4 else ip.nh)
        )
        pair = pairs.setdefault(
            key,
            {
                "host": host,
                "peer": peer,
                "verdict": verdict[peer],
                "protos": set(),
                "ports": set(),
                "packets": 0,
                "first_s": round(float(pkt.time) - t0, 3),
                "ifaces": set(),
            },
        )
        pair["protos"].add(proto)
        port = getattr(top, "dport" if outbound else "sport", None)  # the watched host's port
        if proto in ("tcp", "udp") and port is not None and len(pair["ports"]) < MAX_PORTS:
            pair["ports"].add(int(port))
        pair["packets"] += 1
        pair["last_s"] = round(float(pkt.time) - t0, 3)
        pair["ifaces"].add(str(getattr(pkt, "sniffed_on", "") or ""))

    window = max(0.05, min(seconds, budget - (time.monotonic() - start)))
    started = threading.Event()
    sniffer = AsyncSniffer(
        iface=ifaces,
        filter=bpf,
        prn=seen,
        store=False,
        count=MAX_PACKETS,
        started_callback=started.set,
    )
    begun = time.monotonic()
    sniffer.start()
    thread = sniffer.thread
    if thread is None:  # start() makes it; scapy types it as optional
        raise RuntimeError("the capture thread did not start")
    while thread.is_alive() and not cancel.cancelled:
        left = begun + window - time.monotonic()
        if left <= 0:
            break
        thread.join(min(SLICE, left))
    if thread.is_alive() and started.wait(1.0):  # stop() before the start is a no-op
        with contextlib.suppress(Exception):
            sniffer.stop(join=False)
    thread.join(1.0)
    if sniffer.exception is not None:
        raise sniffer.exception
    talkers = sorted(
        (
            {
                **p,
                "protos": sorted(p["protos"]),
                "ports": sorted(p["ports"]),
                "ifaces": sorted(p["ifaces"] - {""}),
            }
            for p in pairs.values()
        ),
        key=lambda p: (p["verdict"] != "bad", p["host"], p["peer"]),
    )
    count = getattr(sniffer, "count", 0)
    return {
        "good": list(good),
        "bad": list(bad),
        "iface": iface or "all",
        "filter": bpf,
        "seconds": round(time.monotonic() - begun, 2),
        "packets": count,
        "truncated": count >= MAX_PACKETS or len(pairs) >= MAX_PAIRS,
        "bad_talkers": sorted({p["host"] for p in talkers if p["verdict"] == "bad"}),
        "good_talkers": sorted({p["host"] for p in talkers if p["verdict"] == "good"}),
        "talkers": talkers,
    }


async def run(check: Check[SniffParams], ctx: ProbeContext) -> Result:
    if (skipped := needs_root(check)) is not None:
        return skipped
    p = check.params
    good, bad = list(p.good), list(p.bad)
    try:
        if not good or not bad:
            raise ValueError("needs good and bad hosts to tell them apart")
        for a in good + bad:
            _norm(a)
    except ValueError as exc:
        return Result.of(check, Status.ERROR, Reason.BAD_INPUT, str(exc))
    budget = ctx.left() - 0.15  # room to stop and join
    ev = await in_thread(ctx, capture, good, bad, p.seconds, budget, p.iface, ctx.cancel)
    fix = f"{p.good_label} {', '.join(good)}"
    if ev["bad_talkers"]:
        hosts, peers = (
            ", ".join(ev["bad_talkers"]),
            sorted({t["peer"] for t in ev["talkers"] if t["verdict"] == "bad"}),
        )
        return Result.of(
            check,
            Status.FAIL,
            Reason.TERMINAL_WRONG_HOST,
            f"{hosts} talk(s) to {', '.join(peers)}, not to {fix}: set the terminal's "
            f"host to {fix}, then run the terminal's own test",
            **ev,
        )
    if ev["good_talkers"]:
        return Result.of(
            check, Status.OK, Reason.OK, f"{', '.join(ev['good_talkers'])} talk(s) to {fix}", **ev
        )
    return Result.of(
        check,
        Status.SKIPPED,
        Reason.NOTHING_SEEN,
        f"no terminal traffic to {', '.join(good + bad)} seen in {ev['seconds']:g} s "
        f"on {ev['iface']}; start a payment or the terminal's test while it listens",
        **ev,
    )
