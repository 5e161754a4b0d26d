"""Cisco IOS target, held to explain() by an independent reader.

The rendered configuration is parsed back with ciscoconfparse2 (not the
renderer) into object groups, access lists, class-maps, policy-maps and
interfaces; a small evaluator written from IOS semantics (first matching
entry wins, implicit deny at the end, object groups expanded, a missing list
permits) then decides random flows from tests/flowgen.py. An IOS ``deny``
cannot say whether it rejects or drops, so the verdict compared is permit
versus not permit. For QoS the evaluator follows the LAN interface's input
policy-map (class-map -> access list -> ``set dscp``) and the uplink's output
policy-map (``match dscp`` -> priority / bandwidth).
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from dataclasses import replace
from pathlib import Path

import pytest
from ciscoconfparse2 import CiscoConfParse
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
from nhn_appliance.render.cisco_ios import RENDERER

TESTS = Path(__file__).parent
REPO = TESTS.parent
CASES = TESTS / "cases"
UPLINKS = {"helsenett": "GigabitEthernet0/1", "internett": "GigabitEthernet0/2"}
LANS = ("GigabitEthernet0/0", "GigabitEthernet0/3.20")
OPTIONS = UPLINKS | {"lan": LANS[0]}  #: for the default site


def options(policy: Policy) -> dict[str, str]:
    return {u.zone.value: UPLINKS[u.zone.value] for u in policy.uplinks} | {
        "lan": ",".join(LANS[: len(policy.lan_interfaces)])
    }


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
    {"default": 0, "ef": 46}
    | {f"cs{i}": 8 * i for i in range(1, 8)}
    | {f"af{c}{d}": 8 * c + 2 * d for c in range(1, 5) for d in range(1, 4)}
)
PORT_OPS = ("eq", "range", "lt", "gt", "neq")


def _dscp(token: str) -> int:
    return int(token) if token.isdigit() else DSCP[token]


Ranges = list[tuple[int, int]]


def _ip(text: str) -> int:
    return int(ipaddress.ip_address(text))


def _net(text: str) -> Ranges:
    net = ipaddress.ip_network(text)
    return [(int(net.network_address), int(net.broadcast_address))]


class Ace:
    """One access-list entry, read into integer ranges once."""

    def __init__(self, tok: list[str], family: int, groups: dict[str, list[list[str]]]) -> None:
        self.text = " ".join(tok)
        self.permit = tok[0] == "permit"
        self.icmp = None
        self.protos: dict[str, Ranges | None] = {}  #: protocol -> destination ports (None: any)
        i = 1
        if tok[1] == "object-group":  # a service group: protocols and ports come from it
            for e in groups[tok[2]]:
                ports, _ = _ports(e, 1)
                for proto in ("tcp", "udp") if e[0] == "tcp-udp" else (e[0],):
                    self.protos[proto] = (self.protos.get(proto) or []) + (ports or [(0, 65535)])
            i, with_ports = 3, False
        else:
            self.protos[tok[1]] = None
            i, with_ports = 2, tok[1] in ("tcp", "udp")
        self.src, i = _addr(tok, i, family, groups)
        self.sport, i = _ports(tok, i) if with_ports else (None, i)
        self.dst, i = _addr(tok, i, family, groups)
        if with_ports:
            self.protos[tok[1]], i = _ports(tok, i)
        if tok[1] == "icmp" and i < len(tok):
            self.icmp, i = tok[i], i + 1  # an ICMP type (nd-na, nd-ns): never a tcp/udp flow
        assert i == len(tok), f"unread words in {self.text!r}"

    def matches(self, proto: str, src: int, dst: int, port: int | None) -> bool:
        if "ip" in self.protos or "ipv6" in self.protos:
            ports = None
        elif proto in self.protos:
            ports = self.protos[proto]
        else:
            return False
        if self.sport is not None:
            return False  # the flows carry no source port; such entries are not ours anyway
        return (
            any(lo <= src <= hi for lo, hi in self.src)
            and any(lo <= dst <= hi for lo, hi in self.dst)
            and (ports is None or (port is not None and any(lo <= port <= hi for lo, hi in ports)))
        )


def _addr(
    tok: list[str], i: int, family: int, groups: dict[str, list[list[str]]]
) -> tuple[Ranges, int]:
    if tok[i] == "any":
        return [(0, (1 << (32 if family == 4 else 128)) - 1)], i + 1
    if tok[i] == "host":
        return [(_ip(tok[i + 1]),) * 2], i + 2
    if tok[i] == "object-group":
        out: Ranges = []
        for e in groups[tok[i + 1]]:
            if e[0] == "host":
                out.append((_ip(e[1]),) * 2)
            elif e[0] == "range":
                out.append((_ip(e[1]), _ip(e[2])))
            elif e[0] == "any":
                out.append((0, (1 << 32) - 1))
            else:
                out += _net(f"{e[0]}/{e[1]}")  # a subnet with its netmask
        return out, i + 2
    if family == 6:
        return _net(tok[i]), i + 1
    base, wild = _ip(tok[i]), _ip(tok[i + 1])  # a wildcard mask; ours are contiguous
    assert wild & (wild + 1) == 0, f"non-contiguous wildcard {tok[i + 1]}"
    return [(base & ~wild, base | wild)], i + 2


def _ports(tok: list[str], i: int) -> tuple[Ranges | None, int]:
    if i >= len(tok) or tok[i] not in PORT_OPS:
        return None, i
    op = tok[i]
    if op == "range":
        return [(int(tok[i + 1]), int(tok[i + 2]))], i + 3
    j = i + 1
    values = []
    while j < len(tok) and tok[j].isdigit():
        values.append(int(tok[j]))
        j += 1
    v = values[0]
    return {
        "eq": [(p, p) for p in values],
        "lt": [(0, v - 1)],
        "gt": [(v + 1, 65535)],
        "neq": [(0, v - 1), (v + 1, 65535)],
    }[op], j


class Ios:
    """What an IOS router would make of the text (the parts this target uses)."""

    def __init__(self, text: str) -> None:
        parse = CiscoConfParse(text.splitlines(), syntax="ios")
        body = lambda o: [c.text.strip() for c in o.children]  # noqa: E731
        groups = {
            o.text.split()[2]: [
                line.split() for line in body(o) if not line.startswith("description")
            ]
            for o in parse.find_objects(r"^object-group (network|service) ")
        }
        self.acls: dict[str, tuple[int, list[Ace]]] = {}
        for o in parse.find_objects(r"^(ip access-list extended|ipv6 access-list) "):
            family = 6 if o.text.startswith("ipv6") else 4
            aces = [line.split() for line in body(o) if not line.startswith("remark")]
            aces = [a[2:] if a[0] == "sequence" else a for a in aces]
            self.acls[o.text.split()[-1]] = (family, [Ace(a, family, groups) for a in aces])
        self.class_maps = {
            o.text.split()[-1]: (o.text.split()[1], body(o))
            for o in parse.find_objects(r"^class-map ")
        }
        self.policy_maps = {
            o.text.split()[1]: [
                (c.text.split()[1], [g.text.split() for g in c.children]) for c in o.children
            ]
            for o in parse.find_objects(r"^policy-map ")
        }
        self.interfaces = {
            o.text.split(None, 1)[1]: body(o) for o in parse.find_objects(r"^interface ")
        }

    def acl_permits(
        self, name: str, family: int, proto: str, src: int, dst: int, port: int | None
    ) -> bool:
        acl_family, aces = self.acls[name]
        if acl_family != family:
            return False  # an IPv4 list never sees IPv6 packets, and the reverse
        for ace in aces:
            if ace.matches(proto, src, dst, port):
                return ace.permit
        return False  # the implicit deny (IPv6's implicit ND permits do not concern tcp/udp)

    def egress_permits(
        self, interface: str, family: int, proto: str, src: int, dst: int, port: int | None
    ) -> bool:
        word = "ip access-group" if family == 4 else "ipv6 traffic-filter"
        names = [
            line.split()[-2]
            for line in self.interfaces.get(interface, [])
            if line.startswith(word) and line.endswith(" out")
        ]
        assert len(names) <= 1
        return not names or self.acl_permits(names[0], family, proto, src, dst, port)

    def _class_matches(
        self, name: str, family: int, proto: str, dst: int, port: int | None, dscp: int | None
    ) -> bool:
        kind, matches = self.class_maps[name]
        hits = []
        for m in matches:
            tok = m.split()
            if tok[:3] == ["match", "access-group", "name"]:
                hits.append(self.acl_permits(tok[3], family, proto, 0, dst, port))
            elif tok[:2] == ["match", "dscp"]:
                hits.append(dscp is not None and dscp in [_dscp(t) for t in tok[2:]])
            else:
                raise AssertionError(f"unknown match {m!r}")
        return any(hits) if kind == "match-any" else all(hits)

    def service_policy(self, interface: str, direction: str) -> list:
        names = [
            line.split()[-1]
            for line in self.interfaces.get(interface, [])
            if line.startswith(f"service-policy {direction} ")
        ]
        return self.policy_maps[names[0]] if names else []

    def marked_dscp(
        self, lan: str, family: int, proto: str, dst: int, port: int | None
    ) -> int | None:
        for cls, actions in self.service_policy(lan, "input"):
            if cls != "class-default" and self._class_matches(cls, family, proto, dst, port, None):
                sets = [a for a in actions if a[:2] == ["set", "dscp"]]
                return _dscp(sets[0][2]) if sets else None
        return None

    def queue(self, uplink: str, dscp: int) -> tuple[str, int] | None:
        for cls, actions in self.service_policy(uplink, "output"):
            if cls != "class-default" and self._class_matches(cls, 4, "", 0, None, dscp):
                a = actions[0]
                return (a[0], int(a[2])) if a[0] in ("priority", "bandwidth") else None
        return None


def _source(policy: Policy, flow: Flow) -> int:
    """The flow's source: its profile host, else a LAN address that is no profile host."""
    if flow.src is not None:
        return flow.src.first
    fam = flow.dst.family
    hosts = [h for b in policy.profiles for h in b.hosts if h.family == fam]
    prefix = next(p for p in policy.lan_prefixes if p.family == fam)
    addr = prefix.first + 7
    while any(h.first <= addr <= h.last for h in hosts):
        addr += 1
    return addr


