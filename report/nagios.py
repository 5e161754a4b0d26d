"""Nagios/Icinga plugin output: one status line, perfdata after '|'.

Exit codes (plugin guidelines): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
A failing check makes CRITICAL even when another check could not run; a run
that is incomplete (interrupted, or most checks not run) is UNKNOWN, never
OK; an old document (``--max-age``) is at least WARNING; a document that
cannot be read is one UNKNOWN line (:func:`unreadable`), never an empty
CRITICAL.
"""

from __future__ import annotations

from typing import Any

from nhn_appliance.probes.model import Status, worst
from nhn_appliance.render.escape import visible
from nhn_appliance.report import present
from nhn_appliance.report.text import shown

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
    if report.get("verdict") == "incomplete":
        return "UNKNOWN"
    found = STATE[worst([report.get("verdict", "error")])]
    if report.get("stale") and found == "OK":
        return "WARNING"
    return found


def exit_code(report: dict[str, Any]) -> int:
    return CODES[state(report)]


def _perf(label: str, value: Any, unit: str = "") -> str:
    return f"{label}={value}{unit}"


def _line(text: str) -> str:
    """One line, and no '|' before the perfdata (a '|' would start it); line breaks
    become spaces and every other control character a visible escape (``\x1b``)."""
    return visible(" ".join(text.split()).replace("|", "/"))


def unreadable(message: str, labels: dict[str, str]) -> str:
    """The one line for a document that cannot be read (exit :data:`CODES` UNKNOWN)."""
    return f"NHN UNKNOWN - {_line(labels['cannot_read'] + ': ' + message)}\n"


def render(report: dict[str, Any]) -> str:
    report = shown(report)
    labels = report["labels"]
    site = report["site"]["name"] or "-"
    summary = report["summary"]
    bad = [s for s in report["services"] if worst([s["verdict"]]).severity > Status.OK.severity]
    parts = [f"{s['service']} {labels['status_' + s['verdict']]}" for s in bad]
    findings = [f for f in present.ordered(report) if f["severity"] in ("fail", "warn")]
    text = f"NHN {state(report)} - {labels['site'].lower()} {site}: "
    text += ", ".join(parts) if parts else labels["status_" + report["verdict"]]
    if findings:
        text += "; " + "; ".join(f["title"] for f in findings[:3])
        if len(findings) > 3:
            text += f" (+{len(findings) - 3})"
    for note in present.notes(report):
        text += f"; {note}"
    text += f"; {labels['age'].lower()} {present.age_text(report)}"
    perf = [_perf(k, n) for k, n in summary.items()]
    perf += [_perf("findings", len(report["findings"])), _perf("runtime", report["runtime_s"], "s")]
    if report.get("age_s") is not None:
        perf.append(_perf("age", round(max(0.0, report["age_s"])), "s"))
    return f"{_line(text)} | {' '.join(perf)}\n"
