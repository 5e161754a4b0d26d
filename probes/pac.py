"""Kind ``pac``: fetch the site's PAC file and ask it where test URLs go.

The PAC file is untrusted code: :mod:`pac_engine` evaluates it in a bounded
QuickJS sandbox, inside a child process (:mod:`pac_child`) that is killed at
the check's deadline. This module fetches it (size-capped, redirects bounded)
and turns the answers into a result; myIpAddress is the local address of
the connection that fetched the PAC file.

The PAC server and the PAC code do not choose what the probe contacts: a
redirect to a host the plan does not list is not followed, and a name the
PAC code asks for that the plan does not list is not resolved (both are
recorded, "outside the plan"), unless the run says ``follow_pac``.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urljoin, urlsplit

from nhn_appliance.probes.context import ProbeContext, Resolver, in_thread
from nhn_appliance.probes.failures import classify
from nhn_appliance.probes.model import Check, Event, Result, Status
from nhn_appliance.probes.names import is_ip, resolver_for
from nhn_appliance.probes.pac_child import evaluate_in_child
from nhn_appliance.probes.pac_engine import BUDGET
from nhn_appliance.probes.params import PacParams
from nhn_appliance.probes.reasons import AnyReason, Reason

MAX_PAC_BYTES = 1 << 20
MAX_REDIRECTS = 3
OFF_PLAN = "outside the plan, not contacted (probe --follow-pac contacts it)"


class _FetchFailed(Exception):
    def __init__(self, network_reason: AnyReason, detail: str, **evidence: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.evidence = {**evidence, "network_reason": str(network_reason)}


async def _get(
    ctx: ProbeContext,
    url: str,
    address: str | None,
    resolve: Resolver,
    events: list[Event],
    t0: float,
    own: tuple[str, ...] = (),
) -> tuple[dict[str, Any], bytes, str]:
    """GET ``url`` as HTTP/1.0 (so never chunked), following a few redirects.

    Returns (evidence, body, local address of the connection). A redirect goes to the
    same host, a host in ``own`` (the check's test URLs) or in the plan, else nowhere."""
    first, hops = urlsplit(url).hostname, list[str]()
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _FetchFailed(Reason.BAD_REPLY, f"not an http(s) URL: {url}", url=url)
        host, tls = parts.hostname, parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        ip = address if address and host == first else host
        ev: dict[str, Any] = {"url": url, "address": ip, "port": port, "redirects": hops}
        if not is_ip(ip):
            try:
                found = await in_thread(ctx, resolve, ip)
            except Exception as exc:  # noqa: BLE001
                raise _FetchFailed(classify(exc), f"cannot resolve {host}", **ev) from None
            if not found:
                raise _FetchFailed(Reason.NO_ADDRESS, f"{host} has no address", **ev)
            ev["address"] = ip = found[0]
        peer = f"{ip} port {port}"
        try:
            reader, writer = await asyncio.open_connection(
                ip,
                port,
                ssl=ssl.create_default_context() if tls else None,
                server_hostname=host if tls else None,
            )
        except (OSError, ssl.SSLError) as exc:
            events.append(Event("connect", time.monotonic() - t0, peer, "tcp", classify(exc)))
            raise _FetchFailed(classify(exc), f"cannot connect to {peer}: {exc}", **ev) from None
        events.append(Event("connect", time.monotonic() - t0, peer, "tcp"))
        local = writer.get_extra_info("sockname")[0]
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = (
            f"GET {path} HTTP/1.0\r\nHost: {parts.netloc.rpartition('@')[2]}\r\n"
            "User-Agent: nhn-appliance\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        )
        data = b""
        try:
            writer.write(request.encode("ascii", "replace"))
            await writer.drain()
            while len(data) <= MAX_PAC_BYTES + 65536 and (chunk := await reader.read(65536)):
                data += chunk
        except (OSError, ssl.SSLError) as exc:
            raise _FetchFailed(classify(exc), f"{peer}: {exc}", **ev) from None
        finally:
            writer.close()
        events.append(Event("recv", time.monotonic() - t0, peer, "tcp", num_bytes=len(data)))
        head, sep, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = re.match(r"HTTP/\d(?:\.\d)? (\d{3})", lines[0])
        if not sep or not status:
            raise _FetchFailed(Reason.BAD_REPLY, f"{peer} did not answer HTTP", **ev)
        fields = (h.partition(":") for h in lines[1:])
        headers = {k.strip().lower(): v.strip() for k, _, v in fields}
        code = int(status.group(1))
        ev.update(
            http_status=code,
            status_line=lines[0][:200],
            bytes=len(body),
            content_type=headers.get("content-type", "")[:100],
        )
        if code in (301, 302, 303, 307, 308) and headers.get("location"):
            hops.append(f"{code} {headers['location'][:300]}")
            url = urljoin(url, headers["location"])
            to = urlsplit(url).hostname or ""
            if to != first and not ctx.in_plan(to, *(h for h in own if h)):
                ev["off_plan"] = url[:300]
                detail = f"redirected to {url[:200]}: {OFF_PLAN}"
                raise _FetchFailed(Reason.ANSWERED, detail, **ev)
            continue
        if code != 200:
            raise _FetchFailed(Reason.ANSWERED, f"the server answered {lines[0][:100]}", **ev)
        if len(body) > MAX_PAC_BYTES:
            raise _FetchFailed(Reason.ANSWERED, f"larger than {MAX_PAC_BYTES >> 20} MiB", **ev)
        return ev, body, local
    raise _FetchFailed(Reason.ANSWERED, f"more than {MAX_REDIRECTS} redirects", **ev)


def evaluate(
    source: str,
    urls: Sequence[str],
    resolve: Resolver,
    my_ip: str = "127.0.0.1",
    deadline: float | None = None,
) -> dict[str, Any]:
    """Evaluate a PAC file in the sandbox's child process, blocking, bounded by
    ``deadline`` (else :data:`pac_engine.BUDGET` seconds); ``resolve`` answers every
    name the code asks for (the prober's own lookup keeps to the plan)."""
    seconds = BUDGET if deadline is None else deadline - time.monotonic()

    async def lookup(name: str) -> list[str]:
        return resolve(name)

    return asyncio.run(evaluate_in_child(source, list(urls), my_ip, seconds, lookup))


def _verdict(
    check: Check[PacParams], out: dict[str, Any], evidence: dict[str, Any], events: list[Event]
) -> Result:
    def result(status: Status, reason: Reason, detail: str) -> Result:
        return Result.of(check, status, reason, detail, events=events, **evidence)

    failed = [r for r in out["urls"] if r["error"]]
    if out["error"]:
        return result(Status.FAIL, Reason.of(out["error"]), out["message"])
    if failed:
        return result(
            Status.FAIL,
            Reason.of(failed[0]["error"]),
            f"{failed[0]['url']}: {failed[0]['message']}",
        )
    odd = [
        r["url"]
        for r in out["urls"]
        if not r["proxies"] or any(p["type"] == "INVALID" for p in r["proxies"])
    ]
    if odd:
        return result(Status.WARN, Reason.BAD_REPLY, f"no usable answer for {', '.join(odd)}")
    said = "; ".join(f"{r['host']}: {r['answer']}" for r in out["urls"])
    return result(Status.OK, Reason.ANSWERED, said or "the PAC file loads")


async def run(check: Check[PacParams], ctx: ProbeContext) -> Result:
    t0 = time.monotonic()
    p = check.params
    url, urls, address = p.url, list(p.test_urls), p.address
    if address and not is_ip(address):
        detail = f"address {address!r} is not an IP address"
        return Result.of(check, Status.ERROR, Reason.BAD_INPUT, detail)
    # names within what the check has left, not a fresh timeout of their own
    resolve, events = resolver_for(ctx.remaining()), list[Event]()
    own = tuple(h for h in (urlsplit(u).hostname for u in (url, *urls)) if h)
    try:
        fetch, body, local = await asyncio.wait_for(
            _get(ctx, url, address, resolve, events, t0, own), ctx.left()
        )
    except (_FetchFailed, TimeoutError) as exc:
        failed = (
            exc
            if isinstance(exc, _FetchFailed)
            else _FetchFailed(Reason.TIMEOUT, f"no PAC file within {ctx.timeout:g} s", url=url)
        )
        return Result.of(
            check,
            Status.FAIL,
            Reason.PAC_FETCH_FAILED,
            failed.detail,
            events=events,
            fetch=failed.evidence,
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")

    async def lookup(name: str) -> list[str]:
        """A name the PAC code asks for: the plan's only, with the time the check has left."""
        if not ctx.in_plan(name, *own):
            raise LookupError("outside the plan, not resolved")
        left = ctx.left()
        if left <= 0.05:
            raise TimeoutError("no time left")
        return await asyncio.wait_for(
            in_thread(ctx, resolver_for(replace(ctx, timeout=left)), name), left
        )

    left = ctx.left()
    out = await evaluate_in_child(text, urls, local, left, lookup)
    for row in out["urls"]:
        events.append(
            Event("evaluate", time.monotonic() - t0, failure=row["error"], detail=row["url"])
        )
    evidence = {"fetch": fetch, "my_ip": local, "urls": out["urls"], "dns": out["dns"]}
    refused = sorted(n for n, v in out["dns"].items() if "outside the plan" in str(v))
    if refused:
        evidence["off_plan_names"] = refused
    if any(e["type"].startswith("SOCKS") for r in out["urls"] for e in r["proxies"]):
        evidence["note"] = "SOCKS entries recorded; NHN's proxy is HTTP only"
    return _verdict(check, out, evidence, events)
