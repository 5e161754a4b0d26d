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


# -- pins no opening may use (issue 11 part 3, review D3: P05, P06, P08, P09) ---------
@pytest.mark.parametrize(
    "address, why",
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("ff02::fb", "multicast"),
        ("255.255.255.255", "reserved or broadcast"),
        ("169.254.10.1", "link-local"),
        ("fe80::1", "link-local"),
        ("::ffff:127.0.0.1", "reserved"),
        ("192.168.10.50", "inside the site's LAN prefixes"),
        ("2001:db8:10::50", "inside the site's LAN prefixes"),
        ("10.145.130.1", ""),  # Helsenett uses 10/8: private is not refused
        ("203.0.113.80", ""),
        ("2001:db8:81::1", ""),
    ],
)
def test_refusal_names_the_class_of_an_address_no_pin_may_hold(address: str, why: str) -> None:
    from nhn_appliance.policy.addresses import parse_address
    from nhn_appliance.policy.pins import refusal

    lan = (parse_address("192.168.10.0/24"), parse_address("2001:db8:10::/64"))
    assert refusal(address, lan) == why


def _pins_with(tmp_path: Path, addresses: list[str]) -> Path:
    from conftest import PINS as DEFAULT_PINS

    doc = json.loads(DEFAULT_PINS.read_text(encoding="utf-8"))
    doc["names"]["kunde.proxy.nhn.no"]["addresses"] = addresses
    return write_json(tmp_path / "hostile.pins.json", doc)


@pytest.mark.parametrize(
    "bad, why",
    [
        ("127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("255.255.255.255", "reserved or broadcast"),
        ("192.168.10.50", "inside the site's LAN prefixes"),  # the provider PC of the default site
    ],
)
def test_render_refuses_such_a_pin_with_a_warning_naming_name_and_address(
    tmp_path: Path, run_main, bad: str, why: str
) -> None:
    pins = _pins_with(tmp_path, [bad, "203.0.113.80"])
    code, out, err = run_main("--pins", str(pins), "render", "-t", "nftables", "--allow-unpinned")
    assert code == 0, err
    assert f"warning: kunde.proxy.nhn.no is pinned to {bad} ({why}): refused" in err
    rules = [line for line in out.splitlines() if not line.lstrip().startswith("#")]
    assert any("203.0.113.80 . tcp" in line for line in rules)  # the good address stays
    assert not any(f" {bad} . " in line or f"{bad} comment" in line for line in rules)
    code, out, err = run_main("--pins", str(pins), "policy", "show", "--json")
    dsts = {a for r in json.loads(out)["rules"] for a in r["dst"]}
    assert "203.0.113.80" in dsts and bad not in dsts


def test_a_name_pinned_only_to_refused_addresses_counts_as_not_pinned(
    tmp_path: Path, run_main
) -> None:
    pins = _pins_with(tmp_path, ["127.0.0.1", "0.0.0.0"])
    code, out, err = run_main("--pins", str(pins), "render", "-t", "nftables")
    # outbound is blocked on the default site: a missing opening is refused (exit 1)
    assert code == 1 and out == ""
    assert "not pinned" in err and "kunde.proxy.nhn.no" in err
    code, out, err = run_main("--pins", str(pins), "render", "-t", "nftables", "--allow-unpinned")
    assert code == 0
    assert "kunde.proxy.nhn.no is pinned to 127.0.0.1 (loopback): refused" in err
    (unpinned,) = [line for line in err.splitlines() if "not pinned" in line]
    assert "kunde.proxy.nhn.no" in unpinned
    rules = [line for line in out.splitlines() if not line.lstrip().startswith("#")]
    assert not any("127.0.0.1" in line or "0.0.0.0 " in line for line in rules)
