"""Kind ``proxy``: does the web proxy open a tunnel to where the site needs to go?

One ``CONNECT host:port`` over a raw asyncio stream (http.client's set_tunnel
buffers the reply and hides the status line), then the status line and the
headers, bounded in size and time. Credentials, when a check carries them
(``username``/``password``, or ``user:pass@`` in ``proxy``), are sent
as Basic Proxy-Authorization and never appear in the result: it names the
request's header names only and the Proxy-Authenticate schemes only, and
what the proxy sent back is scrubbed of them in case it echoes them.
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from typing import Any
from urllib.parse import unquote, urlsplit

from nhn_appliance.probes.context import ProbeContext, in_thread
from nhn_appliance.probes.failures import classify
from nhn_appliance.probes.model import Check, Event, Result, Status
from nhn_appliance.probes.names import is_ip, resolver_for
from nhn_appliance.probes.params import ProxyParams
from nhn_appliance.probes.reasons import AnyReason, Reason

DEFAULT_PORT = 8080
MAX_HEAD = 16384  #: bytes of status line plus headers read at most


def split_hostport(text: str, default: int | None = None) -> tuple[str, int | None]:
    """ "h:1", "[v6]:1", "h", a bare IPv6 literal -> (host, port or default)."""
    m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?|([^:\s]+)(?::(\d+))?", text.strip())
    if not m:
        return text.strip(), default  # a bare IPv6 literal has colons but no port
    host, port = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    return host, int(port) if port else default


def hostport(host: str, port: int | None) -> str:
    """ "h:1", "[v6]:1"; the bare host when there is no port."""
    if port is None:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _scrub(text: str, secrets: list[str]) -> str:
    for s in secrets:
        text = text.replace(s, "***")
    return text


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    """Status line and headers, up to the blank line; stops early at a line that is not
    HTTP (a banner), at EOF, and at MAX_HEAD bytes or 100 lines."""
    head = b""
    for _ in range(100):
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            return head + exc.partial  # closed early: use what came
        except asyncio.LimitOverrunError:
            return head + b"\0overrun"
        head += line
        if line in (b"\r\n", b"\n") or not head.startswith(b"HTTP/") or len(head) > MAX_HEAD:
            break
    return head


async def _exchange(
    ip: str, port: int, request: bytes, events: list[Event], t0: float, phase: list[str]
) -> tuple[str, list[tuple[str, str]]]:
    """Send the CONNECT; return the status line and the headers."""
    peer = hostport(ip, port)
    try:
        reader, writer = await asyncio.open_connection(ip, port, limit=MAX_HEAD)
    except OSError as exc:
        events.append(Event("connect", time.monotonic() - t0, peer, "tcp", classify(exc)))
        raise
    events.append(Event("connect", time.monotonic() - t0, peer, "tcp"))
    try:
        phase[0] = "answer"
        writer.write(request)
        await writer.drain()
        events.append(Event("send", time.monotonic() - t0, peer, "tcp", num_bytes=len(request)))
        head = await _read_head(reader)
        events.append(Event("recv", time.monotonic() - t0, peer, "tcp", num_bytes=len(head)))
    finally:
        writer.close()
    if b"\0overrun" in head or len(head) > MAX_HEAD:
        phase[0] = "overrun"
    lines = head.decode("latin-1").splitlines()
    fields = (h.partition(":") for h in lines[1:])
    return (lines or [""])[0], [(k.strip().lower(), v.strip()) for k, sep, v in fields if sep]


async def run(check: Check[ProxyParams], ctx: ProbeContext) -> Result:
    t0, p = time.monotonic(), check.params
    proxy, user, password = p.proxy, p.username, p.password
    if "://" in proxy or "@" in proxy:  # "http://user:pass@host:port"
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        user = user or (unquote(parts.username) if parts.username else None)
        password = password or (unquote(parts.password) if parts.password else None)
        proxy = parts.netloc.rpartition("@")[2]
    given_port = p.port if p.port is not None else DEFAULT_PORT
    host, port = split_hostport(proxy, given_port if 0 < given_port < 65536 else None)
    target = p.connect_to
    address = p.address or (host if is_ip(host) else None)
    secrets = [s for s in (user, password) if s]
    token = base64.b64encode(f"{user or ''}:{password or ''}".encode()).decode() if secrets else ""
    secrets += [token] if token else []
    events: list[Event] = []

    def result(status: Status, reason: AnyReason, detail: str, **evidence: Any) -> Result:
        res = Result.of(
            check,
            status,
            reason,
            _scrub(detail, secrets),
            events=events,
            proxy=hostport(host, port),
            address=address,
            connect_to=target,
            credentials_sent=bool(secrets),
            **evidence,
        )
        res.target = _scrub(res.target, secrets)  # "user:pass@" in a target
        return res

    if (
        not host
        or not port
        or split_hostport(target)[1] is None
        or (address and not is_ip(address))
    ):
        return result(
            Status.ERROR,
            Reason.BAD_INPUT,
            "needs proxy (host:port), connect_to (host:port), address (an IP) if any",
        )
    if not address:
        try:
            lookup = resolver_for(ctx.remaining())  # within the check's deadline
            found = await asyncio.wait_for(in_thread(ctx, lookup, host), ctx.left())
        except Exception as exc:  # noqa: BLE001 - DNS failures are results
            return result(Status.FAIL, classify(exc), f"cannot resolve the proxy {host}")
        if not found:
            detail = f"the proxy name {host} has no address"
            return result(Status.FAIL, Reason.NO_ADDRESS, detail)
        address = found[0]
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}", "User-Agent: nhn-appliance"]
    if token:
        lines.append(f"Proxy-Authorization: Basic {token}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii", "replace")
    sent = {"request": lines[0], "request_headers": [h.split(":")[0] for h in lines[1:]]}
    phase = ["connect"]
    try:
        status_line, headers = await asyncio.wait_for(
            _exchange(address, port, request, events, t0, phase), ctx.left()
        )
    except (OSError, TimeoutError) as exc:
        why = classify(exc)
        where = "no answer to CONNECT from" if phase[0] == "answer" else "cannot connect to"
        return result(
            Status.FAIL,
            why,
            f"{where} the proxy {hostport(address, port)} ({why})",
            network_reason=str(why),
            phase=phase[0],
            **sent,
        )
    status_line = _scrub(status_line, secrets)  # a proxy might echo what it got
    headers = [(k, _scrub(v, secrets)) for k, v in headers]
    m = re.match(r"HTTP/\d(?:\.\d)? (\d{3})", status_line)
    if phase[0] == "overrun" or not m:
        what = "headers too long" if phase[0] == "overrun" else repr(status_line[:80])
        return result(
            Status.FAIL,
            Reason.BAD_REPLY,
            f"the proxy did not answer HTTP: {what}",
            status_line=status_line[:200],
            **sent,
        )
    code = int(m.group(1))
    seen = {
        "http_status": code,
        "status_line": status_line[:200],
        **sent,
        **{k: v[:200] for k, v in headers if k in ("server", "via")},
    }
    if 200 <= code < 300:
        return result(Status.OK, Reason.OK, f"the proxy opened a tunnel to {target}", **seen)
    if code in (407, 401):  # tinyproxy 1.11.1 answers bad credentials with 401
        schemes = [
            v.split()[0]
            for k, v in headers
            if k in ("proxy-authenticate", "www-authenticate") and v.split()
        ]
        given = "; the credentials given were not accepted" if secrets else ""
        return result(
            Status.FAIL,
            Reason.PROXY_STATUS_407,
            f"the proxy asks for authentication ({', '.join(schemes) or '?'}){given}",
            auth_schemes=schemes,
            **seen,
        )
    if 400 <= code < 500:
        return result(
            Status.FAIL,
            Reason.PROXY_DENIED,
            f"the proxy refused CONNECT {target}: {status_line[:100]}",
            **seen,
        )
    if code >= 500:
        return result(
            Status.FAIL,
            Reason.PROXY_ERROR,
            f"the proxy could not reach {target}: {status_line[:100]}",
            **seen,
        )
    return result(Status.FAIL, Reason.BAD_REPLY, f"unexpected answer {status_line[:100]}", **seen)
