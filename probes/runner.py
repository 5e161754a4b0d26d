"""Run checks concurrently within hard time bounds, and never lose a result.

Every check has a deadline: the per-check timeout counted from the start of
its stage (or from when it got a slot, if it had to wait for one). The
prober gets it in its :class:`ProbeContext` and ends by it with its own
evidence; ``asyncio.wait_for`` at the deadline plus a small grace is only
the backstop for a prober that does not. The whole run is under a global
deadline. A semaphore bounds concurrency, and so the packet rate. Ctrl-C
cancels what is running; every check then has a result (``cancelled`` for
those cut short) and the caller still writes the document.

:func:`preload` imports the plan's prober modules before the caller starts
the clock (importing one inside the run holds the event loop while checks
start). The libraries they load on first use (dnspython, ntplib) are
imported by a background thread as the run starts, while the first checks
already wait on the network; scapy, by far the heaviest, is left to the
worker thread of the check that needs it (path, syn, sniff). Either costs
only those checks part of their time, not the process its start-up.

A run owns its worker threads (:class:`WorkerPool`, one per concurrent check,
started up front, never joined at exit) and its cancel token, hands both to
the probers in the :class:`ProbeContext`, and shuts the pool down when it
ends. A run may have a second stage: ``followups`` turns the first
stage's results into more checks (:func:`nhn_appliance.probes.plan.followups`:
the proxy a PAC file chose), run within the same deadline.
"""

from __future__ import annotations

import _thread
import asyncio
import contextlib
import importlib
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Any

from nhn_appliance.policy.model import PROBE_CONCURRENCY, PROBE_DEADLINE_S
from nhn_appliance.probes.context import SLICE, CancelToken, ProbeContext
from nhn_appliance.probes.failures import classify
from nhn_appliance.probes.model import Check, Result, Status
from nhn_appliance.probes.params import NoteParams, Params
from nhn_appliance.probes.reasons import Reason
from nhn_appliance.probes.workers import WorkerPool

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

#: libraries a kind's prober imports on first use: :func:`run_all` imports them in the
#: background as the run starts
LIBRARIES: dict[str, tuple[str, ...]] = {
    "dns": ("dns.message", "dns.rcode", "dns.rdatatype", "dns.flags", "dns.query"),
    "ntp": ("ntplib", "dns.resolver"),  # dns.resolver: names through the site's resolvers
    "pac": ("dns.resolver",),
    "proxy": ("dns.resolver",),
}

GRACE = 0.25  # seconds a prober may take past its deadline to close sockets
MIN_FOLLOWUP_S = 1.0  # the follow-up stage gets at least this long, even past the deadline

Prober = Callable[[Check[Any], ProbeContext], Awaitable[Result]]
FollowUps = Callable[[list[Result]], list[Check[Params]]]


def preload(kinds: Iterable[str]) -> None:
    """Import the probers of ``kinds``, so that none is imported on the event loop
    once the run's clock has started."""
    for kind in sorted(set(kinds) & set(PROBERS)):
        importlib.import_module(PROBERS[kind])


def _import_libraries(kinds: set[str]) -> None:
    """Start importing what the probers of ``kinds`` load on first use, in a thread of
    its own (a daemon: an import is never waited for at exit). A prober that needs one
    before it is done waits for it on Python's import lock."""
    names = sorted({n for k in kinds for n in LIBRARIES.get(k, ())} - set(sys.modules))
    if names:
        _thread.start_new_thread(_import_quietly, (names,))


def _import_quietly(names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(ImportError):  # the prober reports it when it runs
            importlib.import_module(name)


def _prober(kind: str) -> Prober | None:
    module = PROBERS.get(kind)
    if module is None:
        return None
    run: Prober = importlib.import_module(module).run
    return run


async def run_one(check: Check[Params], ctx: ProbeContext) -> Result:
    """One check, by its deadline (``ctx.deadline``, else its timeout from now);
    exceptions become results."""
    start = time.monotonic()
    if ctx.deadline is None:
        ctx = replace(ctx, deadline=start + ctx.timeout)
    run = _prober(check.kind)
    if isinstance(check.params, NoteParams):
        result = Result.of(check, Status.SKIPPED, Reason.NOT_VERIFIABLE, check.params.why)
    elif run is None:
        detail = f"no prober for kind {check.kind!r}"
        result = Result.of(check, Status.SKIPPED, Reason.BAD_INPUT, detail)
    else:
        try:
            left = ctx.deadline - time.monotonic()  # type: ignore[operator]  # set above
            result = await asyncio.wait_for(run(check, ctx), left + GRACE)
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
    checks = list(checks)
    _import_libraries({c.kind for c in checks})
    pool = WorkerPool(max(1, concurrency), start=len(checks))  # threads up front
    start = time.monotonic()
    run_ctx = replace(ctx, cancel=CancelToken(), executor=pool, deadline=None)
    slots = asyncio.Semaphore(max(1, concurrency))
    try:
        results, cut_short = await _stage(checks, run_ctx, slots, deadline, on_result)
        more = followups(results) if followups and not cut_short else []
        if more:
            left = max(MIN_FOLLOWUP_S, deadline - (time.monotonic() - start))
            results += (await _stage(more, run_ctx, slots, left, on_result))[0]
    finally:
        # threads still waiting end on the cancel token or their own deadline; none is
        # joined, so the process can end as soon as the document is written
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
    begin = time.monotonic()  # a check with a free slot has its timeout from here

    async def guarded(check: Check[Params]) -> None:
        waited = slots.locked()
        async with slots:
            base = time.monotonic() if waited else begin
            res = await run_one(check, replace(ctx, deadline=base + ctx.timeout))
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
