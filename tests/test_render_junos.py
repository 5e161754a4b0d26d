"""JunOS target, held to explain() by an independent reader.

ciscoconfparse2 reads JunOS brace configs but leaves ``set`` lines flat, so
the text is read here by a small reader of ``set``/``delete`` lines into the
configuration tree JunOS builds from them (a ``set`` on an existing term
keeps its place, ``delete`` removes a subtree). An evaluator written from
JunOS firewall-filter semantics (terms in order, every ``from`` condition
must hold, any of its values; no terminating action means accept; the end of
a filter discards) then decides random flows from tests/flowgen.py. JunOS
tells ``reject`` from ``discard``, so verdicts are compared exactly. For QoS
it follows the LAN unit's input filter (forwarding class + DSCP), the
uplink's rewrite rule and its scheduler map.
"""

from __future__ import annotations

import functools
import ipaddress
import itertools
import re
import shlex
from dataclasses import replace
from pathlib import Path

import pytest
from flowgen import expected, flows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nhn_appliance.errors import UsageError
from nhn_appliance.policy.addresses import parse_address
from nhn_appliance.policy.catalogue import load_catalogue
from nhn_appliance.policy.compile import compile_policy
from nhn_appliance.policy.explain import Flow
from nhn_appliance.policy.model import (
    ALL_PORTS,
    Action,
    Host,
    Policy,
    PortRange,
    Proto,
    QosClass,
    Site,
    Span,
    Uplink,
    Zone,
)
from nhn_appliance.policy.pins import read_pins
from nhn_appliance.policy.qos import classify
from nhn_appliance.policy.site import load_site
from nhn_appliance.render.junos import RENDERER

TESTS = Path(__file__).parent
REPO = TESTS.parent
CASES = TESTS / "cases"
OPTIONS = {"helsenett": "ge-0/0/1.0", "internett": "ge-0/0/2", "lan": "ge-0/0/0.0"}  #: default site
UNITS = {
    "helsenett": ("ge-0/0/1", "0"),
    "internett": ("ge-0/0/2", "0"),
    "lan": ("ge-0/0/0", "0"),
    "lan1": ("ge-0/0/3", "20"),
}


def options(policy: Policy) -> dict[str, str]:
    return {u.zone.value: OPTIONS[u.zone.value] for u in policy.uplinks} | {
        "lan": "ge-0/0/0.0,ge-0/0/3.20" if len(policy.lan_interfaces) == 2 else "ge-0/0/0.0"
    }


def lans(policy: Policy) -> list[str]:
    return ["lan", "lan1"][: len(policy.lan_interfaces)]


VERDICT = {"accept": "accept", "reject": "reject", "discard": "drop"}


def _policy(case: str) -> Policy:
    if case.startswith("default"):
        cat = load_catalogue(REPO / "rules")
        site = load_site(REPO / "appliance.toml", "appliance.toml", cat)
        pins = read_pins(CASES / "pins" / "default.pins.json") if case == "default-pinned" else {}
        return compile_policy(cat, site, pins)
    cat = load_catalogue(CASES / "unit" / "catalogue")
    if case == "hosts":  # a profile on a host range and an IPv6 host, two LAN interfaces
        site = load_site(CASES / "unit" / "site_dual.toml", "site_dual.toml", cat)
        host = Host(
            "kiosk-2",
            (parse_address("192.168.1.60-192.168.1.67"), parse_address("2001:db8:1::60")),
            "kiosk",
        )
        site = replace(site, hosts=site.hosts + (host,), lan_interfaces=("lan0", "lan1"))
        return compile_policy(cat, site)
    return compile_policy(
        cat, load_site(CASES / "unit" / f"site_{case}.toml", f"site_{case}.toml", cat)
    )


POLICIES = {
    case: _policy(case)
    for case in ("default", "default-pinned", "dual", "open", "helsenett", "hosts")
}


# -- the independent reader -------------------------------------------------------------------
DSCP = (
    {"be": 0, "ef": 46, "nc1": 48, "nc2": 56}
    | {f"cs{i}": 8 * i for i in range(1, 8)}
    | {f"af{c}{d}": 8 * c + 2 * d for c in range(1, 5) for d in range(1, 4)}
)
PROTOCOLS = {"tcp": "tcp", "udp": "udp", "6": "tcp", "17": "udp"}


def _dscp(token: str) -> int:
    return int(token, 2) if re.fullmatch(r"[01]{6}", token) else DSCP[token]


