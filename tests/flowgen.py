"""Hypothesis strategies for flows that probe a compiled policy's edges.

Every renderer test that evaluates its own output with an independent reader
(tests/readers/) draws flows from here and compares with :func:`expected`,
which is what ``explain`` says. Destinations and ports lean towards the edges
of the policy's address spans and port ranges, where off-by-one mistakes live.
"""

from __future__ import annotations

import ipaddress
import itertools

from hypothesis import strategies as st

from nhn_appliance.policy.explain import Flow, explain
from nhn_appliance.policy.model import ALL_PORTS, Policy, PortRange, Proto, QosClass, Span, Zone
from nhn_appliance.policy.qos import classify


def _edges(policy: Policy, family: int) -> list[int]:
    values = set()
    for r in policy.rules:
        if r.family != family:
            continue
        for s in r.dst:
            top = (1 << (32 if family == 4 else 128)) - 1
            values.update(v for v in (s.first - 1, s.first, s.last, s.last + 1) if 0 <= v <= top)
    return sorted(values)


def _port_edges(policy: Policy) -> list[int]:
    values = {0, 1, 53, 80, 443, 65535}
    for r in policy.rules:
        for p in r.ports:
            values.update(v for v in (p.lo - 1, p.lo, p.hi, p.hi + 1) if 0 <= v <= 65535)
    return sorted(values)


def flows(
    policy: Policy, families: tuple[int, ...] = (4,), with_uplink: bool = True, sources: bool = True
) -> st.SearchStrategy[Flow]:
    """Flows from the LAN (or a profile host) towards the policy's destinations."""
    ports = _port_edges(policy)
    hosts = [h for b in policy.profiles for h in b.hosts]
    uplinks = [u.zone for u in policy.uplinks]

    @st.composite
    def build(draw) -> Flow:
        family = draw(
            st.sampled_from(
                [f for f in families if any(p.family == f for p in policy.lan_prefixes)]
            )
        )
        edges = _edges(policy, family)
        top = (1 << (32 if family == 4 else 128)) - 1
        dst = draw(st.sampled_from(edges) if edges and draw(st.booleans()) else st.integers(0, top))
        proto = draw(st.sampled_from(["tcp", "udp"]))
        port = draw(st.sampled_from(ports) | st.integers(0, 65535))
        src = None
        src_hosts = [h for h in hosts if h.family == family]
        if sources and src_hosts and draw(st.integers(0, 3)) == 0:
            src = draw(st.sampled_from(src_hosts))
        uplink = draw(st.sampled_from(uplinks)) if with_uplink and uplinks else None
        return Flow(proto, Span(family, dst, dst), port, src, Zone(uplink) if uplink else None)

    return build()


def expected(policy: Policy, flow: Flow) -> tuple[str, str | None]:
    """(verdict, QoS class) as explain gives them; the class is None when the
    flow is not accepted or no LAN rule classifies it (it is not re-marked)."""
    v = explain(policy, flow)
    return v.verdict.value, v.qos


def edge_flows(policy: Policy, with_uplink: bool = True) -> list[Flow]:
    """Every flow at the edge of a rule or LAN prefix: its first and last
    address and port, and one off either side, for every protocol, source
    profile and uplink. :func:`flows` draws address and port apart, so it
    seldom hits a port-specific opening; this list always does."""
    out = set()
    top = {4: (1 << 32) - 1, 6: (1 << 128) - 1}
    lan = {p.family for p in policy.lan_prefixes}
    uplinks = [u.zone for u in policy.uplinks] if with_uplink else [None]
    targets = [(r.family, r.dst, r.proto, r.ports, r.profile) for r in policy.rules]
    targets += [
        (p.family, (p,), Proto.ANY, (), b)
        for p in policy.lan_prefixes
        for b in ["", *(x.name for x in policy.profiles)]
    ]
    for family, spans, proto, ports, profile in targets:
        srcs = [
            h for b in policy.profiles if b.name == profile for h in b.hosts if h.family == family
        ]
        if family not in lan or (profile and not srcs):
            continue
        pts = sorted(
            {v for p in ports for v in (p.lo - 1, p.lo, p.hi, p.hi + 1) if 0 <= v <= 65535}
            or {0, 53, 65535}
        )
        for span in spans:
            for dst in (
                v
                for v in (span.first - 1, span.first, span.last, span.last + 1)
                if 0 <= v <= top[family]
            ):
                for pr in [proto.value] if proto != Proto.ANY else ["tcp", "udp"]:
                    for port in pts:
                        for src in srcs or [None]:
                            for up in uplinks:
                                out.add(Flow(pr, Span(family, dst, dst), port, src, up))
    return sorted(out, key=repr)


def lan_source(policy: Policy, family: int) -> int:
    """A LAN address of the family that is no profile host."""
    hosts = [h for b in policy.profiles for h in b.hosts]
    prefix = next(p for p in policy.lan_prefixes if p.family == family)
    return next(
        a
        for a in range(prefix.first + 1, prefix.last)
        if not any(h.family == family and h.first <= a <= h.last for h in hosts)
    )


def source(policy: Policy, flow: Flow) -> int:
    """The flow's source: its profile host, else a LAN address that is no profile host."""
    return flow.src.first if flow.src is not None else lan_source(policy, flow.dst.family)


def aimed(policy: Policy) -> st.SearchStrategy[Flow]:
    """Flows aimed at one rule: an edge of (or inside) one of its address spans and
    port ranges, mostly by one of its uplinks, sometimes from a profile host.
    :func:`flows` alone hardly ever hits an opening, so both are drawn."""
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


def cidr_edge_flows(policy: Policy) -> list[Flow]:
    """Every edge of every rule and of each CIDR block its spans split into: first/last
    address and one either side, each end of each port range and one either side, both
    protocols, every uplink, from the LAN and from each profile's first host.
    Deterministic, so no mistake at an edge is left to chance. (Unlike
    :func:`edge_flows`, for targets that split ranges into prefixes.)"""
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


def qos_class(
    policy: Policy, proto: str, family: int, dst: int, port: int | None
) -> QosClass | None:
    """qos.classify, remembered: the edge sweeps ask the same for every uplink and source.
    Keyed by the policy's id, so only for policies that live as long as the run."""
    key = (id(policy), proto, family, dst, port)
    if key not in _CLASSES:
        _CLASSES[key] = classify(policy, proto, family, dst, port)
    return _CLASSES[key]
