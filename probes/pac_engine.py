"""The PAC sandbox: evaluate an untrusted PAC file in QuickJS, bounded.

The probe runs this in a child process of its own (:mod:`pac_child`: a
wall-clock kill at the check's deadline and resource limits, since QuickJS
does not interrupt a regular expression while it backtracks). Inside, the
code runs with a CPU-time and a memory limit, in a context with NO
Python callables: quickjs 1.19 refuses to call into Python while a time
limit is set. So dnsResolve/isResolvable read a table inside the sandbox; a
name not in it counts as unresolvable and is noted, Python resolves the
noted names with the site's resolver and calls FindProxyForURL again
(replay, bounded by MAX_ROUNDS and MAX_NAMES). The code can reach nothing
else: no files, no modules, no network.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from nhn_appliance.probes.context import CancelToken, Resolver
from nhn_appliance.probes.failures import classify
from nhn_appliance.probes.names import is_ip
from nhn_appliance.probes.pac_prelude import PRELUDE
from nhn_appliance.probes.reasons import Reason

TIME_LIMIT = 1.0  #: seconds of CPU time per call into the PAC code (less when the check
#: has less time left); QuickJS measures clock(), the process's CPU time
MEMORY_LIMIT = 32 << 20
MAX_ROUNDS = 4  #: FindProxyForURL calls per URL while it asks for new names
MAX_NAMES = 32  #: distinct names one PAC file may have resolved
BUDGET = 2 * TIME_LIMIT  #: seconds for the whole evaluation when no deadline is given


class LookupRefused(Exception):
    """The resolver will not look this name up (outside the plan); the text says why."""


_ENTRY = re.compile(
    r"^(DIRECT|PROXY|HTTPS?|SOCKS[45]?)(?:\s+(\[[^\]]+\]|[^\s:]+)(?::(\d+))?)?$", re.IGNORECASE
)
_PORTS = {"PROXY": 80, "HTTP": 80, "HTTPS": 443, "SOCKS": 1080, "SOCKS4": 1080, "SOCKS5": 1080}


def parse_answer(answer: str) -> list[dict[str, Any]]:
    """'PROXY p:8080; DIRECT' -> [{type, host, port}, {type: DIRECT}]; junk -> INVALID."""
    out: list[dict[str, Any]] = []
    for part in filter(None, (p.strip() for p in answer.split(";"))):
        m = _ENTRY.match(part)
        kind = m.group(1).upper() if m else ""
        if not m or (kind == "DIRECT") != (m.group(2) is None):
            out.append({"type": "INVALID", "text": part[:200]})
        elif kind == "DIRECT":
            out.append({"type": "DIRECT"})
        else:
            port = int(m.group(3)) if m.group(3) else _PORTS[kind]
            out.append({"type": kind, "host": m.group(2).strip("[]"), "port": port})
    return out


def _js_failure(exc: Exception, js: Any, limit: float) -> tuple[Reason, str]:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if "InternalError: interrupted" in first:
        return Reason.PAC_TIMEOUT, f"ran longer than its limit of {limit:.3g} s of CPU time"
    # With no memory left even for the error object, QuickJS throws null.
    full = js.memory().get("malloc_size", 0) >= 0.9 * MEMORY_LIMIT
    if first == "null" or "out of memory" in first or full:
        return Reason.PAC_MEMORY, f"ran out of memory (limit {MEMORY_LIMIT >> 20} MiB)" + (
            "; or the code threw null" if first == "null" else ""
        )
    return Reason.PAC_ERROR, first[:300]


def evaluate(
    source: str,
    urls: Sequence[str],
    resolve: Resolver,
    my_ip: str = "127.0.0.1",
    deadline: float | None = None,
    cancel: CancelToken | None = None,
    emit: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run FindProxyForURL for each URL; never raises for what the PAC code does.

    Returns {"error": reason|None, "message", "urls": [{url, host, answer, proxies,
    error, message}], "dns": {name: address or failure}}. Blocking; it stops between
    calls once ``cancel`` is set. The whole evaluation has one budget: until
    ``deadline``, else :data:`BUDGET` seconds. ``emit`` gets each URL's row when done.
    """
    if deadline is None:
        deadline = time.monotonic() + BUDGET

    def cancelled() -> bool:
        return cancel is not None and cancel.cancelled

    import quickjs

    js = quickjs.Context()
    js.set_memory_limit(MEMORY_LIMIT)
    js.set_max_stack_size(256 << 10)
    limit = [TIME_LIMIT]

    def budget() -> None:  # before each call: the check's time left, at most TIME_LIMIT
        left = deadline - time.monotonic()
        limit[0] = max(0.05, min(TIME_LIMIT, left))
        js.set_time_limit(limit[0])

    budget()
    out: dict[str, Any] = {"error": None, "message": "", "urls": [], "dns": {}}
    try:
        js.eval(PRELUDE.replace("MYIP", json.dumps(my_ip)))
        put, take = js.get("__nhn_set"), js.get("__nhn_take")
        js.eval(source)
        find = js.get("FindProxyForURL")
        if not isinstance(find, quickjs.Object):  # WinHTTP's IPv6 entry point
            find = js.get("FindProxyForURLEx")
    except Exception as exc:  # noqa: BLE001 - syntax error, endless loop, allocation...
        out["error"], out["message"] = _js_failure(exc, js, limit[0])
        return out
    if not isinstance(find, quickjs.Object):
        out["error"], out["message"] = Reason.PAC_ERROR, "the PAC file defines no FindProxyForURL"
        return out
    dns: dict[str, str] = out["dns"]  #: name -> first address or why none (the evidence)
    table: dict[str, str] = {}  #: name -> "a;b;..." for the sandbox
    spent: Reason | None = None  # set once the context hit a limit: it is not used again
    for url in urls:
        host = urlsplit(url).hostname or ""
        row: dict[str, Any] = {
            "url": url,
            "host": host,
            "answer": None,
            "proxies": [],
            "error": None,
            "message": "",
        }
        out["urls"].append(row)
        late = cancelled() or time.monotonic() > deadline
        if spent or late:
            row["error"] = spent or (Reason.CANCELLED if cancelled() else Reason.PAC_TIMEOUT)
            row["message"] = "not evaluated: " + (
                "an earlier call failed" if spent else "no time left"
            )
            _emit(emit, row)
            continue
        try:
            for round_ in range(MAX_ROUNDS):
                budget()
                answer = find(url, host)
                missed = json.loads(take())
                if not isinstance(missed, list) or not missed or round_ == MAX_ROUNDS - 1:
                    break
                for name in map(str, missed[:MAX_NAMES]):
                    late = cancelled() or time.monotonic() > deadline
                    if name not in dns:
                        found = [] if late or len(dns) >= MAX_NAMES else _lookup(resolve, name)
                        dns[name] = (
                            found[0]
                            if isinstance(found, list) and found
                            else (found if isinstance(found, str) else "skipped")
                        )
                        table[name] = ";".join(found) if isinstance(found, list) else ""
                    put(name, table.get(name, ""))
        except Exception as exc:  # noqa: BLE001
            row["error"], row["message"] = _js_failure(exc, js, limit[0])
            spent = None if row["error"] == Reason.PAC_ERROR else row["error"]
        else:
            if not isinstance(answer, str):
                row["error"] = Reason.PAC_ERROR
                row["message"] = f"FindProxyForURL returned {type(answer).__name__}, not text"
            else:
                row["answer"], row["proxies"] = answer[:1000], parse_answer(answer[:1000])
        _emit(emit, row)
    return out


def _emit(emit: Callable[[dict[str, Any]], None] | None, row: dict[str, Any]) -> None:
    if emit is not None:
        emit(row)


def _lookup(resolve: Resolver, name: str) -> list[str] | str:
    """``name``'s addresses, IPv4 first (dnsResolve takes the first), or why there are none."""
    try:
        addrs = [a for a in resolve(name) if is_ip(a)]
    except LookupRefused as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - to the PAC code any failure is "unresolvable"
        return str(classify(exc))
    v4 = [a for a in addrs if ipaddress.ip_address(a).version == 4]
    return v4 + [a for a in addrs if a not in v4] or Reason.NO_ADDRESS.value
