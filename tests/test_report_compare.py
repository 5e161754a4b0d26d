"""Before and after: the comparison of two runs in every format.

The pair is made in the lab by tests/test_report_lab.py (the video opening added
to the site router between two real probe runs; tests/cases/reports/compare/).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from test_report import CASE_DIR

from nhn_appliance.report import FORMATS
from nhn_appliance.report.age import parse_time
from nhn_appliance.report.compare import CHANGES, change, compare, render
from nhn_appliance.report.compare_formats import exit_code
from nhn_appliance.report.model import build_report

PAIR = CASE_DIR / "compare"
NOW = datetime(2026, 12, 5, 8, 0, 0, tzinfo=UTC)


def _pair(lang: str = "nb", reverse: bool = False) -> dict:
    docs = [json.loads((PAIR / f"{n}.json").read_text()) for n in ("before", "after")]
    if reverse:
        docs.reverse()
    end = parse_time(json.loads((PAIR / "after.json").read_text())["ended_at"])
    now = end + timedelta(hours=1) if end else NOW  # the same age each time the lab runs
    before, after = (build_report(d, lang, now=now) for d in docs)
    return compare(before, after)


@pytest.mark.parametrize(
    "before, after, expected",
    [
        ("fail", "ok", "fixed"),
        ("error", "ok", "fixed"),
        ("ok", "fail", "broke"),
        ("ok", "warn", "broke"),
        ("ok", "ok", "stayed_ok"),
        ("fail", "error", "stayed_failing"),
        ("missing", "ok", "new"),
        ("fail", "missing", "gone"),
        ("skipped", "ok", "not_run"),
        ("fail", "skipped", "not_run"),
        ("unverified", "unverified", "unverified"),
        ("missing", "unverified", "unverified"),
    ],
)
def test_change_of_one_check(before, after, expected):
    assert change(before, after) == expected


def test_lab_pair_the_opening_added_fixed_video():
    cmp = _pair("en")
    assert cmp["same_site"] and cmp["before"]["verdict"] == "fail"
    assert cmp["after"]["verdict"] == "ok"
    video = next(s for s in cmp["services"] if s["change"] == "fixed")
    assert [c["change"] for c in video["checks"]] == ["fixed", "fixed"]
    assert {c["before"] for c in video["checks"]} == {"fail"}
    assert cmp["changes"]["fixed"] == 2 and cmp["changes"]["broke"] == 0
    assert sum(cmp["changes"].values()) == 7
    assert exit_code(cmp) == 0
    back = _pair("en", reverse=True)  # the other way round, the opening was removed
    assert back["changes"]["broke"] == 2 and exit_code(back) == 2


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_compare_in_every_format(fmt, golden):
    for lang in ("nb", "en"):
        cmp = _pair(lang)
        out = render(cmp, fmt)
        words = cmp["labels"]
        if fmt == "json":
            assert json.loads(out)["changes"]["fixed"] == 2
        elif fmt == "prometheus":
            assert 'nhn_appliance_compare_checks{site="report-lab",change="fixed"} 2' in out
        else:
            assert words["change_fixed"] in out and words["before"] in out or fmt == "nagios"
        if fmt == "nagios":
            assert out.startswith("NHN OK - ") and out.count("\n") == 1 and "fixed=2" in out
        ext = {"text": "txt", "prometheus": "prom"}.get(fmt, fmt)
        golden(f"report/compare.{lang}.{ext}", out)


def test_compare_html_side_by_side():
    page = render(_pair("nb"), "html")
    assert page.count('<section class="side"') == 2
    assert page.index("Før:") < page.index("Etter:")
    assert page.count('class="row-fixed"') == 2
    assert "grid-template-columns: 1fr 1fr" in page  # two columns; one on a phone
    assert "<script" not in page


def test_cli_compare(tmp_path):
    before, after = str(PAIR / "before.json"), str(PAIR / "after.json")
    for fmt in FORMATS:
        res = subprocess.run(
            [sys.executable, "-m", "nhn_appliance.cli", "report", "--compare", after, before]
            + ["--format", fmt, "--lang", "en"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert res.returncode == (2 if fmt == "nagios" else 0), (fmt, res.stderr)
        assert res.stdout and "Traceback" not in res.stderr
    res = subprocess.run(
        [sys.executable, "-m", "nhn_appliance.cli", "report", before, "--compare", before, after],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2 and "one RESULTS.json, or --compare" in res.stderr


def test_changes_are_ordered_most_urgent_first():
    assert CHANGES[:3] == ("broke", "stayed_failing", "fixed") and CHANGES[-1] == "stayed_ok"
