"""The HTML report: escaping, self-containment, labels, and a real headless Chromium.

The pure tests need nothing. The Chromium tests (Debian package ``chromium``)
open the page from a file inside a fresh network namespace that has only
``lo`` (no route anywhere), with every host name mapped to NOTFOUND, and read
Chromium's own net log to prove the page asks for nothing.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import netns
import pytest

from nhn_appliance.report import html

HOSTILE = "<script>alert('x')</script> \"quoted\" & 'single' </details></pre>"


def make_report(*, lang: str = "nb", n_checks: int = 15, text: str = "", labels=None) -> dict:
    """A report model as the report builder hands it over; ``text`` is mixed into free text."""
    kinds = ["tcp", "dns", "tls", "stun", "note"]
    services = []
    for s, name in enumerate(["join", "cma", "fjernhjelp"]):
        checks = []
        for i in range(n_checks // 3):
            kind = kinds[i % len(kinds)]
            status = (
                "skipped"
                if kind == "note"
                else "fail"
                if (s, kind) == (0, "stun")
                else "warn"
                if (s, kind) == (2, "dns")
                else "ok"
            )
            checks.append(
                {
                    "id": f"{kind}:{name}:{i}",
                    "kind": kind,
                    "target": f"91.186.66.{i}:443{text}",
                    "status": status,
                    "reason": "not-verifiable"
                    if kind == "note"
                    else "timeout"
                    if status == "fail"
                    else "",
                    "detail": f"detail {i}{text}",
                    "duration_s": 0.01,
                }
            )
        services.append(
            {
                "service": name,
                "title": f"Tjeneste {name}{text}",
                "verdict": "fail" if s == 0 else "warn" if s == 2 else "ok",
                "counts": {},
                "checks": checks,
            }
        )
    return {
        "schema": "nhn-appliance/report/1",
        "lang": lang,
        "software": {"name": "nhn-appliance", "version": "0.1.0"},
        "site": {"name": f"Legekontoret Bryn{text}", "file": "site.toml"},
        "host": {
            "hostname": "appliance1",
            "addresses": ["192.168.10.5"],
            "gateways": ["192.168.10.1"],
            "resolvers": ["192.168.10.1"],
        },
        "started_at": "2026-11-22T12:00:00.000Z",
        "ended_at": "2026-11-22T12:00:03.200Z",
        "runtime_s": 3.2,
        "interrupted": False,
        "verdict": "fail",
        "summary": {"ok": 20, "warn": 1, "fail": 2, "error": 0, "skipped": 5},
        "services": services,
        "findings": [
            {
                "id": "media-blocked",
                "service": "join",
                "severity": "fail",
                "title": f"Bilde uten lyd: mediaportene er blokkert{text}",
                "explanation": f"Signalering virker, media ikke.{text}",
                "remediation": f"Åpne UDP 3478 og 50000-54999 mot 91.186.66.0/24{text}",
                "source": f"002:88-89{text}",
                "checks": ["stun:join:3"],
            },
            {
                "id": "clock",
                "service": "fjernhjelp",
                "severity": "warn",
                "title": "Klokka går 2 s feil",
                "explanation": "",
                "remediation": "Still klokka mot NTP",
                "source": "004:12",
                "checks": [],
            },
        ],
        "unverified": [
            {
                "service": "join",
                "target": f"UDP 50000-54999{text}",
                "why": f"krever et testanrop{text}",
            }
        ],
        "evidence": [
            {
                "id": "stun:join:3",
                "kind": "stun",
                "target": "91.186.66.3:3478",
                "evidence": {"note": f"silence{text}"},
                "events": [{"op": "send", "t": 0.001, "detail": text}],
            }
        ],
        "contacts": {
            "email": "kundesenter@nhn.no",
            "phones": ["02017", "24 20 00 00"],
            "hours": "24/7",
            "source": "brief",
        },
        "labels": labels if labels is not None else {},
    }


class Refs(HTMLParser):
    """Every attribute that could load something, plus the inline CSS."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self.css = ""
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if name in (
                "src",
                "href",
                "srcset",
                "action",
                "data",
                "poster",
                "background",
                "formaction",
                "xlink:href",
                "manifest",
            ) or name.startswith("on"):
                self.refs.append((tag, name, value or ""))

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.css += data


def parse(page: str) -> Refs:
    p = Refs()
    p.feed(page)
    return p


# ---------------------------------------------------------------- pure HTML


def test_escapes_every_free_text():
    page = html.render(make_report(text=HOSTILE))
    assert "<script" not in page.lower()
    assert "</details></pre>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "&#34;quoted&#34; &amp; &#39;single&#39;" in page
    assert parse(page).tags.count("script") == 0


def test_hostile_labels_and_contacts_are_escaped():
    report = make_report(labels={"verdict": HOSTILE, "status_fail": HOSTILE})
    report["contacts"]["email"] = 'x"@nhn.no><script>'
    report["contacts"]["phones"] = ['02017" onclick="x']
    page = html.render(report)
    assert "<script" not in page.lower()
    assert not [r for r in parse(page).refs if r[1].startswith("on")]


