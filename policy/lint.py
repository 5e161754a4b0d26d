"""Lint a compiled policy: shadowed, overlapping and empty rules.

A finding is advice, not an error: an overlap between two services that both
need a port is normal (the first rule gets the counter), a fully shadowed
rule usually means a catalogue entry can go.
"""

from __future__ import annotations

from dataclasses import dataclass

from nhn_appliance.policy.model import Policy, Rule
from nhn_appliance.policy.sets import disjoint


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
            for r in rules:
                if r.family == family and id(r) not in owners:
                    by = sorted({_label(o) for o in _coverers(r, elements)})
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


def _coverers(rule: Rule, elements) -> list[Rule]:
    out = []
    for e in elements:
        if e.rule is rule or e.rule.family != rule.family:
            continue
        if e.interface in rule.interfaces and any(
            e.first <= s.last and s.first <= e.last for s in rule.dst
        ):
            out.append(e.rule)
    return out


def _overlaps(rules: list[Rule], family: int):
    """Pairs of rules (earlier, later) whose packets intersect."""
    rs = [r for r in rules if r.family == family]
    for i, a in enumerate(rs):
        for b in rs[i + 1 :]:
            if not set(a.interfaces) & set(b.interfaces):
                continue
            if a.proto != b.proto and "any" not in (a.proto, b.proto):
                continue
            if not any(x.first <= y.last and y.first <= x.last for x in a.dst for y in b.dst):
                continue
            pa = a.ports or ((0, 65535),)
            pb = b.ports or ((0, 65535),)
            if any(x[0] <= y[1] and y[0] <= x[1] for x in pa for y in pb):
                yield a, b
