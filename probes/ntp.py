"""NTP: how far off is this host's clock, and is the server itself sane?

Remote-support log-in uses TOTP (001:25, 30-second steps) and HelseID
log-in fails with a wrong clock (002:265): above 1 s the result warns, above
30 s it fails, with that reason in words.
"""

from __future__ import annotations

import asyncio

from nhn_appliance.probes.failures import classify
from nhn_appliance.probes.model import Check, Result, Status

WARN_S = 1.0
FAIL_S = 30.0
WHY = (
    "remote-support log-in (TOTP, 30 s steps, 001:25) and HelseID log-in (002:265) "
    "fail when the clock is off"
)


def _query(server: str, port: int, timeout: float):
    import ntplib

    return ntplib.NTPClient().request(server, version=3, port=port, timeout=timeout)


def _address(name: str, ctx) -> str:
    """An NTP server given by name is looked up through the site's resolvers,
    within the check's time (the system lookup could hang for 10 s)."""
    import ipaddress

    try:
        ipaddress.ip_address(name)
        return name
    except ValueError:
        pass
    from nhn_appliance.probes.pac_engine import resolver_for

    addresses = resolver_for(ctx)(name)
    if not addresses:
        raise OSError(f"{name} has no address")
    return addresses[0]


async def run(check: Check, ctx) -> Result:
    port = int(check.params.get("port", 123))
    try:
        server = await asyncio.to_thread(_address, check.params["address"], ctx)
    except Exception as exc:
        reason = classify(exc)
        return Result.of(
            check,
            Status.FAIL,
            reason,
            f"NTP server {check.target}: its name did not resolve ({reason})",
            server=check.params["address"],
        )
    try:
        stats = await asyncio.to_thread(_query, server, port, ctx.timeout)
    except Exception as exc:  # ntplib raises NTPException for silence, OSError for ICMP errors
        reason = classify(exc)
        return Result.of(
            check,
            Status.FAIL,
            reason,
            f"NTP server {check.target} did not answer ({reason})",
            server=server,
        )
    evidence = {
        "server": server,
        "offset_s": round(stats.offset, 6),
        "delay_s": round(stats.delay, 6),
        "stratum": stats.stratum,
        "leap": stats.leap,
        "ref_id": stats.ref_id,
    }
    if stats.leap == 3 or stats.stratum == 0 or stats.stratum >= 16:
        return Result.of(
            check,
            Status.FAIL,
            "unsynchronised",
            f"NTP server {check.target} is not synchronised (stratum {stats.stratum}, "
            f"leap {stats.leap})",
            **evidence,
        )
    off = abs(stats.offset)
    if off > FAIL_S:
        return Result.of(
            check,
            Status.FAIL,
            "clock-offset",
            f"the clock is {stats.offset:+.1f} s off: {WHY}",
            **evidence,
        )
    if off > WARN_S:
        return Result.of(
            check,
            Status.WARN,
            "clock-offset",
            f"the clock is {stats.offset:+.2f} s off; above {FAIL_S:g} s {WHY}",
            **evidence,
        )
    return Result.of(
        check, Status.OK, "ok", f"clock within {off:.3f} s of {check.target}", **evidence
    )
