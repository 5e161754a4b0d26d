"""RouterOS target: golden files, an independent reader of the script, injection.

The reader below knows RouterOS, not the renderer: it reads the script's
command lines (menu paths, ``add key=value ...``), builds address lists and
interface lists, and walks ``forward`` the way RouterOS does (first match in
chain order, ``jump``/``return``, built-in chains accept at their end), then
``postrouting`` mangle (every matching ``change-dscp`` applies in order; the
last one wins unless ``passthrough=no`` stops the walk). Hypothesis flows
must get the verdict and QoS class ``explain`` gives.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from functools import cache

import pytest
from flowgen import edge_flows, expected, flows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhn_appliance.errors import UsageError
from nhn_appliance.policy.catalogue import load_catalogue
from nhn_appliance.policy.compile import compile_policy
from nhn_appliance.policy.explain import Flow
from nhn_appliance.policy.model import Action, Site, Span, Uplink, Zone
from nhn_appliance.render.routeros import RENDERER

OPTIONS = {"lan": "bridge", "helsenett": "ether1", "internett": "ether2"}

from render_cases import HOSTILE, policy  # noqa: E402

# -- the reader ---------------------------------------------------------------
PAIR = re.compile(r'([a-z][a-z0-9-]*)=("[^"\\$\[\]?\n]*"|[A-Za-z0-9_.,:/!-]+)(?: |$)')
REMOVAL = re.compile(
    r"(/(?:ip|ipv6) firewall (?:filter|mangle|address-list)|/interface list(?: member)?) "
    r'remove \[find where comment~"\^nhn-appliance:"\]'
)
MENU = re.compile(r"/[a-z0-9]+(?: [a-z0-9-]+)*")


def read_script(text: str) -> tuple[dict[str, list[dict[str, str]]], list[str]]:
    """menu path -> its ``add`` items (key -> value), and the menus the script clears first."""
    menus: dict[str, list[dict[str, str]]] = defaultdict(list)
    removals: list[str] = []
    menu = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if m := REMOVAL.fullmatch(line):
            assert not menus, "removal after an add"
            removals.append(m.group(1))
        elif MENU.fullmatch(line):
            menu = line
        else:
            assert line.startswith("add ") and menu, line
            rest, item = line[4:], {}
            while rest:
                m = PAIR.match(rest)
                assert m, f"not key=value: {rest!r}"
                assert m.group(1) not in item, line
                item[m.group(1)] = m.group(2).strip('"')
                rest = rest[m.end() :]
            menus[menu].append(item)
    return menus, removals


def _in(entry: str, ip: int, family: int) -> bool:
    if "-" in entry:
        a, b = (ipaddress.ip_address(x) for x in entry.split("-"))
        return a.version == family and int(a) <= ip <= int(b)
    net = ipaddress.ip_network(entry, strict=True)
    return net.version == family and int(net.network_address) <= ip <= int(net.broadcast_address)


def _ports(value: str, port: int) -> bool:
    for part in value.split(","):
        lo, _, hi = part.partition("-")
        if int(lo) <= port <= int(hi or lo):
            return True
    return False


class Router:
    """One family's filter and mangle of a RouterOS script, evaluated packet by packet."""

    def __init__(self, menus: dict, family: int) -> None:
        pre = "/ip" if family == 4 else "/ipv6"
        self.family = family
        self.lists: dict[str, list[str]] = defaultdict(list)
        for e in menus[f"{pre} firewall address-list"]:
            self.lists[e["list"]].append(e["address"])
        self.iflists: dict[str, set[str]] = defaultdict(set)
        for e in menus["/interface list member"]:
            self.iflists[e["list"]].add(e["interface"])
        self.filter = menus[f"{pre} firewall filter"]
        self.mangle = menus[f"{pre} firewall mangle"]

    def _test(self, key: str, value: str, pkt: dict) -> bool:
        if key == "connection-state":
            return pkt["state"] in value.split(",")
        if key in ("in-interface-list", "out-interface-list"):
            return pkt[key.split("-")[0]] in self.iflists[value]
        if key in ("in-interface", "out-interface"):
            return pkt[key.split("-")[0]] == value
        if key in ("src-address-list", "dst-address-list"):
            return any(_in(a, pkt[key[:3]], self.family) for a in self.lists[value])
        if key == "dst-address":
            return _in(value, pkt["dst"], self.family)
        if key == "protocol":
            return pkt["proto"] == value
        if key == "dst-port":
            return pkt["proto"] in ("tcp", "udp") and _ports(value, pkt["port"])
        raise AssertionError(f"the reader does not know {key}=")

    def _match(self, rule: dict[str, str], pkt: dict) -> bool:
        for key, raw in rule.items():
            if key in (
                "chain",
                "action",
                "comment",
                "jump-target",
                "reject-with",
                "new-dscp",
                "passthrough",
            ):
                continue
            if self._test(key, raw.lstrip("!"), pkt) == raw.startswith("!"):
                return False
        return True

    def _chain(self, chain: str, pkt: dict, depth: int = 0) -> str | None:
        assert depth < 16, "jump loop"
        for rule in (r for r in self.filter if r["chain"] == chain):
            if not self._match(rule, pkt):
                continue
            action = rule["action"]
            if action in ("accept", "drop", "reject"):
                return action
            if action == "jump":
                result = self._chain(rule["jump-target"], pkt, depth + 1)
                if result:
                    return result
            elif action == "return":
                return None
            else:
                raise AssertionError(f"unexpected action {action}")
        return None

    def verdict(self, pkt: dict) -> str:
        return self._chain("forward", pkt) or "accept"  # built-in chains accept at their end

    def dscp(self, pkt: dict) -> int | None:
        dscp = None
        for rule in (r for r in self.mangle if r["chain"] == "postrouting"):
            if self._match(rule, pkt) and rule["action"] == "change-dscp":
                dscp = int(rule["new-dscp"])
                if rule.get("passthrough") == "no":
                    break
        return dscp


