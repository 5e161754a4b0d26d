"""The probe plan (pure): what is checked, and that nothing outside the plan is.

No packets: these tests only build plans, documents and classifications.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import socket
from collections import Counter
from pathlib import Path

import pytest

from nhn_appliance.inputs import load_inputs
from nhn_appliance.policy.addresses import parse_ip
from nhn_appliance.probes import document
from nhn_appliance.probes.failures import REASONS, classify, is_known
from nhn_appliance.probes.model import Check, Result, Status
from nhn_appliance.probes.plan import plan

REPO = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch):
    """The plan names real NHN targets: prove that planning opens no socket at all."""

    def refuse(*args, **kwargs):
        raise AssertionError("a plan test tried to open a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def default():
    inputs = load_inputs(
        str(REPO / "appliance.toml"), None, str(REPO / "tests/cases/pins/default.pins.json")
    )
    return inputs, inputs.policy()


def _plan(default, **kw):
    inputs, policy = default
    return plan(inputs.catalogue, inputs.site, policy, inputs.pins, **kw)


def test_every_address_probed_is_in_the_policy_or_the_site(default) -> None:
    inputs, policy = default
    allowed = [s for r in policy.rules for s in r.dst]
    for check in _plan(default):
        address = check.params.get("address")
        if check.kind in ("ntp", "note") or address is None:
            continue
        ip = parse_ip(address)
        assert any(s.family == ip.family and s.first <= ip.first <= s.last for s in allowed), (
            check.id
        )
    resolvers = {c.params["resolver"] for c in _plan(default) if c.kind == "dns"}
    assert resolvers == set(inputs.site.resolvers)


def test_ranges_are_represented_not_swept(default) -> None:
    checks = _plan(default)
    tcp = [c for c in checks if c.kind == "tcp" and c.params["address"] == "91.186.92.28"]
    # Join's TCP 40000-49999 is tried at its first port only, and says so
    media = [c for c in tcp if c.params["port"] == 40000]
    assert len(media) == 1 and "only its first port" in media[0].expect
    assert not any(40000 < c.params["port"] <= 49999 for c in tcp)
    # the UDP media range cannot be verified without a cooperating endpoint
    notes = [c for c in checks if c.kind == "note" and "40000-54999" in c.params["why"]]
    assert notes and all("cooperating endpoint" in c.params["why"] for c in notes)


def test_plan_has_every_kind_the_catalogue_calls_for(default) -> None:
    kinds = Counter(c.kind for c in _plan(default))
    for kind in (
        "tcp",
        "dns",
        "sip",
        "stun",
        "tls",
        "ntp",
        "pac",
        "proxy",
        "path",
        "sniff",
        "note",
    ):
        assert kinds[kind] >= 1, kind
    checks = {c.id: c for c in _plan(default)}
    assert checks["stun:91.186.67.134:3478"].service == "cma"
    assert checks["sip-udp:91.186.92.28:5060"].params["transport"] == "udp"
    assert checks["sip-tcp:91.186.92.28:5060"].params["transport"] == "tcp"
    assert checks["tls:hjelp.nhn.no@91.186.66.22"].params["sni"] == "hjelp.nhn.no"
    assert checks["sniff:betalingsterminal"].params == {
        "good": ["193.214.20.211"],
        "bad": ["91.102.24.142"],
        "seconds": 3.0,
    }
    # pinned names carry their expected answer
    assert checks["dns:sikker.proxy.nhn.no@192.168.10.1"].params["expect"] == ["185.84.36.241"]
    # a CIDR is probed at its first host, not its network address
    assert "tcp:83.118.185.1:443" in checks


def test_syn_checks_only_on_request(default) -> None:
    assert not [c for c in _plan(default) if c.kind == "syn"]
    syn = _plan(default, kinds={"syn"})
    tcp = [c for c in _plan(default) if c.kind == "tcp"]
    assert syn and [c.params for c in syn] == [c.params for c in tcp]


def test_narrowing_by_service_and_kind(default) -> None:
    join = _plan(default, services={"join"})
    assert join and {c.service for c in join} == {"join"}
    only = _plan(default, kinds={"dns", "ntp"})
    assert {c.kind for c in only} == {"dns", "ntp"}


def test_plan_is_deterministic(default) -> None:
    assert [c.id for c in _plan(default)] == [c.id for c in _plan(default)]


@pytest.mark.parametrize(
    "exc,code",
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "x"), "refused"),
        (TimeoutError(), "timeout"),
        (TimeoutError(), "timeout"),
        (OSError(errno.EHOSTUNREACH, "x"), "icmp-host-unreachable"),
        (PermissionError(errno.EACCES, "x"), "icmp-admin-prohibited"),
        (OSError(errno.ENETUNREACH, "x"), "network-unreachable"),
    ],
)
def test_classify_maps_to_the_closed_vocabulary(exc, code) -> None:
    assert classify(exc) == code and code in REASONS


def test_unknown_errors_stay_visible() -> None:
    code = classify(ValueError("strange\nsecond line"))
    assert code == "unknown: ValueError: strange" and is_known(code)


def test_document_is_versioned_and_written_whole(tmp_path: Path) -> None:
    check = Check(
        "tcp:x", "tcp", "203.0.113.1:443", "join", "002:371", "open", {"address": "203.0.113.1"}
    )
    res = Result.of(check, Status.FAIL, "timeout", "no answer", address="203.0.113.1")
    doc = document.build(
        "site",
        "site.toml",
        1_700_000_000.0,
        1_700_000_002.5,
        [res],
        host={"hostname": "h", "addresses": [], "gateways": [], "resolvers": []},
    )
    assert doc["schema"] == document.SCHEMA and doc["runtime_s"] == 2.5
    assert doc["started_at"] == "2023-11-14T22:13:20.000Z" and doc["summary"] == {"fail": 1}
    path = tmp_path / "out.json"
    document.write(path, doc)
    assert json.loads(path.read_text())["results"][0]["reason"] == "timeout"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left


def test_host_info_reads_this_host() -> None:
    info = document.host_info()
    assert set(info) == {"hostname", "addresses", "gateways", "resolvers"}
    for entry in info["addresses"]:
        ipaddress.ip_interface(entry.split()[0])


def test_pac_answer_leads_to_a_connect_check_at_the_proxy_it_chose() -> None:
    from nhn_appliance.probe_cli import _pac_followups

    pac_check = Check(
        "pac:u",
        "pac",
        "http://config.nhn.test/kunde.pac",
        "proxy",
        "002:530",
        "answers",
        {"url": "http://config.nhn.test/kunde.pac"},
    )
    pac = Result.of(
        pac_check,
        Status.OK,
        "answered",
        "",
        urls=[
            {
                "url": "https://www.helsenorge.test/",
                "answer": "PROXY 203.0.113.80:8080; DIRECT",
                "proxies": [
                    {"type": "PROXY", "host": "203.0.113.80", "port": 8080},
                    {"type": "DIRECT"},
                ],
            }
        ],
    )
    direct = Result.of(
        pac_check,
        Status.OK,
        "answered",
        "",
        urls=[{"url": "http://intranet/", "answer": "DIRECT", "proxies": [{"type": "DIRECT"}]}],
    )
    follow = _pac_followups([pac])
    assert len(follow) == 1 and follow[0].kind == "proxy"
    assert follow[0].params == {
        "proxy": "203.0.113.80:8080",
        "connect_to": "www.helsenorge.test:443",
    }
    assert _pac_followups([direct]) == []