def test_self_contained():
    page = html.render(make_report(text=" see https://hjelp.nhn.no/x //cdn.example/a.js"))
    refs = parse(page)
    assert not {
        "script",
        "img",
        "link",
        "iframe",
        "object",
        "embed",
        "video",
        "audio",
        "source",
        "base",
        "form",
    } & set(refs.tags)
    for tag, name, value in refs.refs:
        assert name == "href" and value.startswith(("mailto:", "tel:", "#")), (tag, name, value)
    assert "url(" not in refs.css and "@import" not in refs.css and "@font-face" not in refs.css
    assert "//" not in refs.css.replace("://", "")  # no protocol-relative references either


def test_head_language_viewport_and_print():
    page = html.render(make_report(lang="en"))
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in page and '<html lang="nb">' in html.render(make_report())
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "@media print" in page


@pytest.mark.parametrize(
    "lang, words",
    [
        ("nb", ["FEIL", "ADVARSEL", "OK", "IKKE VERIFISERT", "Tiltak", "Resultat"]),
        ("en", ["FAIL", "WARNING", "OK", "NOT VERIFIED", "Remediation", "Verdict"]),
    ],
)
def test_default_words_when_labels_missing(lang, words):
    page = html.render(make_report(lang=lang))
    for word in words:
        assert f">{word}<" in page or f"{word}:" in page, word


def test_given_labels_win():
    words = {"verdict": "Dom", "status_fail": "STOPP", "severity_fail": "STOPP"}
    page = html.render(make_report(labels=words))
    assert "Dom:" in page and ">STOPP<" in page and ">FEIL<" not in page


def test_matrix_cells_carry_text_and_unverified_is_not_a_pass():
    view = html.view(make_report(lang="en"))
    # what was checked in a technician's words, from the name to what rides on it
    assert view["kinds"] == [
        "Name lookup (DNS)",
        "TCP port",
        "Secure connection (TLS)",
        "Sound and picture (UDP)",
        "Cannot be tested from here",
    ]
    join = {c["what"]: c["status"] for c in view["matrix"][0]["cells"]}
    assert list(join.values()) == ["ok", "ok", "ok", "fail", "unverified"]
    assert html.cell_status({"status": "skipped", "reason": "cancelled"}) == "skipped"
    assert html.cell_status({"status": "bogus"}) == "error"


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_with_the_report_models_labels(lang):
    """The labels the report model hands over fit this template; missing ones fall back."""
    model = pytest.importorskip("nhn_appliance.report.model")
    words = model.labels(lang)
    page = html.render(make_report(lang=lang, labels=words))
    for key in ("report_title", "verdict", "status_fail", "status_warn", "remediation"):
        assert words[key] in page, key
    assert html.labels_for(lang, {})["status_unverified"] in page


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_html_and_text_use_the_same_words(lang):
    """One label table: the page and the text report name the same thing the same way."""
    from nhn_appliance.report import get_format
    from nhn_appliance.report.data import labels
    from nhn_appliance.report.model import build_report

    case = Path(__file__).parent / "cases" / "reports" / "proxy.json"
    report = build_report(json.loads(case.read_text()), lang)
    words = labels(lang)
    text = get_format("text").render(report)
    for given in (report, {**report, "labels": {}}):  # the report's labels, or the defaults
        page = html.render(given)
        assert f"<dt>{words['site']}</dt>" in page and f"\n{words['site']}: kontor-g" in text
        assert f"{words['verdict']}: " in page and f"\n{words['verdict']}: " in text
        assert f"<strong>{words['remediation']}:</strong>" in page
        assert f" {words['remediation']}: " in text
    assert {"nb": "Sted", "en": "Site"}[lang] == words["site"]


def test_contact_links():
    page = html.render(make_report())
    assert 'href="mailto:kundesenter@nhn.no"' in page
    assert 'href="tel:02017"' in page and 'href="tel:24200000"' in page


def test_minimal_report_renders():
    page = html.render({"verdict": "ok"})
    assert "kundesenter@nhn.no" in page and '<html lang="nb">' in page


def test_summary_before_long_parts_and_long_parts_collapsed():
    page = html.render(make_report(n_checks=300))
    order = [
        page.index(f'id="{part}"')
        for part in ("summary", "verdict", "matrix", "findings", "checks", "evidence", "contacts")
    ]
    assert order == sorted(order)
    assert page.count('<details class="service-checks">') == 3  # closed
    assert '<details class="evidence">' in page and " open" not in page.split('id="checks"')[1]


# ---------------------------------------------------------------- Chromium

