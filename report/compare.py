"""Before and after: what a fix changed, per service and per check.

``compare(before, after)`` takes two report models (:func:`model.build_report`)
and returns the comparison model; :func:`render` gives it in any report
format (text, json, nagios, prometheus, html). Checks are matched by their
id (``tcp:91.186.92.28:40000``), which the probe plan derives from the
catalogue, so the same opening has the same id in both runs.

A check's change, from its status before to after (ok is good; warn, fail
and error are bad; skipped and unverified say nothing):
fixed (bad -> ok), broke (ok or nothing -> bad), stayed_ok, stayed_failing,
new (only after), gone (only before), not_run (not run in one of the runs),
unverified (cannot be verified from the site in either run).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nhn_appliance.report import present

SCHEMA = "nhn-appliance/report-compare/1"
#: the changes, most urgent first (the order of counts and of a service's change)
CHANGES = (
    "broke",
    "stayed_failing",
    "fixed",
    "new",
    "gone",
    "not_run",
    "unverified",
    "stayed_ok",
)
BAD = frozenset({"warn", "fail", "error"})


def _side(check: Mapping[str, Any] | None) -> str:
    if check is None:
        return "missing"
    if check.get("unverified"):
        return "unverified"
    return str(check.get("status", "error"))


def change(before: str, after: str) -> str:
    """The change of one check from its display status before to after."""
    if {before, after} <= {"unverified", "missing"} and "unverified" in (before, after):
        return "unverified"
    if before == "missing":
        return "new" if after != "missing" else "not_run"
    if after == "missing":
        return "gone"
    if after in BAD:
        return "stayed_failing" if before in BAD else "broke" if before == "ok" else "not_run"
    if after == "ok":
        return "fixed" if before in BAD else "stayed_ok" if before == "ok" else "not_run"
    return "not_run"


def _meta(report: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "site": report["site"]["name"],
        "started_at": report["started_at"],
        "ended_at": report["ended_at"],
        "verdict": report["verdict"],
        "age_s": report.get("age_s"),
        "summary": dict(report["summary"]),
        "notes": present.notes(report),
        "findings": [f["title"] for f in present.ordered(report)],
    }


def _checks(svc: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    return {str(c["id"]): c for c in (svc or {}).get("checks", [])}


def compare(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The comparison model of two reports in the same language."""
    lb = after["labels"]
    old = {s["service"]: s for s in before["services"]}
    new = {s["service"]: s for s in after["services"]}
    names = list(new) + [n for n in old if n not in new]
    services, totals = [], dict.fromkeys(CHANGES, 0)
    for name in names:
        was, now = _checks(old.get(name)), _checks(new.get(name))
        rows = []
        for cid in list(now) + [c for c in was if c not in now]:
            b, a = was.get(cid), now.get(cid)
            row_change = change(_side(b), _side(a))
            totals[row_change] += 1
            shown = a or b or {}
            rows.append(
                {
                    "id": cid,
                    "what": shown.get("what", shown.get("kind", "")),
                    "target": shown.get("target", ""),
                    "before": _side(b),
                    "after": _side(a),
                    "before_detail": (b or {}).get("detail", ""),
                    "after_detail": (a or {}).get("detail", ""),
                    "change": row_change,
                }
            )
        rows.sort(key=lambda r: CHANGES.index(r["change"]))
        found = {r["change"] for r in rows}
        svc = new.get(name) or old.get(name) or {}
        services.append(
            {
                "service": name,
                "title": svc.get("title", name),
                "before": old[name]["verdict"] if name in old else "missing",
                "after": new[name]["verdict"] if name in new else "missing",
                "change": next((c for c in CHANGES if c in found), "not_run"),
                "counts": {c: sum(1 for r in rows if r["change"] == c) for c in CHANGES},
                "checks": rows,
            }
        )
    return {
        "schema": SCHEMA,
        "lang": after["lang"],
        "same_site": before["site"]["name"] == after["site"]["name"],
        "before": _meta(before),
        "after": _meta(after),
        "changes": totals,
        "services": services,
        "labels": lb,
    }


def render(comparison: dict[str, Any], name: str) -> str:
    """The comparison in report format ``name``."""
    from nhn_appliance.report import compare_formats

    return compare_formats.render(comparison, name)
