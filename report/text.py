"""Plain text: a summary that pastes into an e-mail to NHN's customer centre.

The first lines hold what support reads first (verdict, site, time, the
verdict per service); details follow: findings with remediation, checks that
could not be verified, every check that is not ok, the contacts.
"""

from __future__ import annotations

from typing import Any

from nhn_appliance.probes.model import Status, worst

WIDTH = 78


def _wrap(text: str, indent: str) -> list[str]:
    import textwrap

    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def _counts(labels: dict[str, str], counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {labels['status_' + s].lower()}" for s, n in counts.items() if n)


def render(report: dict[str, Any]) -> str:
    lb = report["labels"]
    site, sw = report["site"], report["software"]
    host = report.get("host") or {}
    lines = [
        f"{lb['report_title']} ({sw['name']} {sw['version']})",
        f"{lb['verdict']}: {lb['status_' + report['verdict']]}",
        f"{lb['site']}: {site['name']}" + (f" ({site['file']})" if site["file"] else ""),
        f"{lb['time']}: {report['started_at']} - {report['ended_at']} ({report['runtime_s']:g} s)",
    ]
    if host.get("hostname"):
        lines.append(f"{lb['host']}: {host['hostname']}")
    lines.append(f"{lb['checks']}: {_counts(lb, report['summary'])}")
    if report["interrupted"]:
        lines.append(lb["interrupted"])
    lines += ["", f"{lb['services']}:"]
    width = max((len(lb["status_" + s["verdict"]]) for s in report["services"]), default=2)
    for s in report["services"]:
        lines.append(
            f"  {lb['status_' + s['verdict']]:<{width}}  {s['title']}: {_counts(lb, s['counts'])}"
        )

    lines += ["", f"{lb['findings']}:"]
    if not report["findings"]:
        lines.append(f"  {lb['no_findings']}")
    for i, f in enumerate(report["findings"], 1):
        lines.append(f"  {i}. [{lb['severity_' + f['severity']]}] {f['title']}")
        lines += _wrap(f"{lb['explanation']}: {f['explanation']}", "     ")
        lines += _wrap(f"{lb['remediation']}: {f['remediation']}", "     ")
        lines.append(f"     {lb['source']}: {f['source']}")
        lines += _wrap(f"{lb['checks']}: {', '.join(f['checks'])}", "     ")

    if report["unverified"]:
        lines += ["", f"{lb['unverified']} ({lb['unverified_note']}):"]
        for u in report["unverified"]:
            lines.append(f"  - {u['service']}: {u['target']}")

    bad = [
        (s["service"], c)
        for s in report["services"]
        for c in s["checks"]
        if worst([c["status"]]).severity > Status.OK.severity
    ]
    if bad:
        lines += ["", f"{lb['not_ok']}:"]
        for service, c in bad:
            status = lb["status_" + c["status"]]
            lines.append(f"  {status}  {service} {c['kind']} {c['target']}: {c['reason']}")
            if c["detail"]:
                lines += _wrap(c["detail"], "      ")

    ct = report["contacts"]
    lines += [
        "",
        f"{lb['contacts']}: {ct['email']}, {lb['phones'].lower()} "
        f"{' / '.join(ct['phones'])} ({ct['hours']})",
    ]
    return "\n".join(lines) + "\n"