@functools.cache
def _prefix(text: str) -> tuple[int, int, int]:
    net = ipaddress.ip_network(text)
    return net.version, int(net.network_address), int(net.broadcast_address)


def _one(node: dict) -> str:
    assert len(node) == 1, f"a single value expected, got {list(node)}"
    return next(iter(node))


class Junos:
    """The configuration tree JunOS would build from the set/delete lines."""

    def __init__(self, text: str) -> None:
        self.tree: dict = {}
        for line in text.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            verb, *path = shlex.split(line)
            if verb == "set":
                node = self.tree
                for word in path:
                    node = node.setdefault(word, {})
            elif verb == "delete":
                node = self.tree
                for word in path[:-1]:
                    node = node.get(word, {})
                node.pop(path[-1], None)
            else:
                raise AssertionError(f"not a set or delete line: {line!r}")

    def get(self, *path: str) -> dict:
        node = self.tree
        for word in path:
            node = node.get(word, {})
        return node

    @staticmethod
    def _in(values: dict, addr: int, family: int) -> bool:
        return any(
            version == family and lo <= addr <= hi for version, lo, hi in map(_prefix, values)
        )

    def _term_matches(
        self, cond: dict, family: int, proto: str, src: int, dst: int, port: int | None
    ) -> bool:
        for key, values in cond.items():
            if key in ("source-address", "destination-address"):
                ok = self._in(values, src if key.startswith("source") else dst, family)
            elif key in ("source-prefix-list", "destination-prefix-list"):
                addr = src if key.startswith("source") else dst
                ok = any(
                    self._in(self.get("policy-options", "prefix-list", n), addr, family)
                    for n in values
                )
            elif key in ("protocol", "next-header"):
                ok = proto in {PROTOCOLS[v] for v in values}
            elif key == "destination-port":
                ok = port is not None and any(
                    int(v.split("-")[0]) <= port <= int(v.split("-")[-1]) for v in values
                )
            else:
                raise AssertionError(f"unknown match condition {key}")
            if not ok:
                return False
        return True

    def run_filter(
        self, family: int, name: str, proto: str, src: int, dst: int, port: int | None
    ) -> tuple[str, dict]:
        fam = "inet" if family == 4 else "inet6"
        terms = self.get("firewall", "family", fam, "filter", name, "term")
        assert terms, f"filter {fam} {name} is missing"
        for term in terms.values():
            if self._term_matches(term.get("from", {}), family, proto, src, dst, port):
                then = term.get("then", {})
                final = [a for a in ("accept", "reject", "discard") if a in then]
                assert len(final) <= 1, then
                return (final[0] if final else "accept"), then
        return "discard", {}  # the end of every filter

    def unit_filter(self, which: str, family: int, direction: str) -> str | None:
        ifd, unit = UNITS[which]
        node = self.get(
            "interfaces",
            ifd,
            "unit",
            unit,
            "family",
            "inet" if family == 4 else "inet6",
            "filter",
            direction,
        )
        return _one(node) if node else None

    def egress(
        self, zone: str, family: int, proto: str, src: int, dst: int, port: int | None
    ) -> str:
        name = self.unit_filter(zone, family, "output")
        return self.run_filter(family, name, proto, src, dst, port)[0] if name else "accept"

    def marking(
        self, lan: str, family: int, proto: str, dst: int, port: int | None
    ) -> tuple[str | None, int | None]:
        """(forwarding class, DSCP) the LAN unit's input filter gives a packet."""
        name = self.unit_filter(lan, family, "input")
        if name is None:
            return None, None
        action, then = self.run_filter(family, name, proto, 0, dst, port)
        assert action == "accept", "the classifier filter must not drop anything"
        fc = _one(then["forwarding-class"]) if "forwarding-class" in then else None
        mark = then.get("dscp" if family == 4 else "traffic-class")
        return fc, _dscp(_one(mark)) if mark else None

    def leaves_with(self, zone: str, family: int, fc: str | None, dscp: int | None) -> int | None:
        """The DSCP after the uplink unit's rewrite rule."""
        ifd, unit = UNITS[zone]
        kind = "dscp" if family == 4 else "dscp-ipv6"
        rules = self.get("class-of-service", "interfaces", ifd, "unit", unit, "rewrite-rules", kind)
        if fc is None or not rules:
            return dscp
        entry = self.get(
            "class-of-service",
            "rewrite-rules",
            kind,
            _one(rules),
            "forwarding-class",
            fc,
            "loss-priority",
            "low",
            "code-point",
        )
        return _dscp(_one(entry)) if entry else dscp

    def scheduler(self, zone: str, fc: str) -> dict:
        ifd, _ = UNITS[zone]
        smap = _one(self.get("class-of-service", "interfaces", ifd, "scheduler-map"))
        sched = _one(
            self.get(
                "class-of-service", "scheduler-maps", smap, "forwarding-class", fc, "scheduler"
            )
        )
        return self.get("class-of-service", "schedulers", sched)


