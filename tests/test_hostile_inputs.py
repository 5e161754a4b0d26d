"""Hostile input files and arguments end with a clear error, never a traceback
(issue 11, review hostile-input-review.md: D5, D8, D10, D17, D18).

Every case runs the real command line in-process; the files are in
tests/cases/hostile/ (made by its make_cases.py), one folder per class.
"""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import CASES, REPO

from nhn_appliance.terminal import INTERNAL_ERROR

HOSTILE = CASES / "hostile"
REPORTS = CASES / "reports"


def _one_error_line(err: str, file: str) -> None:
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, err
    assert file in lines[0], err


# -- D8: what crashed with exit 1 -------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "file", "says"),
    [
        (["--site", "d8/S57-deep.toml", "rules", "check"], "S57-deep.toml", "nested too deeply"),
        (["--pins", "d8/P12-ttl-infinity.pins.json", "policy", "show"], "P12", "ttl inf"),
        (["--pins", "d8/P13-not-utf8.pins.json", "policy", "show"], "P13", "not UTF-8"),
        (["--pins", "d8/P14-deep.pins.json", "policy", "show"], "P14", "nested too deeply"),
        (["report", "d8/R06-deep.json"], "R06", "nested too deeply"),
        (["report", "d8/R07-not-utf8.json"], "R07", "not UTF-8"),
        (["report", "d8/R10-host-addresses-number.json", "-f", "html"], "R10", "host.addresses"),
        (["report", "d8/R11-evidence-list.json"], "R11", "results[0].evidence"),
        (["--site", "d8/PR05-proxy-no-port.toml", "rules", "check"], "PR05", "probe.proxy"),
        (["--site", "d17/S25-lan-zone.toml", "rules", "check"], "S25", "zone"),
        (["--pins", "d17/P19-ttl-negative.pins.json", "policy", "show"], "P19", "ttl -5"),
    ],
)
def test_hostile_file_is_exit_2_naming_the_file(run_main, args, file, says) -> None:
    code, _, err = run_main(*args, cwd=HOSTILE)
    assert code == 2, err
    _one_error_line(err, file)
    assert says in err


@pytest.mark.parametrize("fmt", ["text", "json", "nagios", "prometheus", "html"])
def test_lone_surrogate_is_written_escaped_in_every_format(run_main, tmp_path, fmt) -> None:
    """R16, R17: '\\ud800' in the site name: no UnicodeEncodeError, on stdout or -o."""
    doc = str(HOSTILE / "d8/R16-lone-surrogate.json")
    code, out, err = run_main("report", doc, "-f", fmt)
    assert code in (0, 2) and "Traceback" not in err and "internal error" not in err, err
    assert "\\ud800" in out
    target = tmp_path / f"r16.{fmt}"
    code, _, err = run_main("report", doc, "-f", fmt, "-o", str(target))
    assert code in (0, 2) and "internal error" not in err, err
    assert "\\ud800" in target.read_text(encoding="utf-8")


def test_an_unexpected_error_is_exit_70_one_line_and_traceback_only_with_debug(
    run_main, monkeypatch
) -> None:
    """A bug is never exit 1 ("a finding"): one line naming the inputs, exit 70."""
    from nhn_appliance.policy import lint

    def broken(policy):
        raise ZeroDivisionError("planted for the test")

    monkeypatch.setattr(lint, "lint", broken)
    site = str(REPO / "appliance.toml")
    code, out, err = run_main("--site", site, "rules", "check")
    assert code == INTERNAL_ERROR == 70
    assert "Traceback" not in err
    line = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert len(line) == 1 and "internal error" in line[0] and site in line[0], err
    assert "ZeroDivisionError: planted for the test" in line[0] and "--debug" in line[0]
    code, _, err = run_main("--debug", "--site", site, "rules", "check")
    assert code == 70 and "Traceback" in err and "planted for the test" in err


