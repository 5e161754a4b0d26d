"""The PAC sandbox: evaluate an untrusted PAC file in QuickJS, bounded.

The code runs with a CPU-time and a memory limit, in a context with NO
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
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from nhn_appliance.probes.context import CancelToken, Resolver
from nhn_appliance.probes.failures import classify
from nhn_appliance.probes.names import is_ip
from nhn_appliance.probes.reasons import Reason

TIME_LIMIT = 1.0  #: seconds of CPU time per call into the PAC code (less when the check
#: has less time left); QuickJS measures clock(), the process's CPU time
MEMORY_LIMIT = 32 << 20
MAX_ROUNDS = 4  #: FindProxyForURL calls per URL while it asks for new names
MAX_NAMES = 32  #: distinct names one PAC file may have resolved

PRELUDE = r"""
(function (G, myip) {
  var table = Object.create(null), seen = Object.create(null), misses = [];
  var stringify = JSON.stringify;
  function lookup(h) {
    h = '' + h;
    if (/^\d+\.\d+\.\d+\.\d+$/.test(h)) return h;
    if (h in table) return table[h] || null;
    if (!(h in seen) && misses.length < 64 && h.length < 254) {
      seen[h] = 1;
      misses[misses.length] = h;
    }
    return null;
  }
  G.dnsResolve = function (h) { return lookup(h); };
  G.isResolvable = function (h) { return lookup(h) !== null; };
  G.myIpAddress = function () { return myip; };
  G.__nhn_set = function (h, a) { table[h] = a; };
  G.__nhn_take = function () {
    var m = stringify(misses);
    misses = []; seen = Object.create(null);
    return m;
  };
})(globalThis, MYIP);
function alert(m) {}
function isPlainHostName(h) { return ('' + h).indexOf('.') < 0; }
function dnsDomainIs(h, d) {
  h = '' + h; d = '' + d;
  return h.length >= d.length && h.substring(h.length - d.length) == d;
}
function localHostOrDomainIs(h, hd) { return h == hd || ('' + hd).lastIndexOf(h + '.', 0) == 0; }
function dnsDomainLevels(h) { return ('' + h).split('.').length - 1; }
function convert_addr(ip) {
  var b = ('' + ip).split('.');
  return ((b[0] & 255) << 24 | (b[1] & 255) << 16 | (b[2] & 255) << 8 | (b[3] & 255)) >>> 0;
}
function isInNet(h, pat, mask) {
  var v4 = /^\d+\.\d+\.\d+\.\d+$/, ip = v4.test(h) ? h : dnsResolve(h);
  if (ip === null || !v4.test(ip)) return false;
  var m = convert_addr(mask);
  return ((convert_addr(ip) & m) >>> 0) == ((convert_addr(pat) & m) >>> 0);
}
function shExpMatch(s, p) {
  p = ('' + p).replace(/[.+^${}()|[\]\\\/]/g, '\\$&');
  return new RegExp('^' + p.replace(/\*/g, '.*').replace(/\?/g, '.') + '$').test(s);
}
var __WD = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
var __MON = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
function __args(a) {
  var n = a.length, g = n > 0 && a[n - 1] == 'GMT', d = new Date();
  return {v: Array.prototype.slice.call(a, 0, g ? n - 1 : n), gmt: g,
          get: function (f) { return d[(g ? 'getUTC' : 'get') + f](); }};
}
function __within(a, x, b) { return a <= b ? a <= x && x <= b : x >= a || x <= b; }
function weekdayRange() {
  var a = __args(arguments), w1 = __WD.indexOf(a.v[0]);
  var w2 = a.v.length > 1 ? __WD.indexOf(a.v[1]) : w1;
  return w1 >= 0 && w2 >= 0 && __within(w1, a.get('Day'), w2);
}
function dateRange() {
  var a = __args(arguments), v = a.v, n = v.length;
  if (n < 1 || n > 6 || (n > 1 && n % 2)) return false;
  function key(part) {  // [year, month, day], -1 where not given
    var k = [-1, -1, -1];
    for (var i = 0; i < part.length; i++) {
      var t = part[i], m = __MON.indexOf(t);
      if (m >= 0) k[1] = m + 1; else if (+t > 31) k[0] = +t; else if (+t >= 1) k[2] = +t;
      else return null;
    }
    return k;
  }
  var half = n == 1 ? 1 : n / 2, k1 = key(v.slice(0, half)), k2 = key(v.slice(n - half));
  if (!k1 || !k2) return false;
  function num(k) {  // only the fields the range gives
    return (k1[0] < 0 ? 0 : k[0]) * 10000 + (k1[1] < 0 ? 0 : k[1]) * 100 + (k1[2] < 0 ? 0 : k[2]);
  }
  return __within(num(k1), num([a.get('FullYear'), a.get('Month') + 1, a.get('Date')]), num(k2));
}
function timeRange() {
  var a = __args(arguments), v = a.v.map(Number), n = v.length, h = a.get('Hours');
  var s = h * 3600 + a.get('Minutes') * 60 + a.get('Seconds');
  if (n == 1) return h == v[0];
  if (n == 2) return __within(v[0] * 3600, s, v[1] * 3600 + 3599);
  if (n == 4) return __within(v[0] * 3600 + v[1] * 60, s, v[2] * 3600 + v[3] * 60 + 59);
  if (n == 6) return __within(v[0] * 3600 + v[1] * 60 + v[2], s, v[3] * 3600 + v[4] * 60 + v[5]);
  return false;
}
"""

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
) -> dict[str, Any]:
    """Run FindProxyForURL for each URL; never raises for what the PAC code does.

    Returns {"error": reason|None, "message", "urls": [{url, host, answer, proxies,
    error, message}], "dns": {name: address or failure}}. Blocking: run it in a thread;
    it stops between calls once ``cancel`` is set.
    """

    def cancelled() -> bool:
        return cancel is not None and cancel.cancelled

    import quickjs

    js = quickjs.Context()
    js.set_memory_limit(MEMORY_LIMIT)
    js.set_max_stack_size(256 << 10)
    limit = [TIME_LIMIT]

    def budget() -> None:  # before each call: the check's time left, at most TIME_LIMIT
        left = TIME_LIMIT if deadline is None else deadline - time.monotonic()
        limit[0] = max(0.05, min(TIME_LIMIT, left))
        js.set_time_limit(limit[0])

    budget()
    out: dict[str, Any] = {"error": None, "message": "", "urls": [], "dns": {}}
    try:
        js.eval(PRELUDE.replace("MYIP", json.dumps(my_ip)))
        put, take = js.get("__nhn_set"), js.get("__nhn_take")
        js.eval(source)
        find = js.get("FindProxyForURL")
    except Exception as exc:  # noqa: BLE001 - syntax error, endless loop, allocation...
        out["error"], out["message"] = _js_failure(exc, js, limit[0])
        return out
    if not isinstance(find, quickjs.Object):
        out["error"], out["message"] = Reason.PAC_ERROR, "the PAC file defines no FindProxyForURL"
        return out
    dns: dict[str, str] = out["dns"]
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
        late = cancelled() or (deadline is not None and time.monotonic() > deadline)
        if spent or late:
            row["error"] = spent or (Reason.CANCELLED if cancelled() else Reason.PAC_TIMEOUT)
            row["message"] = "not evaluated: " + (
                "an earlier call failed" if spent else "no time left"
            )
            continue
        try:
            for round_ in range(MAX_ROUNDS):
                budget()
                answer = find(url, host)
                missed = json.loads(take())
                if not isinstance(missed, list) or not missed or round_ == MAX_ROUNDS - 1:
                    break
                for name in map(str, missed[:MAX_NAMES]):
                    late = cancelled() or (deadline is not None and time.monotonic() > deadline)
                    if name not in dns:
                        dns[name] = (
                            "skipped" if late or len(dns) >= MAX_NAMES else _lookup(resolve, name)
                        )
                    put(name, dns[name] if is_ip(dns[name]) else "")
        except Exception as exc:  # noqa: BLE001
            row["error"], row["message"] = _js_failure(exc, js, limit[0])
            spent = None if row["error"] == Reason.PAC_ERROR else row["error"]
            continue
        if not isinstance(answer, str):
            row["error"] = Reason.PAC_ERROR
            row["message"] = f"FindProxyForURL returned {type(answer).__name__}, not text"
            continue
        row["answer"], row["proxies"] = answer[:1000], parse_answer(answer[:1000])
    return out


def _lookup(resolve: Resolver, name: str) -> str:
    """First IPv4 address (else IPv6) of ``name``, or why there is none."""
    try:
        addrs = [a for a in resolve(name) if is_ip(a)]
    except Exception as exc:  # noqa: BLE001 - to the PAC code any failure is "unresolvable"
        return str(classify(exc))
    v4 = [a for a in addrs if ipaddress.ip_address(a).version == 4]
    return (v4 or addrs or [Reason.NO_ADDRESS.value])[0]
