"""The probe plan (pure): what is checked, and that nothing outside the plan is.

No packets: these tests only build plans, documents and classifications.
"""

from __future__ import annotations

import errno
import json
import socket
from collections import Counter
from dataclasses import replace
from pathlib import Path

import dns.exception  # imported here: the autouse fixture below replaces socket.socket,
import dns.resolver  # which dnspython's own module code reads when it is first imported
import pytest

from nhn_appliance.inputs import load_inputs
from nhn_appliance.outputs import write_text
from nhn_appliance.policy.addresses import parse_ip
from nhn_appliance.probes import document
from nhn_appliance.probes.failures import classify
from nhn_appliance.probes.model import Check, Result, Status
from nhn_appliance.probes.params import (
    DnsParams,
    NoteParams,
    PacParams,
    ProxyParams,
    SipParams,
    SniffParams,
    TcpParams,
    TlsParams,
)
from nhn_appliance.probes.plan import followups, plan
from nhn_appliance.probes.reasons import REASONS, Reason, UnknownReason, is_known

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
        address = getattr(check.params, "address", None)
        if check.kind in ("ntp", "note") or address is None:
            continue
        ip = parse_ip(address)
        assert any(s.family == ip.family and s.first <= ip.first <= s.last for s in allowed), (
            check.id
        )
    resolvers = {c.params.resolver for c in _plan(default) if isinstance(c.params, DnsParams)}
    assert resolvers == set(inputs.site.resolvers)


def test_ranges_are_represented_not_swept(default) -> None:
    checks = _plan(default)
    tcp = [
        c.params
        for c in checks
        if isinstance(c.params, TcpParams) and c.params.address == "91.186.92.28"
    ]
    # Join's TCP 40000-49999 is tried at its first port only, and says so
    media = [c for c in checks if c.id == "tcp:91.186.92.28:40000"]
    assert len(media) == 1 and "only its first port" in media[0].expect
    assert not any(40000 < p.port <= 49999 for p in tcp)
    # the UDP media range cannot be verified without a cooperating endpoint
    notes = [
        c.params.why
        for c in checks
        if isinstance(c.params, NoteParams) and "40000-54999" in c.params.why
    ]
    assert notes and all("cooperating endpoint" in why for why in notes)


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
    assert checks["sip-udp:91.186.92.28:5060"].params == SipParams("91.186.92.28", 5060, "udp")
    assert checks["sip-tcp:91.186.92.28:5060"].params == SipParams("91.186.92.28", 5060, "tcp")
    assert checks["tls:hjelp.nhn.no@91.186.66.22"].params == TlsParams(
        "91.186.66.22", 443, sni="hjelp.nhn.no"
    )
    # good and bad hosts come from the catalogue's accepted and rejected endpoints
    assert checks["sniff:betalingsterminal"].params == SniffParams(
        good=("193.214.20.211",), bad=("91.102.24.142",), good_label="betalingsaksess", seconds=3.0
    )
    # pinned names carry their expected answer
    dns = checks["dns:sikker.proxy.nhn.no@192.168.10.1"].params
    assert isinstance(dns, DnsParams) and dns.expect == ("185.84.36.241",)
    # a CIDR is probed at its first host, not its network address
    assert "tcp:83.118.185.1:443" in checks


def test_syn_checks_only_on_request(default) -> None:
    assert not [c for c in _plan(default) if c.kind == "syn"]
    syn = _plan(default, kinds={"syn"})
    tcp = [c for c in _plan(default) if c.kind == "tcp"]
    assert syn and [c.target for c in syn] == [c.target for c in tcp]
    assert {c.kind for c in syn} == {"syn"}


def test_narrowing_by_service_and_kind(default) -> None:
    join = _plan(default, services={"join"})
    assert join and {c.service for c in join} == {"join"}
    only = _plan(default, kinds={"dns", "ntp"})
    assert {c.kind for c in only} == {"dns", "ntp"}


def test_plan_is_deterministic(default) -> None:
    assert [c.id for c in _plan(default)] == [c.id for c in _plan(default)]


def test_site_wide_checks_take_their_sources_from_the_catalogue(default) -> None:
    inputs, _ = default
    facts = inputs.catalogue.defaults
    checks = {c.kind: c for c in _plan(default, kinds={"ntp", "pac", "proxy"})}
    assert checks["ntp"].source == facts.ntp_source
    assert checks["pac"].source == facts.pac.source
    assert checks["proxy"].source == facts.proxy.source
    ntp = checks["ntp"].params
    assert (ntp.warn_s, ntp.fail_s, ntp.why) == (
        facts.clock.warn_s,
        facts.clock.fail_s,
        facts.clock.why_en,
    )
    # the proxy is asked for the first test URL, else the catalogue's fallback destination
    first = inputs.site.probe.test_urls[0].split("//")[1].split("/")[0]
    assert checks["proxy"].params == ProxyParams("sikker.proxy.nhn.no", f"{first}:443", port=8080)
    bare = replace(inputs.site, probe=replace(inputs.site.probe, test_urls=()))
    (proxy,) = plan(inputs.catalogue, bare, default[1], inputs.pins, kinds={"proxy"})
    assert isinstance(proxy.params, ProxyParams)
    assert proxy.params.connect_to == facts.connect_to.value


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
    reason = classify(exc)
    assert isinstance(reason, Reason) and reason == code and code in REASONS
    assert reason.description == REASONS[code]


