"""What would allow a flow that the site denies: the answer a technician wants
from ``explain`` before anything else.

Two places to look, both through compile and the one matching definition
(:func:`compile.rule_covers`): the site's own policy on another uplink than
the one asked about, and the whole catalogue compiled for this site (every
service in use), which names the service and endpoint that open it. Names
without pins are said too, since their openings cannot be matched at all.
"""

from __future__ import annotations

from dataclasses import replace

from nhn_appliance.policy.compile import compile_policy, rule_covers
from nhn_appliance.policy.model import Action, Catalogue, Pin, Policy, Rule, Site


def _covering(policy: Policy, flow, profile: str) -> list[tuple[Rule, str]]:
    """Accept rules of this scope that match the flow, with the interface they leave by."""
    fam, dst = flow.dst.family, flow.dst.first
    out = []
    for up in policy.uplinks:
        for r in policy.scope_rules(profile):
            if r.action == Action.ACCEPT and rule_covers(
                r, up.interface, fam, flow.proto, dst, flow.port
            ):
                out.append((r, f"{up.zone} ({up.interface})"))
                break
    return out


def what_would_allow(
    policy: Policy, catalogue: Catalogue, site: Site, pins: dict[str, Pin], flow, profile: str
) -> list[str]:
    """Sentences for a denied flow: which rule opens it where, or which service would."""
    hints: list[str] = []
    if flow.uplink is not None:
        for rule, where in _covering(policy, flow, profile):
            hints.append(f"{rule.id} ({rule.source}) opens it through the {where} uplink")
    if not hints:
        every = replace(site, services=tuple(catalogue.services))
        whole = compile_policy(catalogue, every, pins)
        for rule, where in _covering(whole, flow, profile):
            if rule.service not in site.services:
                hints.append(
                    f"{rule.id} ({rule.source}) opens it through the {where} uplink; "
                    f"{rule.service} is not among this site's services ([site] services)"
                )
    if policy.unpinned:
        hints.append(
            f"{len(policy.unpinned)} name(s) are not pinned, so their openings are left out "
            f"and cannot match ({', '.join(policy.unpinned)}); nhn-appliance resolve pins them"
        )
    return list(dict.fromkeys(hints))
