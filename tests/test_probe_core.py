"""TCP, DNS and NTP probes against real peers in network namespaces.

Every classification comes from a real kernel or a real server: a listener
(open), no listener (refused), and the lab router's nftables rules that drop,
reset and reject with ICMP administratively prohibited; dnsmasq for DNS;
chronyd for NTP, and a plain-socket NTP server that answers with a clock 45 s
ahead (chrony cannot serve a wrong time). Only documentation addresses.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time

import netns
import pytest

from nhn_appliance.policy.defaults import defaults_file, load_defaults
from nhn_appliance.probes.context import ProbeContext
from nhn_appliance.probes.model import Check, Status
from nhn_appliance.probes.params import DnsParams, NtpParams, TcpParams
from nhn_appliance.probes.runner import run_all, run_one

FAR = "203.0.113.10"  # owned by the hn namespace (local route)
FAR6 = "2001:db8:a::10"
RESOLVER = netns.RouterLab.HN_LINK4[1]  # hn's end of the router link: dnsmasq
CLOCK = load_defaults(defaults_file(None)).clock  # the packaged catalogue's clock limits

ROUTER_RULES = """
table inet probetest {
    chain forward {
        type filter hook forward priority filter; policy accept;
        tcp dport 9001 drop
        tcp dport 9002 reject with tcp reset
        tcp dport 9003 reject with icmpx type admin-prohibited
        udp dport 123 ip daddr 203.0.113.124 drop
        udp dport 53 ip daddr 203.0.113.53 drop
    }
}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if reason := netns.lab_skip_reason("nft", "dnsmasq", "chronyd"):
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("probes")
    with netns.probe_lab(
        nft_rules={"rtr": ROUTER_RULES},
        listen=[(FAR, 9000), (FAR6, 9000)],
        dns_records=["hjelp.nhn.test,203.0.113.22,2001:db8:a::22", "ntp.nhn.test,203.0.113.123"],
    ) as lab:
        conf = tmp / "chrony.conf"
        conf.write_text(
            f"local stratum 8\nallow 198.51.100.0/24\nport 123\nbindaddress 203.0.113.123\n"
            f"cmdport 0\nbindcmdaddress /\npidfile {tmp}/chronyd.pid\n"
        )
        lab.popen("hn", ["chronyd", "-d", "-x", "-u", "root", "-f", str(conf)], tmp / "chrony.log")
        fast = _fake_ntp_server(lab, "203.0.113.125", ahead=45.0)
        _wait_ntp(lab, "203.0.113.123")
        try:
            yield lab
        finally:
            fast.set()


def _fake_ntp_server(lab, address: str, ahead: float) -> threading.Event:
    """A plain-socket NTP server whose clock is ``ahead`` seconds fast (stratum 2)."""
    with netns.netns(lab.ns["hn"]):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((address, 123))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(512)
            except TimeoutError:
                continue
            now = time.time() + ahead + 2208988800  # NTP era
            secs, frac = int(now), int((now % 1) * 2**32)
            reply = struct.pack(
                "!BBbb11I",
                (0 << 6) | (3 << 3) | 4,
                2,
                6,
                -20,
                0,
                0,
                0x4C4F434C,
                secs,
                frac,
                *struct.unpack("!II", data[40:48]),
                secs,
                frac,
                secs,
                frac,
            )
            sock.sendto(reply, peer)
        sock.close()

    threading.Thread(target=serve, daemon=True).start()
    return stop


def _wait_ntp(lab, address: str) -> None:
    import ntplib

    for _ in range(100):
        try:
            with netns.netns(lab.ns["site"]):
                ntplib.NTPClient().request(address, version=3, timeout=0.05)
            return
        except Exception:  # not up yet: ntplib raises NTPException, not OSError
            time.sleep(0.02)
    raise RuntimeError("chronyd did not answer")


def _run(lab, check: Check, timeout: float = 1.0):
    with netns.netns(lab.ns["site"]):
        return asyncio.run(run_one(check, ProbeContext(timeout=timeout)))


def _tcp(address: str, port: int) -> Check[TcpParams]:
    params = TcpParams(address, port)
    return Check(f"tcp:{address}:{port}", f"{address}:{port}", "test", "test", "open", params)


@pytest.mark.parametrize(
    "address,port,status,reason",
    [
        (FAR, 9000, Status.OK, "open"),
        (FAR, 9004, Status.FAIL, "refused"),  # no listener: the far kernel resets
        (FAR, 9002, Status.FAIL, "refused"),  # the router resets
        (FAR, 9003, Status.FAIL, "icmp-admin-prohibited"),
        (FAR, 9001, Status.FAIL, "timeout"),
        (FAR6, 9000, Status.OK, "open"),
        (FAR6, 9003, Status.FAIL, "icmp-admin-prohibited"),
        (FAR6, 9001, Status.FAIL, "timeout"),
        ("203.0.113.250", 9000, Status.FAIL, "refused"),  # via the internet uplink, no listener
    ],
)
def test_tcp_classification_comes_from_the_kernel(lab, address, port, status, reason) -> None:
    result = _run(lab, _tcp(address, port), timeout=0.6)
    assert (result.status, result.reason) == (status, reason), result
    assert result.evidence["port"] == port
    if reason == "icmp-admin-prohibited":
        # the router said it, and the result says who and what
        assert result.evidence["from"] in ("198.51.100.1", "2001:db8:1::1")
        assert result.evidence["icmp_type"] in (3, 1)
    if reason == "timeout":
        assert 0.55 < result.duration_s < 1.2