CHROMIUM = shutil.which("chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-breakpad",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


@pytest.fixture(scope="module")
def offline_ns():
    if CHROMIUM is None:
        pytest.skip("chromium not installed (apt-get install --no-install-recommends chromium)")
    if reason := netns.root_ok():
        pytest.skip(f"chromium runs in a network namespace: {reason}")
    name = f"nhnhtml-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, timeout=10)
        yield name
    finally:
        for pid in subprocess.run(
            ["ip", "netns", "pids", name], capture_output=True, text=True, timeout=10
        ).stdout.split():
            os.kill(int(pid), 9)
        subprocess.run(["ip", "netns", "del", name], timeout=10)


def chromium(ns: str, tmp: Path, page: Path, *args: str) -> tuple[str, list[str]]:
    """Run chromium offline on ``page``; return stdout and the URLs the page requested."""
    home = tmp / "home"
    netlog = tmp / f"net-{secrets.token_hex(3)}.json"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }
    argv = [
        "ip",
        "netns",
        "exec",
        ns,
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={home / 'profile'}",
        f"--log-net-log={netlog}",
        *args,
        page.as_uri(),
    ]
    res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=90)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout, page_requests(netlog)


def page_requests(netlog: Path) -> list[str]:
    """URLs the page itself asked for (the browser's own update pings have no page origin)."""
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        e["params"]["url"]
        for e in log["events"]
        if e["type"] == start and "file://" in e["params"].get("network_isolation_key", "")
    ]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert len(data) > 10_000, f"{path.name} is only {len(data)} bytes"
    return struct.unpack(">II", data[16:24])


def test_net_log_detector_sees_a_request(offline_ns, tmp_path):
    """Control: the request check below would notice a page that loads something."""
    page = tmp_path / "leaky.html"
    page.write_text('<p>x</p><img src="http://198.51.100.9/x.png">')
    _, requests = chromium(offline_ns, tmp_path, page, "--dump-dom")
    assert requests == ["http://198.51.100.9/x.png"]


def test_rendered_page_offline(offline_ns, tmp_path):
    report = make_report(lang="nb", text=' <b>&"')
    page = tmp_path / "report.html"
    page.write_text(html.render(report), encoding="utf-8")
    dom, requests = chromium(offline_ns, tmp_path, page, "--window-size=1280,800", "--dump-dom")
    assert requests == []
    text = _text(dom)
    summary = text.split("Tjenester og sjekker")[0]
    for word in (
        "Resultat: FEIL",
        'Legekontoret Bryn <b>&"',
        "nhn-appliance 0.1.0",
        "2026-11-22 12:00:00 UTC",
        "kundesenter@nhn.no",
    ):
        assert word in summary, word
    matrix = text.split("Tjenester og sjekker")[1].split("Funn (2)")[0]
    for word in (
        "Tjeneste join",
        "FEIL",
        "ADVARSEL",
        "OK",
        "IKKE VERIFISERT",
        "Lyd og bilde (UDP)",
        "Kan ikke prøves herfra",
    ):
        assert word in matrix, word
    for f in report["findings"]:
        assert f["title"] in text and f["remediation"] in text and f["source"] in text
    assert "02017" in text and "24 20 00 00" in text


def test_screenshots_desktop_and_phone(offline_ns, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(html.render(make_report(n_checks=300)), encoding="utf-8")
    for (w, h), name in (((1280, 800), "desktop.png"), ((390, 844), "phone.png")):
        shot = tmp_path / name
        _, requests = chromium(
            offline_ns, tmp_path, page, f"--window-size={w},{h}", f"--screenshot={shot}"
        )
        assert requests == []
        assert png_size(shot) == (w, h)


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)])
def test_summary_on_first_screen_with_300_checks(offline_ns, tmp_path, size):
    """Layout measured by Chromium: a test-only copy of the page reports where things are."""
    probe = (
        "<script>const r = s => document.querySelector(s).getBoundingClientRect();"
        "const out = {h: innerHeight, verdict: r('#verdict').bottom,"
        " summary: r('#summary').bottom,"
        " open: document.querySelectorAll('details[open]').length,"
        " details: document.querySelectorAll('details').length};"
        "document.body.insertAdjacentHTML('beforeend', '<pre id=layout>' + JSON.stringify(out)"
        " + '</pre>');</script>"
    )
    page = tmp_path / "report.html"
    page.write_text(html.render(make_report(n_checks=300)).replace("</body>", probe + "</body>"))
    dom, _ = chromium(
        offline_ns, tmp_path, page, "--dump-dom", f"--window-size={size[0]},{size[1]}"
    )
    layout = json.loads(dom.split('<pre id="layout">')[1].split("</pre>")[0])
    assert layout["details"] >= 4 and layout["open"] <= 1  # only the short unverified list
    assert 0 < layout["verdict"] <= layout["h"]
    if size[0] >= 1000:
        assert layout["summary"] <= layout["h"], layout


def _text(dom: str) -> str:
    """The visible text of a dumped DOM, whitespace collapsed (style content dropped)."""
    parts: list[str] = []

    class T(HTMLParser):
        skip = False

        def handle_starttag(self, tag, attrs):
            self.skip = tag in ("style", "title")

        def handle_endtag(self, tag):
            self.skip = False

        def handle_data(self, data):
            if not self.skip:
                parts.append(data)

    T(convert_charrefs=True).feed(dom)
    return " ".join(" ".join(parts).split())
