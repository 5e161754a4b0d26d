"""The ``pac`` prober: the QuickJS sandbox, and fetching over a real network.

Unit tests call :func:`pac.evaluate` with a dict resolver. The network tests
serve tests/cases/pac/ from an HTTP server (a thread of pytest, its socket
made inside the lab's ``hn`` namespace, which owns 203.0.113.0/25) and a
dnsmasq there answers names under .test; the prober runs in ``site`` and
crosses the lab router. Documentation addresses only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import http.server
import json
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import netns as nn
import pytest

from nhn_appliance.probes import pac, pac_engine
from nhn_appliance.probes.context import ProbeContext
from nhn_appliance.probes.model import Check, Result, Status
from nhn_appliance.probes.params import PacParams
from nhn_appliance.probes.runner import run_all

CASES = Path(__file__).parent / "cases" / "pac"
RESOLVER = nn.RouterLab.HN_LINK4[1]  # dnsmasq, on hn's end of the router link
WEB, DOWN = "203.0.113.80", "203.0.113.81"  # the PAC server / nothing listening
NAMES = {
    "config.nhn.test": WEB,
    "www.helsenorge.test": "203.0.113.150",
    "hn-app.test": "203.0.113.20",
    "plain.test": "203.0.113.200",
    "other.test": "203.0.113.250",
}
PROXY = "PROXY sikker.proxy.nhn.test:8080"
EXPECTED = {  # test URL -> what normal.pac answers (seen from 198.51.100.2)
    "http://intranet/": "DIRECT",
    "https://journal.helsenett.test/": "DIRECT",
    "https://hn-app.test/x": "DIRECT",  # isInNet on a name
    "http://plain.test/page": "PROXY 203.0.113.8:3128",  # shExpMatch on the URL
    "https://www.helsenorge.test/": PROXY,  # dnsResolve + isInNet
    "https://mangler.test/": f"{PROXY}; DIRECT",  # not resolvable
    "http://whoami.test/": "PROXY 198.51.100.2:3128",  # myIpAddress
    "https://other.test/": f"{PROXY}; SOCKS 203.0.113.9:1080",
}
HOSTILE = [
    ("loop", "pac-timeout", "CPU time"),
    ("toplevel_loop", "pac-timeout", "CPU time"),
    ("alloc", "pac-memory", "memory"),
    ("syntax", "pac-error", "SyntaxError"),
    ("throws", "pac-error", "kunde.pac is broken for intranet"),
]


def _lookup(name: str) -> list[str]:
    return [NAMES[name]] if name in NAMES else []


# -- the engine, no network ----------------------------------------------------


def test_normal_pac_answers_every_url() -> None:
    out = pac.evaluate((CASES / "normal.pac").read_text(), list(EXPECTED), _lookup, "198.51.100.2")
    assert out["error"] is None
    assert {r["url"]: r["answer"] for r in out["urls"]} == EXPECTED
    assert out["dns"]["mangler.test"] == "no-address"
    assert out["dns"]["hn-app.test"] == NAMES["hn-app.test"]
    rows = {r["url"]: r["proxies"] for r in out["urls"]}
    assert rows["https://mangler.test/"] == [
        {"type": "PROXY", "host": "sikker.proxy.nhn.test", "port": 8080},
        {"type": "DIRECT"},
    ]


@pytest.mark.parametrize(("name", "reason", "words"), HOSTILE)
def test_hostile_pac_is_stopped_and_classified(name: str, reason: str, words: str) -> None:
    start = time.monotonic()
    out = pac.evaluate(
        (CASES / f"{name}.pac").read_text(), ["http://intranet/", "http://b.test/"], _lookup
    )
    assert time.monotonic() - start < 2.0
    failures = (
        [(out["error"], out["message"])]
        if out["error"]
        else [(r["error"], r["message"]) for r in out["urls"]]
    )
    assert failures[0][0] == reason and words in failures[0][1], out


def test_standard_helpers() -> None:
    now = dt.datetime.now(dt.UTC)
    today = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"][(now.weekday() + 1) % 7]
    other = "MON" if today != "MON" else "TUE"
    month = now.strftime("%b").upper()
    exprs = {
        'isPlainHostName("intranet")': True,
        'isPlainHostName("a.test")': False,
        'dnsDomainIs("www.nhn.test", ".nhn.test")': True,
        'dnsDomainIs("nhn.test", ".nhn.test")': False,
        'localHostOrDomainIs("www", "www.nhn.test")': True,
        'localHostOrDomainIs("www.nhn.test", "www.nhn.test")': True,
        'localHostOrDomainIs("ftp", "www.nhn.test")': False,
        'dnsDomainLevels("www.nhn.test")': 2,
        'dnsDomainLevels("www")': 0,
        'isInNet("198.51.100.7", "198.51.100.0", "255.255.255.0")': True,
        'isInNet("203.0.113.7", "198.51.100.0", "255.255.255.0")': False,
        'isInNet("hn-app.test", "203.0.113.0", "255.255.255.128")': True,
        'isInNet("mangler.test", "0.0.0.0", "0.0.0.0")': False,
        'convert_addr("198.51.100.1")': 0xC6336401,
        'shExpMatch("http://a.nhn.test/x?y", "*.nhn.test/*")': True,
        'shExpMatch("a.b", "a?b")': True,
        'shExpMatch("axb+", "a.b+")': False,
        'isResolvable("plain.test")': True,
        'isResolvable("mangler.test")': False,
        'dnsResolve("www.helsenorge.test")': "203.0.113.150",
        'dnsResolve("mangler.test")': None,
        'dnsResolve("203.0.113.5")': "203.0.113.5",
        "myIpAddress()": "198.51.100.2",
        f'weekdayRange("{today}", "GMT")': True,
        f'weekdayRange("{other}", "{other}", "GMT")': False,
        'weekdayRange("SUN", "SAT")': True,
        'weekdayRange("SAT", "FRI")': True,
        f'dateRange("{month}", "GMT")': True,
        f'dateRange({now.day}, "GMT")': True,
        f"dateRange({now.year + 1})": False,
        "dateRange(1, 31)": True,
        f'dateRange(1, "JAN", {now.year - 1}, 31, "DEC", {now.year + 1})': True,
        'dateRange("JAN", "DEC")': True,
        f'timeRange({now.hour}, "GMT")': True,
        "timeRange(0, 23)": True,
        "timeRange(0, 0, 0, 23, 59, 59)": True,
        "timeRange(0, 0, 23, 59)": True,
        "typeof std + typeof os + typeof require": "undefined" * 3,
        "typeof fetch + typeof XMLHttpRequest + typeof print": "undefined" * 3,
    }
    body = ", ".join(exprs)
    src = f"function FindProxyForURL(u, h) {{ return JSON.stringify([{body}]); }}"
    out = pac.evaluate(src, ["http://a.test/"], _lookup, "198.51.100.2")
    got = dict(zip(exprs, json.loads(out["urls"][0]["answer"]), strict=True))
    assert got == exprs


def test_dns_lookups_are_bounded() -> None:
    asked: list[str] = []
    src = (
        "function FindProxyForURL(u, h) { var n = 0;"
        " for (var i = 0; i < 500; i++) if (isResolvable('n' + i + '.test')) n++;"
        " return 'DIRECT'; }"
    )
    out = pac.evaluate(src, ["http://a/", "http://b/"], lambda n: asked.append(n) or [], "")
    assert [r["answer"] for r in out["urls"]] == ["DIRECT", "DIRECT"]
    assert len(asked) == len(set(asked)) <= pac_engine.MAX_NAMES


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("DIRECT", [{"type": "DIRECT"}]),
        (
            "PROXY p.test:8080; DIRECT",
            [{"type": "PROXY", "host": "p.test", "port": 8080}, {"type": "DIRECT"}],
        ),
        ("proxy p.test", [{"type": "PROXY", "host": "p.test", "port": 80}]),
        (
            "HTTPS [2001:db8::8]:443;;SOCKS5 s.test:1081 ;",
            [
                {"type": "HTTPS", "host": "2001:db8::8", "port": 443},
                {"type": "SOCKS5", "host": "s.test", "port": 1081},
            ],
        ),
        ("PROXY", [{"type": "INVALID", "text": "PROXY"}]),
        ("", []),
    ],
)
def test_parse_answer(text: str, parsed: list) -> None:
    assert pac_engine.parse_answer(text) == parsed


# -- the prober, over a real network --------------------------------------------


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {".pac": "application/x-ns-proxy-autoconfig", "": "text/plain"}
    hosts: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        Handler.hosts.append(self.headers.get("Host", ""))
        if self.path == "/moved.pac":
            self.send_response(302)
            self.send_header("Location", "/normal.pac")
            self.end_headers()
        elif self.path == "/huge.pac":
            self.send_response(200)
            self.end_headers()
            try:
                self.wfile.write(b"//" + b"x" * (2 << 20))
            except OSError:
                pass  # the prober stops reading at its size cap and resets
        else:
            super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def lab() -> Iterator[nn.RouterLab]:
    if reason := nn.lab_skip_reason("dnsmasq"):
        pytest.skip(reason)
    with nn.probe_lab(dns_records=[f"{k},{v}" for k, v in NAMES.items()]) as lab:
        with nn.netns(lab.ns["hn"]):
            web = http.server.ThreadingHTTPServer((WEB, 80), partial(Handler, directory=str(CASES)))
        thread = threading.Thread(target=web.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        try:
            yield lab
        finally:
            web.shutdown()
            web.server_close()
            thread.join(5)


def _probe(
    lab: nn.RouterLab,
    url: str,
    urls: list[str],
    timeout: float = 3.0,
    address: str | None = None,
    names: dict[str, list[str]] | None = None,
) -> tuple[Result, float]:
    """Run the prober from site; ``names`` answers lookups instead of the site's resolver."""
    check = Check(
        "pac-1", url, "proxy", "002:530", "answered", PacParams(url, tuple(urls), address)
    )
    resolver = (lambda name: list(names.get(name, []))) if names is not None else None
    ctx = ProbeContext(timeout=timeout, resolvers=(RESOLVER,), resolver=resolver)
    start = time.monotonic()
    with nn.netns(lab.ns["site"]):
        res = asyncio.run(pac.run(check, ctx))
    return res, time.monotonic() - start


