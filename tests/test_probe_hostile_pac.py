"""Hostile PAC files and PAC servers, through the real ``probe`` command (review D2, D4).

The PAC server is a thread of pytest with its socket in the lab's ``hn``
namespace; two "off-plan" listeners there (203.0.113.66:2222 and :18081, in
no catalogue or site file) record every connection. ``probe`` runs as its own
process in ``site``. Documentation addresses and .test names only.
"""

from __future__ import annotations

import http.server
import json
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import netns as nn
import pytest

CASES = Path(__file__).parent / "cases" / "pac"
RULES = Path(__file__).parent / "cases" / "probes" / "rules"
WEB, OFF = "203.0.113.80", "203.0.113.66"
pytestmark = pytest.mark.kernel

SITE = """[site]
name = "pac-lab"
services = ["fjern"]
[lan]
interfaces = ["{lan}"]
prefixes = ["198.51.100.0/25"]
[uplinks.helsenett]
interface = "{hn}"
[dns]
resolvers = ["{resolver}"]
[probe]
timeout = {timeout}
deadline = 10.0
ntp_servers = []
pac_url = "http://{web}/{pac}"
proxy = ""
test_urls = ["http://a.test/", "http://b.test/"]
"""


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/redirect.pac":  # off-plan redirect (review PR02)
            self.send_response(302)
            self.send_header("Location", f"http://{OFF}:2222/ssrf-pac")
            self.end_headers()
        else:
            super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


class Recorder:
    """Listeners at addresses in no plan; ``seen`` counts connections per port."""

    def __init__(self, ns: str) -> None:
        with nn.netns(ns):
            self.socks = [socket.create_server((OFF, p)) for p in (2222, 18081)]
        self.seen: dict[int, int] = {2222: 0, 18081: 0}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with selectors.DefaultSelector() as sel:
            for s in self.socks:
                sel.register(s, selectors.EVENT_READ)
            while not self.done.is_set():  # bounded by close(), polled every 0.05 s
                for key, _ in sel.select(0.05):
                    conn, _ = key.fileobj.accept()
                    self.seen[key.fileobj.getsockname()[1]] += 1
                    conn.close()

    def close(self) -> None:
        self.done.set()
        self.thread.join(5)
        for s in self.socks:
            s.close()


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[nn.RouterLab, Recorder]]:
    if reason := nn.lab_skip_reason("dnsmasq"):
        pytest.skip(reason)
    with nn.probe_lab(dns_records=["a.test,203.0.113.150", "b.test,203.0.113.151"]) as lab:
        with nn.netns(lab.ns["hn"]):
            web = http.server.ThreadingHTTPServer((WEB, 80), partial(Handler, directory=str(CASES)))
        thread = threading.Thread(target=web.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        rec = Recorder(lab.ns["hn"])
        try:
            yield lab, rec
        finally:
            rec.close()
            web.shutdown()
            web.server_close()
            thread.join(5)


def _argv(lab: nn.RouterLab, tmp: Path, pac: str, timeout: float, *extra: str) -> list[str]:
    site = tmp / f"{pac}.toml"
    site.write_text(
        SITE.format(
            lan=lab.if_lan,
            hn=lab.if_hn,
            resolver=nn.RouterLab.HN_LINK4[1],
            timeout=timeout,
            web=WEB,
            pac=pac,
        )
    )
    cli = [sys.executable, "-m", "nhn_appliance.cli", "--rules", str(RULES), "--site", str(site)]
    out = tmp / f"{pac}.json"
    return ["ip", "netns", "exec", lab.ns["site"], *cli, "probe", "--only", "pac,proxy",
            "-o", str(out), *extra]  # fmt: skip


def _run(argv: list[str]) -> tuple[subprocess.CompletedProcess, float, dict]:
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    wall = time.monotonic() - start
    return proc, wall, json.loads(Path(argv[argv.index("-o") + 1]).read_text())


def test_catastrophic_regex_ends_within_the_deadline(lab, tmp_path: Path) -> None:
    proc, wall, doc = _run(_argv(lab[0], tmp_path, "redos.pac", 2.0))
    (pac,) = [r for r in doc["results"] if r["kind"] == "pac"]
    assert (pac["status"], pac["reason"]) == ("fail", "pac-timeout"), pac
    assert "killed" in json.dumps(pac["evidence"]["urls"])
    assert proc.returncode == 1 and wall < 2.0 + 1.0, (wall, proc.stderr)


def test_ctrl_c_ends_a_run_stuck_in_a_regex_within_1s(lab, tmp_path: Path) -> None:
    argv = _argv(lab[0], tmp_path, "redos.pac", 20.0)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.0)  # the process has started and the sandbox is backtracking
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 1.0 and proc.returncode == 130, err
    doc = json.loads(Path(argv[argv.index("-o") + 1]).read_text())
    assert doc["interrupted"] and doc["results"][0]["reason"] == "cancelled"


def test_off_plan_redirect_is_recorded_not_followed(lab, tmp_path: Path) -> None:
    _, rec = lab
    before = dict(rec.seen)
    proc, _, doc = _run(_argv(lab[0], tmp_path, "redirect.pac", 2.0))
    (pac,) = doc["results"]
    assert (pac["status"], pac["reason"]) == ("fail", "pac-fetch-failed"), pac
    assert "outside the plan, not contacted" in pac["detail"]
    assert pac["evidence"]["fetch"]["off_plan"] == f"http://{OFF}:2222/ssrf-pac"
    time.sleep(0.2)
    assert rec.seen == before  # nothing reached 203.0.113.66:2222


def test_off_plan_proxy_is_a_note_unless_follow_pac(lab, tmp_path: Path) -> None:
    _, rec = lab
    before = rec.seen[18081]
    proc, _, doc = _run(_argv(lab[0], tmp_path, "offplan_proxy.pac", 2.0))
    kinds = {r["kind"]: r for r in doc["results"]}
    assert kinds["pac"]["status"] == "ok" and "proxy" not in kinds, doc["results"]
    assert "outside the plan, not contacted" in kinds["note"]["detail"]
    time.sleep(0.2)
    assert rec.seen[18081] == before
    proc, _, doc = _run(_argv(lab[0], tmp_path, "offplan_proxy.pac", 2.0, "--follow-pac"))
    assert [r["kind"] for r in doc["results"]] == ["pac", "proxy"], proc.stderr
    time.sleep(0.2)
    assert rec.seen[18081] > before  # asked for: contacted


def test_pac_chosen_names_outside_the_plan_are_not_resolved(lab, tmp_path: Path) -> None:
    proc, _, doc = _run(_argv(lab[0], tmp_path, "exfil.pac", 2.0))
    (pac,) = doc["results"]
    assert pac["status"] == "ok", pac
    names = pac["evidence"]["off_plan_names"]
    assert len(names) == 5 and all(n.endswith(".exfil.test") for n in names)
    assert set(pac["evidence"]["dns"].values()) == {"outside the plan, not resolved"}