def _source(policy: Policy, flow: Flow) -> int:
    """The flow's source: its profile host, else a LAN address that is no profile host."""
    if flow.src is not None:
        return flow.src.first
    fam = flow.dst.family
    hosts = [h for b in policy.profiles for h in b.hosts if h.family == fam]
    addr = next(p for p in policy.lan_prefixes if p.family == fam).first + 7
    while any(h.first <= addr <= h.last for h in hosts):
        addr += 1
    return addr


def aimed(policy: Policy) -> st.SearchStrategy[Flow]:
    """Flows aimed at one rule (edges of its spans and ports, mostly its uplink,
    sometimes a profile host); flowgen.flows alone seldom hits an opening."""
    zones = {u.interface: u.zone for u in policy.uplinks}
    hosts = [(b.name, h) for b in policy.profiles for h in b.hosts]

    def near(lo: int, hi: int, top: int) -> st.SearchStrategy[int]:
        return st.sampled_from(
            [v for v in (lo - 1, lo, hi, hi + 1) if 0 <= v <= top]
        ) | st.integers(lo, hi)

    @st.composite
    def build(draw) -> Flow:
        rule = draw(st.sampled_from(policy.rules))
        span = draw(st.sampled_from(rule.dst))
        dst = draw(near(span.first, span.last, (1 << (32 if rule.family == 4 else 128)) - 1))
        proto = (
            rule.proto.value
            if rule.proto != Proto.ANY and draw(st.integers(0, 9))
            else draw(st.sampled_from(["tcp", "udp"]))
        )
        ports = draw(st.sampled_from(rule.ports or ALL_PORTS))
        port = draw(near(ports.lo, ports.hi, 65535))
        mine = [
            h
            for name, h in hosts
            if h.family == rule.family and (name == rule.profile or draw(st.integers(0, 3)) == 0)
        ]
        src = None
        if mine and (rule.profile or draw(st.booleans())):
            host = draw(st.sampled_from(mine))
            first = draw(st.integers(host.first, host.last))
            src = Span(host.family, first, first)
        zone = (
            zones[draw(st.sampled_from(rule.interfaces))]
            if draw(st.integers(0, 4))
            else draw(st.sampled_from(list(zones.values())))
        )
        return Flow(proto, Span(rule.family, dst, dst), port, src, zone)

    return build()


def _cuts(span: Span) -> list[int]:
    """The span's ends and one either side, and the same for each CIDR block it is made of
    (where a renderer may have had to split it)."""
    ip = ipaddress.IPv4Address if span.family == 4 else ipaddress.IPv6Address
    out = []
    for net in ipaddress.summarize_address_range(ip(span.first), ip(span.last)):
        lo, hi = int(net.network_address), int(net.broadcast_address)
        out += [lo - 1, lo, hi, hi + 1]
    return out


def edges(policy: Policy) -> list[Flow]:
    """Every edge of every rule, both protocols, every uplink, from the LAN and each profile."""
    out = {}
    for r in policy.rules:
        top = (1 << (32 if r.family == 4 else 128)) - 1
        srcs = [None] + [
            Span(h.family, h.first, h.first)
            for b in policy.profiles
            for h in b.hosts[:1]
            if h.family == r.family
        ]
        for span in r.dst:
            for dst in {v for v in _cuts(span) if 0 <= v <= top}:
                for p in r.ports or (PortRange(0, 65535),):
                    for port in {v for v in (p.lo - 1, p.lo, p.hi, p.hi + 1) if 0 <= v <= 65535}:
                        for proto, src, up in itertools.product(
                            ("tcp", "udp"), srcs, policy.uplinks
                        ):
                            out[Flow(proto, Span(r.family, dst, dst), port, src, up.zone)] = None
    return list(out)


_CLASSES: dict[tuple, QosClass | None] = {}


