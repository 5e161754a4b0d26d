"""Lint a compiled policy: shadowed, overlapping and empty rules.

A finding is advice, not an error: an overlap between two services that both
need a port is normal (the first rule gets the counter), a fully shadowed
rule usually means a catalogue entry can go.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from itertools import accumulate

from nhn_appliance.policy.model import Policy, Rule
from nhn_appliance.policy.sets import Element, disjoint


@dataclass(frozen=True)
class Finding:
    kind: str  #: shadowed, overlap, empty
    rule: str
    other: str
    text: str


def _label(r: Rule) -> str:
    scope = f"profile {r.profile}: " if r.profile else ""
    return f"{scope}{r.id} ({r.proto}, IPv{r.family}, {r.zone})"


def lint(policy: Policy) -> list[Finding]:
    findings: list[Finding] = []
    for text in policy.omitted:
        rule = text.split(":", 1)[0]
        findings.append(Finding("empty", rule, "", f"left out: {text}"))
    scopes = [""] + [b.name for b in policy.profiles]
    for scope in scopes:
        rules = [r for r in policy.rules if r.profile == scope]
        for family in (4, 6):
            elements = disjoint(rules, family, expand_any=True)
            owners = {id(e.rule) for e in elements}
            index = _by_interface(elements)
            for r in rules:
                if r.family == family and id(r) not in owners:
                    by = sorted({_label(o) for o in _coverers(r, index)})
                    findings.append(
                        Finding(
                            "shadowed",
                            _label(r),
                            ", ".join(by),
                            f"{_label(r)} never matches: earlier rules cover it ({', '.join(by)})",
                        )
                    )
            seen: set[tuple[int, int]] = set()
            for a, b in _overlaps(rules, family):
                key = (id(a), id(b))
                if key in seen or id(a) not in owners or id(b) not in owners:
                    continue
                seen.add(key)
                findings.append(
                    Finding(
                        "overlap",
                        _label(a),
                        _label(b),
                        f"{_label(a)} and {_label(b)} overlap; packets in both count for the first",
                    )
                )
    return findings


def _coverers(rule: Rule, index: dict[str, tuple[list[int], list[int], list[Element]]]):
    """The rules of elements on ``rule``'s interfaces whose addresses meet its own
    (any protocol or port). ``index`` holds, per interface, the elements sorted
    by first address with the running maximum of their last address, so only
    the elements that can reach a span are visited."""
    out: list[Rule] = []
    for iface in rule.interfaces:
        if iface not in index:
            continue
        firsts, reach, elements = index[iface]
        for s in rule.dst:
            j = bisect_right(firsts, s.last) - 1
            while j >= 0 and reach[j] >= s.first:
                e = elements[j]
                if e.last >= s.first and e.rule is not rule:
                    out.append(e.rule)
                j -= 1
    return out


def _by_interface(elements: list[Element]) -> dict[str, tuple[list[int], list[int], list[Element]]]:
    groups: dict[str, list[Element]] = defaultdict(list)
    for e in elements:
        groups[e.interface].append(e)
    index = {}
    for iface, group in groups.items():
        group.sort(key=lambda e: e.first)
        reach = list(accumulate((e.last for e in group), max))
        index[iface] = ([e.first for e in group], reach, group)
    return index


def _overlaps(rules: list[Rule], family: int) -> list[tuple[Rule, Rule]]:
    """Pairs of rules (earlier, later) whose packets intersect, in rule order.

    A sweep over the address spans of each interface: only pairs whose
    addresses meet are compared at all (not every pair of rules)."""
    rs = [r for r in rules if r.family == family]
    spans: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for n, r in enumerate(rs):
        for iface in dict.fromkeys(r.interfaces):
            spans[iface].extend((s.first, s.last, n) for s in r.dst)
    pairs: set[tuple[int, int]] = set()
    for items in spans.values():
        items.sort()
        active: list[tuple[int, int, int]] = []
        for first, last, n in items:
            active = [x for x in active if x[1] >= first]
            for _, _, m in active:
                if m != n:
                    pairs.add((min(m, n), max(m, n)))
            active.append((first, last, n))
    out = []
    for i, j in sorted(pairs):
        a, b = rs[i], rs[j]
        if a.proto != b.proto and "any" not in (a.proto, b.proto):
            continue
        pa = a.ports or ((0, 65535),)
        pb = b.ports or ((0, 65535),)
        if any(x[0] <= y[1] and y[0] <= x[1] for x in pa for y in pb):
            out.append((a, b))
    return out
