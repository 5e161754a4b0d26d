"""What the product prints cannot be turned into terminal commands or broken
lines, and its JSON is JSON (issue 11, review D7, D12, D14, D19)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import jsonschema
import pytest
from conftest import CASES, REPO

from nhn_appliance.probe_cli import Progress, summary
from nhn_appliance.probes.model import Result, Status
from nhn_appliance.render.escape import visible

HOSTILE = CASES / "hostile"
#: what a terminal acts on: ESC, the C1 CSI, BEL, bidi override, a bare CR
RAW = re.compile("[\x1b\x9b\x07\u202e\r]")


def test_visible_escapes_every_control_and_keeps_what_it_is_told() -> None:
    text = "a\x1b[2J\x9b31m\u202e\u2028\x85\ud800\x00\nb"
    assert visible(text) == "a\\x1b[2J\\x9b31m\\u202e\\u2028\\x85\\ud800\\x00\\x0ab"
    assert visible(text, keep="\n").endswith("\\x00\nb")
    assert visible("blåbær – ok") == "blåbær – ok"


@pytest.mark.parametrize("fmt", ["text", "nagios"])
def test_report_prints_escape_sequences_visibly(run_main, fmt) -> None:
    """R27, R28: the site name and a detail full of escapes come out as '\\x1b'."""
    code, out, err = run_main("report", str(HOSTILE / "d7/R27-escapes.json"), "-f", fmt)
    assert code in (0, 2), err
    assert not RAW.search(out), out
    assert "kontor\\x1b[2J\\x1b[H\\x1b]0;pwned\\x07" in out and "\\x9b31m\\u202e" in out


def test_nagios_status_is_one_line_with_its_perfdata(run_main) -> None:
    """R26: a line break and '|' in the site name split the line before."""
    code, out, _ = run_main("report", str(HOSTILE / "d12/R26-nagios.json"), "-f", "nagios")
    assert code == 2
    assert out.count("\n") == 1 and out.endswith("\n")
    status, perf = out.split(" | ")
    assert "kontor\\x0aSECOND/x=1\\x0d" in status and "fail=2" in perf


def test_stale_pin_warning_escapes_the_pins_file_text(run_main) -> None:
    """P16: resolved_at with escapes is echoed in the stale warning, escaped."""
    pins = str(HOSTILE / "d7/P16-escapes.pins.json")
    code, _, err = run_main("--pins", pins, "render", "-t", "nftables", "--allow-unpinned")
    assert code == 0, err
    assert not RAW.search(err) and "\\x1b]0;pwned\\x07" in err


def test_probe_summary_and_progress_escape_what_servers_sent() -> None:
    """PR07: a status line from a hostile PAC server in the live summary."""
    hostile = "HTTP/1.0 500 \x1b]0;owned-title\x07\x1b[2J\x1b[32mALL GOOD\x1b[0m\x9b"
    result = Result(
        id="pac:x", kind="pac", target="http://198.51.100.9/\x1b[2J", service="proxy",
        source="test", status=Status.FAIL, reason="http-status", detail=hostile,
    )  # fmt: skip
    text = summary([result])
    assert not RAW.search(text) and "\\x1b]0;owned-title\\x07" in text

    class Tty:
        def __init__(self) -> None:
            self.written = ""

        def isatty(self) -> bool:
            return True

        def write(self, text: str) -> None:
            self.written += text

        def flush(self) -> None:
            pass

    tty = Tty()
    progress = Progress(1, tty)  # type: ignore[arg-type]
    progress(result)
    ours = tty.written.replace("\x1b[K", "").replace("\r", "")  # the line's own controls
    assert not RAW.search(ours) and "\\x1b[2J" in ours


SCHEMA = json.loads((REPO / "report" / "report.schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", ["R14-runtime-infinity", "R15-runtime-negative"])
def test_json_report_is_strict_json_and_valid_against_its_schema(run_main, case) -> None:
    code, out, err = run_main("report", str(HOSTILE / f"d14/{case}.json"), "-f", "json")
    assert code == 0, err

    def refuse(token: str) -> float:
        raise AssertionError(f"{token} is not JSON")

    doc = json.loads(out, parse_constant=refuse)
    assert doc["runtime_s"] == 0.0 and math.isfinite(doc["runtime_s"])
    jsonschema.validate(doc, SCHEMA)


def test_json_report_turns_non_finite_evidence_into_null(run_main, tmp_path) -> None:
    doc = json.loads((CASES / "reports/media-blocked.json").read_text(encoding="utf-8"))
    doc["results"][0]["evidence"] = {"rtt_ms": float("nan"), "offset": float("-inf")}
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(doc))
    code, out, err = run_main("report", str(path), "-f", "json")
    assert code == 0, err
    assert "NaN" not in out and "Infinity" not in out
    jsonschema.validate(json.loads(out), SCHEMA)


def test_html_summary_wraps_a_very_long_target(run_main, tmp_path: Path) -> None:
    """R23: every text that can be long wraps, the evidence <summary> too."""
    out_file = tmp_path / "r.html"
    code, _, err = run_main(
        "report", str(HOSTILE / "d19/R23-long-target.json"), "-f", "html", "-o", str(out_file)
    )
    assert code == 0, err
    html = out_file.read_text(encoding="utf-8")
    rule = re.search(r"(?m)^summary \{[^}]*\}", html)
    assert rule and "overflow-wrap: anywhere" in rule.group()
    assert "a" * 10000 in html