@cache
def routers(case: str, with_options: bool) -> dict[int, Router]:
    menus, _ = read_script(RENDERER.render(policy(case), OPTIONS if with_options else None)[0].text)
    return {4: Router(menus, 4), 6: Router(menus, 6)}


def _lan_source(pol, family: int) -> int:
    hosts = [h for b in pol.profiles for h in b.hosts]
    prefix = next(p for p in pol.lan_prefixes if p.family == family)
    return next(
        a
        for a in range(prefix.first + 1, prefix.last)
        if not any(h.family == family and h.first <= a <= h.last for h in hosts)
    )


CASES = [
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
        "src": flow.src.first if flow.src else _lan_source(pol, fam),
        "in": opts.get("lan", pol.lan_interfaces[0]),
        "out": opts.get(uplink.zone.value, uplink.interface),
    }
    router = routers(case, with_options)[fam]
    assert router.verdict(pkt) == want, (flow, want)
    if want == "accept":
        got = router.dscp(pkt)
        assert got == (pol.qos[cls].dscp if cls else None), (flow, cls, got)


@pytest.mark.parametrize("case,with_options", CASES)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_reader_agrees_with_explain(case: str, with_options: bool, data) -> None:
    check(case, with_options, data.draw(flows(policy(case), families=(4, 6))))


@pytest.mark.parametrize("case,with_options", CASES)
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
    pkt.update({"out": "lan0", "src": _lan_source(pol, 4)})
    assert router.verdict(pkt) == "accept"  # within the LAN


# -- golden files, idempotence, options -----------------------------------------
@pytest.mark.parametrize("case", ["default", "default-pinned"])
def test_golden(case: str, golden) -> None:
    for art in RENDERER.render(policy(case)):
        golden(f"routeros/{case}.{art.name}", art.text)


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


@pytest.mark.parametrize(
    "options",
    [
        {"lan": "bridge;/system reset"},
        {"helsenett": 'ether1"'},
        {"wan": "ether1"},
        {"lan": ""},
    ],
)
def test_bad_options_are_refused(options) -> None:
    with pytest.raises(UsageError):
        RENDERER.render(policy("default"), options)


def test_option_for_a_missing_uplink_is_refused() -> None:
    with pytest.raises(UsageError):
        RENDERER.render(policy("trick-open-hn"), {"internett": "ether2"})


# -- injection ------------------------------------------------------------------
def _hostile_site() -> Site:
    return Site(
        file="site.toml",
        name="inj",
        title="",
        outbound="blocked",
        blocked_action=Action.REJECT,
        lan_interfaces=("lan0",),
        lan_prefixes=(Span(4, 0xC6336400, 0xC633647F),),
        uplinks=(Uplink(Zone.HELSENETT, "wan-hn"),),
        services=("ondsinnet",),
    )


def test_hostile_catalogue_adds_no_command() -> None:
    text = RENDERER.render(compile_policy(load_catalogue(HOSTILE), _hostile_site()))[0].text
    menus, removals = read_script(
        text
    )  # every line is a comment, a menu, a removal or add key=value
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
