"""``serve`` without a lab: the history (migrations, bounds, a file deleted or
corrupted while in use, the clock jumping), the exposition (``promtool check
metrics``), bad configuration (exit 2 before anything starts), the systemd unit."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from nhn_appliance import history as hist
from nhn_appliance.metrics import Snapshot, render

CASE = Path(__file__).parent / "cases" / "probes"


def _doc(i: int, status: str = "ok", started: float = 1.7e9) -> dict:
    from nhn_appliance.probes.document import iso

    return {
        "schema": "nhn-appliance/probe-results/1",
        "site": {"name": "kontor", "file": "s.toml"},
        "started_at": iso(started + i),
        "ended_at": iso(started + i + 1),
        "results": [{"id": f"tcp:203.0.113.20:{i}", "status": status, "pad": "x" * 2000}],
    }


def _report(status: str = "ok") -> dict:
    return {
        "verdict": status,
        "services": [{"service": "fjern", "verdict": status}],
        "findings": [{"id": "f1", "service": "fjern", "severity": "fail", "title": "t"}]
        if status == "fail"
        else [],
    }


def test_migrations_take_a_version_1_file_to_the_newest(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(hist.MIGRATIONS[0] + "PRAGMA user_version = 1;")
    db.execute(
        "INSERT INTO runs (started, ended, verdict, services, doc) VALUES (1, 2, 'ok', '{}', '{}')"
    )
    db.close()
    h = hist.History(path, 86400 * 365 * 100, 1 << 30)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == hist.VERSION
    runs = h.recent(10)
    assert [r.id for r in runs] == [1] and runs[0].findings == []  # v2's default
    h.add(_doc(1), _report("fail"))
    assert h.recent(1)[0].findings[0]["id"] == "f1"


def test_a_newer_schema_is_refused_and_replaced(tmp_path: Path, caplog) -> None:
    path = tmp_path / "h.sqlite3"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {hist.VERSION + 1}").connection.close()
    with pytest.raises(sqlite3.DatabaseError, match="newer than this software"):
        hist.migrate(sqlite3.connect(path))


def test_history_is_bounded_by_size_and_age(tmp_path: Path) -> None:
    now = [1.7e9 + 10_000]
    h = hist.History(tmp_path / "h.sqlite3", 3600, 256 << 10, clock=lambda: now[0])
    for i in range(400):
        h.add(_doc(i, started=now[0] - 100 + i * 0.001), _report())
    assert h.bytes() <= 256 << 10 and 0 < h.count() < 400
    assert h.recent(1)[0].id == 400  # the newest stays
    now[0] += 7200  # an hour past the age bound: only the newest run is left after the next
    h.add(_doc(0, started=now[0]), _report())
    assert h.count() == 1


def test_the_clock_jumping_back_keeps_order_and_runs(tmp_path: Path) -> None:
    now = [1.7e9]
    h = hist.History(tmp_path / "h.sqlite3", 86400, 1 << 30, clock=lambda: now[0])
    h.add(_doc(0, started=now[0]), _report())
    now[0] -= 86400 * 3  # the clock jumps three days back
    h.add(_doc(0, started=now[0]), _report("fail"))
    runs = h.recent(10)
    assert [r.id for r in runs] == [2, 1] and runs[0].verdict == "fail"  # order by run, not time


def test_history_deleted_while_serving_starts_a_new_one(tmp_path: Path, caplog) -> None:
    path = tmp_path / "h.sqlite3"
    h = hist.History(path, 86400 * 365 * 100, 1 << 30)
    h.add(_doc(0), _report())
    path.unlink()
    h.add(_doc(1), _report())
    assert path.exists() and h.count() == 1 and h.replaced == 1
    assert "was deleted or replaced while serving" in caplog.text


def test_history_corrupted_while_serving_is_moved_aside(tmp_path: Path, caplog) -> None:
    path = tmp_path / "h.sqlite3"
    h = hist.History(path, 86400 * 365 * 100, 1 << 30)
    h.add(_doc(0), _report())
    broken = tmp_path / "broken"
    broken.write_bytes(b"this is not a database" * 400)
    broken.replace(path)  # a corrupted copy put in its place while serving
    h.add(_doc(1), _report())
    assert h.replaced == 1 and h.count() == 1
    assert len(list(tmp_path.glob("h.sqlite3.broken-*"))) == 1
    assert "moved it to" in caplog.text
    # a broken file found at start is moved aside too: serve starts with a new history
    h.close()
    path.write_bytes(b"garbage" * 1000)
    h = hist.History(path, 86400, 1 << 30)
    assert h.replaced == 1 and h.count() == 0 and "is unreadable" in caplog.text


def _snapshot() -> Snapshot:
    s = Snapshot("kontor", "0.1.0", "abc", 300.0, 1.0, 30.0, "002:265")
    s.report = {
        "interrupted": False,
        "services": [{"service": "fjern", "verdict": "fail"}, {"service": "dns", "verdict": "ok"}],
        "findings": [{"id": "blocked", "service": "fjern", "severity": "fail"}],
    }
    s.results = [
        {
            "id": "tcp:203.0.113.20:8041",
            "kind": "tcp",
            "service": "fjern",
            "status": "fail",
            "reason": "icmp-admin-prohibited",
            "duration_s": 0.01,
            "target": "203.0.113.20:8041",
        },
        {
            "id": "ntp:ntp.test",
            "kind": "ntp",
            "service": "ntp",
            "status": "ok",
            "reason": "ok",
            "duration_s": 0.02,
            "target": "ntp.test",
            "evidence": {"offset_s": 0.5},
        },
        {"id": "note:x", "kind": "note", "service": "fjern", "status": "skipped"},
    ]
    s.streaks = {"fjern": (2, 'rejected "here"\nnow', "002:88"), "dns": (0, "", "")}
    s.run_started, s.run_ended, s.runs_total, s.stale_pins, s.drift = 1.7e9, 1.7e9 + 2, 3, 1, 0
    return s


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool is not installed")
def test_exposition_passes_promtool() -> None:
    text = render(_snapshot())
    proc = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr + text
    assert (
        'nhn_appliance_check_success{site="kontor",service="fjern",kind="tcp",'
        'check="tcp:203.0.113.20:8041",reason="icmp-admin-prohibited"} 0' in text
    )
    assert 'finding="rejected \\"here\\"\\nnow"' in text  # escaped as the format says
    assert "nhn_appliance_clock_offset_seconds" in text and "note:x" not in text
    # the checker can fail: a broken line is refused
    bad = subprocess.run(
        ["promtool", "check", "metrics"],
        input=text + "nhn bad{\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode != 0


def _serve(run_main, tmp_path: Path, *args: str):
    site = tmp_path / "site.toml"
    text = (
        (CASE / "site.toml")
        .read_text()
        .format(lan="eth1", hn="eth2", inet="eth3", services='"fjern"')
    )
    site.write_text(text + "".join(a for a in args if a.startswith("\n[serve]")))
    cli = [a for a in args if not a.startswith("\n[serve]")]
    return run_main("--rules", str(CASE / "rules"), "--site", str(site), "serve", *cli)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--interval", "soon"), "--interval 'soon' is not a duration"),
        (("--listen", "localhost"), "--listen 'localhost' is not ADDR:PORT"),
        (('\n[serve]\ninterval = "-5m"\n',), "serve.interval: '-5m' is not a duration"),
        (("\n[serve]\ncolour = 1\n",), "serve"),
        (("--state-dir", "/proc/nhn-nowhere"), "cannot write /proc/nhn-nowhere/serve"),
    ],
)
def test_bad_configuration_is_exit_2_before_anything_starts(run_main, tmp_path, args, says):
    code, _, err = _serve(run_main, tmp_path, "--state-dir", str(tmp_path / "st"), *args)
    assert code == 2, err
    assert says in err, err


def test_a_port_in_use_is_exit_2(run_main, tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = _serve(
            run_main, tmp_path, "--state-dir", str(tmp_path / "st"), "--listen", f"127.0.0.1:{port}"
        )
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err, err


def test_serve_unit_ships_and_verifies(tmp_path: Path) -> None:
    text = (
        resources.files("nhn_appliance")
        .joinpath("systemd", "nhn-appliance-serve.service")
        .read_text()
    )
    assert "ExecStart=/usr/local/bin/nhn-appliance serve" in text
    assert "AmbientCapabilities=CAP_NET_RAW" in text and "DynamicUser=yes" in text
    assert "User=root" not in text
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    command = Path(sys.executable).with_name("nhn-appliance")
    unit = tmp_path / "nhn-appliance-serve.service"
    unit.write_text(
        text.replace("/usr/local/bin/nhn-appliance", str(command)).replace(
            "WorkingDirectory=/etc/nhn-appliance", ""
        )
    )
    res = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0 and not res.stderr.strip(), res.stderr
