"""Signalling over UDP: a STUN Binding Request (RFC 5389) and a SIP OPTIONS (RFC 3261).

Both ask a question only the real protocol can answer. A UDP request without a
reply is "no-answer", never "open": silence proves nothing. ICMP errors are read
from the socket's error queue (IP_RECVERR), so a firewall's reject is told apart
from a closed port. SIP also runs over TCP (``transport = "tcp"``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import secrets
import socket
import struct
import time
from typing import Any

from nhn_appliance.probes.context import ProbeContext
from nhn_appliance.probes.failures import classify
from nhn_appliance.probes.model import Check, Event, Result, Status
from nhn_appliance.probes.netio import open_socket, read_icmp_error
from nhn_appliance.probes.params import Params, SipParams, StunParams
from nhn_appliance.probes.reasons import AnyReason, Reason

COOKIE = 0x2112A442
TRANSMISSIONS = 3  # the first send and at most two retransmissions
_ATTRS = {
    0x0001: "MAPPED-ADDRESS",
    0x0009: "ERROR-CODE",
    0x0020: "XOR-MAPPED-ADDRESS",
    0x8022: "SOFTWARE",
    0x8028: "FINGERPRINT",
    0x802B: "RESPONSE-ORIGIN",
    0x802C: "OTHER-ADDRESS",
}
_STATUS = re.compile(r"SIP/2\.0 ([1-6]\d\d)(?: (.*))?")
USER_AGENT = "nhn-appliance probe"


class _Trace:
    def __init__(self, address: str, proto: str) -> None:
        self.t0, self.address, self.proto = time.monotonic(), address, proto
        self.events: list[Event] = []

    def __call__(
        self, op: str, failure: AnyReason | None = None, size: int = 0, detail: str = ""
    ) -> None:
        self.events.append(
            Event(op, time.monotonic() - self.t0, self.address, self.proto, failure, size, detail)
        )


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0)


def parse_stun(data: bytes, tid: bytes) -> dict[str, Any]:
    """The evidence in a Binding response to ``tid``; ValueError if it is not one."""
    mtype, length, cookie, rtid = struct.unpack_from("!HHI12s", data.ljust(20, b"\0"))
    if len(data) < 20 or cookie != COOKIE or mtype & 0xC000:
        raise ValueError(f"not a STUN message ({len(data)} bytes, no magic cookie)")
    if rtid != tid or mtype not in (0x0101, 0x0111) or 20 + length > len(data):
        raise ValueError(f"STUN type 0x{mtype:04x}, not a whole Binding response to our request")
    out: dict[str, Any] = {"stun_type": "success" if mtype == 0x0101 else "error", "attributes": []}
    pos = 20
    while pos + 4 <= 20 + length:
        atype, alen = struct.unpack_from("!HH", data, pos)
        value = data[pos + 4 : pos + 4 + alen]
        if len(value) < alen:
            raise ValueError("truncated STUN attribute")
        pos += 4 + alen + (-alen % 4)
        out["attributes"].append(_ATTRS.get(atype, f"0x{atype:04x}"))
        if atype == 0x0020:
            out["xor"] = _stun_address(value, tid, xor=True)
        elif atype == 0x0001:
            out["plain"] = _stun_address(value, tid, xor=False)
        elif atype == 0x8022:
            out["software"] = value.decode("utf-8", "replace")
        elif atype == 0x0009 and alen >= 4:
            code = (value[2] & 7) * 100 + value[3]
            out["error"] = f"{code} {value[4:].decode('utf-8', 'replace')}"
    return out


def _stun_address(value: bytes, tid: bytes, xor: bool) -> tuple[str, int]:
    family, (port,), raw = value[1:2], struct.unpack_from("!H", value.ljust(4, b"\0"), 2), value[4:]
    if xor:
        port ^= COOKIE >> 16
        raw = bytes(a ^ b for a, b in zip(raw, struct.pack("!I", COOKIE) + tid, strict=False))
    if (family, len(raw)) not in ((b"\1", 4), (b"\2", 16)):
        raise ValueError(f"STUN address family {family!r} with {len(raw)} address bytes")
    return str(ipaddress.ip_address(raw)), port


def parse_sip(data: bytes) -> dict[str, Any]:
    """Status line and the headers a person wants; ValueError if it is not a SIP response."""
    lines = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").splitlines()
    match = _STATUS.fullmatch(lines[0].strip()) if lines else None
    if not match:
        raise ValueError(f"not a SIP status line: {data[:60]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.setdefault(name.strip().lower(), value.strip())
    return {
        "status_line": lines[0].strip(),
        "status_code": int(match.group(1)),
        "server": headers.get("server") or headers.get("user-agent"),
        "allow": headers.get("allow"),
    }


def _options(p: SipParams, sock: socket.socket, ev: dict[str, Any]) -> bytes:
    host, port = sock.getsockname()[:2]
    local = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    transport, peer = p.transport, p.address
    domain = p.domain or (f"[{peer}]" if ":" in peer else peer)
    tag, branch = secrets.token_hex(8), secrets.token_hex(8)
    request = (
        f"OPTIONS sip:{domain} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport.upper()} {local};branch=z9hG4bK{branch};rport\r\n"
        f"Max-Forwards: 70\r\n"
        f"From: <sip:probe@{domain}>;tag={tag}\r\n"
        f"To: <sip:{domain}>\r\n"
        f"Call-ID: {secrets.token_hex(12)}@{domain}\r\n"
        f"CSeq: 1 OPTIONS\r\n"
        f"Contact: <sip:probe@{local};transport={transport}>\r\n"
        f"User-Agent: {USER_AGENT}\r\n"
        f"Content-Length: 0\r\n\r\n"
    ).encode()
    ev["sent"], ev["bytes_sent"] = f"OPTIONS sip:{domain} SIP/2.0", len(request)
    return request


async def _udp_ask(
    sock: socket.socket, payload: bytes, timeout: float, trace: _Trace
) -> tuple[bytes | None, int]:
    """Send ``payload`` up to 3 times (RTO doubling, RFC 5389 7.2.1); the first datagram back."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + timeout
    rto = max(0.05, min(0.5, timeout / 4))
    for attempt in range(TRANSMISSIONS):
        sock.send(payload)
        trace("send", size=len(payload), detail="retransmission" if attempt else "")
        wait = _left(deadline)
        if attempt < TRANSMISSIONS - 1:
            wait = min(rto * 2**attempt, wait)
        try:
            data = await asyncio.wait_for(loop.sock_recv(sock, 65535), wait)
        except TimeoutError:
            if time.monotonic() >= deadline:
                return None, attempt + 1
            continue
        trace("recv", size=len(data))
        return data, attempt + 1
    return None, TRANSMISSIONS


