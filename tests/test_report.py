"""Reports: diagnosis findings, text/nagios goldens, JSON schema, privacy, CLI."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from nhn_appliance.report import FORMATS, get_format
from nhn_appliance.report.diagnose import load_rules
from nhn_appliance.report.model import ReportInputError, build_report, read_results

TESTS = Path(__file__).parent
REPO = TESTS.parent
CASE_DIR = TESTS / "cases" / "reports"
CASE_FILES = sorted(CASE_DIR.glob("*.json"))
SCHEMA = json.loads((REPO / "report" / "report.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
NO_HTML = [f for f in FORMATS if f != "html"]


def _report(path: Path, lang: str = "nb") -> dict:
    return build_report(read_results(path), lang)


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_cases_trigger_every_rule():
    fired = {f["id"] for p in CASE_FILES for f in _report(p)["findings"]}
    rules = {r["id"] for r in load_rules()["rule"]}
    assert rules - fired == set(), "rules no case triggers"


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
@pytest.mark.parametrize("lang", ["nb", "en"])
def test_text_golden(path, lang, golden):
    golden(f"report/{path.stem}.{lang}.txt", get_format("text").render(_report(path, lang)))


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_nagios_golden(path, golden):
    rep = _report(path)
    out = get_format("nagios").render(rep)
    assert out.count("\n") == 1 and out.count("|") == 1
    code = get_format("nagios").exit_code(rep)
    golden(f"report/{path.stem}.nb.nagios", f"{out}exit {code}\n")


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
@pytest.mark.parametrize("lang", ["nb", "en"])
def test_json_report_validates(path, lang):
    rep = json.loads(get_format("json").render(_report(path, lang)))
    VALIDATOR.validate(rep)
    assert rep["lang"] == lang and rep["labels"]["verdict"]


def test_unverified_never_a_pass():
    rep = _report(CASE_DIR / "media-unverified.json")
    assert {u["target"] for u in rep["unverified"]} >= {
        "udp 91.186.92.28:40000",
        "udp 91.186.67.134:50000",
    }
    for s in rep["services"]:
        for c in s["checks"]:
            if c["reason"] == "not-verifiable":
                assert c["status"] == "skipped"
    text = get_format("text").render(rep)
    assert "Ikke verifisert" in text and "udp 91.186.92.28:40000" in text


def test_nagios_exit_codes():
    nag = get_format("nagios")
    assert nag.exit_code(_report(CASE_DIR / "media-unverified.json")) == 0
    assert nag.exit_code(_report(CASE_DIR / "clock-warn.json")) == 1
    assert nag.exit_code(_report(CASE_DIR / "proxy.json")) == 2
    doc = json.loads((CASE_DIR / "clock-warn.json").read_text())
    doc["results"][0]["status"] = "error"
    assert nag.exit_code(build_report(doc, "nb")) == 3


def test_prometheus_format():
    out = get_format("prometheus").render(_report(CASE_DIR / "proxy.json"))
    assert 'nhn_appliance_report_verdict{site="kontor-g"} 2' in out
    assert (
        'nhn_appliance_report_finding{site="kontor-g",id="proxy-auth-required",service="proxy"} 2'
        in out
    )
    for line in out.splitlines():
        assert line.startswith("# ") or line.startswith("nhn_appliance_")


# -- schema versions and bad input --------------------------------------------------
@pytest.mark.parametrize(
    "schema, words",
    [
        ("nhn-appliance/probe-results/0", ["older version (0)", "reads version 1"]),
        ("nhn-appliance/probe-results/2", ["newer version (2)", "upgrade"]),
        ("something/else", ["not a probe result document"]),
    ],
)
def test_other_schema_clear_message(tmp_path, schema, words):
    doc = json.loads((CASE_DIR / "dns.json").read_text())
    doc["schema"] = schema
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ReportInputError) as exc:
        read_results(path)
    msg = str(exc.value)
    assert str(path) in msg and schema in msg and "nhn-appliance/probe-results/1" in msg
    for w in words:
        assert w in msg


# -- privacy ------------------------------------------------------------------------------
SECRETS = ["hunter2", "s3cr3tP4ss", "dXNlcjpodW50ZXIy", "abcdeftoken123", "PAYLOADBYTES"]


def test_privacy_no_secrets_or_payloads():
    doc = json.loads((CASE_DIR / "proxy.json").read_text())
    doc["site"]["file"] = "/etc/nhn/kontor.toml"
    bad = doc["results"][2]
    bad["target"] = "http://alice:hunter2@sikker.proxy.nhn.no:8080"
    bad["id"] = "proxy:http://alice:hunter2@sikker.proxy.nhn.no:8080"
    bad["detail"] = (
        "sent Proxy-Authorization: Basic dXNlcjpodW50ZXIy to alice:s3cr3tP4ss@198.51.100.88:8080"
    )
    bad["evidence"] |= {
        "password": "s3cr3tP4ss",
        "headers": {"Proxy-Authorization": "Basic dXNlcjpodW50ZXIy"},
        "token": "abcdeftoken123",
        "body": "PAYLOADBYTES",
        "reply_head": "PAYLOADBYTES",
        "url": "https://bob:hunter2@198.51.100.9/x?password=hunter2",
    }
    bad["events"][0]["detail"] = "Authorization: Bearer abcdeftoken123"
    for lang in ("nb", "en"):
        rep = build_report(doc, lang)
        for fmt in NO_HTML:
            out = get_format(fmt).render(rep)
            for secret in SECRETS:
                assert secret not in out, (fmt, secret)
        VALIDATOR.validate(rep)
    ev = next(e for e in rep["evidence"] if e["id"].startswith("proxy:http"))["evidence"]
    assert ev["address"] == "198.51.100.88" and ev["http_status"] == 407  # addresses and codes stay
    assert ev["credentials_sent"] is False


# -- many results ----------------------------------------------------------------------------
def big_doc(n: int = 500) -> dict:
    services = ["join", "cma", "fjernhjelp", "dns", "proxy", "ntp", "helseid", "betalingsterminal"]
    results = []
    for i in range(n):
        svc = services[i % len(services)]
        status = (
            "fail" if i % 97 == 0 else "warn" if i % 53 == 0 else "skipped" if i % 7 == 0 else "ok"
        )
        addr = f"198.51.100.{i % 250 + 1}"
        results.append(
            {
                "id": f"tcp:{addr}:{1000 + i}",
                "kind": "tcp",
                "target": f"{addr}:{1000 + i}",
                "service": svc,
                "source": "002:1",
                "status": status,
                "reason": {
                    "ok": "open",
                    "fail": "timeout",
                    "warn": "answer-differs",
                    "skipped": "not-verifiable",
                }[status],
                "detail": f"tcp {addr}:{1000 + i}",
                "evidence": {"address": addr, "port": 1000 + i},
                "events": [],
                "duration_s": 0.01,
            }
        )
    return {
        "schema": "nhn-appliance/probe-results/1",
        "software": {"name": "nhn-appliance", "version": "0.1.0"},
        "site": {"name": "stor-klinikk", "file": "appliance.toml"},
        "host": {"hostname": "nhn-box"},
        "started_at": "2026-11-22T12:00:00.00Z",
        "ended_at": "2026-11-22T12:01:00.00Z",
        "runtime_s": 60.0,
        "interrupted": False,
        "summary": {},
        "results": results,
    }


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_many_results_summary_first_screen(lang):
    rep = build_report(big_doc(), lang)
    VALIDATOR.validate(rep)
    head = "\n".join(get_format("text").render(rep).splitlines()[:20])
    lb = rep["labels"]
    assert f"{lb['verdict']}: {lb['status_fail']}" in head
    assert "stor-klinikk" in head and "2026-11-22T12:00:00.00Z" in head
    for s in rep["services"]:
        assert any(
            line.split()[:1] == [lb["status_" + s["verdict"]]] and f" {s['title']}:" in line
            for line in head.splitlines()
        ), s["service"]


# -- command line ----------------------------------------------------------------------------------
def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "nhn_appliance.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_report_text_and_nagios(tmp_path):
    case = str(CASE_DIR / "proxy.json")
    out = run_cli("report", case, "--format", "text", "--lang", "en")
    assert out.returncode == 0 and out.stdout.startswith("NHN diagnostic report")
    nag = run_cli("report", case, "--format", "nagios")
    assert nag.returncode == 2 and nag.stdout.startswith("NHN CRITICAL")
    prom = tmp_path / "nhn.prom"
    res = run_cli("report", case, "--format", "prometheus", "-o", str(prom))
    assert res.returncode == 0 and prom.read_text().startswith("# HELP")
    assert [p.name for p in tmp_path.iterdir()] == ["nhn.prom"]  # no temporary file left
    js = tmp_path / "r.json"
    assert run_cli("report", case, "--format", "json", "-o", str(js)).returncode == 0
    VALIDATOR.validate(json.loads(js.read_text()))


def test_cli_report_bad_input(tmp_path):
    doc = json.loads((CASE_DIR / "dns.json").read_text())
    doc["schema"] = "nhn-appliance/probe-results/2"
    path = tmp_path / "new.json"
    path.write_text(json.dumps(doc))
    res = run_cli("report", str(path))
    assert res.returncode == 2 and "newer version" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("report", str(tmp_path / "missing.json"))
    assert res.returncode == 2 and "cannot read" in res.stderr
    assert run_cli("report", "--help").returncode == 0


def test_report_does_not_change_input():
    doc = json.loads((CASE_DIR / "proxy.json").read_text())
    before = copy.deepcopy(doc)
    build_report(doc, "nb")
    assert doc == before
