"""Property test over the four loaders (issue 11): every generated site file,
catalogue file, pins file and result document gives exit 0 or 2 (exit 1 for a
finding where the command has one), never a traceback, never the internal-error
code, and an error names the file. Bounded: derandomized, a few seconds each.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import CASES, REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: values a hostile file may hold: text with controls, huge and odd numbers, nesting
SCALARS = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
SITE = (REPO / "appliance.toml").read_text(encoding="utf-8")
PINS = json.loads((CASES / "pins/default.pins.json").read_text(encoding="utf-8"))
RESULTS = json.loads((CASES / "reports/media-blocked.json").read_text(encoding="utf-8"))


def _toml(value) -> str:
    """A TOML value for ``value`` (JSON is TOML for strings, numbers and arrays)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or isinstance(value, dict):
        return '""'
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


def _check(code: int, err: str, file: str, allowed=(0, 2)) -> None:
    assert "Traceback" not in err, err
    assert code in allowed, (code, err)
    if code == 2:
        assert file in err, err


def _mutate(doc, path: list, value):
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


SITE_KEYS = [
    "name", "services", "prefixes", "interfaces", "interface", "timeout", "resolvers",
    "proxy", "outbound", "deadline", "concurrency",
]  # fmt: skip


@SETTINGS
@given(key=st.sampled_from(SITE_KEYS), value=VALUES, raw=st.binary(max_size=40))
def test_site_loader(run_main, tmp_path: Path, key, value, raw) -> None:
    site = tmp_path / "prop-site.toml"
    lines = SITE.splitlines()
    for i, line in enumerate(lines):
        if line.split("=")[0].strip() == key:
            lines[i] = f"{key} = {_toml(value)}"
            break
    site.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"))
    code, _, err = run_main("--site", str(site), "rules", "check")
    _check(code, err, "prop-site.toml")
    site.write_bytes(raw)  # arbitrary bytes
    code, _, err = run_main("--site", str(site), "rules", "check")
    _check(code, err, "prop-site.toml")


@pytest.fixture(scope="module")
def rules_copy(tmp_path_factory) -> Path:
    rules = tmp_path_factory.mktemp("prop") / "rules"
    shutil.copytree(REPO / "rules", rules)
    return rules


@SETTINGS
@given(key=st.sampled_from(["ports", "addresses", "names", "title", "qos", "zone", "source"]),
       value=VALUES)  # fmt: skip
def test_catalogue_loader(run_main, rules_copy: Path, key, value) -> None:
    original = (REPO / "rules/fjernhjelp.toml").read_text(encoding="utf-8")
    lines = original.splitlines()
    for i, line in enumerate(lines):
        if line.split("=")[0].strip() == key:
            lines[i] = f"{key} = {_toml(value)}"
            break
    (rules_copy / "fjernhjelp.toml").write_text(
        "\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass"
    )
    try:
        code, _, err = run_main("--rules", str(rules_copy), "rules", "check")
    finally:
        (rules_copy / "fjernhjelp.toml").write_text(original, encoding="utf-8")
    _check(code, err, "fjernhjelp.toml")


PIN_PATHS = [["names"], ["names", "ntp.nhn.no"], ["names", "ntp.nhn.no", "ttl"],
             ["names", "ntp.nhn.no", "addresses"], ["names", "ntp.nhn.no", "resolved_at"],
             ["schema"]]  # fmt: skip


@SETTINGS
@given(path=st.sampled_from(PIN_PATHS), value=VALUES)
def test_pins_loader(run_main, tmp_path: Path, path, value) -> None:
    pins = tmp_path / "prop.pins.json"
    doc = _mutate(json.loads(json.dumps(PINS)), path, value)
    pins.write_text(json.dumps(doc), encoding="utf-8", errors="surrogatepass")
    code, _, err = run_main("--pins", str(pins), "policy", "show")
    _check(code, err, "prop.pins.json")


RESULT_PATHS = [["site"], ["site", "name"], ["host"], ["host", "addresses"], ["runtime_s"],
                ["started_at"], ["results", 0, "evidence"], ["results", 0, "detail"],
                ["results", 0, "target"], ["results", 0, "events"], ["results", 0, "status"],
                ["results", 0, "duration_s"], ["interrupted"]]  # fmt: skip


@SETTINGS
@given(
    path=st.sampled_from(RESULT_PATHS),
    value=VALUES,
    fmt=st.sampled_from(["text", "json", "nagios", "prometheus", "html"]),
)
def test_result_document_loader(run_main, tmp_path: Path, path, value, fmt) -> None:
    results = tmp_path / "prop-results.json"
    doc = _mutate(json.loads(json.dumps(RESULTS)), path, value)
    results.write_text(json.dumps(doc), encoding="utf-8", errors="surrogatepass")
    code, out, err = run_main("report", str(results), "-f", fmt)
    # nagios exits with its plugin code (0-3): an unreadable document is UNKNOWN (3)
    if fmt == "nagios":  # the plugin's codes: 2 is CRITICAL, an unreadable document UNKNOWN
        assert "Traceback" not in err and code in (0, 1, 2, 3), (code, err)
        assert out.count("\n") == 1, out
    else:
        _check(code, err, "prop-results.json")
    if fmt == "json" and code == 0:
        json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in the JSON report"))
