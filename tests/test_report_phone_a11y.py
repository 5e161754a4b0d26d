"""The HTML report on a phone and for assistive technology, measured in headless Chromium.

- 390 px wide (a common phone): the page never scrolls sideways and every failing
  cell of the matrix lies inside the screen (DOM check), plus a screenshot;
- axe-core (npm, tests/a11y/package.json, installed by .ci/run): no serious or
  critical violation, for the report and for the before/after page.

Chromium runs offline in a fresh network namespace (see test_report_html.py).
"""

from __future__ import annotations

import copy
import html as html_escape
import json
import os
from pathlib import Path

import pytest
from test_report import CASE_DIR, NOW, big_doc
from test_report_html import (
    chromium,
    offline_ns,  # noqa: F401 (the fixture lab_ns uses)
    png_size,
)

from nhn_appliance.report import html
from nhn_appliance.report.compare import compare, render
from nhn_appliance.report.model import build_report


@pytest.fixture(scope="module")
def lab_ns(offline_ns: str) -> str:  # noqa: F811 (pytest passes the imported fixture)
    return offline_ns


#: headless Chromium will not make a window narrower than 500 CSS px, so the page is
#: shown in a 390 px wide frame (its own viewport: its media queries see 390 px); the
#: frame reports its layout to the outer page, which --dump-dom prints
FRAME = (
    "<!DOCTYPE html><html><body style='margin:0;background:#333'>"
    "<iframe title='phone' srcdoc=\"{page}\" style='width:{w}px;height:{h}px;border:0;"
    "background:#fff;display:block'></iframe><script>addEventListener('message', e =>"
    " document.body.insertAdjacentHTML('beforeend', '<pre id=layout>' + e.data + '</pre>'))"
    "</script></body></html>"
)
AXE = Path(__file__).parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = (390, 844)
#: NHN_REPORT_SHOTS=DIR keeps the phone screenshots for a person to look at
SHOTS = Path(os.environ["NHN_REPORT_SHOTS"]) if os.environ.get("NHN_REPORT_SHOTS") else None


def _page(report_html: str, tmp: Path, script: str, name: str = "report.html") -> Path:
    page = tmp / name
    page.write_text(report_html.replace("</body>", f"<script>{script}</script></body>"))
    return page


def _dumped(dom: str, tag: str) -> dict:
    return json.loads(dom.rsplit(f'<pre id="{tag}">', 1)[1].split("</pre>")[0])


def _reports(lang: str) -> list[tuple[str, str]]:
    docs = {p: json.loads((CASE_DIR / f"{p}.json").read_text()) for p in ("media-blocked",)}
    big = big_doc(500)
    pages = [(name, html.render(build_report(d, lang, now=NOW))) for name, d in docs.items()]
    pages.append(("big", html.render(build_report(big, lang, now=NOW))))
    after = copy.deepcopy(docs["media-blocked"])
    for r in after["results"]:  # the firewall opened, and one opening closed
        if r["status"] == "fail":
            r.update(status="ok", reason="open", evidence={})
    after["results"][0].update(status="fail", reason="timeout")
    before_r = build_report(docs["media-blocked"], lang, now=NOW)
    after_r = build_report(after, lang, now=NOW)
    pages.append(("compare", render(compare(before_r, after_r), "html")))
    return pages


LAYOUT = (
    "const W = innerWidth; const bad = [];"
    "for (const el of document.querySelectorAll('#matrix td.c-fail, #matrix td.c-error,"
    " #matrix td.c-warn, tr.row-broke td, tr.row-stayed_failing td')) {"
    " const r = el.getBoundingClientRect(); const s = getComputedStyle(el);"
    " if (r.width === 0 || s.display === 'none' || r.left < 0 || r.right > W + 0.5)"
    "  bad.push([el.textContent.trim(), r.left, r.right]); }"
    "const n = document.querySelectorAll('#matrix td.c-fail, tr.row-broke td').length;"
    "parent.postMessage(JSON.stringify("
    "{w: W, scroll: document.documentElement.scrollWidth, bad: bad, failing: n}), '*');"
)


