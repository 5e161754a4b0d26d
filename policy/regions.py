"""Where an explicit reject decides: the regions a host firewall must block.

A host firewall whose Block rules win over its Allow rules whatever their
order (the Windows Firewall) cannot spell "first match wins". It can still
give every flow the verdict ``explain`` gives, if each Block rule covers
only what the policy really blocks: a reject's destinations and ports less
everything an opening (through any uplink) or the LAN itself lets out.
This module computes those regions; the renderer only spells them.

A host has no uplinks, so a flow is let out when the policy lets it out
through any of the site's uplinks (or it stays inside the LAN).
"""

from __future__ import annotations

from typing import NamedTuple

from nhn_appliance.policy.addresses import merge_spans
from nhn_appliance.policy.compile import rule_covers
from nhn_appliance.policy.model import ALL_PORTS, Action, Policy, Proto, Rule, Span

#: blocked port ranges of one protocol (TCP, UDP), or whether the rest is blocked
PortsBlocked = tuple[tuple[int, int], ...]


class Region(NamedTuple):
    """Destinations (and for tcp/udp, ports) that the reject ``rule`` blocks outright.

    ``proto`` is "tcp", "udp", or "any" (every protocol: then ``ports`` is empty)."""

    rule: Rule
    proto: str
    spans: tuple[Span, ...]
    ports: PortsBlocked


def cuts(bounds: set[int], lo: int, hi: int) -> list[tuple[int, int]]:
    """[lo, hi] cut where a piece starts at one of the bounds."""
    points = sorted({lo} | {b for b in bounds if lo < b <= hi})
    return [(a, b - 1) for a, b in zip(points, points[1:] + [hi + 1], strict=True)]


def merge(pieces: list[tuple[int, int]]) -> PortsBlocked:
    """Touching or overlapping ranges joined, in order."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(pieces):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return tuple(out)


def let_out(
    policy: Policy,
    rules: list[Rule],
    default: Action,
    family: int,
    proto: str,
    addr: int,
    port: int | None,
) -> bool:
    """Whether the policy lets this flow out through any uplink (or it stays in the LAN)."""
    if any(p.family == family and p.first <= addr <= p.last for p in policy.lan_prefixes):
        return True  # within the LAN: the router passes it, and so must the host
    for up in policy.uplinks:
        first = next(
            (r for r in rules if rule_covers(r, up.interface, family, proto, addr, port)), None
        )
        if (first.action if first else default) == Action.ACCEPT:
            return True
    return False


def blocked_regions(policy: Policy, scope: str, default: Action) -> list[Region]:
    """Per explicit reject of one block (``scope``: "" for the LAN, else a profile), where it
    decides and nothing lets the flow out.

    The reject's region is cut at every rule and LAN boundary into pieces that
    each rule covers wholly or not at all; a piece is blocked when the policy
    does not let it out. Other protocols of an every-protocol reject come
    back only where TCP and UDP are blocked wholly too (one "any" region):
    elsewhere they are left to the default, which a caller must say."""
    rules = list(policy.scope_rules(scope))
    out: list[Region] = []
    unique = {
        (r.id, r.family, r.proto, r.dst, r.ports): r for r in rules if r.action != Action.ACCEPT
    }
    for rej in unique.values():  # one per zone in the policy; a host has no uplinks
        fam = rej.family
        same = [r for r in rules if r.family == fam]
        bounds = {v for r in same for s in r.dst for v in (s.first, s.last + 1)}
        bounds |= {v for p in policy.lan_prefixes if p.family == fam for v in (p.first, p.last + 1)}
        protos = ("tcp", "udp", "other") if rej.proto == Proto.ANY else (rej.proto.value,)
        groups: dict[tuple[PortsBlocked | bool, ...], list[Span]] = {}
        for span in rej.dst:
            for alo, ahi in cuts(bounds, span.first, span.last):
                here = [r for r in same if any(s.first <= alo <= s.last for s in r.dst)]
                sig: list[PortsBlocked | bool] = []
                for proto in protos:
                    if proto == "other":
                        sig.append(not let_out(policy, here, default, fam, "icmp", alo, None))
                        continue
                    pb = {
                        v
                        for r in here
                        if r.proto.value == proto
                        for p in r.ports
                        for v in (p.lo, p.hi + 1)
                    }
                    ranges = [
                        (lo, hi)
                        for pr in (rej.ports or ALL_PORTS)
                        for lo, hi in cuts(pb, pr.lo, pr.hi)
                        if not let_out(policy, here, default, fam, proto, alo, lo)
                    ]
                    sig.append(merge(ranges))
                groups.setdefault(tuple(sig), []).append(Span(fam, alo, ahi))
        for blocked, pieces in groups.items():
            spans = tuple(merge_spans(pieces))
            if rej.proto == Proto.ANY and blocked == (((0, 65535),), ((0, 65535),), True):
                out.append(Region(rej, "any", spans, ()))
                continue
            for proto, ports in zip(protos, blocked, strict=True):
                if not isinstance(ports, bool) and ports:
                    out.append(Region(rej, proto, spans, ports))
    return out
