"""Kind ``pac``: fetch the site's PAC file and ask it where test URLs go.

The PAC file is untrusted code: :mod:`pac_engine` evaluates it in a bounded
QuickJS sandbox. This module fetches it (size-capped, redirects bounded)
and turns the answers into a result; myIpAddress is the local address of
the connection that fetched the PAC file.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

from nhn_appliance.probes.failures import classify
from nhn_appliance.probes.model import Check, Event, Result, Status
from nhn_appliance.probes.pac_engine import (
    Resolver,
    evaluate,
    is_ip,
    resolver_for,
)

MAX_PAC_BYTES = 1 << 20
MAX_REDIRECTS = 3


class _FetchFailed(Exception):
    def __init__(self, network_reason: str, detail: str, **evidence: Any) -> None:
        super().__init__(detail)
        self.detail, self.evidence = detail, {**evidence, "network_reason": network_reason}


async def _get(
    url: str, address: str | None, resolve: Resolver, events: list[Event], t0: float
) -> tuple[dict[str, Any], bytes, str]:
    """GET ``url`` as HTTP/1.0 (so never chunked), following a few redirects.

    Returns (evidence, body, local address of the connection)."""
    first, hops = urlsplit(url).hostname, []
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _FetchFailed("bad-reply", f"not an http(s) URL: {url}", url=url)
        host, tls = parts.hostname, parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        ip = address if address and host == first else host
        ev: dict[str, Any] = {"url": url, "address": ip, "port": port, "redirects": hops}
        if not is_ip(ip):
            try:
                found = await asyncio.to_thread(resolve, ip)
            except Exception as exc:  # noqa: BLE001
                raise _FetchFailed(classify(exc), f"cannot resolve {host}", **ev) from None
            if not found:
                raise _FetchFailed("no-address", f"{host} has no address", **ev)
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
            raise _FetchFailed("bad-reply", f"{peer} did not answer HTTP", **ev)
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
            continue
        if code != 200:
            raise _FetchFailed("answered", f"the server answered {lines[0][:100]}", **ev)
        if len(body) > MAX_PAC_BYTES:
            raise _FetchFailed("answered", f"larger than {MAX_PAC_BYTES >> 20} MiB", **ev)
        return ev, body, local
    raise _FetchFailed("answered", f"more than {MAX_REDIRECTS} redirects", **ev)


def _verdict(check: Check, out: dict[str, Any], evidence: dict[str, Any]) -> Result:
    failed = [r for r in out["urls"] if r["error"]]
    if out["error"]:
        return Result.of(check, Status.FAIL, out["error"], out["message"], **evidence)
    if failed:
        why = f"{failed[0]['url']}: {failed[0]['message']}"
        return Result.of(check, Status.FAIL, failed[0]["error"], why, **evidence)
    odd = [
        r["url"]
        for r in out["urls"]
        if not r["proxies"] or any(p["type"] == "INVALID" for p in r["proxies"])
    ]
    if odd:
        why = f"no usable answer for {', '.join(odd)}"
        return Result.of(check, Status.WARN, "bad-reply", why, **evidence)
    said = "; ".join(f"{r['host']}: {r['answer']}" for r in out["urls"])
    return Result.of(check, Status.OK, "answered", said or "the PAC file loads", **evidence)


async def run(check: Check, ctx: Any) -> Result:
    t0 = time.monotonic()
    url, urls = check.params.get("url"), check.params.get("test_urls", [])
    address = check.params.get("address")
    if (
        not isinstance(url, str)
        or not isinstance(urls, list)
        or not all(isinstance(u, str) for u in urls)
        or (address and not is_ip(address))
    ):
        return Result.of(
            check,
            Status.ERROR,
            "bad-input",
            "needs url (text), test_urls (list of text), address (an IP) if any",
        )
    resolve, events = resolver_for(ctx), []
    try:
        fetch, body, local = await asyncio.wait_for(
            _get(url, address, resolve, events, t0), ctx.timeout
        )
    except (_FetchFailed, TimeoutError) as exc:
        failed = (
            exc
            if isinstance(exc, _FetchFailed)
            else _FetchFailed("timeout", f"no PAC file within {ctx.timeout:g} s", url=url)
        )
        res = Result.of(
            check, Status.FAIL, "pac-fetch-failed", failed.detail, fetch=failed.evidence
        )
        res.events = events
        return res
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    out = await asyncio.to_thread(evaluate, text, urls, resolve, local, t0 + ctx.timeout)
    for row in out["urls"]:
        events.append(
            Event("evaluate", time.monotonic() - t0, failure=row["error"], detail=row["url"])
        )
    evidence = {"fetch": fetch, "my_ip": local, "urls": out["urls"], "dns": out["dns"]}
    if any(p["type"].startswith("SOCKS") for r in out["urls"] for p in r["proxies"]):
        evidence["note"] = "SOCKS entries recorded; NHN's proxy is HTTP only"
    res = _verdict(check, out, evidence)
    res.events = events
    return res
