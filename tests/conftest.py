"""Shared pytest set-up: golden files and paths.

Golden files live in tests/golden/<target>/<case>.<ext>. A missing or
different golden fails the test and writes <file>.actual beside it; run
``pytest --update-golden`` to accept the new output on purpose.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).parent
REPO = TESTS.parent
GOLDEN = TESTS / "golden"
CASES = TESTS / "cases"


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
