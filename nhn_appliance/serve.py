"""``serve``: run the site's probe plan every interval, keep each run, answer HTTP.

One asyncio loop owns the probe runs (never two at once: one lock, shared
with ``/probe``); a run that overruns delays the next one (the next starts
an interval after the last start, or at once when that has passed). The
schedule uses the monotonic clock, so a jump of the wall clock moves no run.
The HTTP server (:mod:`serve_http`) answers from threads and reads only what
the last run left (the exposition text is built once per run).

SIGTERM or SIGINT cancels the running probe (its results so far are kept as
an interrupted run, in one transaction), stops the HTTP server and returns
within about a second.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from nhn_appliance import __version__
from nhn_appliance.history import History
from nhn_appliance.hostinfo import host_info
from nhn_appliance.inputs import Inputs
from nhn_appliance.metrics import Snapshot, render
from nhn_appliance.probes import document
from nhn_appliance.probes.context import ProbeContext
from nhn_appliance.probes.plan import followups, plan
from nhn_appliance.probes.runner import run_all
from nhn_appliance.serve_config import PROBE_MIN_GAP_S, ServeConfig

log = logging.getLogger("nhn_appliance.serve")
#: a run is cancelled this long after its deadline, whatever a prober does
HANG_GRACE_S = 5.0
FAILING = ("fail", "error")


@dataclass
class Outcome:
    doc: dict[str, Any]
    report: dict[str, Any]
    run_id: int = 0


class Appliance:
    """What the probe loop and the HTTP threads share."""

    def __init__(self, inputs: Inputs, config: ServeConfig, history: History) -> None:
        self.inputs, self.config, self.history = inputs, config, history
        clock = inputs.catalogue.defaults.clock
        self.snapshot = Snapshot(
            site=inputs.site.name,
            version=__version__,
            catalogue=inputs.catalogue.revision or "unknown",
            interval_s=config.interval_s,
            clock_warn_s=clock.warn_s,
            clock_fail_s=clock.fail_s,
            clock_source=clock.source,
        )
        self.latest: Outcome | None = None
        self.page_cache: tuple[int, str] = (0, "")  #: (run id, the status page of that run)
        self.metrics_text = ""
        self.run_lock: asyncio.Lock | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.last_probe = -PROBE_MIN_GAP_S
        self.started = time.time()
        self._restore_streaks()
        self._refresh()

    # -- one run -----------------------------------------------------------------------
    async def run(self, services: set[str] | None = None) -> Outcome:
        """The plan (of ``services``, else all), run within the site's deadline."""
        site = self.inputs.site
        checks = plan(
            self.inputs.catalogue, site, self.inputs.policy(), self.inputs.pins, None, services
        )
        settings = site.probe
        ctx = ProbeContext(
            timeout=settings.timeout, resolvers=site.resolvers, dns_port=site.dns_port
        )
        started = time.time()
        task = asyncio.ensure_future(
            run_all(
                checks,
                ctx,
                settings.concurrency,
                settings.deadline,
                None,
                partial(followups, kinds=None),
            )
        )
        loop = asyncio.get_running_loop()
        hung = loop.call_later(settings.deadline + HANG_GRACE_S, task.cancel)
        interrupted = False
        try:
            results = await asyncio.shield(task)
        except asyncio.CancelledError:
            # stopped (SIGTERM): the runner marks what was running cancelled and returns
            interrupted = True
            task.cancel()
            results = await task
        finally:
            hung.cancel()
        if task.cancelled():  # pragma: no cover - the runner returns on cancel
            results = []
        interrupted = interrupted or any(r.reason == "cancelled" for r in results)
        doc = document.build(
            site.name, site.file, started, time.time(), results, host_info(), interrupted
        )
        from nhn_appliance.report.model import build_report

        return Outcome(doc, build_report(doc, self.config.lang))

    def keep(self, outcome: Outcome) -> None:
        """A scheduled run: into the history, the streaks, the metrics."""
        outcome.run_id = self.history.add(outcome.doc, outcome.report)
        report = outcome.report
        for svc in report["services"]:
            name = svc["service"]
            first = next((f for f in report["findings"] if f["service"] == name), None)
            count = self.snapshot.streaks.get(name, (0, "", ""))[0]
            failing = svc["verdict"] in FAILING
            self.snapshot.streaks[name] = (
                count + 1 if failing else 0,
                str(first.get("title", "")) if first and failing else "",
                str(first.get("source", "")) if first and failing else "",
            )
        self.latest = outcome
        self.snapshot.runs_total += 1
        self.snapshot.report, self.snapshot.results = report, outcome.doc["results"]
        self.snapshot.run_started = _epoch(outcome.doc["started_at"])
        self.snapshot.run_ended = _epoch(outcome.doc["ended_at"])
        self._refresh()
        log.info(
            "run=%d verdict=%s runtime_s=%.2f services=%s findings=%d",
            outcome.run_id,
            report["verdict"],
            outcome.doc["runtime_s"],
            ",".join(f"{s['service']}:{s['verdict']}" for s in report["services"]),
            len(report["findings"]),
        )
        for f in report["findings"]:
            log.warning(
                "finding=%s service=%s severity=%s: %s",
                f["id"],
                f["service"],
                f["severity"],
                f.get("title", ""),
            )

    def _refresh(self) -> None:
        from nhn_appliance.drift import stale_pins

        s = self.snapshot
        s.history_runs, s.history_bytes = self.history.count(), self.history.bytes()
        s.history_replaced = self.history.replaced
        s.stale_pins = len(stale_pins(self.inputs))
        s.drift = self._drift()
        self.metrics_text = render(s)

    def _drift(self) -> int | None:
        """1 or 0 when apply has loaded a ruleset here (state directory), else None."""
        from nhn_appliance.state import StateDir

        state = StateDir(self.config.state_dir)
        try:
            if not state.current().entry:
                return None
            from nhn_appliance.drift import drift

            return drift(self.inputs, state, None, True, lambda _line: None)
        except Exception as exc:  # the drift check must never stop the watch
            log.warning("drift check failed: %s", exc)
            return None

    def _restore_streaks(self) -> None:
        """Failing runs in a row per service, as the history ends (serve restarted)."""
        runs = self.history.recent(200)
        for name in {n for r in runs for n in r.services}:
            n = 0
            for r in runs:
                if r.services.get(name) not in FAILING:
                    break
                n += 1
            first = next((f for f in runs[0].findings if f["service"] == name), {}) if n else {}
            self.snapshot.streaks[name] = (n, first.get("title", ""), first.get("source", ""))

    # -- /probe ------------------------------------------------------------------------
    async def probe(self, service: str) -> tuple[int, str]:
        """One service on demand (HTTP status, body), rate-limited; never beside a run."""
        from nhn_appliance.metrics import Snapshot as Snap

        if service not in self.inputs.site.services:
            return (
                400,
                f"unknown service {service!r} (allowed: {', '.join(self.inputs.site.services)})\n",
            )
        assert self.run_lock is not None
        wait = self.last_probe + PROBE_MIN_GAP_S - time.monotonic()
        if wait > 0:
            return 429, f"one /probe per {PROBE_MIN_GAP_S:g} s; retry in {wait:.0f} s\n"
        if self.run_lock.locked():
            return 503, "a probe run is in progress; retry when it ends\n"
        async with self.run_lock:
            self.last_probe = time.monotonic()
            outcome = await self.run({service})
        self.snapshot.probes_total += 1
        s = self.snapshot
        one = Snap(
            s.site,
            s.version,
            s.catalogue,
            s.interval_s,
            s.clock_warn_s,
            s.clock_fail_s,
            s.clock_source,
        )
        one.report, one.results = outcome.report, outcome.doc["results"]
        one.run_started, one.run_ended = (
            _epoch(outcome.doc["started_at"]),
            _epoch(outcome.doc["ended_at"]),
        )
        return 200, render(one)


