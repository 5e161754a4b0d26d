"""The shipped alert rules: ``promtool check rules`` and ``promtool test rules`` (input
series in tests/cases/serve/alerts.test.yml: each alert fires when it should, not
before, with the site, the service, the finding's text and its source)."""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest

RULES = Path(str(resources.files("nhn_appliance").joinpath("alerts/nhn-appliance.rules.yml")))
UNIT = Path(__file__).parent / "cases" / "serve" / "alerts.test.yml"

pytestmark = pytest.mark.skipif(not shutil.which("promtool"), reason="promtool is not installed")


def test_rules_check() -> None:
    proc = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 5 rules found" in proc.stdout


def test_rules_unit_tests(tmp_path: Path) -> None:
    text = UNIT.read_text()
    unit = tmp_path / "alerts.test.yml"
    unit.write_text(f"rule_files: [{RULES}]\n" + text)
    proc = subprocess.run(
        ["promtool", "test", "rules", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_a_broken_expectation_fails(tmp_path: Path) -> None:
    """The unit test can fail: the join alert expected one run too early is an error."""
    text = UNIT.read_text().replace(
        "- eval_time: 1m\n        alertname: NhnServiceFailing\n        exp_alerts: []",
        "- eval_time: 1m\n        alertname: NhnServiceFailing\n"
        "        exp_alerts: [{exp_labels: {service: join}}]",
    )
    assert text != UNIT.read_text()
    unit = tmp_path / "alerts.test.yml"
    unit.write_text(f"rule_files: [{RULES}]\n" + text)
    proc = subprocess.run(
        ["promtool", "test", "rules", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
