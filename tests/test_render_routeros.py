"""RouterOS target: the script run by an independent interpreter on a device, held to explain().

tests/readers/routeros.py interprets the script statement by statement with RouterOS
semantics (cited there) on a device that already has a default configuration: an
``in-interface-list=LAN`` accept, FastTrack and an established/related accept in forward.
(1) every flow gets explain's verdict and DSCP; (2) a failure at any statement, under
/import (stops) and as a paste (goes on), leaves each table on one whole generation, the
previous one until the switch, and the LAN forwarding; (3) a second run changes nothing,
and remote support is never blocked at any statement boundary while a new generation
replaces an old one; (4) a missing interface stops the script before it changes anything.
Options, limits and determinism: test_targets.py; goldens: test_golden.py.
"""

# ruff: noqa: E501  (the default configuration below is RouterOS lines as the device has them)
from __future__ import annotations

import ipaddress
from functools import cache

import pytest
from flowgen import edge_flows, expected, flows, lan_source
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from readers.routeros import Device, count
from render_cases import TARGET_OPTIONS, hostile_policy, policy

from nhn_appliance.policy.explain import Flow
from nhn_appliance.policy.model import Span, Zone
from nhn_appliance.render.routeros import RENDERER

OPTIONS = TARGET_OPTIONS["routeros"]  # lan=bridge, helsenett=ether1, internett=ether2
HOST_DSCP = 46  # every test packet leaves the host marked EF
#: a RouterOS default configuration, plus an accept for the LAN before FastTrack
DEFCONF = """
/interface list add name=LAN comment="defconf"
/interface list add name=WAN comment="defconf"
/interface list member add list=LAN interface=bridge comment="defconf"
/interface list member add list=WAN interface=ether1 comment="defconf"
/ip firewall filter add chain=input action=accept connection-state=established,related,untracked comment="defconf"
/ip firewall filter add chain=forward action=accept in-interface-list=LAN comment="local: LAN out"
/ip firewall filter add chain=forward action=fasttrack-connection connection-state=established,related hw-offload=yes comment="defconf: fasttrack"
/ip firewall filter add chain=forward action=accept connection-state=established,related,untracked comment="defconf"
/ip firewall filter add chain=forward action=drop connection-state=invalid comment="defconf"
/ip firewall filter add chain=forward action=drop connection-state=new connection-nat-state=!dstnat in-interface-list=WAN comment="defconf"
/ipv6 firewall filter add chain=forward action=accept in-interface-list=LAN comment="local: LAN out"
/ipv6 firewall filter add chain=forward action=accept connection-state=established,related,untracked comment="defconf"
/ipv6 firewall filter add chain=forward action=accept protocol=icmpv6 comment="defconf"
/ipv6 firewall filter add chain=forward action=drop in-interface-list=!LAN comment="defconf"
"""
INTERFACES = {"bridge", "ether1", "ether2", "ether3", "wireguard1"}
REMOTE_SUPPORT = [("tcp", "91.186.66.22", 443), ("tcp", "91.186.66.22", 8041)]  # fjernhjelp


@cache
def script(case: str) -> str:
    zones = {"lan"} | {u.zone.value for u in policy(case).uplinks}
    return RENDERER.render(policy(case), {k: v for k, v in OPTIONS.items() if k in zones})[0].text


def defconf() -> Device:
    dev = Device(INTERFACES)
    assert dev.run(DEFCONF) == []
    return dev


@cache
def applied(case: str) -> Device:
    dev = defconf()
    assert dev.run(script(case)) == []
    return dev


def packet(case: str, flow: Flow) -> dict:
    pol = policy(case)
    fam = flow.dst.family
    uplink = next(u for u in pol.uplinks if u.zone == flow.uplink)
    lan = any(p.family == fam and p.first <= flow.dst.first <= p.last for p in pol.lan_prefixes)
    return {
        "family": fam,
        "proto": flow.proto,
        "port": flow.port,
        "dst": flow.dst.first,
        "src": flow.src.first if flow.src else lan_source(pol, fam),
        "in": OPTIONS["lan"],
        "out": OPTIONS["lan"] if lan else OPTIONS[uplink.zone.value],
        "dscp": HOST_DSCP,
    }