def _failure(
    check: Check[Params],
    exc: OSError,
    sock: socket.socket,
    ev: dict[str, Any],
    what: str,
    trace: _Trace,
    op: str,
) -> Result:
    """A FAIL result; an ICMP error on the queue says more than the errno."""
    icmp = read_icmp_error(sock)
    reason = icmp.reason if icmp else classify(exc)
    if icmp:
        ev |= icmp.as_dict()
        why = icmp.why
    else:
        why = os.strerror(exc.errno) if exc.errno else str(exc) or "nothing within the time limit"
    trace(op, failure=reason, detail=why)
    return Result.of(check, Status.FAIL, reason, f"{what}: {reason} ({why})", **ev)


async def _stun(
    check: Check[Params], ip: str, port: int, timeout: float, trace: _Trace, said: float
) -> Result:
    tid = secrets.token_bytes(12)
    request = struct.pack("!HHI12s", 0x0001, 0, COOKIE, tid)
    ev: dict[str, Any] = {
        "address": ip,
        "port": port,
        "sent": "Binding Request",
        "bytes_sent": 20,
        "transaction_id": tid.hex(),
    }
    sock = open_socket(ip, udp=True)
    try:
        sock.connect((ip, port))
        ev["local_address"], ev["local_port"] = sock.getsockname()[:2]
        data, ev["transmissions"] = await _udp_ask(sock, request, timeout, trace)
    except OSError as exc:
        return _failure(check, exc, sock, ev, f"STUN to {ip} udp/{port}", trace, "recv")
    finally:
        sock.close()
    if data is None:
        trace("recv", failure=Reason.NO_ANSWER)
        detail = (
            f"no STUN reply from {ip} udp/{port} to {ev['transmissions']} Binding Requests"
            f" within {said:g} s (filtered, or nothing there)"
        )
        return Result.of(check, Status.FAIL, Reason.NO_ANSWER, detail, **ev)
    ev["bytes_received"] = len(data)
    try:
        reply = parse_stun(data, tid)
        ev["attributes"] = reply["attributes"]
        mapped, ev["mapped_from"] = (
            (reply["xor"], "XOR-MAPPED-ADDRESS")
            if "xor" in reply
            else (reply.get("plain"), "MAPPED-ADDRESS")
        )
    except ValueError as exc:
        ev["reply_head"] = data[:64].hex()
        detail = f"{ip} udp/{port} answered, but: {exc}"
        return Result.of(check, Status.FAIL, Reason.BAD_REPLY, detail, **ev)
    ev["software"] = reply.get("software")
    if reply["stun_type"] == "error" or mapped is None:
        ev["error"] = reply.get("error")
        detail = f"the STUN server answered without an address ({ev['error'] or 'no attribute'})"
        return Result.of(check, Status.WARN, Reason.ANSWERED, detail, **ev)
    ev["mapped_address"], ev["mapped_port"] = mapped
    ev["nat"] = mapped[0] != ev["local_address"]
    nat = f" (NAT: local address {ev['local_address']})" if ev["nat"] else ""
    detail = f"the STUN server answered; it sees this site as {mapped[0]} port {mapped[1]}{nat}"
    return Result.of(check, Status.OK, Reason.ANSWERED, detail, **ev)


