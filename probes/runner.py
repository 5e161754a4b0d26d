"""Run checks concurrently within hard time bounds, and never lose a result.

Each check runs under ``asyncio.wait_for`` with the per-check timeout (plus a
small grace for the prober's own clean-up); the whole run under a global
deadline. A semaphore bounds concurrency, and so the packet rate. Ctrl-C
cancels what is running; every check then has a result (``cancelled`` for
those cut short) and the caller still writes the document.

A run owns its thread pool (probers wait in it: asyncio's default pool of
CPUs + 4 would queue checks past their time-out) and its cancel token, hands
both to the probers in the :class:`ProbeContext`, and shuts the pool down
when it ends. A run may have a second stage: ``followups`` turns the first
stage's results into more checks (:func:`nhn_appliance.probes.plan.followups`:
the proxy a PAC file chose), run within the same deadline.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from nhn_appliance.policy.model import PROBE_CONCURRENCY, PROBE_DEADLINE_S
from nhn_appliance.probes.context import SLICE, CancelToken, ProbeContext
from nhn_appliance.probes.failures import classify
from nhn_appliance.probes.model import Check, Result, Status
from nhn_appliance.probes.params import NoteParams, Params
from nhn_appliance.probes.reasons import Reason

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
MIN_FOLLOWUP_S = 1.0  # the follow-up stage gets at least this long, even past the deadline

Prober = Callable[[Check[Any], ProbeContext], Awaitable[Result]]
FollowUps = Callable[[list[Result]], list[Check[Params]]]


def _prober(kind: str) -> Prober | None:
    module = PROBERS.get(kind)
    if module is None:
        return None
    run: Prober = importlib.import_module(module).run
    return run


async def run_one(check: Check[Params], ctx: ProbeContext) -> Result:
    """One check, bounded by the per-check timeout; exceptions become results."""
    start = time.monotonic()
    run = _prober(check.kind)
    if isinstance(check.params, NoteParams):
        result = Result.of(check, Status.SKIPPED, Reason.NOT_VERIFIABLE, check.params.why)
    elif run is None:
        detail = f"no prober for kind {check.kind!r}"
        result = Result.of(check, Status.SKIPPED, Reason.BAD_INPUT, detail)
    else:
        try:
            result = await asyncio.wait_for(run(check, ctx), ctx.timeout + GRACE)
        except TimeoutError:
            detail = f"no result within {ctx.timeout:g} s"
            result = Result.of(check, Status.FAIL, Reason.TIMEOUT, detail)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a prober bug must not lose the other results
            detail = f"{type(exc).__name__}: {exc}"
            result = Result.of(check, Status.ERROR, classify(exc), detail)
    result.duration_s = time.monotonic() - start
    return result


async def run_all(
    checks: Iterable[Check[Params]],
    ctx: ProbeContext,
    concurrency: int = PROBE_CONCURRENCY,
    deadline: float = PROBE_DEADLINE_S,
    on_result: Callable[[Result], None] | None = None,
    followups: FollowUps | None = None,
) -> list[Result]:
    """Run every check, then the ``followups`` of their results (unless the run was
    cut short); results come back in plan order, one per check."""
    start = time.monotonic()
    pool = ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="probe")
    run_ctx = replace(ctx, cancel=CancelToken(), executor=pool)
    slots = asyncio.Semaphore(max(1, concurrency))
    try:
        results, cut_short = await _stage(list(checks), run_ctx, slots, deadline, on_result)
        more = followups(results) if followups and not cut_short else []
        if more:
            left = max(MIN_FOLLOWUP_S, deadline - (time.monotonic() - start))
            results += (await _stage(more, run_ctx, slots, left, on_result))[0]
    finally:
        # threads still waiting end on the cancel token or their own time-out
        pool.shutdown(wait=False, cancel_futures=True)
    return results


async def _stage(
    checks: list[Check[Params]],
    ctx: ProbeContext,
    slots: asyncio.Semaphore,
    deadline: float,
    on_result: Callable[[Result], None] | None,
) -> tuple[list[Result], bool]:
    """(a result for every check, whether the stage was cut short)."""
    results: dict[str, Result] = {}

    async def guarded(check: Check[Params]) -> None:
        async with slots:
            res = await run_one(check, ctx)
        results[check.id] = res
        if on_result:
            on_result(res)

    tasks = [asyncio.create_task(guarded(c)) for c in checks]
    reason = Reason.DEADLINE
    try:
        _, pending = await asyncio.wait(tasks, timeout=deadline) if tasks else (set(), set())
    except asyncio.CancelledError:
        reason = Reason.CANCELLED
        pending = {t for t in tasks if not t.done()}
    if pending:
        ctx.cancel.cancel()  # worker threads of the cut-short checks stop waiting
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.sleep(2 * SLICE)  # worker threads see the token within one slice
    interrupted = reason == Reason.CANCELLED
    why = "stopped by Ctrl-C" if interrupted else f"global deadline {deadline:g} s passed"
    out = [results.get(c.id) or Result.of(c, Status.SKIPPED, reason, why) for c in checks]
    return out, bool(pending) or interrupted