async def loop_forever(app: Appliance, stop: asyncio.Event) -> None:
    """Run, keep, wait; until ``stop``."""
    assert app.run_lock is not None
    next_at = time.monotonic()
    while not stop.is_set():
        delay = next_at - time.monotonic()
        if delay > 0:
            try:
                await asyncio.wait_for(stop.wait(), delay)
                break
            except TimeoutError:
                pass
        began = time.monotonic()
        try:
            async with app.run_lock:
                outcome = await app.run()
                app.keep(outcome)
        except asyncio.CancelledError:
            raise
        except Exception:
            app.snapshot.run_errors_total += 1
            log.exception("probe run failed")
            app._refresh()
        if app.config.once:
            break
        next_at = max(began + app.config.interval_s, time.monotonic())


def serve(inputs: Inputs, config: ServeConfig) -> int:
    """Everything checked, then bound, then started; exit 0 when stopped by a signal."""
    from nhn_appliance.serve_config import bind, check_writable
    from nhn_appliance.serve_http import HttpServer

    setup_logging()
    check_writable(config)
    history = History(config.history_path, config.history_max_age_s, config.history_max_bytes)
    sock = None if config.once else bind(config)
    app = Appliance(inputs, config, history)
    http = HttpServer(sock, app) if sock is not None else None

    async def main() -> None:
        app.loop = asyncio.get_running_loop()
        app.run_lock = asyncio.Lock()
        stop = asyncio.Event()
        worker = asyncio.ensure_future(loop_forever(app, stop))

        def on_signal(signum: int) -> None:
            log.info("signal=%s: stopping", signal.Signals(signum).name)
            stop.set()
            worker.cancel()

        for sig in (signal.SIGTERM, signal.SIGINT):
            app.loop.add_signal_handler(sig, on_signal, sig)
        if http is not None:
            http.start()
            log.info(
                "listening=%s:%d site=%s interval_s=%g",
                config.host,
                config.port,
                inputs.site.name,
                config.interval_s,
            )
        try:
            await worker
        except asyncio.CancelledError:
            pass

    try:
        asyncio.run(main())
    finally:
        if http is not None:
            http.stop()
        history.close()
        log.info("stopped")
    if config.once and app.latest is not None:
        return 1 if app.latest.report["verdict"] in FAILING else 0
    return 0


class _JournalFormat(logging.Formatter):
    """``<N>`` syslog priority prefixes, which journald reads from a service's stderr."""

    LEVELS = {
        logging.DEBUG: 7,
        logging.INFO: 6,
        logging.WARNING: 4,
        logging.ERROR: 3,
        logging.CRITICAL: 2,
    }

    def format(self, record: logging.LogRecord) -> str:
        return f"<{self.LEVELS.get(record.levelno, 6)}>{super().format(record)}"


def setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    import os

    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormat("%(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False


def _epoch(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
