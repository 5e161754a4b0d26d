"""The ``probe`` command's work: plan, run with progress, summarise, write.

Kept apart from cli.py so the command line module stays thin and --help
imports nothing of this. The two stages (the plan, then the proxy a PAC file
chose) are the plan's and the runner's; this module only plans, runs and
writes, and holds the one place that reads this host (:mod:`hostinfo`).
"""

from __future__ import annotations

import asyncio
import gc
import json
import signal
import sys
import time
from collections import Counter
from functools import partial
from pathlib import Path
from typing import TextIO

import click

from nhn_appliance.errors import UsageError
from nhn_appliance.hostinfo import host_info
from nhn_appliance.inputs import Inputs
from nhn_appliance.outputs import check_writable, write_text
from nhn_appliance.probes import document
from nhn_appliance.probes.context import ProbeContext
from nhn_appliance.probes.kinds import KINDS
from nhn_appliance.probes.model import Result, Status, worst
from nhn_appliance.probes.plan import bounds, followups, plan
from nhn_appliance.probes.runner import preload, run_all
from nhn_appliance.probes.workers import WorkerPool
from nhn_appliance.terminal import echo, one_line

MARK = {
    Status.OK: "ok",
    Status.WARN: "WARN",
    Status.FAIL: "FAIL",
    Status.ERROR: "ERROR",
    Status.SKIPPED: "--",
}


class Progress:
    """One status line on a terminal, rewritten in place; nothing when not a terminal."""

    def __init__(self, total: int, stream: TextIO = sys.stderr) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.live = stream.isatty()
        self.counts: Counter[Status] = Counter()

    def __call__(self, result: Result) -> None:
        self.done += 1
        self.counts[result.status] += 1
        if self.live:
            bad = self.counts[Status.FAIL] + self.counts[Status.ERROR]
            self.stream.write(
                f"\r  {self.done}/{max(self.total, self.done)} checks, {bad} failing, "
                f"last: {one_line(result.kind)} {one_line(result.target)} "
                f"{MARK[result.status]}   \x1b[K"
            )
            self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def run_probe(
    inputs: Inputs,
    output: str | None,
    services: tuple[str, ...],
    only: str | None,
    timeout: float | None,
    as_json: bool,
    follow_pac: bool = False,
) -> int:
    site = inputs.site
    kinds = _kinds(only)
    unknown = set(services) - set(site.services)
    if unknown:
        raise click.BadParameter(
            f"{', '.join(sorted(unknown))} not in this site's services "
            f"({', '.join(site.services)})",
            param_hint="--service",
        )
    checks = plan(
        inputs.catalogue, site, inputs.policy(), inputs.pins, kinds, set(services) or None
    )
    if not checks:
        raise UsageError(_nothing_to_run(inputs, services, only))
    stamp_now = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = Path(output) if output else Path(f"nhn-probe-{site.name}-{stamp_now}.json")
    check_writable(path)  # before the first packet: a typo in -o must not cost the run
    settings = site.probe
    hosts = bounds(inputs.catalogue, site, inputs.policy(), inputs.pins)  # all it may contact
    ctx = ProbeContext(
        timeout=timeout or settings.timeout,
        resolvers=site.resolvers,
        dns_port=site.dns_port,
        plan_hosts=hosts,
        follow_pac=follow_pac,
    )
    progress = Progress(len(checks))  # the follow-up stage adds a few

    def on_result(res: Result) -> None:
        progress(res)
        if as_json:
            sys.stdout.write(json.dumps(res.as_dict(), ensure_ascii=False) + "\n")
            sys.stdout.flush()

    preload(c.kind for c in checks)  # imports before the clock: see probes/runner.py
    # this host's facts (`ip`, resolv.conf) are read while the checks wait on the network
    reader = WorkerPool(1)
    facts = reader.submit(host_info)
    started = time.time()
    interrupted = False

    async def main() -> list[Result]:
        task = asyncio.current_task()
        assert task is not None  # asyncio.run runs main() as a task
        loop = asyncio.get_running_loop()

        def stop() -> None:
            nonlocal interrupted
            interrupted = True
            task.cancel()

        loop.add_signal_handler(signal.SIGINT, stop)
        loop.add_signal_handler(signal.SIGTERM, stop)
        return await run_all(
            checks,
            ctx,
            settings.concurrency,
            settings.deadline,
            on_result,
            followups=partial(followups, kinds=kinds, plan_hosts=hosts, follow_pac=follow_pac),
        )

    results = asyncio.run(main())
    progress.close()
    ended = time.time()
    info = facts.result(timeout=10)  # hostinfo bounds each command it runs to 2 s
    reader.shutdown(wait=False)
    doc = document.build(site.name, site.file, started, ended, results, info, interrupted)
    write_text(path, document.dumps(doc))
    if not as_json:
        echo(summary(results))
    click.echo(
        f"{'interrupted: ' if interrupted else ''}wrote {path} ({len(results)} results, "
        f"{ended - started:.1f} s)",
        err=True,
    )
    # The process ends next: frozen objects are spared the interpreter's last
    # collections at exit (with scapy loaded, 44 -> 10 ms).
    gc.freeze()
    if interrupted:
        return 130
    return 1 if any(r.status in (Status.FAIL, Status.ERROR) for r in results) else 0


def _kinds(only: str | None) -> set[str] | None:
    """``--only`` as a set of kinds; a kind the probe does not know is a usage error."""
    if only is None:
        return None
    kinds = {k.strip() for k in only.split(",") if k.strip()}
    wrong = sorted(kinds - set(KINDS))
    if wrong or not kinds:
        raise UsageError(
            f"--only {only!r}: unknown kind(s) {', '.join(wrong) or '(none given)'} "
            f"(allowed: {', '.join(KINDS)})"
        )
    return kinds


def _nothing_to_run(inputs: Inputs, services: tuple[str, ...], only: str | None) -> str:
    """Why a selection leaves no checks, with what this site's plan does have."""
    whole = plan(inputs.catalogue, inputs.site, inputs.policy(), inputs.pins, None, None)
    wanted = set(services) or None
    have = sorted({c.kind for c in whole if not wanted or c.service in wanted})
    asked = " ".join([f"--service {s}" for s in services] + ([f"--only {only}"] if only else []))
    scope = f"for {', '.join(services)}" if services else "for this site"
    return (
        f"the selection {asked or '(everything)'} leaves no checks to run; "
        f"the plan {scope} has: {', '.join(have) or 'no checks'}"
    )


def summary(results: list[Result]) -> str:
    """A verdict per service, then every check that is not ok."""
    by_service: dict[str, list[Result]] = {}
    for r in results:
        by_service.setdefault(r.service, []).append(r)
    lines = []
    for service, items in by_service.items():
        counts = Counter(r.status for r in items)
        parts = ", ".join(f"{counts[s]} {s.value}" for s in Status if counts[s])
        lines.append(f"{MARK[worst(counts)]:<5} {service}: {parts}")
    bad = [r for r in results if r.status in (Status.FAIL, Status.ERROR, Status.WARN)]
    if bad:
        lines.append("")
        for r in bad:
            what = f"{r.kind:<5} {r.target}: {r.reason}: {r.detail}"
            lines.append(f"{MARK[r.status]:<5} {one_line(what)}")
    return "\n".join(lines)