def _phone(tmp: Path, page_html: str, name: str) -> Path:
    inner = page_html.replace("</body>", f"<script>{LAYOUT}</script></body>")
    outer = FRAME.format(page=html_escape.escape(inner, quote=True), w=PHONE[0], h=PHONE[1])
    page = tmp / f"{name}.html"
    page.write_text(outer, encoding="utf-8")
    return page


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_phone_every_failing_cell_visible_without_sideways_scroll(lab_ns, tmp_path, lang):
    """On a 390 px phone: no sideways scrolling, every failing matrix cell and every
    broken before/after row inside the screen."""
    for name, page_html in _reports(lang):
        page = _phone(tmp_path, page_html, name)
        dom, requests = chromium(lab_ns, tmp_path, page, "--dump-dom", "--window-size=500,844")
        assert requests == []
        layout = _dumped(dom, "layout")
        assert layout["w"] == PHONE[0], layout
        assert layout["scroll"] <= layout["w"], (name, layout)  # no sideways scrolling
        assert layout["bad"] == [], (name, layout)
        if name != "big":
            assert layout["failing"] >= 1, (name, layout)  # the check has something to check
        shot = tmp_path / f"{name}.{lang}.phone.png"
        chromium(lab_ns, tmp_path, page, "--window-size=500,844", f"--screenshot={shot}")
        assert png_size(shot) == (500, PHONE[1])  # the 390 px phone frame, grey beside it
        if SHOTS:
            SHOTS.mkdir(parents=True, exist_ok=True)
            (SHOTS / shot.name).write_bytes(shot.read_bytes())


def test_layout_check_sees_a_cell_off_screen(lab_ns, tmp_path):
    """Control: a matrix that is wider than the phone is caught."""
    page_html = html.render(
        build_report(json.loads((CASE_DIR / "media-blocked.json").read_text()), "nb", now=NOW)
    )
    page_html = page_html.replace("@media (max-width: 600px)", "@media (max-width: 10px)")
    page = _phone(tmp_path, page_html, "wide")
    dom, _ = chromium(lab_ns, tmp_path, page, "--dump-dom", "--window-size=500,844")
    layout = _dumped(dom, "layout")
    assert layout["w"] == PHONE[0] and layout["bad"], layout


AXE_RUN = (
    "axe.run(document, {resultTypes: ['violations']}).then(r => {"
    " const v = r.violations.map(x => ({id: x.id, impact: x.impact, n: x.nodes.length,"
    "  help: x.help, where: x.nodes.slice(0, 2).map(n => n.target.join(' '))}));"
    " document.body.insertAdjacentHTML('beforeend', '<pre id=\"axe\">' +"
    "  JSON.stringify({version: axe.version, violations: v}).replace(/</g, '\\\\u003c')"
    "  + '</pre>'); });"
)


def _axe(ns: str, tmp: Path, page_html: str, name: str) -> dict:
    assert AXE.exists(), f"{AXE} is missing: run .ci/run or npm ci --prefix tests/a11y"
    script = AXE.read_text(encoding="utf-8").replace("</script", "<\\/script") + ";" + AXE_RUN
    page = _page(page_html, tmp, script, f"{name}.html")
    dom, requests = chromium(
        ns, tmp, page, "--dump-dom", "--virtual-time-budget=20000", "--window-size=1280,900"
    )
    assert requests == []
    return _dumped(dom, "axe")


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_axe_core_no_serious_or_critical_violations(lab_ns, tmp_path, lang):
    for name, page_html in _reports(lang):
        found = _axe(lab_ns, tmp_path, page_html, name)
        assert found["version"].startswith("4.")
        serious = [v for v in found["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == [], (name, serious)


def test_axe_core_finds_a_planted_violation(lab_ns, tmp_path):
    """Control: axe runs and reports; an image without alt text is a critical violation."""
    page_html = html.render({"verdict": "ok"}).replace("<main>", '<main><img src="x.png">')
    found = _axe(lab_ns, tmp_path, page_html.replace('src="x.png"', 'src="data:,"'), "bad")
    assert any(v["id"] == "image-alt" and v["impact"] == "critical" for v in found["violations"])
