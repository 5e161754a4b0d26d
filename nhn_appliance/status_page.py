"""``serve``'s status page (``/``): the latest verdict, each service's history as a
timeline, what changed since the previous run, and the findings with what to do.

One self-contained HTML page (inline style, no script, no image, no font):
nothing it shows is fetched from anywhere, and the server's Content-Security-
Policy forbids it. Built from the history on request and kept until the next
run, so a support person reloading it costs no query.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nhn_appliance.serve import Appliance

TIMELINE_RUNS = 48

STYLE = """
body{font:16px/1.4 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem;color:#111}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.15rem;margin-top:1.5rem}
.v{display:inline-block;padding:.1rem .5rem;border-radius:.3rem;font-weight:600}
.ok{background:#d7f5dd}.warn{background:#fff1c2}.fail,.error{background:#ffd6d6}
.skipped,.incomplete{background:#e6e6e6}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem;vertical-align:top;
border-bottom:1px solid #ddd}
.tl{display:flex;flex-wrap:wrap;gap:2px}.tl span{width:.7rem;height:1.2rem;display:inline-block}
.tl .ok{background:#2e8540}.tl .warn{background:#d4a000}.tl .fail,.tl .error{background:#c0392b}
.tl .skipped,.tl .incomplete{background:#999}
@media (max-width:600px){table,tbody,tr,td,th{display:block}thead{display:none}
tr{border:1px solid #ccc;border-radius:.3rem;margin:.5rem 0;padding:.3rem}td{border:0}}
"""


def page(app: Appliance) -> str:
    latest = app.latest
    key = latest.run_id if latest is not None else 0
    if key and app.page_cache[0] == key:
        return app.page_cache[1]
    text = _build(app)
    app.page_cache = (key, text)
    return text


def _build(app: Appliance) -> str:
    site = escape(app.snapshot.site)
    head = (
        f'<!doctype html><html lang="{app.config.lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>nhn-appliance {site}</title><style>{STYLE}</style></head><body>"
    )
    latest = app.latest
    if latest is None:
        return head + f"<h1>{site}</h1><p id=verdict>No probe run yet.</p></body></html>"
    report = latest.report
    runs = app.history.recent(TIMELINE_RUNS, with_docs=2)
    parts = [
        head,
        f"<h1>{site}</h1>",
        f'<p id="verdict">Verdict: <span class="v {escape(report["verdict"])}">'
        f"{escape(report['verdict'])}</span> &middot; run {latest.run_id} ended "
        f"{escape(report['ended_at'])} ({report['runtime_s']:.1f} s)</p>",
        _services(report, runs),
        _changes(app, runs),
        _findings(report),
        f"<p><small>nhn-appliance {escape(app.snapshot.version)}, catalogue "
        f"{escape(app.snapshot.catalogue)}; /metrics, /report.json</small></p></body></html>",
    ]
    return "".join(parts)


def _services(report: dict[str, Any], runs: list[Any]) -> str:
    rows = []
    for svc in report["services"]:
        name = svc["service"]
        cells = "".join(
            f'<span class="{escape(r.services.get(name, "skipped"))}" '
            f'title="run {r.id}: {escape(r.services.get(name, "not run"))}"></span>'
            for r in reversed(runs)
        )
        since = _since(name, svc["verdict"], runs)
        rows.append(
            f'<tr><th scope="row">{escape(svc["title"])}</th>'
            f'<td><span class="v {escape(svc["verdict"])}">{escape(svc["verdict"])}</span></td>'
            f"<td>{since}</td>"
            f'<td><div class="tl" aria-label="{escape(name)}: last {len(runs)} runs, oldest '
            f'first">{cells}</div></td></tr>'
        )
    return (
        '<h2>Services</h2><table id="services"><thead><tr><th>service</th><th>verdict</th>'
        "<th>since</th><th>timeline</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _since(name: str, verdict: str, runs: list[Any]) -> str:
    """Since when the service has had its current verdict (within the runs kept here)."""
    first = None
    for r in runs:
        if r.services.get(name) != verdict:
            break
        first = r
    if first is None:
        return ""
    from nhn_appliance.probes.document import iso

    return f"since {escape(iso(first.started))} (run {first.id})"


def _changes(app: Appliance, runs: list[Any]) -> str:
    docs = [r for r in runs if r.doc is not None]
    if len(docs) < 2:
        return (
            '<h2>Changes since the previous run</h2><ul id="changes"><li>no earlier run</li></ul>'
        )
    from nhn_appliance.report.compare import compare
    from nhn_appliance.report.model import build_report

    before = build_report(docs[1].doc, app.config.lang)
    cmp = compare(before, app.latest.report if app.latest else before)
    items = [
        f"<li><b>{escape(row['change'].replace('_', ' '))}</b>: {escape(svc['service'])} "
        f"{escape(row['what'])} {escape(row['target'])}: {escape(row['before'])} &rarr; "
        f"{escape(row['after'])}</li>"
        for svc in cmp["services"]
        for row in svc["checks"]
        if row["change"] in ("broke", "fixed", "new", "gone")
    ]
    return (
        f"<h2>Changes since the previous run (run {docs[1].id})</h2>"
        f'<ul id="changes">{"".join(items) or "<li>nothing changed</li>"}</ul>'
    )


def _findings(report: dict[str, Any]) -> str:
    if not report["findings"]:
        return '<h2>Findings</h2><p id="findings">none</p>'
    items = "".join(
        f"<li><b>{escape(f.get('title', f['id']))}</b> ({escape(f['service'])}, "
        f"{escape(f['severity'])})<br>{escape(f.get('explanation', ''))}<br>"
        f"<i>What to do:</i> {escape(f.get('remediation', ''))}<br>"
        f"<small>Source: {escape(str(f.get('source', '')))}</small></li>"
        for f in report["findings"]
    )
    return f'<h2>Findings</h2><ul id="findings">{items}</ul>'
