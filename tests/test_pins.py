"""The pinned-names state file: round trip, bad files, atomic writes."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import UNIT

import nhn_appliance.outputs as outputs_mod
from nhn_appliance.errors import StateError, UsageError
from nhn_appliance.outputs import write_pins
from nhn_appliance.policy.model import Pin
from nhn_appliance.policy.pins import SCHEMA, pin_age_days, read_pins, state_path_for

PINS = {
    "ntp.nhn.no": Pin(
        "ntp.nhn.no", ("83.118.128.10",), 3600, "2025-06-01T12:00:00Z", "192.168.10.1"
    ),
    "helseid-sts.nhn.no": Pin(
        "helseid-sts.nhn.no",
        ("91.186.64.10", "2001:db8::10"),
        300,
        "2025-06-01T12:00:01Z",
        "192.168.10.1",
    ),
}


def write_json(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def good_doc(**names: object) -> dict:
    return {"schema": SCHEMA, "site": "kontor", "names": names}


# -- round trip ----------------------------------------------------------------------
def test_write_then_read_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "kontor.pins.json"
    write_pins(path, "kontor", PINS)
    assert read_pins(path) == PINS


def test_written_file_is_versioned_sorted_json(tmp_path: Path) -> None:
    path = tmp_path / "kontor.pins.json"
    write_pins(path, "kontor", PINS)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["schema"] == SCHEMA and doc["site"] == "kontor"
    assert datetime.strptime(doc["written_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert list(doc["names"]) == sorted(PINS)
    assert doc["names"]["ntp.nhn.no"] == {
        "addresses": ["83.118.128.10"],
        "ttl": 3600,
        "resolved_at": "2025-06-01T12:00:00Z",
        "resolver": "192.168.10.1",
    }


def test_missing_file_is_no_pins(tmp_path: Path) -> None:
    assert read_pins(tmp_path / "absent.pins.json") == {}


def test_resolver_is_optional_when_reading(tmp_path: Path) -> None:
    path = write_json(
        tmp_path / "p.json",
        good_doc(
            **{
                "ntp.nhn.no": {
                    "addresses": ["83.118.128.10"],
                    "ttl": 60,
                    "resolved_at": "2025-06-01T12:00:00Z",
                }
            }
        ),
    )
    assert read_pins(path)["ntp.nhn.no"].resolver == ""


# -- bad files -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "key", "gist"),
    [
        ('{"schema": "nhn-appliance/pins/1",\n "names": {', "line 2", "not valid JSON"),
        ("", "line 1", "not valid JSON"),
        (
            json.dumps({"schema": "nhn-appliance/pins/0", "names": {}}),
            "schema",
            "expected 'nhn-appliance/pins/1'",
        ),
        (json.dumps(["nhn-appliance/pins/1"]), "schema", "run 'nhn-appliance resolve' again"),
        (json.dumps({"names": {}}), "schema", "expected 'nhn-appliance/pins/1'"),
        (
            json.dumps({"schema": SCHEMA, "names": []}),
            "names",
            "expected an object of pinned names",
        ),
        (json.dumps({"schema": SCHEMA}), "names", "expected an object of pinned names"),
        (
            json.dumps(
                good_doc(
                    **{
                        "ntp.nhn.no": {
                            "addresses": ["83.118.128.10"],
                            "resolved_at": "2025-06-01T12:00:00Z",
                        }
                    }
                )
            ),
            "names.ntp.nhn.no",
            "malformed pin",
        ),
        (
            json.dumps(
                good_doc(
                    **{
                        "ntp.nhn.no": {
                            "addresses": ["ntp.nhn.no"],
                            "ttl": 60,
                            "resolved_at": "2025-06-01T12:00:00Z",
                        }
                    }
                )
            ),
            "names.ntp.nhn.no",
            "malformed pin",
        ),
        (
            json.dumps(
                good_doc(
                    **{
                        "ntp.nhn.no": {
                            "addresses": ["10.0.0.0/8"],
                            "ttl": 60,
                            "resolved_at": "2025-06-01T12:00:00Z",
                        }
                    }
                )
            ),
            "names.ntp.nhn.no",
            "malformed pin",
        ),
        (
            json.dumps(
                good_doc(
                    **{
                        "ntp.nhn.no": {
                            "addresses": ["10.0.0.1"],
                            "ttl": "soon",
                            "resolved_at": "2025-06-01T12:00:00Z",
                        }
                    }
                )
            ),
            "names.ntp.nhn.no",
            "malformed pin",
        ),
        (
            json.dumps(good_doc(**{"ntp.nhn.no": "83.118.128.10"})),
            "names.ntp.nhn.no",
            "malformed pin",
        ),
    ],
    ids=[
        "truncated",
        "empty",
        "old-schema",
        "not-an-object",
        "no-schema",
        "names-list",
        "no-names",
        "no-ttl",
        "name-as-address",
        "cidr-as-address",
        "ttl-text",
        "entry-a-string",
    ],
)
def test_bad_state_file_is_a_state_error(tmp_path: Path, content: str, key: str, gist: str) -> None:
    path = tmp_path / "kontor.pins.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(StateError) as info:
        read_pins(path)
    assert info.value.file == str(path)
    assert info.value.key == key
    assert gist in info.value.message


def test_bad_state_file_exits_2_on_the_command_line(tmp_path: Path, run_main) -> None:
    path = write_json(tmp_path / "kontor.pins.json", {"schema": "other", "names": {}})
    code, out, err = run_main("--pins", str(path), "policy", "show")
    assert code == 2
    assert out == ""
    assert err.startswith(f"error: {path}: schema: expected 'nhn-appliance/pins/1'")
    assert "Traceback" not in err


def test_corrupt_json_exits_2_on_the_command_line(tmp_path: Path, run_main) -> None:
    path = tmp_path / "kontor.pins.json"
    path.write_text("{not json", encoding="utf-8")
    code, _, err = run_main("--pins", str(path), "explain", "tcp", "91.186.66.22", "443")
    assert code == 2
    assert err.startswith(f"error: {path}: line 1: not valid JSON")


# -- atomic writes -------------------------------------------------------------------
def test_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "kontor.pins.json"
    write_pins(path, "kontor", PINS)
    write_pins(path, "kontor", {})  # overwrite
    assert [p.name for p in tmp_path.iterdir()] == ["kontor.pins.json"]
    assert read_pins(path) == {}


@pytest.mark.parametrize(
    ("module", "attr"),
    [(outputs_mod.os, "fsync"), (outputs_mod.os, "replace")],
    ids=["fails-while-writing", "fails-at-rename"],
)
def test_failed_write_keeps_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch, module, attr
) -> None:
    path = tmp_path / "kontor.pins.json"
    write_pins(path, "kontor", PINS)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(module, attr, broken)
    with pytest.raises(UsageError, match="No space left on device"):  # a clean error, exit 2
        write_pins(path, "kontor", {})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["kontor.pins.json"]


def test_write_creates_the_folder(tmp_path: Path) -> None:
    path = tmp_path / "state" / "kontor.pins.json"
    write_pins(path, "kontor", PINS)
    assert read_pins(path) == PINS


# -- where the file lives, and age ------------------------------------------------------
def test_state_path_is_beside_the_site_file() -> None:
    assert state_path_for(Path("/etc/nhn/kontor.toml"), packaged=False) == Path(
        "/etc/nhn/kontor.pins.json"
    )
    assert state_path_for(Path("appliance.toml"), packaged=False) == Path("appliance.pins.json")
    assert state_path_for(Path("/usr/lib/x/default_site.toml"), packaged=True) == Path(
        "appliance.pins.json"
    )


def test_pin_age_days() -> None:
    pin = PINS["ntp.nhn.no"]
    assert pin_age_days(pin, datetime(2025, 6, 3, 12, 0, tzinfo=UTC)) == pytest.approx(2.0)
    bad = Pin("x.no", ("10.0.0.1",), 60, "yesterday", "")
    assert pin_age_days(bad, datetime(2025, 6, 3, tzinfo=UTC)) == float("inf")


def test_pins_beside_the_site_are_used_by_the_command_line(tmp_path: Path, run_main) -> None:
    site = tmp_path / "kontor.toml"
    shutil.copy(UNIT / "site_helsenett.toml", site)
    pins = {
        n: Pin(n, ("10.50.0.1",), 60, "2099-01-01T00:00:00Z", "")
        for n in ("svc.example.no", "alt.example.no")
    }
    write_pins(tmp_path / "kontor.pins.json", "bare-helsenett", pins)
    code, out, err = run_main(
        "--site", str(site), "--rules", str(UNIT / "catalogue"), "policy", "show", "--json"
    )
    assert code == 0
    doc = json.loads(out)
    named = [r for r in doc["rules"] if r["id"] == "alpha/named"]
    assert [r["dst"] for r in named] == [["10.50.0.1"]]
    assert not any("not pinned" in w for w in doc["warnings"])
