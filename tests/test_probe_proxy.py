"""The ``proxy`` prober against a real tinyproxy in a network namespace.

The proxies, a plain TCP service and a resolver all live in the lab's ``hn``
namespace, which owns 203.0.113.0/25 (any address there is local, and where
nothing listens it answers with a TCP reset). The prober runs in ``site`` and
crosses the lab router. Documentation addresses only; names under .test.
"""

from __future__ import annotations

import asyncio
import base64
import json
import selectors
import socket
import threading
import time
from collections.abc import Iterator

import netns as nn
import pytest

from nhn_appliance.probes import proxy
from nhn_appliance.probes.context import ProbeContext
from nhn_appliance.probes.model import Check, Result, Status
from nhn_appliance.probes.params import PacParams, ProxyParams
from nhn_appliance.probes.plan import check_from_pac

RESOLVER = nn.RouterLab.HN_LINK4[1]  # dnsmasq, on hn's end of the router link
OPEN, AUTH, DOWN, SILENT = "203.0.113.41", "203.0.113.42", "203.0.113.43", "203.0.113.44"
TARGET, NOTHING = "203.0.113.70", "203.0.113.71"  # a TCP service on 7001 / nothing at all
USER, PASSWORD = "kontor7", "Hemmelig-Passord-42"

TINYPROXY = """User nobody
Group nogroup
Port 8080
Listen {listen}
Timeout 5
LogLevel Info
MaxClients 20
Allow 198.51.100.0/24
ConnectPort 7001
ConnectPort 443
"""


class Services:
    """TCP peers served by one thread of pytest, with sockets made inside ``hn``.

    TARGET:7001 sends a banner, SILENT:8080 nothing; both keep the connection open.
    """

    def __init__(self, ns: str) -> None:
        with nn.netns(ns):
            self.banner = socket.create_server((TARGET, 7001))
            self.silent = socket.create_server((SILENT, 8080))
        self.held: list[socket.socket] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(self.banner, selectors.EVENT_READ)
            sel.register(self.silent, selectors.EVENT_READ)
            while not self.done.is_set():  # bounded by close(), polled every 0.05 s
                for key, _ in sel.select(0.05):
                    conn, _ = key.fileobj.accept()
                    if key.fileobj is self.banner:
                        conn.sendall(b"SSH-2.0-test-service\r\n")
                    self.held.append(conn)

    def close(self) -> None:
        self.done.set()
        self.thread.join(5)
        for s in (self.banner, self.silent, *self.held):
            s.close()


def _wait_tcp(ns: str, ip: str, port: int) -> None:
    for _ in range(200):  # at most about 2 s
        try:
            with nn.netns(ns), socket.create_connection((ip, port), timeout=0.05):
                return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"nothing listens on {ip}:{port}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[nn.RouterLab]:
    if reason := nn.lab_skip_reason("tinyproxy", "dnsmasq"):
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("proxy")
    with nn.probe_lab(dns_records=[f"sikker.proxy.nhn.test,{OPEN}"]) as lab:
        services = Services(lab.ns["hn"])
        try:
            auth = f"BasicAuth {USER} {PASSWORD}\n"
            for name, listen, extra in (("open", OPEN, ""), ("auth", AUTH, auth)):
                conf = tmp / f"{name}.conf"
                conf.write_text(TINYPROXY.format(listen=listen) + extra, encoding="utf-8")
                lab.popen("hn", ["tinyproxy", "-d", "-c", str(conf)], tmp / f"{name}.log")
                _wait_tcp(lab.ns["site"], listen, 8080)
            yield lab
        finally:
            services.close()


def _probe(lab: nn.RouterLab, timeout: float = 2.0, **params: object) -> tuple[Result, float]:
    typed = ProxyParams(**params)
    check = Check("proxy-1", typed.proxy, "proxy", "test", "answered", typed)
    ctx = ProbeContext(timeout=timeout, resolvers=(RESOLVER,))
    start = time.monotonic()
    with nn.netns(lab.ns["site"]):
        res = asyncio.run(proxy.run(check, ctx))
    return res, time.monotonic() - start


