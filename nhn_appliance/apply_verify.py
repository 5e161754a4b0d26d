"""``apply --verify``: a small probe plan run from the appliance right after the
load. Any failure rolls the load back at once.

The plan is the probe plan's own checks, narrowed: for each of the site's
resolvers, the DNS check of the first name the site needs (the site's
resolver answers), and the TCP checks of the remote-support opening
(``--verify-service``, by default ``[apply] verify_services`` of the
catalogue's site defaults: remote support).
"""

from __future__ import annotations

import asyncio

from nhn_appliance.errors import UsageError
from nhn_appliance.inputs import Inputs
from nhn_appliance.probes.model import Check, Status
from nhn_appliance.probes.params import DnsParams, Params


def verify_plan(inputs: Inputs, services: tuple[str, ...]) -> list[Check[Params]]:
    """The checks; none at all is a usage error (nothing would be verified)."""
    from nhn_appliance.probes.plan import plan

    site = inputs.site
    # by default the services the catalogue names for it (rules/site/defaults.toml [apply])
    wanted = services or inputs.catalogue.defaults.verify_services
    checks = plan(inputs.catalogue, site, inputs.policy(), inputs.pins, {"dns", "tcp"})
    out: list[Check[Params]] = []
    for resolver in site.resolvers:
        first = next(
            (
                c
                for c in checks
                if isinstance(c.params, DnsParams) and c.params.resolver == resolver
            ),
            None,
        )
        if first is not None:
            out.append(first)
    out += [c for c in checks if c.kind == "tcp" and c.service in wanted]
    if not out:
        raise UsageError(
            f"--verify has nothing to check for site {site.name}: no resolver with a name "
            f"to ask and no TCP opening of {', '.join(wanted)} (choose with --verify-service)"
        )
    return out


def run_verify(inputs: Inputs, checks: list[Check[Params]]) -> list[str]:
    """Run the checks; one line per failed check (empty: all passed)."""
    from nhn_appliance.probes.context import ProbeContext
    from nhn_appliance.probes.runner import run_all

    site = inputs.site
    ctx = ProbeContext(timeout=site.probe.timeout, resolvers=site.resolvers, dns_port=site.dns_port)
    results = asyncio.run(run_all(checks, ctx, site.probe.concurrency, site.probe.deadline))
    bad = (Status.FAIL, Status.ERROR)
    return [f"{r.id}: {r.reason}: {r.detail}" for r in results if r.status in bad]
