"""The before/after comparison (:mod:`.compare`) in each report format.

text: what changed first (broke, still failing, fixed), one line per check;
json: the comparison model; nagios: one line, CRITICAL when something broke,
else the state the "after" run has on its own; prometheus: checks per change;
html: one page, before and after side by side.
"""

from __future__ import annotations

import json
from typing import Any

from nhn_appliance.report import text as text_format
from nhn_appliance.report.age import say_age
from nhn_appliance.report.compare import CHANGES

#: the "after" run's verdict as a plugin state (as report/nagios.py maps a report)
VERDICT_STATE = {
    "ok": "OK",
    "warn": "WARNING",
    "fail": "CRITICAL",
    "error": "UNKNOWN",
    "incomplete": "UNKNOWN",
}
CODES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}


def _status(lb: dict[str, str], status: str) -> str:
    return lb.get("status_" + status, status.upper())


def _counts(cmp: dict[str, Any]) -> str:
    lb = cmp["labels"]
    found = [f"{n} {lb['change_' + c].lower()}" for c, n in cmp["changes"].items() if n]
    return ", ".join(found) or lb["no_changes"]


def render_text(cmp: dict[str, Any]) -> str:
    lb, wrap = cmp["labels"], text_format.wrap
    b, a = cmp["before"], cmp["after"]
    lines = [lb["compare_title"]]
    if not cmp["same_site"]:
        lines.append(f"! {lb['other_site']}")
    for word, side in ((lb["before"], b), (lb["after"], a)):
        lines.append(
            f"{word}: {lb['verdict'].lower()} {_status(lb, side['verdict'])}, {lb['site'].lower()} "
            f"{side['site']}, {side['started_at']} ({lb['age'].lower()} "
            f"{say_age(side['age_s'], lb)})"
        )
        for note in side["notes"]:
            lines += wrap(f"! {note}", "  ")
    lines += [f"{lb['change']}: {_counts(cmp)}", "", f"{lb['services']}:"]
    for s in cmp["services"]:
        lines.append(
            f"  {lb['change_' + s['change']]}  {s['title']}: "
            f"{_status(lb, s['before'])} -> {_status(lb, s['after'])}"
        )
        for c in s["checks"]:
            if c["change"] in ("stayed_ok", "unverified"):
                continue
            lines.append(
                f"    {lb['change_' + c['change']]}: {c['what']} {c['target']}: "
                f"{_status(lb, c['before'])} -> {_status(lb, c['after'])}"
            )
            if c["after_detail"] and c["change"] in ("broke", "stayed_failing"):
                lines += wrap(c["after_detail"], "      ")
    findings = a["findings"]
    lines += ["", f"{lb['findings']} ({lb['after'].lower()}):"]
    lines += [f"  - {t}" for t in findings] or [f"  {lb['no_findings']}"]
    return "\n".join(lines) + "\n"


def state(cmp: dict[str, Any]) -> str:
    if cmp["changes"]["broke"]:
        return "CRITICAL"
    if cmp["after"]["summary"].get("fail"):
        return "CRITICAL"
    return VERDICT_STATE.get(cmp["after"]["verdict"], "UNKNOWN")


def exit_code(cmp: dict[str, Any]) -> int:
    return CODES[state(cmp)]


def render_nagios(cmp: dict[str, Any]) -> str:
    lb = cmp["labels"]
    line = f"NHN {state(cmp)} - {lb['compare_title']}: {_counts(cmp)}"
    line += f"; {lb['after'].lower()}: {_status(lb, cmp['after']['verdict'])}"
    for note in cmp["after"]["notes"]:
        line += f"; {note}"
    line = " ".join(line.split()).replace("|", "/")
    perf = " ".join(f"{c}={n}" for c, n in cmp["changes"].items())
    return f"{line} | {perf}\n"


def render_prometheus(cmp: dict[str, Any]) -> str:
    site = str(cmp["after"]["site"]).replace("\\", "\\\\").replace('"', '\\"')
    out = [
        "# HELP nhn_appliance_compare_checks Checks by change from before to after.",
        "# TYPE nhn_appliance_compare_checks gauge",
    ]
    out += [
        f'nhn_appliance_compare_checks{{site="{site}",change="{c}"}} {n}'
        for c, n in cmp["changes"].items()
    ]
    out += [
        "# HELP nhn_appliance_compare_service_checks Checks of a service by change.",
        "# TYPE nhn_appliance_compare_service_checks gauge",
    ]
    for s in cmp["services"]:
        out += [
            f'nhn_appliance_compare_service_checks{{site="{site}",service="{s["service"]}",'
            f'change="{c}"}} {n}'
            for c, n in s["counts"].items()
        ]
    return "\n".join(out) + "\n"


def render_html(cmp: dict[str, Any]) -> str:
    from nhn_appliance.report.html import environment, show_time

    lb = cmp["labels"]
    sides = []
    for word, side in ((lb["before"], cmp["before"]), (lb["after"], cmp["after"])):
        sides.append(
            {
                "word": word,
                **side,
                "started": show_time(side["started_at"]),
                "age": say_age(side["age_s"], lb),
            }
        )
    return (
        environment()
        .get_template("compare.html.j2")
        .render(L=lb, lang=cmp["lang"], cmp=cmp, sides=sides, counts=_counts(cmp), changes=CHANGES)
    )


def render(cmp: dict[str, Any], name: str) -> str:
    if name == "json":
        return json.dumps(cmp, indent=2, ensure_ascii=False) + "\n"
    renderer = {
        "text": render_text,
        "nagios": render_nagios,
        "prometheus": render_prometheus,
        "html": render_html,
    }.get(name)
    if renderer is None:
        from nhn_appliance.report import get_format

        get_format(name)  # the usage error naming the formats
        raise AssertionError(name)
    return renderer(cmp)