def _classify(policy: Policy, proto: str, fam: int, dst: int, port: int | None) -> QosClass | None:
    key = (id(policy), proto, fam, dst, port)
    if key not in _CLASSES:
        _CLASSES[key] = classify(policy, proto, fam, dst, port)
    return _CLASSES[key]


def check_flow(policy: Policy, junos: Junos, flow: Flow) -> None:
    verdict, qos = expected(policy, flow)
    fam, dst, port, zone = flow.dst.family, flow.dst.first, flow.port, flow.uplink.value
    got = junos.egress(zone, fam, flow.proto, _source(policy, flow), dst, port)
    assert VERDICT[got] == verdict, (flow, verdict, got)
    marked = {junos.marking(lan, fam, flow.proto, dst, port) for lan in lans(policy)}
    assert len(marked) == 1, (flow, marked)  # every LAN unit marks alike
    fc, dscp = marked.pop()
    cls = (
        policy.qos[qos]
        if verdict == "accept" and qos
        else _classify(policy, flow.proto, fam, dst, port)
    )
    assert dscp == (cls.dscp if cls else None), (flow, qos)
    assert junos.leaves_with(zone, fam, fc, dscp) == dscp, (flow, fc)
    if cls is not None:
        sched = junos.scheduler(zone, fc)
        rate = sched["transmit-rate"]
        assert (_one(rate["percent"]) == str(cls.share)) if cls.share else "remainder" in rate, (
            cls,
            sched,
        )
        assert ("strict-high" in sched.get("priority", {})) == cls.priority, (cls, sched)


# -- the property ------------------------------------------------------------------------------
@pytest.mark.parametrize("case", sorted(POLICIES))
def test_flows_get_explains_verdict_and_class(case: str) -> None:
    policy = POLICIES[case]
    junos = Junos(RENDERER.render(policy, options(policy))[0].text)

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(flows(policy, families=(4, 6)) | aimed(policy))
    def check(flow: Flow) -> None:
        check_flow(policy, junos, flow)

    check()


@pytest.mark.parametrize("case", sorted(POLICIES))
def test_every_rule_edge_gets_explains_verdict_and_class(case: str) -> None:
    policy = POLICIES[case]
    junos = Junos(RENDERER.render(policy, options(policy))[0].text)
    for flow in edges(policy):
        check_flow(policy, junos, flow)


@pytest.mark.parametrize("case", sorted(POLICIES))
def test_sources_outside_the_lan_are_discarded(case: str) -> None:
    junos = Junos(RENDERER.render(POLICIES[case], options(POLICIES[case]))[0].text)
    for up in POLICIES[case].uplinks:
        assert (
            junos.egress(
                up.zone.value,
                4,
                "tcp",
                int(ipaddress.ip_address("100.64.0.1")),
                int(ipaddress.ip_address("10.145.128.1")),
                443,
            )
            == "discard"
        )


@pytest.mark.parametrize("case", sorted(POLICIES))
def test_class_of_service_is_consistent(case: str) -> None:
    policy = POLICIES[case]
    junos = Junos(RENDERER.render(policy, options(policy))[0].text)
    classes = junos.get("class-of-service", "forwarding-classes", "class")
    queues = [_one(c["queue-num"]) for c in classes.values()]
    assert len(queues) == len(set(queues)) and all(0 <= int(q) <= 7 for q in queues)
    for kind in (
        ("dscp", "dscp-ipv6") if any(p.family == 6 for p in policy.lan_prefixes) else ("dscp",)
    ):
        table = junos.get("class-of-service", "classifiers", kind, "nhn", "forwarding-class")
        for cls in policy.qos.values():  # a packet already marked lands in its class's queue
            owner = [
                fc
                for fc, e in table.items()
                if cls.dscp in {_dscp(c) for c in e["loss-priority"]["low"]["code-points"]}
            ]
            assert len(owner) == 1 and owner[0] in classes, (cls, owner)
            for up in policy.uplinks:  # and is queued with the class's share and priority
                sched = junos.scheduler(up.zone.value, owner[0])
                rate = sched["transmit-rate"]
                assert (
                    (_one(rate["percent"]) == str(cls.share)) if cls.share else "remainder" in rate
                )
                assert ("strict-high" in sched.get("priority", {})) == cls.priority, (cls, sched)