def test_pac_fetched_and_evaluated_with_the_site_resolver(lab: nn.RouterLab) -> None:
    res, _ = _probe(lab, "http://config.nhn.test/normal.pac", list(EXPECTED))
    assert (res.status, res.reason) == (Status.OK, "answered"), res.as_dict()
    assert {r["url"]: r["answer"] for r in res.evidence["urls"]} == EXPECTED
    fetch = res.evidence["fetch"]
    assert fetch["http_status"] == 200 and fetch["address"] == WEB
    assert fetch["bytes"] == (CASES / "normal.pac").stat().st_size
    assert fetch["content_type"] == "application/x-ns-proxy-autoconfig"
    assert res.evidence["my_ip"] == nn.RouterLab.SITE4
    assert res.evidence["dns"]["www.helsenorge.test"] == "203.0.113.150"  # asked dnsmasq
    assert "SOCKS" in res.evidence["note"]
    assert [e.op for e in res.events][:2] == ["connect", "recv"]
    assert len([e for e in res.events if e.op == "evaluate"]) == len(EXPECTED)


def test_pac_and_proxy_checks_through_the_runner(lab: nn.RouterLab) -> None:
    checks = [
        Check(
            f"pac-{n}",
            n,
            "proxy",
            "002:530",
            "answered",
            PacParams(f"http://config.nhn.test/{n}.pac", ("http://intranet/",)),
        )
        for n in ("normal", "loop")
    ]
    ctx = ProbeContext(timeout=3.0, resolvers=(RESOLVER,))
    with nn.netns(lab.ns["site"]):
        results = asyncio.run(run_all(checks, ctx, deadline=5.0))
    assert [(r.id, r.reason) for r in results] == [
        ("pac-normal", "answered"),
        ("pac-loop", "pac-timeout"),
    ]
    assert all(0 < r.duration_s < 2.0 for r in results)