def test_connect_to_an_allowed_port_opens_the_tunnel(lab: nn.RouterLab) -> None:
    res, _ = _probe(lab, proxy=f"{OPEN}:8080", connect_to=f"{TARGET}:7001")
    assert (res.status, res.reason) == (Status.OK, "ok"), res.detail
    ev = res.evidence
    assert ev["http_status"] == 200 and ev["status_line"].startswith("HTTP/1.0 200")
    assert ev["request"] == f"CONNECT {TARGET}:7001 HTTP/1.1" and "Host" in ev["request_headers"]
    assert ev["credentials_sent"] is False and ev["address"] == OPEN
    assert [e.op for e in res.events] == ["connect", "send", "recv"]
    assert all(e.failure is None for e in res.events)


def test_connect_to_a_port_the_proxy_forbids_is_denied(lab: nn.RouterLab) -> None:
    res, _ = _probe(lab, proxy=f"{OPEN}:8080", connect_to=f"{TARGET}:7002")
    assert (res.status, res.reason) == (Status.FAIL, "proxy-denied")
    assert res.evidence["http_status"] == 403


def test_target_that_refuses_gives_proxy_error_with_the_status_line(lab: nn.RouterLab) -> None:
    res, _ = _probe(lab, proxy=f"{OPEN}:8080", connect_to=f"{NOTHING}:443")
    assert (res.status, res.reason) == (Status.FAIL, "proxy-error")
    assert res.evidence["http_status"] == 500 and res.evidence["status_line"] in res.detail


def test_proxy_down_is_refused_at_once(lab: nn.RouterLab) -> None:
    res, wall = _probe(lab, proxy=f"{DOWN}:8080", connect_to=f"{TARGET}:7001")
    assert (res.status, res.reason) == (Status.FAIL, "refused")
    assert res.evidence["phase"] == "connect" and res.evidence["network_reason"] == "refused"
    assert res.events[0].failure == "refused" and wall < 1.0


def test_proxy_that_never_answers_times_out_within_the_check_timeout(lab: nn.RouterLab) -> None:
    res, wall = _probe(lab, timeout=0.4, proxy=f"{SILENT}:8080", connect_to=f"{TARGET}:7001")
    assert (res.status, res.reason) == (Status.FAIL, "timeout")
    assert res.evidence["phase"] == "answer" and 0.4 <= wall < 1.0


def test_something_that_is_not_an_http_proxy_is_a_bad_reply(lab: nn.RouterLab) -> None:
    res, _ = _probe(lab, proxy=f"{TARGET}:7001", connect_to=f"{TARGET}:7001")
    assert (res.status, res.reason) == (Status.FAIL, "bad-reply"), res.as_dict()
    assert "SSH-2.0" in res.detail


def test_proxy_name_is_resolved_at_the_site_resolver(lab: nn.RouterLab) -> None:
    res, _ = _probe(lab, proxy="sikker.proxy.nhn.test", port=8080, connect_to=f"{TARGET}:7001")
    assert (res.status, res.reason) == (Status.OK, "ok"), res.detail
    assert res.evidence["address"] == OPEN
    res, _ = _probe(lab, proxy="mangler.proxy.nhn.test:8080", connect_to=f"{TARGET}:7001")
    assert (res.status, res.reason) == (Status.FAIL, "nxdomain")


def _leaks(res: Result) -> list[str]:
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    text = json.dumps(res.as_dict())
    return [s for s in (USER, PASSWORD, token, "Hemmelig") if s in text]


def test_407_names_the_scheme_only(lab: nn.RouterLab) -> None:
    res, _ = _probe(lab, proxy=f"{AUTH}:8080", connect_to=f"{TARGET}:7001")
    assert (res.status, res.reason) == (Status.FAIL, "proxy-status-407"), res.as_dict()
    assert res.evidence["auth_schemes"] == ["Basic"] and res.evidence["credentials_sent"] is False
    assert "realm" not in json.dumps(res.as_dict())


