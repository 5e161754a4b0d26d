"""Nagios/Icinga plugin output: one status line, perfdata after '|'.

Exit codes (plugin guidelines): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
A failing check makes CRITICAL even when another check could not run
(error); only errors without failures make UNKNOWN.
"""

from __future__ import annotations

from typing import Any

from nhn_appliance.probes.model import Status, worst

#: the plugin states and their exit codes (Nagios plugin guidelines)
CODES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}
#: the plugin state of a verdict; nothing run says nothing: UNKNOWN
STATE = {
    Status.OK: "OK",
    Status.WARN: "WARNING",
    Status.FAIL: "CRITICAL",
    Status.ERROR: "UNKNOWN",
    Status.SKIPPED: "UNKNOWN",
}


def state(report: dict[str, Any]) -> str:
    """The plugin state; a failing check is CRITICAL even beside a check that could not run."""
    if report.get("summary", {}).get("fail", 0):
        return "CRITICAL"
    return STATE[worst([report.get("verdict", "error")])]


def exit_code(report: dict[str, Any]) -> int:
    return CODES[state(report)]


def _perf(label: str, value: Any, unit: str = "") -> str:
    return f"{label}={value}{unit}"


def render(report: dict[str, Any]) -> str:
    labels = report["labels"]
    site = report["site"]["name"] or "-"
    summary = report["summary"]
    bad = [s for s in report["services"] if worst([s["verdict"]]).severity > Status.OK.severity]
    parts = [f"{s['service']} {labels['status_' + s['verdict']]}" for s in bad]
    findings = [f for f in report["findings"] if f["severity"] in ("fail", "warn")]
    text = f"NHN {state(report)} - {labels['site'].lower()} {site}: "
    text += ", ".join(parts) if parts else labels["status_ok"]
    if findings:
        text += "; " + "; ".join(f["title"] for f in findings[:3])
        if len(findings) > 3:
            text += f" (+{len(findings) - 3})"
    if report.get("interrupted"):
        text += f"; {labels['interrupted']}"
    text = text.replace("|", "/")  # a '|' would start the perfdata
    perf = [_perf(s.value, summary.get(s.value, 0)) for s in Status]
    perf += [_perf("findings", len(report["findings"])), _perf("runtime", report["runtime_s"], "s")]
    return f"{text} | {' '.join(perf)}\n"