def _dns(name: str, resolver: str = RESOLVER, expect=()) -> Check[DnsParams]:
    params = DnsParams(name, resolver, 53, tuple(expect))
    return Check(f"dns:{name}", name, "test", "test", "resolves", params)


@pytest.mark.parametrize(
    "name,resolver,expect,status,reason",
    [
        ("hjelp.nhn.test", RESOLVER, ["203.0.113.22"], Status.OK, "ok"),
        ("hjelp.nhn.test", RESOLVER, [], Status.OK, "ok"),
        ("hjelp.nhn.test", RESOLVER, ["203.0.113.99"], Status.WARN, "answer-differs"),
        ("mangler.nhn.test", RESOLVER, [], Status.FAIL, "nxdomain"),
        ("hjelp.nhn.test", "203.0.113.53", [], Status.FAIL, "timeout"),  # the router drops it
        ("hjelp.nhn.test", "203.0.113.54", [], Status.FAIL, "refused"),  # no DNS server there
    ],
)
def test_dns_against_dnsmasq(lab, name, resolver, expect, status, reason) -> None:
    result = _run(lab, _dns(name, resolver, expect), timeout=0.6)
    assert (result.status, result.reason) == (status, reason), result
    if status == Status.OK:
        assert result.evidence["addresses"] == ["2001:db8:a::22", "203.0.113.22"]
        assert result.events and result.events[-1].op == "answer"


def _ntp(address: str) -> Check[NtpParams]:
    params = NtpParams(address, CLOCK.warn_s, CLOCK.fail_s, CLOCK.why_en)
    return Check(f"ntp:{address}", address, "ntp", "test", "offset under 1 s", params)


def test_ntp_against_chrony(lab) -> None:
    result = _run(lab, _ntp("203.0.113.123"))
    assert (result.status, result.reason) == (Status.OK, "ok"), result
    assert result.evidence["stratum"] == 8 and abs(result.evidence["offset_s"]) < 0.5


def test_ntp_clock_45_s_off_fails_with_the_login_reason(lab) -> None:
    result = _run(lab, _ntp("203.0.113.125"))
    assert (result.status, result.reason) == (Status.FAIL, "clock-offset"), result
    assert 44 < result.evidence["offset_s"] < 46
    # the reason comes from the catalogue: HelseID log-in, with its source (not TOTP,
    # whose codes come from the supplier's phone or Yubikey, not this site's clock)
    assert CLOCK.why_en in result.detail and "HelseID" in result.detail
    assert "TOTP" not in result.detail


def test_ntp_silent_server_times_out(lab) -> None:
    result = _run(lab, _ntp("203.0.113.124"), timeout=0.5)
    assert (result.status, result.reason) == (Status.FAIL, "timeout"), result


def test_silent_checks_run_concurrently_within_one_timeout(lab) -> None:
    checks = [_tcp(f"203.0.113.{60 + i}", 9001) for i in range(40)]
    start = time.monotonic()
    with netns.netns(lab.ns["site"]):
        results = asyncio.run(run_all(checks, ProbeContext(timeout=0.5), concurrency=64))
    assert time.monotonic() - start < 0.5 + 1.0
    assert [r.reason for r in results] == ["timeout"] * 40


def test_global_deadline_leaves_a_result_for_every_check(lab) -> None:
    checks = [_tcp(f"203.0.113.{60 + i}", 9001) for i in range(6)]
    with netns.netns(lab.ns["site"]):
        results = asyncio.run(
            run_all(checks, ProbeContext(timeout=2.0), concurrency=2, deadline=0.3)
        )
    assert len(results) == 6
    assert {r.reason for r in results} == {"deadline"}
    assert {r.status for r in results} == {Status.SKIPPED}


def test_a_run_has_a_follow_up_stage_and_ends_its_own_threads() -> None:
    """Loopback only: the second stage runs after the first, and the run's pool is shut down."""
    seen: list[list[str]] = []

    def more(results):
        seen.append([r.id for r in results])
        return [_tcp("127.0.0.1", 7)]

    results = asyncio.run(
        run_all([_tcp("127.0.0.1", 9)], ProbeContext(timeout=0.5), followups=more)
    )
    assert seen == [["tcp:127.0.0.1:9"]]
    assert [r.id for r in results] == ["tcp:127.0.0.1:9", "tcp:127.0.0.1:7"]
    for _ in range(100):  # idle workers leave once the pool is shut down
        if not [t for t in threading.enumerate() if t.name.startswith("probe")]:
            break
        time.sleep(0.01)
    assert not [t for t in threading.enumerate() if t.name.startswith("probe")]


def test_a_cut_short_run_skips_the_follow_up_stage(lab) -> None:
    with netns.netns(lab.ns["site"]):
        results = asyncio.run(
            run_all(
                [_tcp("203.0.113.60", 9001)],
                ProbeContext(timeout=2.0),
                deadline=0.2,
                followups=lambda results: [_tcp(FAR, 9000)],
            )
        )
    assert [(r.id, r.reason) for r in results] == [("tcp:203.0.113.60:9001", "deadline")]
