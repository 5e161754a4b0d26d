"""RouterOS target: an independent reader of the script, held to explain().

tests/readers/routeros.py knows RouterOS, not the renderer: it reads the
script's command lines into menus and walks ``forward`` and ``postrouting``
mangle the way RouterOS does. Hypothesis flows and every rule edge must get
the verdict and QoS class ``explain`` gives. Options, limits and determinism:
test_targets.py; goldens: test_golden.py.
"""

from __future__ import annotations

import ipaddress
import re
from functools import cache

import pytest
from flowgen import edge_flows, expected, flows, lan_source
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from readers.routeros import REMOVAL, Router, read_script
from render_cases import TARGET_OPTIONS, hostile_policy, policy

from nhn_appliance.policy.explain import Flow
from nhn_appliance.render.routeros import RENDERER

OPTIONS = TARGET_OPTIONS["routeros"]


@cache
def routers(case: str, with_options: bool) -> dict[int, Router]:
    menus, _ = read_script(RENDERER.render(policy(case), OPTIONS if with_options else None)[0].text)
    return {4: Router(menus, 4), 6: Router(menus, 6)}


POLICY_CASES = [
    ("default", False),
    ("default", True),
    ("default-pinned", True),
    ("default-open", False),
    ("trick", True),
    ("trick-open", False),
    ("trick-open-hn", False),
]


def check(case: str, with_options: bool, flow: Flow) -> None:
    pol = policy(case)
    want, cls = expected(pol, flow)
    uplink = next(u for u in pol.uplinks if u.zone == flow.uplink)
    opts = OPTIONS if with_options else {}
    fam = flow.dst.family
    pkt = {
        "state": "new",
        "proto": flow.proto,
        "port": flow.port,
        "dst": flow.dst.first,
        "src": flow.src.first if flow.src else lan_source(pol, fam),
        "in": opts.get("lan", pol.lan_interfaces[0]),
        "out": opts.get(uplink.zone.value, uplink.interface),
    }
    router = routers(case, with_options)[fam]
    assert router.verdict(pkt) == want, (flow, want)
    if want == "accept":
        got = router.dscp(pkt)
        assert got == (pol.qos[cls].dscp if cls else None), (flow, cls, got)


@pytest.mark.parametrize("case,with_options", POLICY_CASES)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_reader_agrees_with_explain(case: str, with_options: bool, data) -> None:
    check(case, with_options, data.draw(flows(policy(case), families=(4, 6))))


@pytest.mark.parametrize("case,with_options", POLICY_CASES)
def test_reader_agrees_with_explain_at_every_rule_edge(case: str, with_options: bool) -> None:
    for flow in edge_flows(policy(case)):
        check(case, with_options, flow)


def test_long_port_lists_are_split() -> None:
    text = RENDERER.render(policy("trick"))[0].text
    lines = [x for x in text.splitlines() if "dst-address-list=nhn-trick-many-ports " in x]
    assert len(lines) == 4  # two chunks of at most 15 slots, IPv4 and IPv6
    assert all(len(re.search(r"dst-port=(\S+)", x).group(1).split(",")) <= 15 for x in lines)


def test_replies_pass_and_foreign_sources_drop() -> None:
    pol = policy("default")
    router = routers("default", False)[4]
    pkt = {
        "state": "established",
        "proto": "tcp",
        "port": 1,
        "dst": 1,
        "src": 1,
        "in": "wan-hn",
        "out": "lan0",
    }
    assert router.verdict(pkt) == "accept"
    pkt.update(state="new")
    assert router.verdict(pkt) == "drop"  # new connections only from the LAN
    pkt.update({"in": "lan0", "out": "wan-hn", "src": int(ipaddress.ip_address("10.9.9.9"))})
    assert router.verdict(pkt) == "drop"  # not from a LAN prefix
    pkt.update({"out": "lan0", "src": lan_source(pol, 4)})
    assert router.verdict(pkt) == "accept"  # within the LAN


# -- idempotence, options --------------------------------------------------------
def test_script_clears_its_own_items_first() -> None:
    text = RENDERER.render(policy("default-pinned"), OPTIONS)[0].text
    menus, removals = read_script(text)
    assert set(menus) <= set(removals), "every menu the script adds to is cleared first"
    for items in menus.values():
        for item in items:
            assert item["comment"].startswith("nhn-appliance: "), item
    assert "/interface list member" in removals and "/interface list" in removals
    assert (
        "interface=bridge" in text
        and "out-interface=ether1" in text
        and "out-interface=ether2" in text
    )
    assert "wan-hn" not in text.split("# remove what", 1)[1]


# -- injection ------------------------------------------------------------------
def test_hostile_catalogue_adds_no_command() -> None:
    text = RENDERER.render(hostile_policy())[0].text
    # every line is a comment, a menu, a removal or add key=value
    menus, removals = read_script(text)
    assert sum(len(v) for v in menus.values()) > 10 and len(removals) == 8
    for line in text.splitlines():
        if line.startswith("#"):
            assert "\r" not in line
            continue
        if not REMOVAL.fullmatch(line):
            assert ";" not in line and "[" not in line, line
        for quoted in re.findall(r'"([^"\n]*)"', line):
            assert not set(quoted) & set("\\$[];?{}`"), quoted
    assert text.count('"') % 2 == 0
    for word in ("flush", "reboot", "evil", "configure", "/system"):
        bare = re.sub(r'"[^"\n]*"', '""', text)
        assert word not in "\n".join(x for x in bare.splitlines() if not x.startswith("#"))
