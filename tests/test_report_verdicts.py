"""Honest verdicts: incomplete runs, old documents, unreadable input, the age in every
format, unverifiable checks counted as such, and no English in a bokmål report."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from test_report import CASE_DIR, CASE_FILES, NOW, VALIDATOR, _report

from nhn_appliance.errors import UsageError
from nhn_appliance.probes.reasons import Reason
from nhn_appliance.report import FORMATS, get_format, nagios
from nhn_appliance.report.age import parse_duration, say_age
from nhn_appliance.report.data import labels
from nhn_appliance.report.model import INCOMPLETE_SHARE, build_report

INTERRUPTED = CASE_DIR / "interrupted.json"


def doc(name: str) -> dict:
    return json.loads((CASE_DIR / name).read_text())


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nhn_appliance.cli", "report", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


# -- incomplete --------------------------------------------------------------------------
def test_interrupted_run_is_incomplete_never_ok():
    rep = _report(INTERRUPTED, "en")
    assert rep["verdict"] == "incomplete"
    assert rep["completeness"] == {
        "complete": False,
        "interrupted": True,
        "total": 9,
        "ran": 2,
        "not_run": 5,
        "unverified": 2,
        "max_share_not_run": INCOMPLETE_SHARE,
    }
    assert nagios.state(rep) == "UNKNOWN" and nagios.exit_code(rep) == 3
    line = nagios.render(rep)
    assert line.startswith("NHN UNKNOWN - ") and "5 of 9 checks did not run" in line
    text = get_format("text").render(rep)
    assert "Verdict: INCOMPLETE" in text and "OK" not in text.split("\n")[1]


def _run(n_ok: int, n_cancelled: int, n_unverifiable: int = 0) -> dict:
    d = doc("interrupted.json")
    d["interrupted"] = False
    ok = next(r for r in d["results"] if r["status"] == "ok")
    cancelled = next(r for r in d["results"] if r["reason"] == "cancelled")
    unverifiable = next(r for r in d["results"] if r["reason"] == "not-verifiable")
    d["results"] = [
        copy.deepcopy(model) | {"id": f"{name}{i}"}
        for model, name, n in (
            (ok, "ok", n_ok),
            (cancelled, "cancelled", n_cancelled),
            (unverifiable, "unverifiable", n_unverifiable),
        )
        for i in range(n)
    ]
    return build_report(d, "nb", now=NOW)


def test_most_checks_not_run_is_incomplete_even_without_interrupt():
    assert INCOMPLETE_SHARE == 0.5  # "most": more than half of the checks that could run
    assert _run(5, 5)["verdict"] == "ok"  # exactly half ran
    rep = _run(4, 5)
    assert rep["verdict"] == "incomplete" and not rep["interrupted"]
    assert nagios.exit_code(rep) == 3
    # checks that cannot be verified from the site are not "not run": they do not count
    assert _run(4, 4, 20)["verdict"] == "ok"
    assert _run(0, 0, 3)["verdict"] == "ok" and _run(0, 0, 0)["verdict"] == "incomplete"
    assert _run(0, 3)["verdict"] == "incomplete"


def test_a_failure_in_an_incomplete_run_stays_critical():
    d = doc("interrupted.json")
    d["results"][0] |= {"status": "fail", "reason": "timeout"}
    rep = build_report(d, "nb", now=NOW)
    assert rep["verdict"] == "fail" and nagios.exit_code(rep) == 2
    assert "Ufullstendig kjøring" in nagios.render(rep)  # the note still says it


def test_unverifiable_checks_are_counted_as_such_not_as_not_run():
    rep = _report(CASE_DIR / "media-unverified.json", "nb")
    assert rep["summary"]["unverified"] == 3 and rep["summary"]["skipped"] == 0
    text = get_format("text").render(rep)
    assert "3 ikke verifisert" in text and "ikke kjørt" not in text
    assert rep["verdict"] == "ok" and nagios.exit_code(rep) == 0


# -- age and --max-age -------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, seconds",
    [("30m", 1800), ("2h", 7200), ("1d", 86400), ("45s", 45), ("90", 90), ("1.5h", 5400)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "3x", "-1h", "0", "h", "1 d 2"])
def test_parse_duration_refuses(text):
    with pytest.raises(UsageError, match="--max-age .*30m, 2h, 1d"):
        parse_duration(text)


def test_say_age_in_both_languages():
    assert say_age(3 * 86400 + 4 * 3600 + 5, labels("nb")) == "3 d 4 t"
    assert say_age(3 * 86400 + 4 * 3600 + 5, labels("en")) == "3 d 4 h"
    assert say_age(65, labels("nb")) == "1 min 5 s"
    assert say_age(None, labels("en")).startswith("unknown")
    assert "future" in say_age(-3600, labels("en"))


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("lang", ["nb", "en"])
def test_every_format_shows_the_age(fmt, lang):
    now = datetime(2026, 11, 24, 14, 0, 3, 200000, tzinfo=UTC)  # 2 d 2 h after the run ended
    rep = build_report(doc("dns.json"), lang, now=now)
    out = get_format(fmt).render(rep)
    if fmt == "prometheus":
        assert f'nhn_appliance_report_age_seconds{{site="kontor-f"}} {2 * 86400 + 7200}.0' in out
        assert 'nhn_appliance_report_run_timestamp_seconds{site="kontor-f"} 1795348803.2' in out
    elif fmt == "json":
        assert json.loads(out)["age_s"] == 2 * 86400 + 7200
    else:
        assert {"nb": "2 d 2 t", "en": "2 d 2 h"}[lang] in out, out[:600]


def test_old_document_is_a_warning_with_max_age():
    d = doc("media-unverified.json")  # OK on its own
    fresh = build_report(d, "en", now=NOW, max_age_s=7200)
    assert fresh["verdict"] == "ok" and not fresh["stale"] and nagios.exit_code(fresh) == 0
    old = build_report(d, "en", now=NOW + timedelta(days=3), max_age_s=7200)
    assert old["stale"] and old["verdict"] == "warn"
    assert nagios.state(old) == "WARNING" and nagios.exit_code(old) == 1
    assert "older than 2 h 0 min" not in nagios.render(old)
    assert "older than 2 h" in nagios.render(old)
    VALIDATOR.validate(json.loads(json.dumps(old)))
    # a failing run stays CRITICAL when it is old too
    worse = build_report(doc("proxy.json"), "en", now=NOW + timedelta(days=3), max_age_s=60)
    assert worse["verdict"] == "fail" and nagios.exit_code(worse) == 2
    # a document without any time is old for --max-age: nothing says it is fresh
    d["started_at"] = d["ended_at"] = ""
    assert build_report(d, "en", now=NOW, max_age_s=60)["stale"]


# -- Nagios over the command line: interrupted, old, unreadable, mixed ------------------------
def test_cli_nagios_states(tmp_path):
    res = run_cli(str(INTERRUPTED), "--format", "nagios")
    assert res.returncode == 3 and res.stdout.startswith("NHN UNKNOWN - ")
    res = run_cli(str(CASE_DIR / "media-unverified.json"), "-f", "nagios", "--max-age", "1h")
    assert res.returncode == 1 and res.stdout.startswith("NHN WARNING - ")  # months old
    assert "eldre enn 1 t" in res.stdout
    res = run_cli(str(CASE_DIR / "media-blocked.json"), "-f", "nagios")  # mixed: fail + unverified
    assert res.returncode == 2 and res.stdout.startswith("NHN CRITICAL - ")
    for bad, words in (
        (tmp_path / "missing.json", "cannot read"),
        (tmp_path / "broken.json", "not JSON"),
    ):
        if bad.name == "broken.json":
            bad.write_text("{ not json")
        res = run_cli(str(bad), "-f", "nagios", "--lang", "en")
        assert res.returncode == 3, res
        assert res.stdout.count("\n") == 1 and res.stdout.startswith("NHN UNKNOWN - ")
        assert "cannot read the result document" in res.stdout and words in res.stdout
        assert str(bad) in res.stdout
    # other formats keep exit 2 with the message on stderr
    res = run_cli(str(tmp_path / "missing.json"), "-f", "text")
    assert res.returncode == 2 and res.stdout == "" and "cannot read" in res.stderr


def test_cli_usage_errors():
    res = run_cli()
    assert res.returncode == 2 and "RESULTS.json, or --compare" in res.stderr
    res = run_cli(str(INTERRUPTED), "--max-age", "soon")
    assert res.returncode == 2 and "--max-age 'soon' is not a duration" in res.stderr


# -- words: no English in a bokmål report ---------------------------------------------------
@pytest.mark.parametrize("lang", ["nb", "en"])
def test_every_reason_code_has_words(lang):
    words = labels(lang)
    for reason in Reason:
        assert "reason_" + reason.value.replace("-", "_") in words, reason
    assert {k for k in words if k.startswith("reason_")} == {
        "reason_" + r.value.replace("-", "_") for r in Reason
    } | {"reason_unknown"}


#: English words that give away a probe's own detail text or a reason code
ENGLISH = re.compile(
    r"\b(rejected|firewall|refused|timeout|no answer|not-verifiable|cannot|verified|"
    r"only a cooperating|the clock|administratively|prohibited\b(?!»))",
    re.I,
)


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_no_english_in_a_bokmal_report(path):
    rep = _report(path, "nb")
    for s in rep["services"]:
        for c in s["checks"]:
            said = c["detail"].replace("«administratively prohibited»", "")
            assert not ENGLISH.search(said), (c["id"], c["detail"])
            reason = c["reason_text"].replace("«administratively prohibited»", "")
            assert not ENGLISH.search(reason), c["reason_text"]
            assert c["what"] != c["kind"]
    for u in rep["unverified"]:
        assert not ENGLISH.search(u["why"]), u["why"]
    text = get_format("text").render(rep)
    kinds = ("tcp", "syn", "sip", "stun", "sniff", "note", "path")
    for line in text.split("Sjekker som ikke er OK:")[-1].splitlines()[1:-2]:
        assert not re.match(rf"\s+\S+\s+\S.*: ({'|'.join(kinds)}) ", line), line


def test_icmp_sender_in_the_check_detail():
    rep = _report(CASE_DIR / "media-blocked.json", "nb")
    check = next(c for s in rep["services"] for c in s["checks"] if c["sender"])
    assert check["sender"] == "198.51.100.1"
    assert "stedets egen ruter (198.51.100.1): stedets brannmur stopper" in check["detail"]
    d = doc("media-blocked.json")
    d["host"]["gateways"] = ["198.51.100.254 (eth0)"]
    rep = build_report(d, "en", now=NOW)
    check = next(c for s in rep["services"] for c in s["checks"] if c["sender"])
    assert "198.51.100.1, beyond the site" in check["detail"]
