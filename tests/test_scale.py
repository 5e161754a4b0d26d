"""The sweep-line set split and lint (issue 11 part 10, review D15) against brute force.

policy/sets.py and policy/lint.py no longer compare every piece with every
rule or every rule with every other; these tests hold the fast versions to
the plain definitions on seeded random rules that overlap a lot (small
address and port spaces, several interfaces, every-protocol rules, rules
with several spans). The timing figures for 10,000 and 20,000 endpoints are
printed by bench/bench_lint.py, not asserted here.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from conftest import UNIT

from nhn_appliance.policy.catalogue import load_catalogue
from nhn_appliance.policy.compile import compile_policy
from nhn_appliance.policy.lint import lint
from nhn_appliance.policy.model import ALL_PORTS, Action, PortRange, Proto, Rule, Span
from nhn_appliance.policy.sets import disjoint

BASE = 0x0A000000  # 10.0.0.0: the rules are data only
ADDRS = range(BASE, BASE + 48)
PORTS = (*range(0, 14), 65535)
IFACES = ("wan-hn", "wan-inet", "wan-3")


def _rules(seed: int, n: int = 60) -> list[Rule]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        proto = rng.choice((Proto.TCP, Proto.TCP, Proto.UDP, Proto.ANY))
        spans = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            first = BASE + rng.randrange(48)
            spans.append(Span(4, first, min(first + rng.choice((0, 0, 1, 3, 7, 20)), BASE + 47)))
        ports: tuple[PortRange, ...] = ()
        if proto != Proto.ANY:
            lo = rng.randrange(1, 12)
            ports = (PortRange(lo, lo + rng.choice((0, 0, 1, 4))),)
            if rng.random() < 0.2:
                ports += (PortRange(13, 13),)
        ifaces = tuple(rng.sample(IFACES, rng.choice((1, 1, 2))))
        out.append(
            Rule(
                id=f"gen/r{i}",
                service="gen",
                endpoint=f"r{i}",
                profile="",
                zone="helsenett",
                interfaces=ifaces,
                action=Action.ACCEPT,
                family=4,
                proto=proto,
                dst=tuple(spans),
                ports=ports,
                qos="standard",
                source="generated",
            )
        )
    return out


def _matches(r: Rule, iface: str, proto: Proto, addr: int, port: int, expand_any: bool) -> bool:
    if iface not in r.interfaces:
        return False
    if r.proto != proto and not (expand_any and r.proto == Proto.ANY):
        return False
    if not any(s.first <= addr <= s.last for s in r.dst):
        return False
    return any(p.lo <= port <= p.hi for p in r.ports or ALL_PORTS)


@pytest.mark.parametrize("expand_any", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_every_packet_is_in_exactly_the_element_of_its_first_rule(seed, expand_any) -> None:
    rules = _rules(seed)
    elements = disjoint(rules, 4, expand_any=expand_any)
    assert elements, "the generated rules make elements"
    for iface in IFACES:
        for proto in (Proto.TCP, Proto.UDP, Proto.ANY):
            plane = [e for e in elements if e.interface == iface and e.proto == proto]
            for addr in ADDRS:
                for port in PORTS:
                    want = next(
                        (r for r in rules if _matches(r, iface, proto, addr, port, expand_any)),
                        None,
                    )
                    got = [
                        e.rule
                        for e in plane
                        if e.first <= addr <= e.last and e.plo <= port <= e.phi
                    ]
                    assert got == ([want] if want else []), (iface, proto, addr, port)


def _policy(rules: list[Rule]):
    cat = load_catalogue(UNIT / "lint_catalogue")
    from nhn_appliance.policy.site import load_site

    base = compile_policy(cat, load_site(UNIT / "lint_site.toml", "lint_site.toml", cat))
    return replace(base, rules=tuple(rules), omitted=(), profiles=())


def _label(r: Rule) -> str:
    return f"{r.id} ({r.proto}, IPv{r.family}, {r.zone})"


def _meet(a: tuple[Span, ...], b: tuple[Span, ...]) -> bool:
    return any(x.first <= y.last and y.first <= x.last for x in a for y in b)


@pytest.mark.parametrize("seed", range(6))
def test_lint_finds_exactly_the_pairs_and_coverers_brute_force_finds(seed) -> None:
    rules = _rules(seed, n=80)
    findings = lint(_policy(rules))
    elements = disjoint(rules, 4, expand_any=True)
    owners = {id(e.rule) for e in elements}
    want_overlaps = []
    for i, a in enumerate(rules):
        for b in rules[i + 1 :]:
            if id(a) not in owners or id(b) not in owners:
                continue
            if not set(a.interfaces) & set(b.interfaces) or not _meet(a.dst, b.dst):
                continue
            if a.proto != b.proto and Proto.ANY not in (a.proto, b.proto):
                continue
            pa, pb = a.ports or ALL_PORTS, b.ports or ALL_PORTS
            if any(x.lo <= y.hi and y.lo <= x.hi for x in pa for y in pb):
                want_overlaps.append((_label(a), _label(b)))
    got_overlaps = [(f.rule, f.other) for f in findings if f.kind == "overlap"]
    assert got_overlaps == want_overlaps  # the same pairs, in rule order
    assert want_overlaps, "the generated rules overlap"

    want_shadowed = []
    for r in rules:
        if id(r) in owners:
            continue
        by = sorted(
            {
                _label(e.rule)
                for e in elements
                if e.rule is not r and e.interface in r.interfaces and _meet(r.dst, (e,))
            }
        )
        want_shadowed.append((_label(r), ", ".join(by)))
    got_shadowed = [(f.rule, f.other) for f in findings if f.kind == "shadowed"]
    assert got_shadowed == want_shadowed
    assert want_shadowed, "the generated rules shadow some"
