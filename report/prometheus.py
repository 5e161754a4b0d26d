"""Prometheus node_exporter textfile-collector format.

The command line writes it atomically (temporary file in the same folder,
then rename), as the textfile collector requires.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nhn_appliance.probes.model import Status, worst
from nhn_appliance.report.age import parse_time
from nhn_appliance.report.diagnose import SEVERITIES


def _verdict(status: str) -> int:
    """The product's status order as a number (probes.model.SEVERITY): -1 skipped ... 3 error;
    an incomplete run says no more than an error: 3."""
    return worst([status]).severity


def _finding(severity: str) -> int:
    """A finding's severity as a number: 0 for the mildest (info) upwards."""
    return len(SEVERITIES) - 1 - SEVERITIES.index(severity)


def _scale(values: Iterable[tuple[int, str]]) -> str:
    """ "0 ok, 1 warn, ..." for a metric's help text."""
    return ", ".join(f"{n} {word}" for n, word in sorted(values))


#: the overall verdict is never "skipped" (a run of skipped checks is ok)
VERDICT_SCALE = _scale(
    (s.severity, "error or incomplete" if s is Status.ERROR else s.value)
    for s in Status
    if s is not Status.SKIPPED
)
SERVICE_SCALE = _scale((s.severity, "not run" if s is Status.SKIPPED else s.value) for s in Status)
FINDING_SCALE = _scale((_finding(s), s) for s in SEVERITIES)


def _esc(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**kv: Any) -> str:
    return "{" + ",".join(f'{k}="{_esc(v)}"' for k, v in kv.items()) + "}"


def render(report: dict[str, Any]) -> str:
    site = report["site"]["name"]
    out: list[str] = []

    def metric(name: str, help_text: str, rows: list[tuple[dict[str, Any], Any]]) -> None:
        out.append(f"# HELP nhn_appliance_{name} {help_text}")
        out.append(f"# TYPE nhn_appliance_{name} gauge")
        for labels, value in rows:
            out.append(f"nhn_appliance_{name}{_labels(site=site, **labels)} {value}")

    metric(
        "report_verdict",
        f"Overall verdict: {VERDICT_SCALE}.",
        [({}, _verdict(report["verdict"]))],
    )
    metric(
        "report_checks",
        "Checks by status (unverified: cannot be verified from the site; skipped: not run).",
        [({"status": s}, n) for s, n in report["summary"].items()],
    )
    metric(
        "report_service_verdict",
        f"Verdict per service: {SERVICE_SCALE}.",
        [({"service": s["service"]}, _verdict(s["verdict"])) for s in report["services"]],
    )
    metric(
        "report_finding",
        f"A finding of the diagnosis: {FINDING_SCALE}.",
        [
            ({"id": f["id"], "service": f["service"]}, _finding(f["severity"]))
            for f in report["findings"]
        ],
    )
    metric(
        "report_unverified_checks",
        "Checks that cannot be verified from the site.",
        [({}, len(report["unverified"]))],
    )
    metric("report_runtime_seconds", "Wall time of the probe run.", [({}, report["runtime_s"])])
    metric(
        "report_interrupted",
        "1 when the probe run was interrupted.",
        [({}, int(report["interrupted"]))],
    )
    whole = report.get("completeness") or {}
    metric(
        "report_incomplete",
        "1 when the run is incomplete (interrupted, or most checks did not run).",
        [({}, int(not whole.get("complete", True)))],
    )
    if (when := parse_time(report.get("ended_at") or report.get("started_at"))) is not None:
        metric(
            "report_run_timestamp_seconds",
            "When the probe run ended (Unix time): a stale textfile shows here.",
            [({}, round(when.timestamp(), 3))],
        )
    if report.get("age_s") is not None:
        metric(
            "report_age_seconds",
            "Age of the result document when the report was made.",
            [({}, report["age_s"])],
        )
    metric(
        "report_stale",
        "1 when the document is older than --max-age.",
        [({}, int(report.get("stale", False)))],
    )
    return "\n".join(out) + "\n"
