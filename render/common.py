"""What every rendered file says about itself, whatever the target's syntax.

Each template prints these lines behind its own comment character: which
software and catalogue revision made the file, and which destinations must
leave by which uplink (dual-uplink sites route them; the firewall only filters).
One place, so every target says the same; templates reach both through the
Jinja environment's globals.
"""

from __future__ import annotations

from nhn_appliance.policy.addresses import format_span
from nhn_appliance.policy.model import Policy
from nhn_appliance.render.escape import comment


def provenance(policy: Policy) -> str:
    """``made by nhn-appliance 0.1.0 from catalogue 1a2b3c4d5e6f``."""
    software = policy.software or "nhn-appliance"
    revision = policy.catalogue_revision or "unknown"
    return comment(f"made by {software} from catalogue revision {revision}", 200)


def route_lines(policy: Policy) -> list[str]:
    """On a dual-uplink site: per uplink, the destinations its rules need routed
    that way (the site's routing must send them there, or the opening is dead)."""
    lines = []
    for up in policy.uplinks:
        spans = [format_span(s) for s in policy.routes.get(up.zone, ())]
        if spans:
            lines.append(f"route via {up.zone} ({comment(up.interface)}):")
            lines += ["  " + ", ".join(spans[i : i + 4]) for i in range(0, len(spans), 4)]
    return lines
