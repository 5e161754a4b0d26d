"""Real-packet tests for the namespace harness in tests/netns.py.

Everything needs root; without it each test skips with the reason from
root_ok().  One RouterLab is shared by the module to keep the file fast;
tests that load nftables rules into the router flush them again afterwards.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.rcode
import netns as nn  # tests/ is on sys.path (pytest's default import mode)
import pytest

HN4, INET4 = "203.0.113.10", "203.0.113.200"  # behind rtr's hn / inet links
HN6, INET6 = "2001:db8:a::10", "2001:db8:b::10"
DROP_TIMEOUT = 0.3  # a drop can only ever give "timeout", so keep it short


def _need_root() -> None:
    reason = nn.root_ok()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def lab() -> Iterator[nn.RouterLab]:
    _need_root()
    with nn.RouterLab() as lab:
        yield lab


@pytest.fixture
def rtr_nft(lab: nn.RouterLab) -> Iterator[Callable[[str], None]]:
    """Load rules into the router; flushed after the test."""
    if not nn.have("nft"):
        pytest.skip("nft (nftables) is not installed")
    yield lambda rules: nn.nft(lab.ns["rtr"], rules)
    nn.nft(lab.ns["rtr"], "flush ruleset")


def _forward_chain(*rules: str) -> str:
    body = "\n".join(f"        {r}" for r in rules)
    return (
        "table inet labfilter {\n"
        "    chain forward {\n"
        "        type filter hook forward priority filter; policy accept;\n"
        f"{body}\n"
        "    }\n"
        "}\n"
    )


def _netns_list() -> str:
    return subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=True
    ).stdout


# --------------------------------------------------------------------------


def test_have_and_root_ok() -> None:
    assert nn.have("ip")
    assert not nn.have("no-such-command-nhn-xyz")
    reason = nn.root_ok()
    assert reason is None or isinstance(reason, str)


def test_lab_names_and_no_way_out(lab: nn.RouterLab) -> None:
    assert re.fullmatch(r"np[0-9a-f]{6}", lab.tag)
    listed = _netns_list()
    for name in lab.ns.values():
        assert name.startswith(lab.tag) and name in listed
    names = [lab.if_site, lab.if_lan, lab.if_hn, lab.if_hn_peer, lab.if_inet, lab.if_inet_peer]
    assert len(set(names)) == len(names)
    assert all(n.startswith(lab.tag) and len(n) <= 15 for n in names)
    # Safety: only site has a default route, and it points into the lab.
    for role, ns in lab.ns.items():
        for fam in ("-4", "-6"):
            out = subprocess.run(
                ["ip", fam, "-n", ns, "route", "show", "default"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            if role == "site":
                assert (lab.LAN4 if fam == "-4" else lab.LAN6) in out
            else:
                assert out.strip() == ""


def test_netns_switches_only_this_thread(lab: nn.RouterLab) -> None:
    hn = lab.ns["hn"]
    with nn.netns(hn):
        assert nn.in_netns(hn)
        with socket.socket() as s:
            s.bind((lab.HN_LINK4[1], 0))  # exists only in hn
    assert not nn.in_netns(hn)
    with socket.socket() as s, pytest.raises(OSError):
        s.bind((lab.HN_LINK4[1], 0))


@pytest.mark.parametrize("proto", ["tcp", "udp"])
@pytest.mark.parametrize("dst", [HN4, INET4, HN6, INET6])
def test_no_firewall_far_host_refuses(lab: nn.RouterLab, proto: str, dst: str) -> None:
    assert nn.probe_flow(lab.ns["site"], proto, dst, 7001) == "refused"


@pytest.mark.parametrize("dst", [HN4, HN6])
def test_listener_gives_open(lab: nn.RouterLab, dst: str) -> None:
    # The far namespace owns its whole range, so we can bind any address.
    with nn.netns(lab.ns["hn"]):
        srv = socket.create_server(
            (dst, 0), family=socket.AF_INET6 if ":" in dst else socket.AF_INET
        )
    with srv:
        port = srv.getsockname()[1]
        assert nn.probe_flow(lab.ns["site"], "tcp", dst, port) == "open"


@pytest.mark.parametrize("dst", [HN4, INET4, HN6])
def test_nft_reject_and_drop(lab: nn.RouterLab, rtr_nft: Callable[[str], None], dst: str) -> None:
    rtr_nft(
        _forward_chain(
            "meta l4proto { tcp, udp } th dport 7001 reject with icmpx type admin-prohibited",
            "meta l4proto { tcp, udp } th dport 7002 drop",
        )
    )
    site = lab.ns["site"]
    for proto in ("tcp", "udp"):
        t0 = time.monotonic()
        assert nn.probe_flow(site, proto, dst, 7001) == "admin-prohibited"
        # IPv6 TCP used to need the SYN retransmit (~1 s); not any more.
        assert time.monotonic() - t0 < 0.9
        assert nn.probe_flow(site, proto, dst, 7002, timeout=DROP_TIMEOUT) == "timeout"
        assert nn.probe_flow(site, proto, dst, 7003) == "refused"


@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_source_address_is_honoured(
    lab: nn.RouterLab, rtr_nft: Callable[[str], None], proto: str
) -> None:
    rtr_nft(
        _forward_chain(
            f"ip saddr {lab.SITE4_ALT} {proto} dport 7004 reject with icmpx type admin-prohibited",
            f"ip6 saddr {lab.SITE6_ALT} {proto} dport 7004 reject with icmpx type admin-prohibited",
        )
    )
    site = lab.ns["site"]
    for dst, alt in ((HN4, lab.SITE4_ALT), (HN6, lab.SITE6_ALT)):
        assert nn.probe_flow(site, proto, dst, 7004) == "refused"
        assert nn.probe_flow(site, proto, dst, 7004, src=alt) == "admin-prohibited"


@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_unreachable(lab: nn.RouterLab, proto: str) -> None:
    # rtr has no route for it and answers ICMPv6 no-route.  (Not tested
    # for IPv4: see the rate limit caveat in RouterLab's docstring.)
    assert nn.probe_flow(lab.ns["site"], proto, "2001:db8:c::1", 80) == "unreachable"
    # hn has no default route at all: fails locally.
    for dst in ("198.51.100.200", "2001:db8:c::1"):
        assert nn.probe_flow(lab.ns["hn"], proto, dst, 80) == "unreachable"


def test_run_in_popen_in_stop(lab: nn.RouterLab, tmp_path: Path) -> None:
    hn = lab.ns["hn"]
    res = nn.run_in(hn, ["ip", "-o", "addr", "show"])
    assert res.returncode == 0 and lab.HN_LINK4[1] in res.stdout
    proc = nn.popen_in(hn, ["sleep", "30"], tmp_path / "sleep.log")
    pids = subprocess.run(
        ["ip", "netns", "pids", hn], capture_output=True, text=True
    ).stdout.split()
    assert str(proc.pid) in pids  # ip netns exec execs: pid is sleep's
    t0 = time.monotonic()
    assert nn.stop(proc) == -15
    assert time.monotonic() - t0 < 2


def test_dnsmasq_host_record_and_nxdomain(lab: nn.RouterLab) -> None:
    if not nn.have("dnsmasq"):
        pytest.skip("dnsmasq is not installed")
    server = nn.DnsmasqServer(
        lab.ns["hn"],
        lab.HN_LINK4[1],
        host_records=[f"host1.test,{HN4},{HN6}"],
        addresses=["/hjelp.test/203.0.113.22"],
    )
    with server:
        site = lab.ns["site"]  # ask across the router, like a client
        r = server.query("host1.test", "A", ns=site)
        assert r.rcode() == dns.rcode.NOERROR
        assert [rr.address for rr in r.answer[0]] == [HN4]
        r = server.query("host1.test", "AAAA", ns=site, tcp=True)
        assert [rr.address for rr in r.answer[0]] == [HN6]
        r = server.query("www.hjelp.test", "A", ns=site)
        assert [rr.address for rr in r.answer[0]] == ["203.0.113.22"]
        r = server.query("nope.test", "A", ns=site)
        assert r.rcode() == dns.rcode.NXDOMAIN and not r.answer
        workdir = server.workdir
        assert workdir is not None and "nope.test" in server.log()
    assert server.proc is None and not workdir.exists()


def test_teardown_removes_everything_even_on_error(tmp_path: Path) -> None:
    _need_root()
    leftover = None
    with pytest.raises(ZeroDivisionError):
        with nn.RouterLab() as lab2:
            # Untracked process: close() must find it via `ip netns pids`.
            leftover = nn.popen_in(lab2.ns["inet"], ["sleep", "30"], tmp_path / "x.log")
            with nn.netns(lab2.ns["site"]), pytest.raises(RuntimeError):
                lab2.close()  # refused: we are inside the lab
            raise ZeroDivisionError("an error inside the lab")
    assert leftover is not None
    assert leftover.wait(2) == -15
    assert lab2.tag not in _netns_list()
    assert not any(os.path.exists(f"/run/netns/{n}") for n in lab2.ns.values())
