"""Reports: diagnosis findings, text/nagios goldens, JSON schema, privacy, CLI."""

from __future__ import annotations

import ast
import copy
import json
import subprocess
import sys
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from nhn_appliance.errors import InputError, UsageError
from nhn_appliance.probes.model import SEVERITY, Status
from nhn_appliance.report import FORMATS, get_format, html, nagios, prometheus
from nhn_appliance.report.age import parse_time
from nhn_appliance.report.data import (
    LANGS,
    LabelsError,
    labels_file,
    load_contacts,
    load_labels,
    rules_file,
)
from nhn_appliance.report.diagnose import load_rules
from nhn_appliance.report.model import (
    STATUSES,
    ReportInputError,
    build_report,
    read_results,
    report_from_file,
)

TESTS = Path(__file__).parent
REPO = TESTS.parent
CASE_DIR = TESTS / "cases" / "reports"
CASE_FILES = sorted(CASE_DIR.glob("*.json"))
SCHEMA = json.loads((REPO / "report" / "report.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
NO_HTML = [f for f in FORMATS if f != "html"]
#: "now" for the hand-made cases: they ran on 2026-11-22 at 12:00 UTC, so about an hour old
NOW = datetime(2026, 11, 22, 13, 0, 5, tzinfo=UTC)


def _report(path: Path, lang: str = "nb") -> dict:
    """The report of a case, made an hour after its run ended (lab documents are made
    again with each --update-golden; their age in the goldens stays the same)."""
    doc = read_results(path)
    end = parse_time(doc.get("ended_at"))
    now = end + timedelta(hours=1) if end else NOW
    return build_report(doc, lang, now=now)


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
    # clock-warn was interrupted (Ctrl-C): incomplete, UNKNOWN, even with a warning in it
    assert nag.exit_code(_report(CASE_DIR / "clock-warn.json")) == 3
    assert nag.exit_code(_report(CASE_DIR / "proxy.json")) == 2
    doc = json.loads((CASE_DIR / "clock-warn.json").read_text())
    doc["interrupted"] = False
    assert nag.exit_code(build_report(doc, "nb", now=NOW)) == 1
    doc["results"][0]["status"] = "error"
    assert nag.exit_code(build_report(doc, "nb", now=NOW)) == 3


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


# -- one label table per language ---------------------------------------------------------------
def test_label_tables_have_the_same_keys():
    raw = tomllib.loads(labels_file().read_text(encoding="utf-8"))
    assert set(raw) == set(LANGS)
    assert set(raw["nb"]) == set(raw["en"])
    tables = load_labels()
    assert tables == raw
    for lang in LANGS:
        assert (
            build_report(json.loads((CASE_DIR / "dns.json").read_text()), lang)["labels"]
            == (tables[lang])
        )


def test_labels_file_missing_a_key_names_file_and_key(tmp_path):
    text = labels_file().read_text(encoding="utf-8")
    en = text.index("[en]")
    bad = tmp_path / "labels.toml"
    bad.write_text(text[:en] + text[en:].replace('site = "Site"\n', ""), encoding="utf-8")
    with pytest.raises(LabelsError) as exc:
        load_labels(bad)
    assert str(bad) in str(exc.value) and "en.site: is missing" in str(exc.value)


# -- NHN's contacts are data ----------------------------------------------------------------------
def test_contacts_come_from_the_rules_file():
    contacts = load_contacts()
    assert contacts == {
        "email": "kundesenter@nhn.no",
        "phones": ["02017", "24 20 00 00"],
        "hours": "24/7",
        "source": "001:33; 002:69; 002:5; 000:11",
    }
    assert _report(CASE_DIR / "dns.json")["contacts"] == contacts
    for path in (REPO / "report").glob("*.py"):  # no copy of an NHN fact in the code
        code = path.read_text(encoding="utf-8")
        for fact in ("kundesenter@nhn.no", "02017", "24 20 00 00"):
            assert fact not in code, (path.name, fact)


@pytest.mark.parametrize(
    "old, new, key, words",
    [
        ('number = "02017"', 'number = "020 17 x"', "phone[0].number", ["not a phone number"]),
        (
            'address = "kundesenter@nhn.no"',
            'address = "kundesenter"',
            "email.address",
            ["name@domain"],
        ),
        ('source = "002:69"', 'source = " "', "phone[1].source", ["must cite"]),
        (
            'text = "24/7"',
            'open = "24/7"',
            "hours.open",
            ["unknown key", "note, note_source, source, text"],
        ),
        (
            '[[phone]]\nnumber = "02017"',
            '[[phone]]\nnummer = "02017"',
            "phone[0].nummer",
            ["unknown key"],
        ),
    ],
)
def test_invalid_contacts_file_names_file_and_key(tmp_path, old, new, key, words):
    text = rules_file("contacts.toml").read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "contacts.toml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_contacts(bad)
    assert exc.value.file == str(bad) and exc.value.key == key, str(exc.value)
    for w in words:
        assert w in str(exc.value)


# -- diagnosis rules are checked like the catalogue -----------------------------------------------
@pytest.mark.parametrize(
    "old, new, key, words",
    [
        ('severity = "fail"', 'severity = "critical"', "rule[0].severity", ["fail, warn, info"]),
        (
            'status = ["fail"]',
            'status = ["failed"]',
            "rule[0].require[1].status[0]",
            ["'failed' is not known", "ok, warn, fail, error, skipped"],
        ),
        (
            'ports = ["40000-49999"]',
            'port = ["40000-49999"]',
            "rule[0].require[1].port",
            ["unknown key", "addresses, cite, id_glob, kind, ports, reason, service, status"],
        ),
        (
            'ports = ["40000-49999"]',
            'ports = ["49999-40000"]',
            "rule[0].require[1].ports[0]",
            ["out of range", "first <= last"],
        ),
        (
            'service = "join"',
            'service = "jion"',
            "rule[0].service",
            ["unknown service 'jion'", '"*"'],
        ),
        (
            'addresses = ["91.186.92.90"]',
            'addresses = ["91.186.92.900"]',
            "rule[6].require[0].addresses[0]",
            ["91.186.92.900"],
        ),
        (
            'id = "join-media-unverified"',
            'id = "join-media-blocked"',
            "rule[1].id",
            ["also used by rule[0]"],
        ),
        ('kind = ["note"]', "kind = []", "rule[1].require[1].kind", ["empty list"]),
        (
            'title = "Join: signalering',
            'titel = "Join: signalering',
            "rule[0].nb.titel",
            ["unknown key"],
        ),
        ('subject = "target"', "subject = 3", "rule[0].subject", ["expected a string"]),
    ],
)
def test_invalid_diagnosis_rule_names_file_and_key(tmp_path, old, new, key, words):
    text = rules_file("diagnosis.toml").read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "diagnosis.toml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_rules(bad)
    assert exc.value.file == str(bad) and exc.value.key == key, str(exc.value)
    for w in words:
        assert w in str(exc.value)


def test_diagnosis_rule_missing_text_is_named(tmp_path):
    text = rules_file("diagnosis.toml").read_text(encoding="utf-8")
    start = text.index("[rule.en]")
    end = text.index("\n", text.index("remediation", start))
    bad = tmp_path / "diagnosis.toml"
    bad.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_rules(bad)
    assert f"{bad}: rule[0].en: is required but missing" == str(exc.value)


# -- one status order, project errors, purity ------------------------------------------------------
def test_one_status_order():
    assert STATUSES == tuple(Status)
    assert html.STATUS_ORDER == ("error", "fail", "warn", "unverified", "ok", "skipped")
    assert [s for s in html.STATUS_ORDER if s != "unverified"] == sorted(
        Status, key=lambda s: -SEVERITY[s]
    )
    assert set(nagios.STATE) == set(Status)
    for s in Status:
        assert prometheus._verdict(s.value) == s.severity
    assert "-1 not run, 0 ok, 1 warn, 2 fail, 3 error" == prometheus.SERVICE_SCALE


def test_unknown_format_or_language_is_a_usage_error():
    with pytest.raises(UsageError, match="'pdf'.*allowed: text, json, nagios, prometheus, html"):
        get_format("pdf")
    doc = json.loads((CASE_DIR / "dns.json").read_text())
    for call in (
        lambda: build_report(doc, "de"),
        lambda: report_from_file(CASE_DIR / "dns.json", "de"),
    ):
        with pytest.raises(UsageError, match="'de'.*allowed: nb, en"):
            call()


BANNED_IMPORTS = ("subprocess", "socket", "nhn_appliance.cli", "nhn_appliance.outputs")


@pytest.mark.parametrize("path", sorted((REPO / "report").glob("*.py")), ids=lambda p: p.name)
def test_report_is_pure(path):
    """No writes, processes, network or command line; of probes only the model."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        for name in names:
            assert not name.startswith(BANNED_IMPORTS), name
            if name.startswith("nhn_appliance.probes"):
                assert name == "nhn_appliance.probes.model", name
        if isinstance(node, ast.Attribute):
            assert node.attr not in ("write_text", "write_bytes", "unlink", "mkdir"), node.attr
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "open", "open()"
