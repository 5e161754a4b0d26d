"""The systemd units shipped with the package: present as package data, and
valid for systemd (``systemd-analyze verify``, offline) once ExecStart names
this installation's command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

UNITS = (
    "nhn-appliance-restore.service",
    "nhn-appliance-drift.service",
    "nhn-appliance-drift.timer",
)


def _unit(name: str) -> str:
    return resources.files("nhn_appliance").joinpath("systemd", name).read_text(encoding="utf-8")


def test_units_ship_with_the_package_and_run_the_right_commands() -> None:
    restore, drift, timer = (_unit(n) for n in UNITS)
    assert "ExecStart=/usr/local/bin/nhn-appliance restore" in restore
    assert "Before=network-pre.target" in restore and "WantedBy=multi-user.target" in restore
    assert "ExecStart=/usr/local/bin/nhn-appliance drift" in drift
    assert "OnUnitActiveSec=" in timer and "WantedBy=timers.target" in timer
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert '"systemd/*.service", "systemd/*.timer"' in pyproject


def test_units_verify_with_systemd(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    command = Path(sys.executable).with_name("nhn-appliance")
    if not command.exists():
        pytest.skip(f"{command} is not installed (pip install -e .)")
    for name in UNITS:
        text = _unit(name).replace("/usr/local/bin/nhn-appliance", str(command))
        (tmp_path / name).write_text(text.replace("WorkingDirectory=/etc/nhn-appliance", ""))
    res = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / n) for n in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0 and not res.stderr.strip(), res.stderr
