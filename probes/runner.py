"""Run checks concurrently within hard time bounds, and never lose a result.

Each check runs under ``asyncio.wait_for`` with the per-check timeout (plus a
small grace for the prober's own clean-up); the whole run under a global
deadline. A semaphore bounds concurrency, and so the packet rate. Ctrl-C
cancels what is running; every check then has a result (``cancelled`` for
those cut short) and the caller still writes the document.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from nhn_appliance.probes.failures import classify
from nhn_appliance.probes.model import Check, Result, Status
from nhn_appliance.probes.netio import CANCEL, SLICE

#: probe kind -> module with ``async def run(check, ctx) -> Result``; imported on first use
PROBERS: dict[str, str] = {
    "dns": "nhn_appliance.probes.dns",
    "tcp": "nhn_appliance.probes.tcp",
    "ntp": "nhn_appliance.probes.ntp",
    "stun": "nhn_appliance.probes.udp",
    "sip": "nhn_appliance.probes.udp",
    "tls": "nhn_appliance.probes.tls",
    "pac": "nhn_appliance.probes.pac",
    "proxy": "nhn_appliance.probes.proxy",
    "syn": "nhn_appliance.probes.syn",
    "path": "nhn_appliance.probes.path",
    "sniff": "nhn_appliance.probes.sniff",
}

GRACE = 0.25  # seconds a prober may take past its timeout to close sockets


@dataclass
class ProbeContext:
    """What every prober may use besides its check."""

    timeout: float = 3.0
    resolvers: tuple[str, ...] = ()
    dns_port: int = 53
    extra: dict = field(default_factory=dict)


def _prober(kind: str):
    module = PROBERS.get(kind)
    if module is None:
        return None
    return importlib.import_module(module).run


async def run_one(check: Check, ctx: ProbeContext) -> Result:
    """One check, bounded by the per-check timeout; exceptions become results."""
    start = time.monotonic()
    run = _prober(check.kind)
    if check.kind == "note":
        result = Result.of(check, Status.SKIPPED, "not-verifiable", check.params.get("why", ""))
    elif run is None:
        result = Result.of(check, Status.SKIPPED, "bad-input", f"no prober for kind {check.kind!r}")
    else:
        try:
            result = await asyncio.wait_for(run(check, ctx), ctx.timeout + GRACE)
        except TimeoutError:
            result = Result.of(check, Status.FAIL, "timeout", f"no result within {ctx.timeout:g} s")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a prober bug must not lose the other results
            result = Result.of(check, Status.ERROR, classify(exc), f"{type(exc).__name__}: {exc}")
    result.duration_s = time.monotonic() - start
    return result


async def run_all(
    checks: Iterable[Check],
    ctx: ProbeContext,
    concurrency: int = 32,
    deadline: float = 60.0,
    on_result: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Run every check; results come back in plan order, one per check."""
    checks = list(checks)
    CANCEL.clear()
    slots = asyncio.Semaphore(max(1, concurrency))
    # probers wait in worker threads; asyncio's default pool (CPUs + 4) would
    # queue checks past their time-out, so give the run as many as it may use
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="probe"))
    results: dict[str, Result] = {}

    async def guarded(check: Check) -> None:
        async with slots:
            res = await run_one(check, ctx)
        results[check.id] = res
        if on_result:
            on_result(res)

    tasks = [asyncio.create_task(guarded(c)) for c in checks]
    reason = "deadline"
    try:
        done, pending = await asyncio.wait(tasks, timeout=deadline)
    except asyncio.CancelledError:
        reason = "cancelled"
        pending = {t for t in tasks if not t.done()}
    if pending:
        CANCEL.set()  # worker threads of the cut-short checks stop waiting
    for t in pending:
        t.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.sleep(2 * SLICE)  # worker threads see CANCEL within one slice
    CANCEL.clear()  # the flag is per run: later runs and evaluations start clean
    out = []
    for check in checks:
        res = results.get(check.id)
        if res is None:
            res = Result.of(
                check,
                Status.SKIPPED,
                reason,
                "stopped by Ctrl-C"
                if reason == "cancelled"
                else f"global deadline {deadline:g} s passed",
            )
        out.append(res)
    return out
