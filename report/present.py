"""What every format says the same way: the run's warnings, its age, the causes.

Shared by text, HTML, Nagios and the comparison so that each says "incomplete",
"old" and "follows from" in the same words (``labels.toml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nhn_appliance.report.age import say_age


def age_text(report: Mapping[str, Any]) -> str:
    return say_age(report.get("age_s"), report["labels"])


def notes(report: Mapping[str, Any]) -> list[str]:
    """The warnings about the run itself, most important first: interrupted,
    incomplete, too old. Empty for a complete, fresh run."""
    lb = report["labels"]
    out = []
    whole = report.get("completeness") or {}
    if report.get("interrupted"):
        out.append(lb["interrupted"])
    if whole and not whole.get("complete", True):
        out.append(
            lb["incomplete_note"].format(
                not_run=whole.get("not_run", 0), total=whole.get("total", 0)
            )
        )
    if report.get("stale"):
        out.append(lb["stale"].format(max_age=say_age(report.get("max_age_s"), lb)))
    return out


def by_id(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(f.get("id")): f for f in report.get("findings") or []}


def causes_of(finding: Mapping[str, Any], report: Mapping[str, Any]) -> list[str]:
    """The titles of the causes a consequence follows from (ids without a finding kept)."""
    found = by_id(report)
    return [str(found[i]["title"]) if i in found else i for i in finding.get("because_of") or []]


def explained_by(finding: Mapping[str, Any], report: Mapping[str, Any]) -> list[str]:
    """The titles of the consequences a cause explains."""
    fid = finding.get("id")
    return [
        str(f["title"]) for f in report.get("findings") or [] if fid in (f.get("because_of") or [])
    ]


def ordered(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Findings, causes first, then consequences, then the rest (stable within each)."""
    rank = {"cause": 0, "consequence": 1}
    return sorted(report.get("findings") or [], key=lambda f: rank.get(f.get("role", ""), 2))