def aimed(policy: Policy) -> st.SearchStrategy[Flow]:
    """Flows aimed at one rule: an edge of (or inside) one of its address spans and
    port ranges, mostly by one of its uplinks, sometimes from a profile host.
    flowgen.flows alone hardly ever hits an opening, so both are drawn."""
    zones = {u.interface: u.zone for u in policy.uplinks}
    hosts = [(b.name, h) for b in policy.profiles for h in b.hosts]

    def near(lo: int, hi: int, top: int) -> st.SearchStrategy[int]:
        edges = [v for v in (lo - 1, lo, hi, hi + 1) if 0 <= v <= top]
        return st.sampled_from(edges) | st.integers(lo, hi)

    @st.composite
    def build(draw) -> Flow:
        rule = draw(st.sampled_from(policy.rules))
        top = (1 << (32 if rule.family == 4 else 128)) - 1
        span = draw(st.sampled_from(rule.dst))
        dst = draw(near(span.first, span.last, top))
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
        iface = draw(st.sampled_from(rule.interfaces))
        zone = (
            zones[iface] if draw(st.integers(0, 4)) else draw(st.sampled_from(list(zones.values())))
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
    """Every edge of every rule: first/last address and one either side, each end
    of each port range and one either side, both protocols, every uplink, from the
    LAN and from each profile's first host. Deterministic, so no mistake at an edge
    is left to chance."""
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
                            flow = Flow(proto, Span(r.family, dst, dst), port, src, up.zone)
                            out[flow] = None
    return list(out)


_CLASSES: dict[tuple, QosClass | None] = {}


def _classify(policy: Policy, proto: str, fam: int, dst: int, port: int | None) -> QosClass | None:
    """qos.classify, remembered: the edge sweep asks the same for every uplink and source."""
    key = (id(policy), proto, fam, dst, port)
    if key not in _CLASSES:
        _CLASSES[key] = classify(policy, proto, fam, dst, port)
    return _CLASSES[key]


def check_flow(policy: Policy, ios: Ios, flow: Flow) -> None:
    verdict, qos = expected(policy, flow)
    fam, dst, port = flow.dst.family, flow.dst.first, flow.port
    permitted = ios.egress_permits(
        OPTIONS[flow.uplink.value], fam, flow.proto, _source(policy, flow), dst, port
    )
    # IOS has one 'deny' for reject and drop: compare permit with accept only
    assert permitted == (verdict == "accept"), (flow, verdict)
    marked = {
        ios.marked_dscp(lan, fam, flow.proto, dst, port)
        for lan in LANS[: len(policy.lan_interfaces)]
    }
    assert len(marked) == 1, (flow, marked)  # every LAN interface marks alike
    dscp = marked.pop()
    # accepted flows: explain's class; the marking is the same for every flow (qos.classify)
    cls = (
        policy.qos[qos]
        if verdict == "accept" and qos
        else _classify(policy, flow.proto, fam, dst, port)
    )
    assert dscp == (cls.dscp if cls else None), (flow, qos)
    if cls is not None and (cls.priority or cls.share):
        want = ("priority", cls.share) if cls.priority else ("bandwidth", cls.share)
        assert ios.queue(OPTIONS[flow.uplink.value], dscp) == want, (flow, cls)


# -- the property ------------------------------------------------------------------------------
@pytest.mark.parametrize("case", sorted(POLICIES))
def test_flows_get_explains_verdict_and_class(case: str) -> None:
    policy = POLICIES[case]
    ios = Ios(RENDERER.render(policy, options(policy))[0].text)

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(flows(policy, families=(4, 6)) | aimed(policy))
    def check(flow: Flow) -> None:
        check_flow(policy, ios, flow)

    check()


@pytest.mark.parametrize("case", sorted(POLICIES))
def test_every_rule_edge_gets_explains_verdict_and_class(case: str) -> None:
    policy = POLICIES[case]
    ios = Ios(RENDERER.render(policy, options(policy))[0].text)
    for flow in edges(policy):
        check_flow(policy, ios, flow)


def test_every_class_with_a_share_is_queued() -> None:
    policy = POLICIES["default"]
    ios = Ios(RENDERER.render(policy, options(policy))[0].text)
    for cls in policy.qos.values():
        want = (
            ("priority", cls.share)
            if cls.priority
            else ("bandwidth", cls.share)
            if cls.share
            else None
        )
        for up in policy.uplinks:
            assert ios.queue(OPTIONS[up.zone.value], cls.dscp) == want, cls


@pytest.mark.parametrize("case", sorted(POLICIES))
def test_sources_outside_the_lan_are_denied(case: str) -> None:
    policy = POLICIES[case]
    ios = Ios(RENDERER.render(policy, options(policy))[0].text)
    for up in policy.uplinks:
        iface = OPTIONS[up.zone.value]
        assert not ios.egress_permits(
            iface,
            4,
            "tcp",
            int(ipaddress.ip_address("100.64.0.1")),
            int(ipaddress.ip_address("10.145.128.1")),
            443,
        )
        assert not ios.egress_permits(
            iface,
            6,
            "udp",
            int(ipaddress.ip_address("2001:db8:dead::1")),
            int(ipaddress.ip_address("2001:db8:81::1")),
            80,
        )


def test_interfaces_follow_the_options() -> None:
    text = RENDERER.render(POLICIES["default"], OPTIONS)[0].text
    ios = Ios(text)
    assert ios.interfaces["GigabitEthernet0/1"][0] == "ip access-group NHN-OUT-HELSENETT out"
    assert "service-policy input NHN-MARK" in ios.interfaces["GigabitEthernet0/0"]
    assert "interface wan-hn" not in text and "interface lan0" not in text
    default = RENDERER.render(POLICIES["default"])[0].text
    assert "interface wan-hn\n ip access-group NHN-OUT-HELSENETT out" in default


@pytest.mark.parametrize(
    "options",
    [
        {"helsenett": "Gi0/1\n ip access-group X in"},
        {"helsenett": "Gi0/1 out"},
        {"lan": "Gi0/0,Gi0/3"},
        {"internett": ""},
        {"helsenett": "Gi0/1;reload"},
    ],
)
def test_bad_interface_options_are_refused(options: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        RENDERER.render(POLICIES["default"], options)


def test_options_for_a_missing_uplink_are_refused() -> None:
    cat = load_catalogue(CASES / "unit" / "catalogue")
    policy = compile_policy(cat, load_site(CASES / "unit" / "site_helsenett.toml", "s.toml", cat))
    with pytest.raises(UsageError, match="no internett uplink"):
        RENDERER.render(policy, {"internett": "Gi0/2"})


def test_renderer_declares_its_limits() -> None:
    assert RENDERER.name == "cisco-ios"
    assert set(RENDERER.options) == {"helsenett", "internett", "lan"}
    assert any("ip unreachables" in limit for limit in RENDERER.limits)


@pytest.mark.parametrize("case", ["default", "default-pinned"])
def test_golden(case: str, golden) -> None:
    for art in RENDERER.render(POLICIES[case]):
        golden(f"cisco-ios/{case}.{art.name}", art.text)


def test_render_is_deterministic() -> None:
    first = RENDERER.render(_policy("default-pinned"), OPTIONS)[0].text
    assert first == RENDERER.render(_policy("default-pinned"), OPTIONS)[0].text


# -- injection --------------------------------------------------------------------------------
HOSTILE = CASES / "injection" / "rules"
SAFE = r"[A-Za-z0-9 .,:/_@()+=\-]*"
NAME = r"NHN-[A-Z0-9-]+"
ADDR = rf"(any|host [0-9a-f.:]+|object-group {NAME}|[0-9.]+ [0-9.]+|[0-9a-f:]+/\d+)"
PORTS = r"( eq \d+| range \d+ \d+)?"
SHAPES = [
    re.compile(s)
    for s in (
        rf"!{SAFE}",
        "end",
        rf"no (ip access-list extended|ipv6 access-list|object-group network|object-group service) {NAME}",
        rf"object-group (network|service) {NAME}",
        rf" description {SAFE}",
        r" (host [0-9.]+|[0-9.]+ [0-9.]+|range [0-9.]+ [0-9.]+)",
        rf" (tcp|udp){PORTS}",
        rf"(ip access-list extended|ipv6 access-list) {NAME}",
        rf" remark {SAFE}",
        rf" (permit|deny) (ip|ipv6|tcp|udp|object-group {NAME}) {ADDR} {ADDR}{PORTS}",
        r" permit icmp any any nd-n[as]",
        rf"class-map match-any {NAME}",
        rf" match (access-group name {NAME}|dscp [a-z0-9]+)",
        rf"policy-map {NAME}",
        rf" class {NAME}",
        r"  (set dscp [a-z0-9]+|priority percent \d+|bandwidth percent \d+)",
        r"interface [A-Za-z0-9./:-]+",
        rf" (ip access-group|ipv6 traffic-filter) {NAME} out",
        rf" service-policy (input|output) {NAME}",
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
    assert "ondsinnet/a" in text  # the rule is there, with its remark
    for line in text.splitlines():
        assert any(s.fullmatch(line) for s in SHAPES), line
    for word in ("flush", "reboot", "configure", "evil"):
        bare = [
            line for line in text.splitlines() if not re.match(r"^(!| remark | description )", line)
        ]
        assert not any(word in line for line in bare)
