"""The ``probe`` command's work: plan, run with progress, summarise, write.

Kept apart from cli.py so the command line module stays thin and --help
imports nothing of this.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import click

from nhn_appliance.probes import document
from nhn_appliance.probes.model import Result, Status
from nhn_appliance.probes.plan import plan
from nhn_appliance.probes.runner import ProbeContext, run_all

MARK = {
    Status.OK: "ok",
    Status.WARN: "WARN",
    Status.FAIL: "FAIL",
    Status.ERROR: "ERROR",
    Status.SKIPPED: "--",
}


class Progress:
    """One status line on a terminal, rewritten in place; nothing when not a terminal."""

    def __init__(self, total: int, stream=sys.stderr) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.live = stream.isatty()
        self.counts: Counter = Counter()

    def __call__(self, result: Result) -> None:
        self.done += 1
        self.counts[result.status] += 1
        if self.live:
            bad = self.counts[Status.FAIL] + self.counts[Status.ERROR]
            self.stream.write(
                f"\r  {self.done}/{self.total} checks, {bad} failing, "
                f"last: {result.kind} {result.target} {MARK[result.status]}   \x1b[K"
            )
            self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def run_probe(
    inputs,
    output: str | None,
    services: tuple[str, ...],
    only: str | None,
    timeout: float | None,
    as_json: bool,
) -> int:
    site = inputs.site
    kinds = {k.strip() for k in only.split(",")} if only else None
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
    probe = site.probe
    ctx = ProbeContext(
        timeout=timeout or probe.get("timeout", 3.0),
        resolvers=site.resolvers,
        dns_port=site.dns_port,
    )
    progress = Progress(len(checks))

    def on_result(res: Result) -> None:
        progress(res)
        if as_json:
            sys.stdout.write(json.dumps(res.as_dict(), ensure_ascii=False) + "\n")
            sys.stdout.flush()

    started = time.time()
    interrupted = False

    async def main() -> list[Result]:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()

        def stop() -> None:
            nonlocal interrupted
            interrupted = True
            task.cancel()

        loop.add_signal_handler(signal.SIGINT, stop)
        loop.add_signal_handler(signal.SIGTERM, stop)
        concurrency, deadline = (
            int(probe.get("concurrency", 32)),
            float(probe.get("deadline", 60.0)),
        )
        results = await run_all(checks, ctx, concurrency, deadline, on_result)
        # second step: ask the proxy the PAC file chose for a CONNECT (issue: proxy and PAC)
        follow = (
            _pac_followups(results) if not interrupted and (not kinds or "proxy" in kinds) else []
        )
        if follow:
            progress.total += len(follow)
            left = max(1.0, deadline - (time.time() - started))
            results += await run_all(follow, ctx, concurrency, left, on_result)
        return results

    results = asyncio.run(main())
    progress.close()
    ended = time.time()
    doc = document.build(site.name, site.file, started, ended, results, interrupted)
    path = (
        Path(output)
        if output
        else Path(
            f"nhn-probe-{site.name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(started))}.json"
        )
    )
    document.write(path, doc)
    if not as_json:
        click.echo(summary(results))
    click.echo(
        f"{'interrupted: ' if interrupted else ''}wrote {path} ({len(results)} results, "
        f"{ended - started:.1f} s)",
        err=True,
    )
    if interrupted:
        return 130
    return 1 if any(r.status in (Status.FAIL, Status.ERROR) for r in results) else 0


def _pac_followups(results: list[Result]) -> list:
    """Proxy checks for the proxies that successful PAC evaluations chose."""
    from nhn_appliance.probes.proxy import check_from_pac

    seen = {r.id for r in results}
    out = []
    for r in results:
        if r.kind == "pac" and r.status in (Status.OK, Status.WARN):
            check = check_from_pac(r)
            if check is not None and check.id not in seen:
                seen.add(check.id)
                out.append(check)
    return out


def summary(results: list[Result]) -> str:
    """A verdict per service, then every check that is not ok."""
    by_service: dict[str, list[Result]] = {}
    for r in results:
        by_service.setdefault(r.service, []).append(r)
    lines = []
    for service, items in by_service.items():
        counts = Counter(r.status for r in items)
        worst = next(
            (
                s
                for s in (Status.ERROR, Status.FAIL, Status.WARN, Status.OK, Status.SKIPPED)
                if counts[s]
            ),
            Status.SKIPPED,
        )
        parts = ", ".join(f"{counts[s]} {s.value}" for s in Status if counts[s])
        lines.append(f"{MARK[worst]:<5} {service}: {parts}")
    bad = [r for r in results if r.status in (Status.FAIL, Status.ERROR, Status.WARN)]
    if bad:
        lines.append("")
        for r in bad:
            lines.append(f"{MARK[r.status]:<5} {r.kind:<5} {r.target}: {r.reason}: {r.detail}")
    return "\n".join(lines)
