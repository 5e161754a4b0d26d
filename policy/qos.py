"""QoS classification: which class (and DSCP) a flow is marked with on its way out.

One definition for every target: a flow is classified by destination,
protocol and port alone, by the first rule of the site's LAN block that
accepts it (on any uplink). Its source does not matter, so a router can mark
on the LAN side before it knows the egress, and a host firewall can mark
without knowing the uplink. Profiles decide only whether a flow passes.
Flows that no LAN rule names keep their marking (nothing is re-marked).

:func:`marks` gives the same classification as disjoint elements, so a
target can list class by class without caring about rule order.
"""

from __future__ import annotations

from typing import NamedTuple

from nhn_appliance.policy.compile import rule_covers
from nhn_appliance.policy.model import Action, Policy, Proto, QosClass, Rule
from nhn_appliance.policy.sets import disjoint


class Mark(NamedTuple):
    """Packets to [first, last] with proto and ports in [plo, phi] get ``qos``."""

    family: int
    first: int
    last: int
    proto: Proto  #: tcp, udp, or any (every other protocol; tcp/udp pieces are listed apart)
    plo: int
    phi: int
    qos: QosClass
    rule: Rule


def _lan_accepts(policy: Policy) -> list[Rule]:
    """LAN-block accept rules with the interface taken out of the match."""
    from dataclasses import replace

    return [
        replace(r, interfaces=("*",)) for r in policy.scope_rules("") if r.action == Action.ACCEPT
    ]


def classify(
    policy: Policy, proto: str, family: int, dst: int, port: int | None
) -> QosClass | None:
    for r in policy.rules:
        # a rule's own interface makes the interface test always true
        if (
            r.profile == ""
            and r.action == Action.ACCEPT
            and rule_covers(r, r.interfaces[0], family, proto, dst, port)
        ):
            return policy.qos[r.qos]
    return None


def marks(policy: Policy, family: int) -> list[Mark]:
    """Disjoint marking pieces for one family, in a stable order."""
    out = []
    for e in disjoint(_lan_accepts(policy), family, expand_any=True):
        out.append(
            Mark(family, e.first, e.last, e.proto, e.plo, e.phi, policy.qos[e.rule.qos], e.rule)
        )
    return out


def compact_marks(policy: Policy, family: int) -> list[Mark]:
    """:func:`marks` less the tcp/udp pieces of an every-protocol rule.

    Such a rule comes first in its block, so its tcp and udp pieces lie inside
    its own every-protocol pieces and carry the same class: a target that can
    match "every protocol" needs only those.
    """
    pieces = marks(policy, family)
    whole = [(m.first, m.last, id(m.rule)) for m in pieces if m.proto == Proto.ANY]
    return [
        m
        for m in pieces
        if m.proto == Proto.ANY
        or m.rule.proto != Proto.ANY
        or not any(f <= m.first and m.last <= la and r == id(m.rule) for f, la, r in whole)
    ]
