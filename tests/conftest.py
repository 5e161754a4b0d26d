"""Shared pytest set-up: paths, golden files and the in-process command line.

Golden files live in tests/golden/<target>/<case>.<ext>. A missing or
different golden fails the test and writes <file>.actual beside it; run
``pytest --update-golden`` to accept the new output on purpose.

Test modules import the path constants from here (``from conftest import
CASES``) rather than working them out again.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from nhn_appliance.cli import main

TESTS = Path(__file__).parent
REPO = TESTS.parent
GOLDEN = TESTS / "golden"
CASES = TESTS / "cases"
UNIT = CASES / "unit"
INVALID = CASES / "invalid"
HOSTILE = CASES / "injection" / "rules"
PINS = CASES / "pins" / "default.pins.json"  #: pins for the default site's names

#: the environment variables the command line reads its inputs from
CLI_ENV = ("NHN_APPLIANCE_SITE", "NHN_APPLIANCE_RULES")

RunMain = Callable[..., tuple[int, str, str]]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files from the current output",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """``golden("nftables/default.nft", text)`` compares text with the golden file."""
    update = request.config.getoption("--update-golden")

    def check(relpath: str, text: str) -> None:
        path = GOLDEN / relpath
        actual = path.with_name(path.name + ".actual")
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            actual.unlink(missing_ok=True)
            return
        if not path.exists():
            actual.parent.mkdir(parents=True, exist_ok=True)
            actual.write_text(text, encoding="utf-8")
            pytest.fail(
                f"golden file {path} is missing; wrote {actual.name}; "
                f"run pytest --update-golden to accept it"
            )
        expected = path.read_text(encoding="utf-8")
        if text != expected:
            actual.write_text(text, encoding="utf-8")
            pytest.fail(
                f"output differs from {path}; see {actual} (diff them), "
                f"or run pytest --update-golden to accept it"
            )
        actual.unlink(missing_ok=True)

    return check


@pytest.fixture
def run_main(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> RunMain:
    """``run_main(*args, env=None, cwd=None)`` -> (exit code, stdout, stderr) of the real main().

    The entry point runs in-process with ``sys.argv`` set, so exit codes are
    main()'s (0 ok, 1 a finding, 2 bad input). By default it runs in the
    test's empty temporary folder with NHN_APPLIANCE_SITE and
    NHN_APPLIANCE_RULES unset, so that neither an ./appliance.toml or pins
    file of the repository nor the caller's environment can leak in. ``env``
    sets variables (None unsets one), ``cwd`` runs it in another folder; a
    test may also use monkeypatch itself after asking for this fixture.
    Output printed before the call is not part of the result.
    """
    monkeypatch.chdir(tmp_path)
    for name in CLI_ENV:
        monkeypatch.delenv(name, raising=False)

    def invoke(
        *args: str, env: Mapping[str, str | None] | None = None, cwd: Path | None = None
    ) -> tuple[int, str, str]:
        for name, value in (env or {}).items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        if cwd is not None:
            monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", ["nhn-appliance", *args])
        capsys.readouterr()
        with pytest.raises(SystemExit) as info:
            main()
        out, err = capsys.readouterr()
        return info.value.code, out, err

    return invoke