# -- D10: an empty --site or --rules is an unset variable --------------------------------
@pytest.mark.parametrize(
    ("args", "env", "option"),
    [
        (["--site", "", "policy", "show"], {}, "--site"),
        (["--rules", "", "rules", "list"], {}, "--rules"),
        (["--pins", "", "policy", "show"], {}, "--pins"),
        (["policy", "show"], {"NHN_APPLIANCE_SITE": ""}, "--site"),
        (["rules", "list"], {"NHN_APPLIANCE_RULES": ""}, "--rules"),
    ],
)
def test_empty_path_is_a_usage_error_not_the_packaged_default(run_main, args, env, option):
    code, out, err = run_main(*args, env=env)
    assert code == 2, (out, err)
    assert f"error: {option}" in err and "is empty" in err
    assert "legekontor-eksempel" not in out


# -- D18: with --json, errors are JSON too ---------------------------------------------
def test_explain_json_bad_address_gives_a_json_error(run_main) -> None:
    code, out, err = run_main("explain", "tcp", "nope", "443", "--json")
    assert code == 2
    error = json.loads(out)["error"]
    assert "'nope' is not an IPv4 or IPv6 address" in error["message"]
    assert error["exit_code"] == 2
    assert "nope" in err  # the human line is still on stderr


def test_explain_json_broken_site_gives_file_key_and_allowed(run_main, tmp_path) -> None:
    site = tmp_path / "s.toml"
    site.write_text((REPO / "appliance.toml").read_text() + "\n[site2]\nx = 1\n")
    code, out, _ = run_main("--site", str(site), "explain", "tcp", "198.51.100.7", "443", "--json")
    assert code == 2
    error = json.loads(out)["error"]
    assert error["file"] == str(site) and error["key"] == "site2"
    assert error["message"] == "unknown key" and "uplinks" in error["allowed"]


# -- D5, D17: names matched whole, text printable, ports and addresses as written --------
def _rules_with(tmp_path, old: str, new: str, file: str = "proxy.toml"):
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    path = rules / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return rules


@pytest.mark.parametrize(
    ("old", "new", "file", "says"),
    [
        # C22/C23: "\n" after a name broke out of a comment of the Windows script
        ('"kunde.proxy.nhn.no"', '"kunde.proxy.nhn.no\\n"', "proxy.toml", "is not a DNS name"),
        # C39: C1 CSI, NEL, LINE SEPARATOR and RIGHT-TO-LEFT OVERRIDE in free text
        ('title = "', 'title = "\\u009b31m\\u202e', "proxy.toml", "printable text"),
        ('title = "', 'title = "a\\u2028b', "proxy.toml", "printable text"),
        ('title = "', 'title = "a\\u0085b', "proxy.toml", "printable text"),
        # C20: Python's int() takes "4_43" and Arabic-Indic digits
        ("8041", '"80_41"', "fjernhjelp.toml", "not a port"),
        ("8041", '"\\u0668\\u0660\\u0664\\u0661"', "fjernhjelp.toml", "not a port"),
    ],
)
def test_catalogue_value_that_would_change_meaning_is_refused(
    run_main, tmp_path, old, new, file, says
) -> None:
    rules = _rules_with(tmp_path, old, new, file)
    code, _, err = run_main("--rules", str(rules), "render", "-t", "windows", "--allow-unpinned")
    assert code == 2, err
    _one_error_line(err, file)
    assert says in err


def test_interface_name_with_a_trailing_newline_is_refused(run_main, tmp_path) -> None:
    site = tmp_path / "s.toml"
    text = (REPO / "appliance.toml").read_text(encoding="utf-8")
    site.write_text(text.replace('interface = "wan-hn"', 'interface = "wan-hn\\n"', 1))
    code, _, err = run_main("--site", str(site), "rules", "check")
    assert code == 2 and "s.toml: uplinks.helsenett.interface" in err, err