def check(case: str, flow: Flow, dev: Device | None = None) -> None:
    pol = policy(case)
    want, cls = expected(pol, flow)
    pkt = packet(case, flow)
    verdict, how, dscp = (dev or applied(case)).connection(pkt)
    assert verdict == want, (flow, want)
    if want == "reject":  # a reset for TCP, ICMP admin-prohibited for the rest
        assert how == ("tcp-reset" if flow.proto == "tcp" else "icmp-admin-prohibited"), flow
    if want == "accept":
        leaves = pkt["out"] != OPTIONS["lan"]
        trusted = HOST_DSCP if pol.keep_host_marking or not leaves else 0
        assert dscp == (pol.qos[cls].dscp if cls else trusted), (flow, cls, dscp)


CASES = ["default", "default-pinned", "default-open", "trick", "trick-open", "trick-open-hn"]


@pytest.mark.parametrize("case", CASES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_device_agrees_with_explain(case: str, data) -> None:
    check(case, data.draw(flows(policy(case), families=(4, 6))))


@pytest.mark.parametrize("case", CASES)
def test_device_agrees_with_explain_at_every_rule_edge(case: str) -> None:
    for flow in edge_flows(policy(case)):
        check(case, flow)


def test_inbound_and_foreign_sources_are_dropped_and_replies_pass() -> None:
    dev, pol = applied("default"), policy("default")
    base = {"family": 4, "proto": "tcp", "port": 443, "dscp": 0, "in": "ether2", "out": "bridge"}
    pkt = dict(base, src=int(ipaddress.ip_address("91.186.66.22")), dst=lan_source(pol, 4))
    assert dev.forward(dict(pkt, state="new"))[0] == "drop"  # new connections only from the LAN
    assert dev.forward(dict(pkt, state="established"))[0] == "accept"  # replies
    foreign = dict(base, src=int(ipaddress.ip_address("10.9.9.9")), dst=pkt["src"], state="new")
    assert dev.forward(dict(foreign, **{"in": "bridge", "out": "ether2"}))[0] == "drop"
    # a VPN interface the policy does not govern keeps the rules that were there
    vpn = dict(foreign, **{"in": "wireguard1", "out": "ether3"})
    assert dev.forward(vpn)[0] == "accept"


def test_ipv4_only_lan_blocks_ipv6() -> None:
    from dataclasses import replace

    pol = replace(policy("trick"), lan_prefixes=policy("trick").lan_prefixes[:1])
    dev = defconf()
    assert dev.run(RENDERER.render(pol, OPTIONS)[0].text) == []
    six = int(ipaddress.ip_address("2001:db8:99::10"))
    pkt = {"family": 6, "proto": "tcp", "port": 443, "dst": six, "src": six + 1, "dscp": 0}
    assert dev.forward(dict(pkt, state="new", **{"in": "bridge", "out": "ether1"}))[0] == "drop"


# -- failures, reruns, missing interfaces --------------------------------------------
def _remote_support_passes(dev: Device) -> None:
    pol = policy("default")
    for proto, dst, port in REMOTE_SUPPORT:
        flow = Flow(
            proto,
            Span(4, int(ipaddress.ip_address(dst)), int(ipaddress.ip_address(dst))),
            port,
            None,
            Zone.INTERNETT,
        )
        assert dev.connection(packet("default", flow))[0] == "accept", (dst, port)
    within = {
        "family": 4,
        "proto": "udp",
        "port": 53,
        "src": lan_source(pol, 4),
        "dscp": 0,
        "dst": lan_source(pol, 4) + 1,
        "in": "bridge",
        "out": "bridge",
    }
    assert dev.connection(within)[0] == "accept"  # the LAN still forwards


def _sample(case: str) -> list[Flow]:
    every = edge_flows(policy(case))
    return every[:: max(1, len(every) // 40)]


def _holds(dev: Device, case: str, family: int) -> bool:
    return all(
        dev.connection(packet(case, f))[0] == expected(policy(case), f)[0]
        for f in _sample(case)
        if f.dst.family == family
    )


def _jumped(dev: Device, text: str, family: int) -> bool:
    gen = text.split("Generation ", 1)[1].split(":", 1)[0]
    menu = "/ip firewall filter" if family == 4 else "/ipv6 firewall filter"
    return any(i.get("comment") == f"nhn-appliance {gen}: jump" for i in dev.menus[menu])


@pytest.mark.parametrize("mode", ["import", "paste"])
def test_a_failure_at_any_statement_leaves_a_whole_policy(mode: str) -> None:
    """Previous: the open default site; new: the blocked one (they differ on most flows)."""
    before, new = applied("default-open"), script("default")
    for family in (4, 6):
        assert _holds(before, "default-open", family) and not _holds(before, "default", family)
    for i in range(count(new)):
        dev = before.copy()
        if not dev.run(new, mode, fail_at=i):  # that statement did not run (a skipped block)
            assert _holds(dev, "default", 4) and _holds(dev, "default", 6), i
        _remote_support_passes(dev)
        for family in (4, 6):
            case = "default" if _jumped(dev, new, family) else "default-open"
            assert _holds(dev, case, family), (mode, i, family, case)
        # a second, clean run finishes the job
        assert dev.run(new) == [] and _holds(dev, "default", 4) and _holds(dev, "default", 6)


def test_second_run_changes_nothing_and_remote_support_never_stops() -> None:
    dev = applied("default").copy()
    first = {m: [dict(i) for i in items] for m, items in dev.menus.items()}
    assert dev.run(script("default"), boundary=_remote_support_passes) == []
    assert dev.menus == first  # nothing added twice, nothing removed
    # a new generation over the old, in both modes: checked after every statement
    for mode in ("import", "paste"):
        dev = applied("default").copy()
        assert dev.run(script("default-pinned"), mode, boundary=_remote_support_passes) == []
        assert _holds(dev, "default-pinned", 4) and _holds(dev, "default-pinned", 6)
        names = [i["comment"] for items in dev.menus.values() for i in items if "comment" in i]
        gen = script("default-pinned").split("Generation ", 1)[1].split(":", 1)[0]
        assert all(c.startswith(f"nhn-appliance {gen}:") for c in names if "nhn" in c)


@pytest.mark.parametrize("mode", ["import", "paste"])
def test_missing_interface_changes_nothing(mode: str) -> None:
    dev = Device(INTERFACES - {"ether2"})
    assert dev.run(DEFCONF) == []
    before = {m: [dict(i) for i in items] for m, items in dev.menus.items()}
    errors = dev.run(script("default"), mode)
    assert errors and "no interface ether2" in errors[0]
    assert dev.menus == before


def test_enum_values_are_checked_by_the_interpreter() -> None:
    """The interpreter refuses what RouterOS refuses, so the tests above can fail."""
    dev = defconf()
    assert dev.run(
        "/ipv6 firewall filter add chain=x action=reject reject-with=icmp-net-prohibited"
    )
    assert dev.run("/ip firewall filter add chain=x action=reject reject-with=tcp-reset")
    assert dev.run("/interface list member add list=LAN interface=ether9")
    assert dev.run("/ip firewall filter add chain=forward action=drop in-interface-list=nhn")
    # and a drop against an interface list that exists but is empty drops every new connection
    assert dev.run("/interface list add name=empty") == []
    assert (
        dev.run(
            "/ip firewall filter add chain=forward action=drop in-interface-list=!empty "
            "place-before=[:pick [/ip firewall filter find where dynamic=no] 0]"
        )
        == []
    )
    flow = {
        "family": 4,
        "proto": "tcp",
        "port": 443,
        "src": 1,
        "dst": 2,
        "dscp": 0,
        "in": "bridge",
        "out": "ether2",
    }
    assert dev.connection(flow)[0] == "drop"


def test_fasttrack_keeps_the_host_marking_without_the_policy() -> None:
    """The default configuration alone fast-tracks (here from an interface outside the LAN
    list): a connection's later packets skip mangle and keep the host's EF."""
    pkt = {
        "family": 4,
        "proto": "tcp",
        "port": 443,
        "src": 1,
        "dst": 2,
        "dscp": 46,
        "in": "ether3",
        "out": "ether2",
    }
    dev = defconf()
    dev.run("/ip firewall mangle add chain=forward action=change-dscp new-dscp=0 passthrough=no")
    assert dev.connection(pkt) == ("accept", None, 46)


# -- injection ------------------------------------------------------------------
def test_hostile_catalogue_adds_no_command() -> None:
    text = RENDERER.render(hostile_policy(), {"lan": "bridge", "helsenett": "ether1"})[0].text
    dev = Device({"bridge", "ether1"})
    assert dev.run(text) == []  # every statement is one the interpreter knows
    assert sum(len(v) for v in dev.menus.values()) > 10
    for line in text.splitlines():
        if line.startswith("#"):
            assert "\r" not in line
            continue
        for quoted in line.split('"')[1::2]:
            assert not set(quoted) & set("\\$[];?{}`"), quoted
    assert text.count('"') % 2 == 0