def test_dnspython_errors_are_matched_by_class() -> None:
    assert classify(dns.resolver.NXDOMAIN()) is Reason.NXDOMAIN
    assert classify(dns.resolver.LifetimeTimeout(timeout=1.0, errors=[])) is Reason.TIMEOUT
    assert classify(dns.exception.Timeout()) is Reason.TIMEOUT

    class NXDOMAIN(Exception):  # the name alone is no longer enough
        pass

    assert isinstance(classify(NXDOMAIN("x")), UnknownReason)


def test_unknown_errors_stay_visible() -> None:
    code = classify(ValueError("strange\nsecond line"))
    assert isinstance(code, UnknownReason)
    assert code == "unknown: ValueError: strange" and is_known(code)


def test_reason_strings_in_the_document_are_the_codes() -> None:
    check = Check("t", "x", "s", "src", "open", TcpParams("203.0.113.1", 1))
    unknown = UnknownReason.of(ValueError("odd"))
    doc = Result.of(check, Status.ERROR, unknown).as_dict()
    assert doc["reason"] == "unknown: ValueError: odd" and type(doc["reason"]) is str
    doc = Result.of(check, Status.FAIL, Reason.ICMP_ADMIN_PROHIBITED).as_dict()
    assert json.loads(json.dumps(doc))["reason"] == "icmp-admin-prohibited"


def test_document_is_versioned_and_written_whole(tmp_path: Path) -> None:
    check = Check(
        "tcp:x", "203.0.113.1:443", "join", "002:371", "open", TcpParams("203.0.113.1", 443)
    )
    res = Result.of(check, Status.FAIL, Reason.TIMEOUT, "no answer", address="203.0.113.1")
    host = document.HostInfo("h", ("198.51.100.2/25 (eth0)",))
    doc = document.build("site", "site.toml", 1_700_000_000.0, 1_700_000_002.5, [res], host)
    assert doc["schema"] == document.SCHEMA and doc["runtime_s"] == 2.5
    assert doc["started_at"] == "2023-11-14T22:13:20.000Z" and doc["summary"] == {"fail": 1}
    assert doc["host"] == {
        "hostname": "h",
        "addresses": ["198.51.100.2/25 (eth0)"],
        "gateways": [],
        "resolvers": [],
    }
    path = tmp_path / "out.json"
    write_text(path, document.dumps(doc))
    assert json.loads(path.read_text())["results"][0]["reason"] == "timeout"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left


def test_pac_answer_leads_to_a_connect_check_at_the_proxy_it_chose() -> None:
    pac_check = Check(
        "pac:u",
        "http://config.nhn.test/kunde.pac",
        "proxy",
        "002:530",
        "answers",
        PacParams("http://config.nhn.test/kunde.pac"),
    )
    pac = Result.of(
        pac_check,
        Status.OK,
        Reason.ANSWERED,
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
        Reason.ANSWERED,
        "",
        urls=[{"url": "http://intranet/", "answer": "DIRECT", "proxies": [{"type": "DIRECT"}]}],
    )
    follow = followups([pac], plan_hosts=frozenset({"203.0.113.80"}))
    assert len(follow) == 1 and follow[0].kind == "proxy"
    assert follow[0].params == ProxyParams("203.0.113.80:8080", "www.helsenorge.test:443")
    assert followups([direct]) == []
    assert followups([pac], kinds={"pac"}) == []  # --only without proxy: no second stage
    assert followups([pac, *follow_results(follow)]) == []  # never the same check twice
    # a proxy the plan does not list is a note, never contacted (review D4, PR03)
    (note,) = followups([pac])
    assert note.kind == "note" and "outside the plan, not contacted" in note.params.why


def follow_results(checks: list[Check]) -> list[Result]:
    return [Result.of(c, Status.OK, Reason.OK) for c in checks]


def test_the_kind_names_are_the_kinds_of_the_parameter_classes() -> None:
    import typing

    from nhn_appliance.probes import params
    from nhn_appliance.probes.kinds import KINDS
    from nhn_appliance.probes.runner import PROBERS

    declared = {cls.KIND for cls in typing.get_args(params.Params)}
    assert set(KINDS) == declared and len(KINDS) == len(declared)
    assert set(PROBERS) | {"note"} == declared
