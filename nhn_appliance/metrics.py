"""``/metrics`` of ``serve``: the Prometheus text exposition format (version 0.0.4).

Pure: a :class:`Snapshot` of the latest run in, text out. Built once per run
and kept, so a scrape costs nothing whatever the history holds. Names and
labels follow blackbox_exporter's probe metrics where they overlap
(``*_success``, ``*_duration_seconds``); the reason is the closed vocabulary
of ``probes.reasons`` as a label value; every series has a ``site`` label so
that one Prometheus can scrape thousands of appliances.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from nhn_appliance.probes.model import worst
from nhn_appliance.report.prometheus import FINDING_SCALE, SERVICE_SCALE, _finding

#: the MIME type Prometheus asks for
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "nhn_appliance"


@dataclass
class Snapshot:
    """What one exposition says: the site, the latest run and its diagnosis."""

    site: str
    version: str
    catalogue: str
    interval_s: float
    clock_warn_s: float
    clock_fail_s: float
    clock_source: str
    report: dict[str, Any] | None = None  #: the latest run's report (None: no run yet)
    results: list[dict[str, Any]] = field(default_factory=list)  #: its result document's
    run_started: float = 0.0
    run_ended: float = 0.0
    runs_total: int = 0
    run_errors_total: int = 0
    probes_total: int = 0  #: /probe requests run
    #: service -> (failing runs in a row, the first finding's title, its source)
    streaks: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    stale_pins: int = 0
    drift: int | None = None  #: 1 drift, 0 none, None: nothing applied here
    history_runs: int = 0
    history_bytes: int = 0
    history_replaced: int = 0


def _esc(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


class _Out:
    def __init__(self, site: str) -> None:
        self.site, self.lines = site, []  # type: ignore[var-annotated]

    def metric(
        self, name: str, kind: str, help_text: str, rows: Iterable[tuple[dict[str, Any], Any]]
    ) -> None:
        rows = list(rows)
        if not rows:
            return
        self.lines.append(f"# HELP {PREFIX}_{name} {help_text}")
        self.lines.append(f"# TYPE {PREFIX}_{name} {kind}")
        for labels, value in rows:
            pairs = {"site": self.site, **labels}
            text = ",".join(f'{k}="{_esc(v)}"' for k, v in pairs.items())
            self.lines.append(f"{PREFIX}_{name}{{{text}}} {_num(value)}")


def render(s: Snapshot) -> str:
    out = _Out(s.site)
    out.metric(
        "info",
        "gauge",
        "The appliance: product version and catalogue revision.",
        [({"version": s.version, "catalogue": s.catalogue}, 1)],
    )
    out.metric("interval_seconds", "gauge", "Seconds between probe runs.", [({}, s.interval_s)])
    out.metric("runs_total", "counter", "Probe runs since serve started.", [({}, s.runs_total)])
    out.metric(
        "run_errors_total",
        "counter",
        "Probe runs that ended in an error of the appliance itself (see the journal).",
        [({}, s.run_errors_total)],
    )
    out.metric("probe_requests_total", "counter", "/probe requests run.", [({}, s.probes_total)])
    _history(out, s)
    if s.stale_pins >= 0:
        out.metric(
            "pins_stale",
            "gauge",
            "Pinned names older than the site's pin_max_age_days.",
            [({}, s.stale_pins)],
        )
    if s.drift is not None:
        out.metric(
            "drift",
            "gauge",
            "1 when the kernel's firewall differs from what render gives now.",
            [({}, s.drift)],
        )
    out.metric(
        "clock_limit_seconds",
        "gauge",
        "The catalogue's clock offset limits (warn, fail) and their source.",
        [
            ({"level": "warn", "source": s.clock_source}, s.clock_warn_s),
            ({"level": "fail", "source": s.clock_source}, s.clock_fail_s),
        ],
    )
    if s.report is not None:
        _run(out, s, s.report)
    return "\n".join(out.lines) + "\n"


def _history(out: _Out, s: Snapshot) -> None:
    out.metric("history_runs", "gauge", "Runs the history holds.", [({}, s.history_runs)])
    out.metric("history_bytes", "gauge", "Bytes the history's pages hold.", [({}, s.history_bytes)])
    out.metric(
        "history_replaced_total",
        "counter",
        "Times a deleted or unreadable history file was replaced by a new one.",
        [({}, s.history_replaced)],
    )


def _run(out: _Out, s: Snapshot, report: dict[str, Any]) -> None:
    out.metric(
        "last_run_timestamp_seconds",
        "gauge",
        "When the latest probe run ended (Unix time).",
        [({}, round(s.run_ended, 3))],
    )
    out.metric(
        "last_run_duration_seconds",
        "gauge",
        "Wall time of the latest probe run.",
        [({}, round(s.run_ended - s.run_started, 3))],
    )
    out.metric(
        "last_run_interrupted",
        "gauge",
        "1 when the latest run was cut short (deadline, stop).",
        [({}, int(report["interrupted"]))],
    )
    checks = [r for r in s.results if r.get("status") != "skipped"]
    out.metric(
        "check_success",
        "gauge",
        "1 when the check passed (ok or warn); reason: the probe's closed vocabulary.",
        [(_check_labels(r, reason=True), int(r["status"] in ("ok", "warn"))) for r in checks],
    )
    out.metric(
        "check_duration_seconds",
        "gauge",
        "How long the check took.",
        [(_check_labels(r), round(float(r.get("duration_s") or 0), 6)) for r in checks],
    )
    out.metric(
        "clock_offset_seconds",
        "gauge",
        "This machine's clock offset from an NTP server (positive: behind).",
        [
            ({"server": r["target"]}, r["evidence"]["offset_s"])
            for r in s.results
            if r.get("kind") == "ntp" and "offset_s" in (r.get("evidence") or {})
        ],
    )
    out.metric(
        "service_verdict",
        "gauge",
        f"Verdict per service: {SERVICE_SCALE}.",
        [({"service": v["service"]}, worst([v["verdict"]]).severity) for v in report["services"]],
    )
    out.metric(
        "service_failing_runs",
        "gauge",
        "Runs in a row the service failed (fail or error), with its first finding and source.",
        [
            ({"service": name, "finding": title, "source": source}, n)
            for name, (n, title, source) in sorted(s.streaks.items())
        ],
    )
    out.metric(
        "finding",
        "gauge",
        f"An active finding of the diagnosis: {FINDING_SCALE}.",
        [
            (
                {"id": f["id"], "service": f["service"], "severity": f["severity"]},
                _finding(f["severity"]),
            )
            for f in report["findings"]
        ],
    )
    out.metric(
        "findings_active",
        "gauge",
        "Active findings of the latest run.",
        [({}, len(report["findings"]))],
    )


def _check_labels(r: dict[str, Any], reason: bool = False) -> dict[str, Any]:
    labels = {"service": r.get("service") or "-", "kind": r["kind"], "check": r["id"]}
    if reason:
        labels["reason"] = str(r.get("reason") or "")
    return labels
