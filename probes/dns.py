"""DNS: does a catalogue name resolve through the site's resolver, and to what?

A and AAAA over a connected UDP socket (TCP when the answer is truncated). Where the catalogue
or the pinned state knows the expected addresses, an answer without any of
them is flagged: split horizon (Helsenett vs internet view) or a stale record.
"""

from __future__ import annotations

import time
from typing import Any

from nhn_appliance.probes.context import ProbeContext, in_thread
from nhn_appliance.probes.failures import classify
from nhn_appliance.probes.model import Check, Event, Result, Status
from nhn_appliance.probes.names import answers
from nhn_appliance.probes.netio import open_socket, read_icmp_error
from nhn_appliance.probes.params import DnsParams
from nhn_appliance.probes.reasons import AnyReason, Reason, UnknownReason


class UnmatchedReply(TimeoutError):
    """Replies came, but none answered the query (another transaction ID or
    question): spoofed or misdirected, never used. A time-out in kind (no
    answer came), told apart so the prober and ``resolve`` can say so."""

    def __init__(self, server: str, dropped: int, timeout: float) -> None:
        super().__init__(
            f"{dropped} repl{'y' if dropped == 1 else 'ies'} from {server} did not answer "
            f"the query (another transaction ID or question) and were dropped; "
            f"no answer within {timeout:g} s"
        )
        self.dropped = dropped


def exchange(query: Any, server: str, port: int, timeout: float) -> Any:
    """One query over a *connected* UDP socket, so that an ICMP error (no DNS
    server there, a firewall's reject) is reported at once instead of as a
    time-out, and the kernel drops datagrams from any other address or port;
    TCP when the answer is truncated.

    A reply counts only when it answers the query (``Message.is_response``:
    the QR flag, the transaction ID and the question section, RFC 5452 4.1):
    others are dropped and the wait goes on until ``timeout`` (then
    :class:`UnmatchedReply`), so a forged reply can neither be used nor end
    the wait before the real one comes. dnspython's ``query.tcp`` makes the
    same check."""
    import dns.flags
    import dns.message
    import dns.query

    dropped = 0
    deadline = time.monotonic() + timeout
    with open_socket(server, udp=True, blocking=True) as sock:
        sock.connect((server, port))
        sock.send(query.to_wire())
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                if dropped:
                    raise UnmatchedReply(server, dropped, timeout)
                raise TimeoutError(f"no answer from {server} within {timeout:g} s")
            sock.settimeout(left)
            try:
                data = sock.recv(65535)
            except OSError as exc:
                icmp = read_icmp_error(sock)
                if icmp is not None and not isinstance(exc, TimeoutError):
                    raise OSError(exc.errno, icmp.reason) from exc
                if isinstance(exc, TimeoutError) and dropped:
                    raise UnmatchedReply(server, dropped, timeout) from None
                raise
            try:
                reply = dns.message.from_wire(data)
            except Exception:  # dnspython's FormError, ShortHeader...: hostile bytes
                dropped += 1  # not even DNS: as good as a forged reply
                continue
            if query.is_response(reply):
                break
            dropped += 1
    if reply.flags & dns.flags.TC:
        reply = dns.query.tcp(query, server, timeout=timeout, port=port)
    return reply


def _rcode_reason(rcode: Any) -> AnyReason:
    import dns.rcode

    known = {
        dns.rcode.NXDOMAIN: Reason.NXDOMAIN,
        dns.rcode.SERVFAIL: Reason.SERVFAIL,
        dns.rcode.REFUSED: Reason.DNS_REFUSED,
    }
    return known.get(rcode) or UnknownReason(f"rcode {dns.rcode.to_text(rcode)}")


async def run(check: Check[DnsParams], ctx: ProbeContext) -> Result:
    import dns.message
    import dns.rcode
    import dns.rdatatype

    p = check.params
    name, server = p.name, p.resolver
    start = time.monotonic()
    events: list[Event] = []
    found: list[str] = []
    ttls: list[int] = []
    # the A query may take half of what the check has left, the AAAA query the rest:
    # a check that started late still ends by its own deadline
    first = max(0.2, ctx.left() / 2)
    for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        query = dns.message.make_query(name, rdtype)
        label = dns.rdatatype.to_text(rdtype)
        per_query = first if rdtype == dns.rdatatype.A else max(0.2, ctx.left())
        try:
            reply = await in_thread(ctx, exchange, query, server, p.port, per_query)
        except Exception as exc:  # dnspython raises its own Timeout, OSError, FormError...
            reason = Reason.BAD_REPLY if isinstance(exc, UnmatchedReply) else classify(exc)
            events.append(
                Event("query", time.monotonic() - start, server, "udp", reason, detail=label)
            )
            detail = (
                f"{name}: {exc}"
                if isinstance(exc, UnmatchedReply)
                else f"{name}: no answer from resolver {server}"
            )
            return Result.of(
                check, Status.FAIL, reason, detail, events=events, resolver=server, name=name
            )
        rcode = reply.rcode()
        rtext = dns.rcode.to_text(rcode)
        size = len(reply.to_wire())
        events.append(
            Event("answer", time.monotonic() - start, server, "udp", None, size, f"{label} {rtext}")
        )
        if rcode != dns.rcode.NOERROR:
            return Result.of(
                check,
                Status.FAIL,
                _rcode_reason(rcode),
                f"{name}: {rtext} from {server}",
                events=events,
                resolver=server,
                name=name,
                rcode=rtext,
            )
        addresses, rttls = answers(reply, rdtype)
        found += addresses
        ttls += rttls
    got, expect = sorted(set(found)), set(p.expect)
    evidence = {
        "resolver": server,
        "name": name,
        "addresses": got,
        "ttl": min(ttls) if ttls else None,
        "expected": sorted(expect),
    }
    if not got:
        detail = f"{name} has no A or AAAA record at {server}"
        return Result.of(check, Status.FAIL, Reason.NO_ADDRESS, detail, events=events, **evidence)
    if expect and not expect & set(got):
        detail = (
            f"{name} resolves to {', '.join(got)}, not the expected "
            f"{', '.join(sorted(expect))} (split horizon or a stale record)"
        )
        status, reason = Status.WARN, Reason.ANSWER_DIFFERS
    else:
        status, reason = Status.OK, Reason.OK
        detail = f"{name} resolves to {', '.join(got)}"
    return Result.of(check, status, reason, detail, events=events, **evidence)
