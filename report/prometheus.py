"""Prometheus node_exporter textfile-collector format.

The command line writes it atomically (temporary file in the same folder,
then rename), as the textfile collector requires.
"""

from __future__ import annotations

from typing import Any

VERDICT = {"ok": 0, "warn": 1, "fail": 2, "error": 3, "skipped": -1}
SEVERITY = {"info": 0, "warn": 1, "fail": 2}


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
        "Overall verdict: 0 ok, 1 warn, 2 fail, 3 error.",
        [({}, VERDICT[report["verdict"]])],
    )
    metric(
        "report_checks",
        "Checks by status.",
        [({"status": s}, n) for s, n in report["summary"].items()],
    )
    metric(
        "report_service_verdict",
        "Verdict per service: -1 not run, 0 ok, 1 warn, 2 fail, 3 error.",
        [({"service": s["service"]}, VERDICT[s["verdict"]]) for s in report["services"]],
    )
    metric(
        "report_finding",
        "A finding of the diagnosis: 0 info, 1 warn, 2 fail.",
        [
            ({"id": f["id"], "service": f["service"]}, SEVERITY[f["severity"]])
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
    return "\n".join(out) + "\n"
