"""NTP: how far off is this host's clock, and is the server itself sane?

The limits and why they matter come with the check (the catalogue's
``[clock]`` in rules/site/defaults.toml): above ``warn_s`` the result
warns, above ``fail_s`` it fails, with that reason in words.
"""

from __future__ import annotations

import asyncio
from typing import Any

from nhn_appliance.probes.context import ProbeContext, in_thread
from nhn_appliance.probes.failures import classify
from nhn_appliance.probes.model import Check, Result, Status
from nhn_appliance.probes.names import first_address
from nhn_appliance.probes.params import NtpParams
from nhn_appliance.probes.reasons import Reason


def _query(server: str, port: int, timeout: float) -> Any:
    import ntplib

    return ntplib.NTPClient().request(server, version=3, port=port, timeout=timeout)


async def run(check: Check[NtpParams], ctx: ProbeContext) -> Result:
    p = check.params
    try:  # a name is looked up through the site's resolvers, within the check's time
        # dnspython's lifetime is not exact (it sleeps between tries): wait_for holds it
        lookup = in_thread(ctx, first_address, p.address, ctx.remaining())
        server = await asyncio.wait_for(lookup, ctx.left())
    except Exception as exc:
        reason = classify(exc)
        detail = f"NTP server {check.target}: its name did not resolve ({reason})"
        return Result.of(check, Status.FAIL, reason, detail, server=p.address)
    try:
        left = max(ctx.left(), 0.01)  # what the name left; a socket time-out of 0 never waits
        stats = await in_thread(ctx, _query, server, p.port, left)
    except Exception as exc:  # ntplib raises NTPException for silence, OSError for ICMP errors
        reason = classify(exc)
        detail = f"NTP server {check.target} did not answer ({reason})"
        return Result.of(check, Status.FAIL, reason, detail, server=server)
    evidence = {
        "server": server,
        "offset_s": round(stats.offset, 6),
        "delay_s": round(stats.delay, 6),
        "stratum": stats.stratum,
        "leap": stats.leap,
        "ref_id": stats.ref_id,
    }
    if stats.leap == 3 or stats.stratum == 0 or stats.stratum >= 16:
        detail = (
            f"NTP server {check.target} is not synchronised (stratum {stats.stratum}, "
            f"leap {stats.leap})"
        )
        return Result.of(check, Status.FAIL, Reason.UNSYNCHRONISED, detail, **evidence)
    off = abs(stats.offset)
    if off > p.fail_s:
        detail = f"the clock is {stats.offset:+.1f} s off: {p.why}"
        return Result.of(check, Status.FAIL, Reason.CLOCK_OFFSET, detail, **evidence)
    if off > p.warn_s:
        detail = f"the clock is {stats.offset:+.2f} s off; above {p.fail_s:g} s: {p.why}"
        return Result.of(check, Status.WARN, Reason.CLOCK_OFFSET, detail, **evidence)
    detail = f"clock within {off:.3f} s of {check.target}"
    return Result.of(check, Status.OK, Reason.OK, detail, **evidence)