def test_address_given_skips_dns_and_keeps_the_host_header(lab: nn.RouterLab) -> None:
    Handler.hosts.clear()
    res, _ = _probe(
        lab,
        "http://config.nhn.no/normal.pac",
        ["https://www.helsenorge.test/"],
        address=WEB,
        names={"www.helsenorge.test": ["203.0.113.150"]},
    )
    assert (res.status, res.reason) == (Status.OK, "answered"), res.as_dict()
    assert res.evidence["urls"][0]["answer"] == PROXY and Handler.hosts == ["config.nhn.no"]


def test_redirect_is_followed(lab: nn.RouterLab) -> None:
    res, _ = _probe(lab, f"http://{WEB}/moved.pac", ["http://intranet/"])
    assert (res.status, res.reason) == (Status.OK, "answered"), res.as_dict()
    assert res.evidence["fetch"]["redirects"] == ["302 /normal.pac"]


@pytest.mark.parametrize(("name", "reason", "words"), HOSTILE)
def test_hostile_pac_over_the_network_fails_within_2s(
    lab: nn.RouterLab, name: str, reason: str, words: str
) -> None:
    res, wall = _probe(lab, f"http://config.nhn.test/{name}.pac", list(EXPECTED)[:3])
    assert wall < 2.0
    assert (res.status, res.reason) == (Status.FAIL, reason) and words in res.detail, res.as_dict()


def test_pac_time_limit_shrinks_to_the_time_the_check_has_left(lab: nn.RouterLab) -> None:
    res, wall = _probe(lab, "http://config.nhn.test/loop.pac", ["http://intranet/"], timeout=0.5)
    assert (res.status, res.reason) == (Status.FAIL, "pac-timeout"), res.as_dict()
    assert wall < 0.5 + 0.25  # within the runner's timeout plus its grace


@pytest.mark.parametrize(
    ("url", "network_reason", "words"),
    [
        ("http://config.nhn.test/mangler.pac", "answered", "404"),
        (f"http://{DOWN}/kunde.pac", "refused", "cannot connect"),
        ("http://mangler.nhn.test/kunde.pac", "nxdomain", "cannot resolve"),
        (f"http://{WEB}/huge.pac", "answered", "larger than 1 MiB"),
    ],
)
def test_pac_that_cannot_be_fetched(
    lab: nn.RouterLab, url: str, network_reason: str, words: str
) -> None:
    res, wall = _probe(lab, url, ["http://intranet/"])
    assert (res.status, res.reason) == (Status.FAIL, "pac-fetch-failed"), res.as_dict()
    assert res.evidence["fetch"]["network_reason"] == network_reason and words in res.detail
    assert wall < 1.0


def test_bad_input_is_an_error() -> None:
    params = PacParams("http://a.test/", ("http://intranet/",), address="not-an-ip")
    check = Check("p", "x", "proxy", "t", "answered", params)
    res = asyncio.run(pac.run(check, ProbeContext(timeout=1.0)))
    assert (res.status, res.reason) == (Status.ERROR, "bad-input")