async def _sip(
    check: Check[Params], p: SipParams, ip: str, timeout: float, trace: _Trace, said: float
) -> Result:
    transport, port = p.transport, p.port
    trace.proto, udp = transport, transport == "udp"
    ev: dict[str, Any] = {"address": ip, "port": port, "transport": transport}
    what = f"SIP OPTIONS to {ip} {transport}/{port}"
    sock, deadline, step = open_socket(ip, udp), time.monotonic() + timeout, "connect"
    data: bytes | None
    loop = asyncio.get_running_loop()
    try:
        if udp:
            sock.connect((ip, port))
            request, step = _options(p, sock, ev), "recv"
            data, ev["transmissions"] = await _udp_ask(sock, request, timeout, trace)
        else:
            await asyncio.wait_for(loop.sock_connect(sock, (ip, port)), timeout)
            trace("connect")
            request, step = _options(p, sock, ev), "recv"
            await asyncio.wait_for(loop.sock_sendall(sock, request), _left(deadline))
            trace("send", size=len(request))
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = await asyncio.wait_for(loop.sock_recv(sock, 65536), _left(deadline))
                trace("recv", size=len(chunk))
                if not chunk:
                    break
                data += chunk
    except (OSError, TimeoutError) as exc:
        return _failure(check, exc, sock, ev, f"{what} ({step})", trace, step)
    finally:
        sock.close()
    if data is None:
        trace("recv", failure=Reason.NO_ANSWER)
        detail = f"{what}: no reply to {ev['transmissions']} requests within {said:g} s"
        return Result.of(check, Status.FAIL, Reason.NO_ANSWER, detail, **ev)
    ev["bytes_received"] = len(data)
    try:
        ev |= parse_sip(data)
    except ValueError as exc:
        ev["reply_head"] = data[:64].hex()
        why = "closed the connection without a reply" if not data else str(exc)
        return Result.of(check, Status.FAIL, Reason.BAD_REPLY, f"{what}: {why}", **ev)
    note = "" if ev["status_code"] == 200 else " (not 200, but the signalling path works)"
    detail = f"the SIP server answered {ev['status_line']!r}{note}"
    return Result.of(check, Status.OK, Reason.ANSWERED, detail, **ev)


async def run(check: Check[StunParams | SipParams], ctx: ProbeContext) -> Result:
    """One STUN or SIP check; network failures become results, never exceptions."""
    p = check.params
    try:
        ip = str(ipaddress.ip_address(p.address))
        if not 0 < p.port < 65536:
            raise ValueError(f"port {p.port} out of range")
        if isinstance(p, SipParams) and p.transport not in ("udp", "tcp"):
            raise ValueError(f"SIP transport {p.transport!r} is not udp or tcp")
    except ValueError as exc:
        detail = f"bad {check.kind} params: {exc}"
        return Result.of(check, Status.ERROR, Reason.BAD_INPUT, detail)
    trace = _Trace(ip, "udp")
    budget = ctx.left()  # to the check's deadline; the texts name the timeout asked for
    if isinstance(p, SipParams):
        result = await _sip(check, p, ip, budget, trace, ctx.timeout)
    else:
        result = await _stun(check, ip, p.port, budget, trace, ctx.timeout)
    result.events = trace.events
    return result
