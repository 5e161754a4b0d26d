"""``serve`` against the probe lab, scraped by a real Prometheus (Debian's ``prometheus``).

serve runs in the lab's site namespace with a test catalogue and a 1 s
interval; Prometheus runs in the same namespace (its own config and data
folder in tmp) and scrapes serve on the namespace's loopback. The values are
read back through Prometheus's HTTP query API, also inside the namespace.
Then the lab's router starts rejecting the remote-support service: the
service goes from ok to failing in Prometheus, the two-runs-in-a-row count
climbs, and the status page and /report.json say so. Every scrape the test
takes passes ``promtool check metrics``. SIGTERM ends serve within 2 s.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import netns
import pytest

CASE = Path(__file__).parent / "cases" / "probes"
PORT, PROM_PORT = 9733, 9090
pytestmark = pytest.mark.kernel


def get(ns: str, url: str, timeout: float = 5.0, headers: dict | None = None) -> tuple[int, str]:
    """GET inside namespace ``ns`` (this thread steps in for the connection)."""
    req = urllib.request.Request(url, headers=headers or {})
    with netns.netns(ns):
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except urllib.error.URLError as exc:  # not listening yet
            return 0, str(exc)


def wait_for(what: str, fn, timeout: float = 30.0, step: float = 0.25):
    """Poll ``fn`` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")


def promtool_check_metrics(text: str) -> None:
    proc = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def site_file(lab, tmp: Path, services: list[str], extra: str = "") -> Path:
    text = (
        (CASE / "site.toml")
        .read_text()
        .format(
            lan=lab.if_lan,
            hn=lab.if_hn,
            inet=lab.if_inet,
            services=", ".join(f'"{s}"' for s in services),
        )
    )
    path = tmp / "site.toml"
    path.write_text(text + extra)
    return path


def start_serve(lab, tmp: Path, site: Path, *args: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "nhn_appliance.cli", "--rules", str(CASE / "rules")]
    argv += ["--site", str(site), "serve", "--state-dir", str(tmp / "state"), *args]
    return netns.popen_in(lab.ns["site"], argv, tmp / "serve.log")


def query(ns: str, expr: str) -> list[dict]:
    url = f"http://127.0.0.1:{PROM_PORT}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    code, body = get(ns, url)
    assert code == 200, body
    data = json.loads(body)
    assert data["status"] == "success", data
    return data["data"]["result"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if reason := netns.lab_skip_reason("nft", "dnsmasq", "prometheus", "promtool"):
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("serve")
    with netns.probe_lab(
        listen=[("203.0.113.20", 443), ("203.0.113.20", 8041)],
        dns_records=["proxy.nhn.test,203.0.113.80"],
    ) as lab:
        site = site_file(lab, tmp, ["fjern", "navn"])
        serve = start_serve(lab, tmp, site, "--interval", "1s", "--listen", f"127.0.0.1:{PORT}")
        config = tmp / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: nhn-appliance\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{PORT}']}}]\n"
        )
        prom = netns.popen_in(
            lab.ns["site"],
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{PROM_PORT}",
            ],
            tmp / "prometheus.log",
        )
        try:
            for url in (
                f"http://127.0.0.1:{PROM_PORT}/-/ready",
                f"http://127.0.0.1:{PORT}/healthz",
            ):
                wait_for(url, lambda u=url: get(lab.ns["site"], u)[0] == 200)
            yield lab, tmp, serve
        finally:
            netns.stop(prom)
            netns.stop(serve)
            shutil.rmtree(tmp / "tsdb", ignore_errors=True)


def test_prometheus_scrapes_serve_and_sees_a_service_break(lab) -> None:
    lab, tmp, serve = lab
    ns = lab.ns["site"]
    base = f"http://127.0.0.1:{PORT}"
    # the first run is in and scraped: the service is ok in Prometheus
    wait_for(
        "fjern ok in Prometheus",
        lambda: query(ns, 'nhn_appliance_service_verdict{service="fjern"} == 0'),
    )
    code, text = get(ns, base + "/metrics")
    assert code == 200
    promtool_check_metrics(text)
    assert 'nhn_appliance_info{site="probe-lab",version="' in text
    up = query(ns, 'up{job="nhn-appliance"}')
    assert up and up[0]["value"][1] == "1"
    ok = query(ns, 'nhn_appliance_check_success{check="tcp:203.0.113.20:8041"}')
    assert ok[0]["value"][1] == "1" and ok[0]["metric"]["reason"] == "open"

    # the router starts rejecting remote support: ok -> failing, two runs in a row
    netns.nft(
        lab.ns["rtr"],
        "table inet t {\n chain f {\n type filter hook forward priority 0;\n"
        " ip daddr 203.0.113.20 tcp dport 8041 reject with icmp type admin-prohibited\n }\n}\n",
    )
    rows = wait_for(
        "fjern failing for 2 runs in Prometheus",
        lambda: query(ns, 'nhn_appliance_service_failing_runs{service="fjern"} >= 2'),
    )
    assert rows[0]["metric"]["site"] == "probe-lab"
    failed = query(ns, 'nhn_appliance_check_success{check="tcp:203.0.113.20:8041"}')
    assert failed[0]["value"][1] == "0"
    assert failed[0]["metric"]["reason"] == "icmp-admin-prohibited"
    assert query(ns, 'nhn_appliance_service_verdict{service="fjern"} == 2')
    assert query(ns, "nhn_appliance_findings_active >= 1")
    code, text = get(ns, base + "/metrics")
    promtool_check_metrics(text)

    # the page and /report.json say the same; the page has the change list
    code, page = get(ns, base + "/")
    assert code == 200 and "fjern" in page and 'class="v fail"' in page
    code, body = get(ns, base + "/report.json")
    report = json.loads(body)
    assert {s["service"]: s["verdict"] for s in report["services"]}["fjern"] == "fail"
    code, body = get(ns, base + "/healthz")
    assert code == 200 and json.loads(body)["runs"] >= 3

    # /probe on loopback without a token: one service now, in blackbox's manner; rate-limited
    code, text = get(ns, base + "/probe?service=fjern", timeout=30)
    assert code in (200, 503), text  # 503: the scheduled run held the lock
    if code == 200:
        promtool_check_metrics(text)
        assert 'check="tcp:203.0.113.20:8041"' in text and 'service="navn"' not in text
        code, text = get(ns, base + "/probe?service=fjern", timeout=30)
        assert code == 429, text
    code, text = get(ns, base + "/probe?service=nosuch", timeout=30)
    assert code in (400, 429)

    # SIGTERM mid-run: serve ends within 2 s and the history file is whole
    began = time.monotonic()
    serve.send_signal(signal.SIGTERM)
    serve.wait(timeout=5)
    took = time.monotonic() - began
    assert serve.returncode == 0 and took < 2.0, (serve.returncode, took)
    check = subprocess.run(
        [
            "python3",
            "-c",
            "import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); "
            "print(db.execute('PRAGMA integrity_check').fetchone()[0], "
            "db.execute('select count(*) from runs').fetchone()[0])",
            str(tmp / "state" / "serve" / "history.sqlite3"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    status, count = check.stdout.split()
    assert status == "ok" and int(count) >= 3
    log = (tmp / "serve.log").read_text()
    assert "signal=SIGTERM: stopping" in log and "run=1 verdict=" in log
