"""The raw-socket probers (syn, path, sniff) with real packets in namespaces.

Every answer comes from a real kernel: a listener (open), none (refused),
and the lab router's nftables rules that drop and reject with ICMP
administratively prohibited. The sniff watches the router's LAN interface
while the site sends to documentation addresses standing in for the payment
hosts (good 203.0.113.211, bad 203.0.113.142; never the real ones).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading

import netns
import pytest

from nhn_appliance.probes.context import ProbeContext
from nhn_appliance.probes.model import Check, Status
from nhn_appliance.probes.params import Params, PathParams, SniffParams, SynParams
from nhn_appliance.probes.runner import run_one

FAR, FAR6 = "203.0.113.10", "2001:db8:a::10"  # in hn
GOOD, BAD = "203.0.113.211", "203.0.113.142"  # in inet; stand-ins for the payment hosts
SECRET = b"PAN-4242424242424242"  # payload that must never reach the evidence

ROUTER_RULES = """
table inet scapytest {
    chain forward {
        type filter hook forward priority filter; policy accept;
        tcp dport 9001 drop
        tcp dport 9003 reject with icmpx type admin-prohibited
        ip daddr 203.0.113.50 reject with icmpx type admin-prohibited
        ip daddr 203.0.113.51 drop
    }
}
"""


@pytest.fixture(scope="module")
def lab():
    if reason := netns.lab_skip_reason("nft"):
        pytest.skip(reason)
    import scapy.layers.inet  # noqa: F401  (import once, outside the checks' time budget)

    with netns.probe_lab(
        nft_rules={"rtr": ROUTER_RULES}, listen=[(FAR, 9000), (FAR6, 9000)]
    ) as lab:
        yield lab


def _check(params: Params) -> Check[Params]:
    return Check(
        f"{params.KIND}:test",
        str(getattr(params, "address", params.KIND)),
        "test",
        "test",
        "ok",
        params,
    )


def _run(lab, params: Params, timeout: float = 1.0, where: str = "site"):
    check = _check(params)
    with netns.netns(lab.ns[where]):
        return asyncio.run(run_one(check, ProbeContext(timeout=timeout)))


@pytest.mark.parametrize(
    "address,port,status,reason",
    [
        (FAR, 9000, Status.OK, "open"),
        (FAR, 9004, Status.FAIL, "refused"),  # no listener: hn's kernel resets
        (FAR, 9003, Status.FAIL, "icmp-admin-prohibited"),
        (FAR, 9001, Status.FAIL, "timeout"),
        (FAR6, 9000, Status.OK, "open"),
        (FAR6, 9003, Status.FAIL, "icmp-admin-prohibited"),
    ],
)
def test_syn_classification(lab, address, port, status, reason) -> None:
    result = _run(lab, SynParams(address, port), timeout=0.5)
    assert (result.status, result.reason) == (status, reason), result
    assert result.evidence["source"] == (lab.SITE6 if ":" in address else lab.SITE4)
    assert 1024 <= result.evidence["sport"] < 65536
    if reason == "icmp-admin-prohibited":  # the router said it, and the result says so
        assert result.evidence["from"] == (lab.LAN6 if ":" in address else lab.LAN4)
        assert "198.51.100.1" in result.detail or "2001:db8:1::1" in result.detail
    if reason == "timeout":
        assert 0.4 < result.duration_s < 0.8


@pytest.mark.parametrize(
    "address,params",
    [
        (FAR, {}),  # via the hn uplink, UDP
        ("203.0.113.200", {}),  # via the inet uplink, UDP
        ("203.0.113.200", {"port": 443}),  # TCP SYN: the destination resets
        ("2001:db8:b::200", {}),
    ],
)
def test_path_shows_the_first_hop_and_reaches_the_destination(lab, address, params) -> None:
    result = _run(lab, PathParams(address, max_hops=8, **params))
    ev = result.evidence
    assert (result.status, result.reason) == (Status.OK, "answered"), result
    lan = lab.LAN6 if ":" in address else lab.LAN4
    assert ev["hops"][0]["address"] == lan
    if ":" not in address:  # an IPv6 AnyIP range answers from its link address, not the probed one
        assert ev["hops"][1]["address"] == address
    assert [h["kind"] for h in ev["hops"]] == ["time-exceeded", "destination"]
    assert ev["first_hop"] == lan and ev["iface"] == lab.if_site and ev["gateway"] == lan
    assert ev["source"] == (lab.SITE6 if ":" in address else lab.SITE4)
    assert ev["sent"] == 2 and all(h["rtt_ms"] >= 0 for h in ev["hops"])
    assert result.duration_s < 0.5


def test_path_stops_at_an_unreachable(lab) -> None:
    # TTL 1 expires in the router before its forward filter; TTL 2 meets the reject
    result = _run(lab, PathParams("203.0.113.50"))
    ev = result.evidence
    assert (result.status, result.reason) == (Status.OK, "ok"), result  # the first hop answered
    assert [(h["address"], h["kind"]) for h in ev["hops"]] == [
        (lab.LAN4, "time-exceeded"),
        (lab.LAN4, "unreachable"),
    ]
    assert (ev["hops"][1]["icmp_type"], ev["hops"][1]["icmp_code"]) == (3, 13)
    assert ev["stopped"] == "icmp-admin-prohibited" and ev["reached"] is False and ev["sent"] == 2
    assert "stopped: icmp-admin-prohibited" in result.detail


def test_path_rate_and_time_are_bounded(lab) -> None:
    result = _run(lab, PathParams("203.0.113.51", max_hops=8), timeout=0.8)
    ev = result.evidence
    assert (result.status, result.reason) == (Status.OK, "ok"), result  # the first hop answered
    assert ev["reached"] is False and ev["first_hop"] == lab.LAN4
    assert ev["sent"] == 8 and [h["address"] for h in ev["hops"]][1:] == [None] * 7
    sends = [e.t for e in result.events if e.op == "send"]
    assert min(b - a for a, b in zip(sends, sends[1:], strict=False)) >= 0.045  # <= 20 packets/s
    assert 0.7 < result.duration_s < 1.05


def _talk(lab, flows: list[tuple[str, str, str]], stop: threading.Event) -> threading.Thread:
    """From the site, every 0.1 s (at most 15 times): each (source, dest, proto) once."""

    def send() -> None:
        with netns.netns(lab.ns["site"]):
            for _ in range(15):
                for src, dst, proto in flows:
                    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
                    with socket.socket(socket.AF_INET, kind) as s:
                        s.bind((src, 0))
                        s.settimeout(0.05)
                        if proto == "udp":
                            s.sendto(SECRET, (dst, 5000))
                        else:
                            s.connect_ex((dst, 443))  # inet resets: SYN and RST, no payload
                if stop.wait(0.1):
                    return

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def _sniff(lab, flows, seconds: float, timeout: float = 3.0):
    stop = threading.Event()
    thread = _talk(lab, flows, stop) if flows else None
    try:
        params = SniffParams((GOOD,), (BAD,), "betalingsaksess", seconds, lab.if_lan)
        return _run(lab, params, timeout=timeout, where="rtr")
    finally:
        stop.set()
        if thread:
            thread.join(2)


def test_sniff_names_the_terminal_talking_to_the_bad_host(lab) -> None:
    result = _sniff(
        lab,
        [(lab.SITE4, GOOD, "udp"), (lab.SITE4_ALT, BAD, "tcp"), (lab.SITE4_ALT, BAD, "udp")],
        seconds=1.0,
    )
    ev = result.evidence
    assert (result.status, result.reason) == (Status.FAIL, "terminal-wrong-host"), result
    assert ev["bad_talkers"] == [lab.SITE4_ALT] and ev["good_talkers"] == [lab.SITE4]
    assert lab.SITE4_ALT in result.detail and f"betalingsaksess {GOOD}" in result.detail
    bad = next(t for t in ev["talkers"] if t["host"] == lab.SITE4_ALT)
    assert bad["peer"] == BAD and {"tcp", "udp"} <= set(bad["protos"]) and 443 in bad["ports"]
    text = json.dumps(result.as_dict())
    assert SECRET.decode() not in text and SECRET.hex() not in text  # no payload, in any form
    assert set(ev["talkers"][0]) == {
        "host",
        "peer",
        "verdict",
        "protos",
        "ports",
        "packets",
        "first_s",
        "last_s",
        "ifaces",
    }
    assert 0.9 < ev["seconds"] < 1.2 and result.duration_s < 1.5


def test_sniff_only_good_traffic_is_ok(lab) -> None:
    result = _sniff(lab, [(lab.SITE4, GOOD, "tcp")], seconds=0.6)
    assert (result.status, result.reason) == (Status.OK, "ok"), result
    assert result.evidence["good_talkers"] == [lab.SITE4] and result.evidence["bad_talkers"] == []


def test_sniff_without_traffic_is_nothing_seen_within_the_check_timeout(lab) -> None:
    result = _sniff(lab, [], seconds=10, timeout=0.6)  # the per-check timeout bounds it
    assert (result.status, result.reason) == (Status.SKIPPED, "nothing-seen"), result
    assert f"seen in {result.evidence['seconds']:g} s" in result.detail
    assert 0.2 < result.evidence["seconds"] <= 0.6 and result.duration_s < 0.6 + 0.25


@pytest.mark.parametrize(
    "params",
    [
        SynParams(FAR, 443),
        PathParams(FAR),
        SniffParams((GOOD,), (BAD,), "betalingsaksess", seconds=1),
    ],
)
def test_without_root_each_is_skipped_with_the_fallback(monkeypatch, params) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    result = asyncio.run(run_one(_check(params), ProbeContext(timeout=0.5)))
    assert (result.status, result.reason) == (Status.SKIPPED, "needs-root"), result
    assert "tcp probe" in result.detail and result.duration_s < 0.1