def test_wrong_credentials_get_407_and_never_appear_in_the_result(lab: nn.RouterLab) -> None:
    res, _ = _probe(
        lab,
        proxy=f"{AUTH}:8080",
        connect_to=f"{TARGET}:7001",
        username=USER,
        password="feil-passord",
    )
    assert (res.status, res.reason) == (Status.FAIL, "proxy-status-407"), res.as_dict()
    assert "not accepted" in res.detail and res.evidence["credentials_sent"] is True
    assert "Proxy-Authorization" in res.evidence["request_headers"]
    assert not _leaks(res) and "feil-passord" not in json.dumps(res.as_dict())


def test_right_credentials_open_the_tunnel_and_never_appear_in_the_result(
    lab: nn.RouterLab,
) -> None:
    for params in (
        {"username": USER, "password": PASSWORD, "proxy": f"{AUTH}:8080"},
        {"proxy": f"http://{USER}:{PASSWORD}@{AUTH}:8080"},
    ):
        res, _ = _probe(lab, connect_to=f"{TARGET}:7001", **params)
        assert (res.status, res.reason) == (Status.OK, "ok"), res.detail
        assert res.evidence["proxy"] == f"{AUTH}:8080" and not _leaks(res)


def test_check_from_a_pac_result_probes_its_first_proxy(lab: nn.RouterLab) -> None:
    url = "http://config.nhn.test/kunde.pac"
    pac_check = Check("pac-1", url, "proxy", "002:530", "answered", PacParams(url))
    urls = [
        {"url": "http://intranet/", "proxies": [{"type": "DIRECT"}]},
        {
            "url": f"https://{TARGET}:7001/x",
            "proxies": [
                {"type": "SOCKS", "host": "203.0.113.9", "port": 1080},
                {"type": "PROXY", "host": OPEN, "port": 8080},
                {"type": "DIRECT"},
            ],
        },
    ]
    pac_result = Result.of(pac_check, Status.OK, "answered", urls=urls)
    check = check_from_pac(pac_result)
    assert check is not None and check.kind == "proxy" and check.service == "proxy"
    assert check.params == ProxyParams(f"{OPEN}:8080", f"{TARGET}:7001")
    with nn.netns(lab.ns["site"]):
        res = asyncio.run(proxy.run(check, ProbeContext(timeout=2.0)))
    assert (res.status, res.reason) == (Status.OK, "ok"), res.detail
    assert check_from_pac(pac_result, url="http://intranet/") is None
    other = check_from_pac(pac_result, connect_to="www.helsenorge.test:443")
    assert other is not None and other.params.connect_to == "www.helsenorge.test:443"


@pytest.mark.parametrize(
    "params",
    [
        ProxyParams(f"{OPEN}:8080", ""),  # no connect_to
        ProxyParams(f"{OPEN}:8080", "no-port.test"),
        ProxyParams(f"{OPEN}:8080", "a.test:443", address="not-an-ip"),
        ProxyParams(OPEN, "a.test:443", port=70000),
    ],
)
def test_bad_input_is_an_error_without_network(params: ProxyParams) -> None:
    check = Check("p", "x", "proxy", "test", "answered", params)
    res = asyncio.run(proxy.run(check, ProbeContext(timeout=1.0)))
    assert (res.status, res.reason) == (Status.ERROR, "bad-input") and not res.events
    # a proxy without a usable port is named as it was given, never "host:None"
    assert "None" not in res.evidence["proxy"]


def test_split_hostport() -> None:
    assert proxy.split_hostport("sikker.proxy.nhn.no:8080") == ("sikker.proxy.nhn.no", 8080)
    assert proxy.split_hostport("sikker.proxy.nhn.no", 8080) == ("sikker.proxy.nhn.no", 8080)
    assert proxy.split_hostport("[2001:db8::8]:3128") == ("2001:db8::8", 3128)
    assert proxy.split_hostport("2001:db8::8", 8080) == ("2001:db8::8", 8080)
    assert proxy.split_hostport("host.test") == ("host.test", None)
