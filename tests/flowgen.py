"""Hypothesis strategies for flows that probe a compiled policy's edges.

Every renderer test that evaluates its own output with an independent reader
draws flows from here and compares with :func:`expected`, which is what
``explain`` says. Destinations and ports lean towards the edges of the
policy's address spans and port ranges, where off-by-one mistakes live.
"""

from __future__ import annotations

from hypothesis import strategies as st

from nhn_appliance.policy.explain import Flow, explain
from nhn_appliance.policy.model import Policy, Proto, Span, Zone


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
