"""Plain text: a summary that pastes into an e-mail to NHN's customer centre.

The first lines hold what support reads first (verdict, site, time, age, what
is wrong with the run itself, the verdict per service); then the findings,
causes first, each consequence naming its cause; checks that could not be
verified; every check that is not ok, in words; the contacts.
"""

from __future__ import annotations

import textwrap
from typing import Any

from nhn_appliance.render.escape import visible
from nhn_appliance.report import present

WIDTH = 78


def wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def counts(labels: dict[str, str], found: dict[str, int]) -> str:
    return ", ".join(f"{n} {labels['status_' + s].lower()}" for s, n in found.items() if n)


def shown(value: Any) -> Any:
    """The report with every text escaped: a control character or escape sequence
    from the document (or from a probed server) is printed as ``\x1b``, never acted
    on by a terminal, and a line break in a value never starts a line of its own."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {k: shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shown(v) for v in value]
    return value


def render(report: dict[str, Any]) -> str:
    report = shown(report)
    lb = report["labels"]
    site, sw = report["site"], report["software"]
    host = report.get("host") or {}
    lines = [
        f"{lb['report_title']} ({sw['name']} {sw['version']})",
        f"{lb['verdict']}: {lb['status_' + report['verdict']]}",
        f"{lb['site']}: {site['name']}" + (f" ({site['file']})" if site["file"] else ""),
        f"{lb['time']}: {report['started_at']} - {report['ended_at']} ({report['runtime_s']:g} s)",
        f"{lb['age']}: {present.age_text(report)} ({lb['generated'].lower()} "
        f"{report['generated_at']})",
    ]
    if host.get("hostname"):
        lines.append(f"{lb['host']}: {host['hostname']}")
    lines.append(f"{lb['checks']}: {counts(lb, report['summary'])}")
    for note in present.notes(report):
        lines += wrap(f"! {note}", "")
    lines += ["", f"{lb['services']}:"]
    width = max((len(lb["status_" + s["verdict"]]) for s in report["services"]), default=2)
    for s in report["services"]:
        lines.append(
            f"  {lb['status_' + s['verdict']]:<{width}}  {s['title']}: {counts(lb, s['counts'])}"
        )

    lines += ["", f"{lb['findings']}:"]
    if not report["findings"]:
        lines.append(f"  {lb['no_findings']}")
    for i, f in enumerate(present.ordered(report), 1):
        role = f"{lb['role_' + f['role']]}, " if f.get("role") in ("cause", "consequence") else ""
        lines.append(f"  {i}. [{role}{lb['severity_' + f['severity']]}] {f['title']}")
        if causes := present.causes_of(f, report):
            lines += wrap(f"{lb['because_of']}: {'; '.join(causes)}", "     ")
        lines += wrap(f"{lb['explanation']}: {f['explanation']}", "     ")
        lines += wrap(f"{lb['remediation']}: {f['remediation']}", "     ")
        lines += wrap(f"{lb['source']}: {f['source']}", "     ")
        lines += wrap(f"{lb['checks']}: {', '.join(f['checks'])}", "     ")

    if report["unverified"]:
        lines += ["", f"{lb['unverified']} ({lb['unverified_note']}):"]
        titles = {s["service"]: s["title"] for s in report["services"]}
        for u in report["unverified"]:
            lines.append(f"  - {titles.get(u['service'], u['service'])}: {u['target']}")

    bad = [
        (s["title"], c)
        for s in report["services"]
        for c in s["checks"]
        if c["status"] in ("warn", "fail", "error")
        or (c["status"] == "skipped" and not c["unverified"])
    ]
    if bad:
        lines += ["", f"{lb['not_ok']}:"]
        for title, c in bad:
            lines.append(f"  {lb['status_' + c['status']]}  {title}: {c['what']} {c['target']}")
            if c["detail"]:
                lines += wrap(c["detail"], "      ")

    ct = report["contacts"]
    lines += [
        "",
        f"{lb['contacts']}: {ct['email']}, {lb['phones'].lower()} "
        f"{' / '.join(ct['phones'])} ({ct['hours']})",
    ]
    return "\n".join(lines) + "\n"
