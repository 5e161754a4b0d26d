"""``serve`` with a probe run that cannot finish in time: bounded by the site's deadline.

The lab's router drops, silently (no RST, no ICMP error), everything the site
sends through it, so the remote-support checks wait for an answer that never
comes. The site's per-check timeout (10 s) is far past its global deadline
(1 s, the smallest the site file allows): only the deadline can end the run.
serve must end each such run within the deadline plus the runner's margin
(1 s, as the probe tests hold ``probe`` to; serve's own last-resort guard,
``serve.HANG_GRACE_S``, is further out), keep it in the history as a run cut
short (every check ``skipped`` with the reason ``deadline``, the verdict
``incomplete``), and keep answering ``/healthz`` and ``/metrics`` meanwhile
and after. A control: the router's counter shows the SYNs were really sent
and dropped, so the silence is the lab's, not a check that never ran.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

import netns
import pytest
from test_serve_lab import get, promtool_check_metrics, site_file, start_serve, wait_for

from nhn_appliance.serve import HANG_GRACE_S

PORT = 9734
TIMEOUT_S, DEADLINE_S, MARGIN_S = 10.0, 1.0, 1.0
pytestmark = pytest.mark.kernel

#: the router drops every packet it would forward, and counts them (no reject: silence)
SILENT = """table inet hang {
  chain silent { type filter hook forward priority 0; policy accept;
    counter drop
  }
}
"""


def _runs(path: Path) -> list[tuple[float, float, str, dict]]:
    """(started, ended, verdict, document) of every run, read-only beside serve."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        rows = db.execute("SELECT started, ended, verdict, doc FROM runs ORDER BY id").fetchall()
    finally:
        db.close()
    return [(s, e, v, json.loads(d)) for s, e, v, d in rows]


def _dropped(lab) -> int:
    out = netns.run_in(lab.ns["rtr"], ["nft", "-j", "list", "table", "inet", "hang"], check=True)
    for obj in json.loads(out.stdout)["nftables"]:
        for expr in obj.get("rule", {}).get("expr", []):
            if "counter" in expr:
                return int(expr["counter"]["packets"])
    raise AssertionError("no counter in the lab's drop rule")


def test_a_run_that_cannot_finish_is_cut_at_the_deadline(tmp_path: Path) -> None:
    if reason := netns.lab_skip_reason("nft"):
        pytest.skip(reason)
    assert DEADLINE_S + MARGIN_S < DEADLINE_S + HANG_GRACE_S  # the tight bound is tested
    with netns.probe_lab(nft_rules={"rtr": SILENT}) as lab:
        ns = lab.ns["site"]
        site = site_file(lab, tmp_path, ["fjern"])
        text = site.read_text()
        assert "timeout = 1.0" in text and "deadline = 20.0" in text
        site.write_text(
            text.replace("timeout = 1.0", f"timeout = {TIMEOUT_S}").replace(
                "deadline = 20.0", f"deadline = {DEADLINE_S}"
            )
        )
        serve = start_serve(
            lab, tmp_path, site, "--interval", "3s", "--listen", f"127.0.0.1:{PORT}"
        )
        base = f"http://127.0.0.1:{PORT}"
        try:
            wait_for("serve answers", lambda: get(ns, base + "/healthz")[0] == 200)
            # /healthz answers while a run hangs on the silent targets (runs 1 and 2)
            slowest, until = 0.0, time.monotonic() + 15
            while (health := json.loads(get(ns, base + "/healthz")[1]))["runs"] < 2:
                began = time.monotonic()
                code, _ = get(ns, base + "/healthz", timeout=2)
                slowest = max(slowest, time.monotonic() - began)
                assert code == 200 and serve.poll() is None
                time.sleep(0.1)
                assert time.monotonic() < until, "two runs did not end within 15 s"
            assert slowest < 0.5, slowest
            assert health["status"] == "ok"

            runs = _runs(tmp_path / "state" / "serve" / "history.sqlite3")
            assert len(runs) >= 2
            for started, ended, verdict, doc in runs:
                took = ended - started
                assert took <= DEADLINE_S + MARGIN_S, took  # not the 10 s per-check timeout
                assert verdict == "incomplete", verdict
                tcp = [r for r in doc["results"] if r["kind"] == "tcp"]
                assert {r["target"] for r in tcp} == {"203.0.113.20:443", "203.0.113.20:8041"}
                assert {(r["status"], r["reason"]) for r in tcp} == {("skipped", "deadline")}
                assert all("global deadline 1 s passed" in r["detail"] for r in tcp)
            assert _dropped(lab) >= 4  # a SYN per check and run, dropped by the router

            code, metrics = get(ns, base + "/metrics")
            assert code == 200
            promtool_check_metrics(metrics)
            duration = next(
                float(line.split()[-1])
                for line in metrics.splitlines()
                if line.startswith("nhn_appliance_last_run_duration_seconds{")
            )
            assert 0 < duration <= DEADLINE_S + MARGIN_S, duration
            code, body = get(ns, base + "/report.json")
            assert code == 200 and json.loads(body)["verdict"] == "incomplete"
        finally:
            began = time.monotonic()
            serve.send_signal(signal.SIGTERM)
            serve.wait(timeout=10)
            stopped = time.monotonic() - began
        assert serve.returncode == 0 and stopped < 2.0, (serve.returncode, stopped)
        log = (tmp_path / "serve.log").read_text()
        assert "run=1 verdict=incomplete" in log and "Traceback" not in log, log


def test_sigterm_in_the_middle_of_a_run_ends_serve_with_the_run_kept(tmp_path: Path) -> None:
    """SIGTERM while a run waits on silent targets (the router has counted its SYNs):
    serve ends within 2 s with exit 0, and the history holds that run, interrupted,
    in a database that passes SQLite's integrity check."""
    if reason := netns.lab_skip_reason("nft"):
        pytest.skip(reason)
    with netns.probe_lab(nft_rules={"rtr": SILENT}) as lab:
        site = site_file(lab, tmp_path, ["fjern"])
        # a run that would take 10 s: the signal surely lands inside it
        site.write_text(site.read_text().replace("timeout = 1.0", "timeout = 10.0"))
        serve = start_serve(
            lab, tmp_path, site, "--interval", "1h", "--listen", f"127.0.0.1:{PORT + 1}"
        )
        try:
            wait_for("the run's SYNs reach the router", lambda: _dropped(lab) >= 2)
            began = time.monotonic()
            serve.send_signal(signal.SIGTERM)
            serve.wait(timeout=10)
            stopped = time.monotonic() - began
        finally:
            if serve.poll() is None:
                serve.kill()
        assert serve.returncode == 0 and stopped < 2.0, (serve.returncode, stopped)
        db_path = tmp_path / "state" / "serve" / "history.sqlite3"
        runs = _runs(db_path)
        assert len(runs) == 1, runs
        _, _, _, doc = runs[0]
        assert doc["interrupted"] is True
        tcp = [r for r in doc["results"] if r["kind"] == "tcp"]
        assert len(tcp) == 2 and {r["reason"] for r in tcp} == {"cancelled"}, tcp
        db = sqlite3.connect(db_path)
        try:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            db.close()