def test_units_follow_the_options() -> None:
    text = RENDERER.render(POLICIES["default"], OPTIONS)[0].text
    assert "set interfaces ge-0/0/1 unit 0 family inet filter output nhn-out-helsenett" in text
    assert "set interfaces ge-0/0/2 unit 0 family inet6 filter output nhn-out-internett" in text
    assert "set interfaces ge-0/0/0 unit 0 family inet filter input nhn-qos" in text
    default = RENDERER.render(POLICIES["default"])[0].text
    assert "set interfaces wan-hn unit 0 family inet filter output nhn-out-helsenett" in default


@pytest.mark.parametrize(
    "options",
    [
        {"helsenett": "ge-0/0/1.0 family inet filter input x"},
        {"helsenett": "ge-0/0/1;commit"},
        {"lan": "ge-0/0/0.0,ge-0/0/3.0"},
        {"internett": ""},
        {"helsenett": 'ge-0/0/1"'},
    ],
)
def test_bad_interface_options_are_refused(options: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        RENDERER.render(POLICIES["default"], options)


def test_renderer_declares_its_limits() -> None:
    assert RENDERER.name == "junos"
    assert set(RENDERER.options) == {"helsenett", "internett", "lan"}
    assert any("stateless" in limit for limit in RENDERER.limits)


@pytest.mark.parametrize("case", ["default", "default-pinned"])
def test_golden(case: str, golden) -> None:
    for art in RENDERER.render(POLICIES[case]):
        golden(f"junos/{case}.{art.name}", art.text)


def test_render_is_deterministic() -> None:
    first = RENDERER.render(_policy("default-pinned"), OPTIONS)[0].text
    assert first == RENDERER.render(_policy("default-pinned"), OPTIONS)[0].text


# -- injection --------------------------------------------------------------------------------
HOSTILE = CASES / "injection" / "rules"
NAME = r"nhn-[a-z0-9-]+"
WORD = r"[a-z0-9-]+"
PREFIX = r"[0-9a-f.:]+/\d+"
FILTER = rf"set firewall family (inet|inet6) filter {NAME} term {WORD} "
SHAPES = [
    re.compile(s)
    for s in (
        r"#[^\"'\\;{}#`$\[\]]*",
        "",
        rf"delete firewall family (inet|inet6) filter {NAME}",
        rf"delete policy-options prefix-list {NAME}",
        r"delete class-of-service (classifiers|rewrite-rules) dscp(-ipv6)? nhn",
        r"delete class-of-service scheduler-maps nhn",
        rf"delete class-of-service schedulers {NAME}",
        rf"set policy-options prefix-list {NAME} {PREFIX}",
        FILTER
        + rf"from ((source|destination)-prefix-list {NAME}|(source|destination)-address {PREFIX}"
        r"|(protocol|next-header) (tcp|udp)|destination-port \d+(-\d+)?)",
        FILTER
        + rf"then (accept|reject|discard|forwarding-class {WORD}|(dscp|traffic-class) [a-z0-9]+)",
        rf"set interfaces [A-Za-z0-9/:_-]+ unit \d+ family (inet|inet6) filter (input|output) {NAME}",
        rf"set class-of-service forwarding-classes class {WORD} queue-num \d",
        rf"set class-of-service classifiers dscp(-ipv6)? nhn forwarding-class {WORD} loss-priority low "
        r"code-points [a-z0-9]+",
        rf"set class-of-service rewrite-rules dscp(-ipv6)? nhn forwarding-class {WORD} loss-priority low "
        r"code-point [a-z0-9]+",
        rf"set class-of-service schedulers {NAME} (transmit-rate (percent \d+|remainder)|priority strict-high)",
        rf"set class-of-service scheduler-maps nhn forwarding-class {WORD} scheduler {NAME}",
        r"set class-of-service interfaces [A-Za-z0-9/:_-]+ (scheduler-map nhn|unit \d+ "
        r"(classifiers|rewrite-rules) dscp(-ipv6)? nhn)",
    )
]


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


def test_hostile_catalogue_gives_only_known_command_shapes() -> None:
    text = RENDERER.render(compile_policy(load_catalogue(HOSTILE), _hostile_site()))[0].text
    assert "# ondsinnet/a" in text
    assert '"' not in text and "\\" not in text  # nothing is quoted, so nothing can end a string
    for line in text.splitlines():
        assert any(s.fullmatch(line) for s in SHAPES), line
    bare = [line for line in text.splitlines() if not line.startswith("#")]
    for word in ("flush", "reboot", "configure", "evil", "ondsinnet"):
        assert not any(word in line for line in bare)
