"""``serve``'s status page in headless Chromium, served by a real ``serve`` in the probe lab.

serve runs the lab's remote-support and name services every second until
three runs are kept, and stops; the lab's router starts rejecting remote
support; serve starts again with an hour's interval (the history stays), so
its one run fails and the page stays the same while Chromium looks at it.
Chromium runs in the lab's site namespace (beside serve; names resolve to
nothing) and loads ``http://127.0.0.1:PORT/`` itself, so the page is what
serve sends, under serve's Content-Security-Policy. Checked: the DOM text of
the verdict, of the timeline (three ok runs, then the failing one) and of the
change list (remote support broke); screenshots at 1280 px, and at 390 px
through a 390 px frame (headless Chromium makes no window narrower than
500 px; see test_report_phone_a11y.py); the net-log shows that nothing but
the page itself was requested (a control shows the net-log reader sees a page
that does load something).
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import threading
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import netns
import pytest
from test_report_html import CHROMIUM, FLAGS, png_size
from test_serve_lab import get, site_file, start_serve, wait_for

PORT = 9735
PHONE = (390, 844)
REJECT = (
    "table inet t {\n chain f {\n type filter hook forward priority 0;\n"
    " ip daddr 203.0.113.20 tcp dport 8041 reject with icmp type admin-prohibited\n }\n}\n"
)
#: the 390 px frame around the live page (a file:// page; the frame loads from serve)
FRAME = (
    "<!DOCTYPE html><html><body style='margin:0;background:#333'>"
    "<iframe title='phone' src='{url}' style='width:{w}px;height:{h}px;border:0;"
    "background:#fff;display:block'></iframe></body></html>"
)
#: names resolve to nothing, as in test_report_html.py; serve's loopback address is let through
HOST_RULES = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
pytestmark = pytest.mark.kernel


def chromium(ns: str, tmp: Path, url: str, *args: str) -> tuple[str, list[str]]:
    """Chromium on ``url`` in ``ns``; stdout and the URLs the net-log shows the page requested."""
    home = tmp / "home"
    netlog = tmp / f"net-{secrets.token_hex(3)}.json"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".c")}
    flags = [HOST_RULES if f.startswith("--host-resolver-rules=") else f for f in FLAGS]
    argv = ["ip", "netns", "exec", ns, str(CHROMIUM), *flags]
    argv += [f"--user-data-dir={home / 'profile'}", f"--log-net-log={netlog}", *args, url]
    res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=90)
    assert res.returncode == 0, res.stderr[-2000:]
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    params = [e.get("params", {}) for e in log["events"] if e["type"] == start]
    return res.stdout, [p["url"] for p in params if "url" in p and _from_page(p)]


def _from_page(params: dict) -> bool:
    """A request of the page (its frame or what it loads), not the browser's own update,
    time and account look-ups (no initiator, no page in their isolation key; their names
    resolve to nothing here)."""
    key = params.get("network_isolation_key", "")
    return "127.0.0.1" in key or "file://" in key or params.get("initiator") != "not an origin"


def only_the_page(urls: list[str], page: str) -> None:
    """Nothing but the page (and the browser's own favicon look-up at the same server)."""
    assert page in urls, urls
    assert set(urls) <= {page, page + "favicon.ico"}, urls


class Dom(HTMLParser):
    """Text by element id, the timeline cells' titles per service, the change list items."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: dict[str, str] = {}
        self.timeline: dict[str, list[str]] = {}
        self.changes: list[str] = []
        self.rows: dict[str, str] = {}
        self._open: list[tuple[str, str]] = []  #: (tag, id) of elements being collected
        self._tl = ""
        self._li: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self._open.append((tag, a["id"] or ""))
            self.text.setdefault(a["id"] or "", "")
        if tag == "div" and a.get("class") == "tl":
            self._tl = (a.get("aria-label") or "").split(":")[0]
            self.timeline[self._tl] = []
        if tag == "span" and self._tl:
            self.timeline[self._tl].append(a.get("title") or "")
        if tag == "li" and any(i == "changes" for _, i in self._open):
            self._li = []
        if tag == "tr" and any(i == "services" for _, i in self._open):
            self._row = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "div":
            self._tl = ""
        if tag == "li" and self._li is not None:
            self.changes.append(" ".join("".join(self._li).split()))
            self._li = None
        if tag == "tr" and self._row is not None:
            words = " ".join(" ".join(self._row).split())
            if words:
                self.rows[words.split()[0]] = words
            self._row = None
        if self._open and self._open[-1][0] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for _, ident in self._open:
            self.text[ident] += data
        if self._li is not None:
            self._li.append(data)
        if self._row is not None:
            self._row.append(data)


def _serve_until(lab, tmp: Path, site: Path, interval: str, runs: int) -> None:
    ns, base = lab.ns["site"], f"http://127.0.0.1:{PORT}"
    serve = start_serve(lab, tmp, site, "--interval", interval, "--listen", f"127.0.0.1:{PORT}")

    def kept() -> bool:
        code, body = get(ns, base + "/healthz")
        return code == 200 and json.loads(body)["runs"] >= runs

    try:
        wait_for(f"{runs} runs kept", kept)
    except BaseException:
        netns.stop(serve)
        raise
    lab.serve = serve


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(lab, tmp, page URL) with serve up: three ok runs, then a failing one, kept."""
    if CHROMIUM is None:
        pytest.skip("chromium not installed (apt-get install --no-install-recommends chromium)")
    if reason := netns.lab_skip_reason("nft", "dnsmasq"):
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("page")
    with netns.probe_lab(
        listen=[("203.0.113.20", 443), ("203.0.113.20", 8041)],
        dns_records=["proxy.nhn.test,203.0.113.80"],
    ) as lab:
        site = site_file(lab, tmp, ["fjern", "navn"])
        _serve_until(lab, tmp, site, "1s", 3)
        lab.serve.send_signal(signal.SIGTERM)
        assert lab.serve.wait(timeout=5) == 0
        netns.nft(lab.ns["rtr"], REJECT)
        _serve_until(lab, tmp, site, "1h", 1)  # its one run: the fourth in the history
        try:
            yield lab, tmp, f"http://127.0.0.1:{PORT}/"
        finally:
            netns.stop(lab.serve)


def test_status_page_dom_text_in_chromium(served) -> None:
    lab, tmp, url = served
    code, _ = get(lab.ns["site"], url)
    assert code == 200
    dom, urls = chromium(lab.ns["site"], tmp, url, "--window-size=1280,800", "--dump-dom")
    only_the_page(urls, url)
    page = Dom()
    page.feed(dom)

    verdict = " ".join(page.text["verdict"].split())
    assert verdict.startswith("Verdict: fail · run 4 ended "), verdict
    # the timeline of each service, oldest first: three ok runs, then the fourth
    assert page.timeline["fjern"] == ["run 1: ok", "run 2: ok", "run 3: ok", "run 4: fail"]
    assert page.timeline["navn"] == [f"run {i}: ok" for i in range(1, 5)]
    assert page.rows["fjern"].startswith("fjern fail since ") and "(run 4)" in page.rows["fjern"]
    assert page.rows["navn"].startswith("navn ok since ") and "(run 1)" in page.rows["navn"]
    # the change list: remote support's port 8041 broke, nothing else changed
    assert page.text["changes"] and len(page.changes) == 1, page.changes
    assert page.changes == ["broke: fjern TCP-port 203.0.113.20:8041: ok → fail"], page.changes
    assert "Changes since the previous run (run 3)" in dom
    findings = " ".join(page.text["findings"].split())
    assert "What to do:" in findings and "Source:" in findings, findings


def test_status_page_screenshots_1280_and_390(served) -> None:
    lab, tmp, url = served
    ns = lab.ns["site"]
    desktop = tmp / "desktop.png"
    _, urls = chromium(ns, tmp, url, "--window-size=1280,800", f"--screenshot={desktop}")
    only_the_page(urls, url)
    assert png_size(desktop) == (1280, 800)

    frame = tmp / "phone.html"
    frame.write_text(FRAME.format(url=url, w=PHONE[0], h=PHONE[1]), encoding="utf-8")
    phone = tmp / "phone.png"
    _, urls = chromium(ns, tmp, frame.as_uri(), "--window-size=500,844", f"--screenshot={phone}")
    only_the_page([u for u in urls if u != frame.as_uri()], url)
    assert png_size(phone) == (500, PHONE[1])  # the 390 px frame, grey beside it


def test_net_log_reader_sees_a_page_that_loads_something(served) -> None:
    """Control: a page in the same namespace that asks for an image is caught."""
    lab, tmp, _ = served

    class Leaky(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'<p>x</p><img src="http://198.51.100.9/x.png">'
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with netns.netns(lab.ns["site"]):
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Leaky)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        leaky = f"http://127.0.0.1:{httpd.server_address[1]}/"
        _, urls = chromium(lab.ns["site"], tmp, leaky, "--dump-dom")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "http://198.51.100.9/x.png" in urls, urls
    with pytest.raises(AssertionError):
        only_the_page(urls, leaky)
