"""DNS: does a catalogue name resolve through the site's resolver, and to what?

A and AAAA over a connected UDP socket (TCP when the answer is truncated). Where the catalogue
or the pinned state knows the expected addresses, an answer without any of
them is flagged: split horizon (Helsenett vs internet view) or a stale record.
"""

from __future__ import annotations

import asyncio
import socket
import time

from nhn_appliance.probes.failures import classify
from nhn_appliance.probes.model import Check, Event, Result, Status
from nhn_appliance.probes.netio import enable_recverr, family_of, read_icmp_error


def exchange(query, server: str, port: int, timeout: float):
    """One query over a *connected* UDP socket, so that an ICMP error (no DNS
    server there, a firewall's reject) is reported at once instead of as a
    time-out; TCP when the answer is truncated."""
    import dns.flags
    import dns.message
    import dns.query

    family = family_of(server)
    sock = socket.socket(socket.AF_INET6 if family == 6 else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        enable_recverr(sock, family)
        sock.settimeout(timeout)
        sock.connect((server, port))
        sock.send(query.to_wire())
        try:
            data = sock.recv(65535)
        except OSError as exc:
            icmp = read_icmp_error(sock)
            if icmp is not None and not isinstance(exc, TimeoutError):
                raise OSError(exc.errno, icmp.reason) from exc
            raise
        reply = dns.message.from_wire(data)
    finally:
        sock.close()
    if reply.flags & dns.flags.TC:
        reply = dns.query.tcp(query, server, timeout=timeout, port=port)
    return reply


async def run(check: Check, ctx) -> Result:
    import dns.message
    import dns.rcode
    import dns.rdatatype

    name = check.params["name"]
    server = check.params["resolver"]
    port = int(check.params.get("port", 53))
    expect = set(check.params.get("expect", ()))
    start = time.monotonic()
    events: list[Event] = []
    answers: list[str] = []
    ttls: list[int] = []
    per_query = max(0.2, ctx.timeout / 2)
    for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        query = dns.message.make_query(name, rdtype)
        label = dns.rdatatype.to_text(rdtype)
        try:
            reply = await asyncio.to_thread(exchange, query, server, port, per_query)
        except Exception as exc:  # dnspython raises its own Timeout, OSError, FormError...
            reason = classify(exc)
            events.append(
                Event("query", time.monotonic() - start, server, "udp", reason, detail=label)
            )
            result = Result.of(
                check,
                Status.FAIL,
                reason,
                f"{name}: no answer from resolver {server}",
                resolver=server,
                name=name,
            )
            result.events = events
            return result
        rcode = reply.rcode()
        events.append(
            Event(
                "answer",
                time.monotonic() - start,
                server,
                "udp",
                None,
                num_bytes=len(reply.to_wire()),
                detail=f"{label} {dns.rcode.to_text(rcode)}",
            )
        )
        if rcode != dns.rcode.NOERROR:
            reason = {
                dns.rcode.NXDOMAIN: "nxdomain",
                dns.rcode.SERVFAIL: "servfail",
                dns.rcode.REFUSED: "dns-refused",
            }.get(rcode, f"unknown: rcode {dns.rcode.to_text(rcode)}")
            result = Result.of(
                check,
                Status.FAIL,
                reason,
                f"{name}: {dns.rcode.to_text(rcode)} from {server}",
                resolver=server,
                name=name,
                rcode=dns.rcode.to_text(rcode),
            )
            result.events = events
            return result
        for rrset in reply.answer:
            if rrset.rdtype == rdtype:
                ttls.append(rrset.ttl)
                answers.extend(r.address for r in rrset)
    evidence = {
        "resolver": server,
        "name": name,
        "addresses": sorted(set(answers)),
        "ttl": min(ttls) if ttls else None,
        "expected": sorted(expect),
    }
    if not answers:
        result = Result.of(
            check,
            Status.FAIL,
            "no-address",
            f"{name} has no A or AAAA record at {server}",
            **evidence,
        )
    elif expect and not expect & set(answers):
        result = Result.of(
            check,
            Status.WARN,
            "answer-differs",
            f"{name} resolves to {', '.join(sorted(set(answers)))}, not the expected "
            f"{', '.join(sorted(expect))} (split horizon or a stale record)",
            **evidence,
        )
    else:
        result = Result.of(
            check,
            Status.OK,
            "ok",
            f"{name} resolves to {', '.join(sorted(set(answers)))}",
            **evidence,
        )
    result.events = events
    return result
