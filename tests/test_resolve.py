"""``nhn-appliance resolve`` against a real dnsmasq in a network namespace.

The resolver is dnsmasq on the far side of the lab router (198.51.100.130);
the command runs in the site namespace with ``ip netns exec``, so its
queries cross a real kernel. Names are under .test and answers are
documentation addresses.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import netns
import pytest

RULES = Path(__file__).parent / "cases" / "resolve" / "rules"
RESOLVER = netns.RouterLab.HN_LINK4[1]  # hn's end of the hn link: dnsmasq

SITE = """
[site]
name = "resolve-test"
services = ["navn"]
[lan]
interfaces = ["lan0"]
prefixes = ["198.51.100.0/25", "2001:db8:1::/64"]
[uplinks.helsenett]
interface = "wan-hn"
[dns]
resolvers = [{resolvers}]
"""


@pytest.fixture(scope="module")
def lab():
    if reason := netns.lab_skip_reason("dnsmasq"):
        pytest.skip(reason)
    records = ["sikker.proxy.nhn.test,203.0.113.41,2001:db8:a::41", "ntp.nhn.test,203.0.113.123"]
    with netns.probe_lab(dns_records=records) as lab:
        yield lab


def _site(tmp_path: Path, resolvers: list[str]) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(SITE.format(resolvers=", ".join(f'"{r}"' for r in resolvers)), encoding="utf-8")
    return path


def _run(lab, site: Path, *args: str) -> subprocess.CompletedProcess:
    argv = [
        sys.executable,
        "-m",
        "nhn_appliance.cli",
        "--rules",
        str(RULES),
        "--site",
        str(site),
        *args,
    ]
    return netns.run_in(lab.ns["site"], argv, check=False)


def test_resolve_pins_answers_with_ttl_and_time(lab, tmp_path: Path) -> None:
    site = _site(tmp_path, [RESOLVER])
    proc = _run(lab, site, "resolve", "--timeout", "1")
    # one name is NXDOMAIN: that is a finding (exit 1), the others are pinned
    assert proc.returncode == 1, proc.stderr
    assert "mangler.nhn.test: NXDOMAIN" in proc.stderr
    doc = json.loads((tmp_path / "site.pins.json").read_text())
    assert doc["schema"] == "nhn-appliance/pins/1"
    proxy = doc["names"]["sikker.proxy.nhn.test"]
    assert proxy["addresses"] == ["2001:db8:a::41", "203.0.113.41"]
    assert proxy["resolver"] == RESOLVER
    assert isinstance(proxy["ttl"], int) and proxy["ttl"] >= 0
    assert proxy["resolved_at"].endswith("Z")
    assert doc["names"]["ntp.nhn.test"]["addresses"] == ["203.0.113.123"]
    assert "mangler.nhn.test" not in doc["names"]

    # render now uses the pins, and still names what is missing
    out = _run(lab, site, "render", "-t", "nftables")
    assert out.returncode == 0, out.stderr
    assert '"wan-hn" . 203.0.113.41 . tcp . 8080' in out.stdout
    assert '"wan-hn" . 2001:db8:a::41 . tcp . 8080' in out.stdout
    assert '"wan-hn" . 203.0.113.123 . udp . 123' in out.stdout
    assert "mangler.nhn.test" in out.stderr and "nhn-appliance resolve" in out.stderr


def test_failed_name_keeps_previous_pin(lab, tmp_path: Path) -> None:
    site = _site(tmp_path, [RESOLVER])
    pins = tmp_path / "site.pins.json"
    pins.write_text(
        json.dumps(
            {
                "schema": "nhn-appliance/pins/1",
                "site": "resolve-test",
                "names": {
                    "mangler.nhn.test": {
                        "addresses": ["203.0.113.99"],
                        "ttl": 60,
                        "resolved_at": "2026-01-01T00:00:00Z",
                        "resolver": RESOLVER,
                    }
                },
            }
        )
    )
    proc = _run(lab, site, "resolve", "--timeout", "1")
    assert proc.returncode == 1
    assert "previous pin kept" in proc.stderr
    doc = json.loads(pins.read_text())
    assert doc["names"]["mangler.nhn.test"]["addresses"] == ["203.0.113.99"]
    assert "sikker.proxy.nhn.test" in doc["names"]


SILENT = "203.0.113.78"  # hn drops DNS to this address: a resolver that never answers
REFUSING = "203.0.113.77"  # hn's kernel answers port-unreachable: no DNS server there


@pytest.fixture(scope="module")
def silent(lab):
    netns.nft(
        lab.ns["hn"],
        f"""
table inet silence {{
    chain input {{
        type filter hook input priority filter; policy accept;
        ip daddr {SILENT} udp dport 53 drop
        ip daddr {SILENT} tcp dport 53 drop
    }}
}}
""",
    )
    return SILENT


@pytest.mark.parametrize("server", ["silent", "refusing"])
def test_unanswering_resolver_is_an_error_and_writes_nothing(
    lab, silent, tmp_path: Path, server: str
) -> None:
    site = _site(tmp_path, [silent if server == "silent" else REFUSING])
    start = time.monotonic()
    proc = _run(lab, site, "resolve", "--timeout", "0.5")
    elapsed = time.monotonic() - start
    assert proc.returncode == 1
    assert "no resolver answered" in proc.stderr
    assert "Traceback" not in proc.stderr
    # a silent resolver costs one time-out, not one per name and type
    assert elapsed < 5
    assert not (tmp_path / "site.pins.json").exists()


def test_second_resolver_used_when_first_is_silent(lab, silent, tmp_path: Path) -> None:
    site = _site(tmp_path, [SILENT, RESOLVER])
    proc = _run(lab, site, "resolve", "--timeout", "0.5")
    assert proc.returncode == 1  # mangler.nhn.test is still NXDOMAIN
    doc = json.loads((tmp_path / "site.pins.json").read_text())
    assert doc["names"]["ntp.nhn.test"]["resolver"] == RESOLVER
