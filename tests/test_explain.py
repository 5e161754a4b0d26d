"""Explain one flow against the compiled default site (real catalogue, no pins).

The default site (appliance.toml) has both uplinks (wan-hn, wan-inet), LAN
192.168.10.0/24 + 2001:db8:10::/64, outbound blocked with reject, host
192.168.10.50 in profile fjernhjelp-leverandor and 192.168.10.60 in videoutstyr.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import PINS, REPO, UNIT

from nhn_appliance.policy.catalogue import load_catalogue
from nhn_appliance.policy.compile import compile_policy
from nhn_appliance.policy.explain import Flow, explain
from nhn_appliance.policy.model import Action, Zone
from nhn_appliance.policy.site import load_site, packaged_site


@pytest.fixture(scope="module")
def policy():
    real = load_catalogue()
    return compile_policy(
        real, load_site(packaged_site(), "appliance.toml (packaged default)", real)
    )


def ex(
    policy,
    proto: str,
    dst: str,
    port: int | None = None,
    src: str | None = None,
    uplink: str | None = None,
):
    return explain(policy, Flow.parse(proto, dst, port, src, uplink))


# -- the example ---------------------------------------------------------------
def test_fjernhjelp_internet_address(policy) -> None:
    v = ex(policy, "tcp", "91.186.66.22", 8041)
    assert v.verdict == Action.ACCEPT
    assert v.rule.service == "fjernhjelp"
    assert v.rule.id == "fjernhjelp/internett"
    assert v.uplink.zone == Zone.INTERNETT and v.uplink.interface == "wan-inet"
    assert "002:88" in v.rule.source


def test_json_view_has_the_promised_keys(policy) -> None:
    d = ex(policy, "tcp", "91.186.66.22", 8041).as_dict()
    assert {"verdict", "service", "zone", "rule", "source"} <= set(d)
    assert d["verdict"] == "accept"
    assert d["service"] == "fjernhjelp"
    assert d["zone"] == "internett"
    assert "002:88" in d["source"]
    assert "91.186.66.22" in d["rule"] and "8041" in d["rule"]
    assert d["flow"] == {"proto": "tcp", "dst": "91.186.66.22", "port": 8041, "src": None}
    assert d["interface"] == "wan-inet" and d["profile"] is None
    json.dumps(d)  # serializable as is


def test_text_view_names_rule_service_and_source(policy) -> None:
    text = ex(policy, "tcp", "91.186.66.22", 8041).text()
    first = text.splitlines()[0]
    assert first == "tcp 91.186.66.22:8041 -> accept via internett (wan-inet)"
    assert "service: fjernhjelp, zone internett" in text
    assert "source:  002:88-89; 004:60" in text


def test_fjernhjelp_helsenett_address(policy) -> None:
    v = ex(policy, "tcp", "91.186.92.90", 443)
    assert v.verdict == Action.ACCEPT
    assert (v.rule.service, v.rule.zone, v.uplink.interface) == (
        "fjernhjelp",
        Zone.HELSENETT,
        "wan-hn",
    )
    assert "002:85" in v.rule.source


# -- Join: port edges and protocols ----------------------------------------------------
@pytest.mark.parametrize(
    ("port", "verdict"),
    [
        (39999, Action.REJECT),
        (40000, Action.ACCEPT),
        (54999, Action.ACCEPT),
        (55000, Action.REJECT),
    ],
)
def test_join_udp_media_edges(policy, port: int, verdict: Action) -> None:
    v = ex(policy, "udp", "91.186.92.30", port)
    assert v.verdict == verdict
    if verdict == Action.ACCEPT:
        assert v.rule.id == "join/helsenett-media"
        assert v.uplink.zone == Zone.HELSENETT
    else:
        assert v.rule is None
        assert "blocked" in v.reason


@pytest.mark.parametrize(
    ("proto", "port", "verdict"),
    [
        ("tcp", 1719, Action.REJECT),
        ("udp", 1719, Action.ACCEPT),
        ("tcp", 1720, Action.ACCEPT),
        ("udp", 1720, Action.REJECT),
        ("tcp", 5060, Action.ACCEPT),
        ("udp", 5060, Action.ACCEPT),
        ("tcp", 5061, Action.ACCEPT),
        ("udp", 5061, Action.REJECT),
    ],
)
def test_join_signalling_tcp_versus_udp(policy, proto: str, port: int, verdict: Action) -> None:
    v = ex(policy, proto, "91.186.92.28", port)
    assert v.verdict == verdict
    if verdict == Action.ACCEPT:
        assert v.rule.id == "join/helsenett-signalering"


@pytest.mark.parametrize("dst", ["91.186.92.27", "91.186.92.33"])
def test_join_range_ends_exactly(policy, dst: str) -> None:
    assert ex(policy, "udp", dst, 40000).verdict == Action.REJECT


def test_join_uncertain_zone_is_open_on_both_uplinks(policy) -> None:
    for uplink in ("helsenett", "internett"):
        v = ex(policy, "tcp", "83.118.128.5", 443, uplink=uplink)
        assert v.verdict == Action.ACCEPT and v.uplink.zone == uplink
        assert v.rule.id == "join/usikker-sone-signalering"


# -- denied flows, default and explicit rejects ---------------------------------------
def test_denied_flow_gets_the_site_default(policy) -> None:
    v = ex(policy, "tcp", "8.8.8.8", 443)
    assert v.verdict == Action.REJECT
    assert v.rule is None
    assert "outbound traffic is blocked at this site" in v.reason
    assert v.as_dict()["service"] is None


def test_explicit_reject_rule_is_reported(policy) -> None:
    v = ex(policy, "tcp", "91.102.24.142", 443)
    assert v.verdict == Action.REJECT
    assert v.rule.id == "betalingsterminal/secure-access-feil"
    assert v.rule.source == "002:549"


def test_open_site_accepts_what_no_rule_names() -> None:
    cat = load_catalogue(UNIT / "catalogue")
    open_policy = compile_policy(cat, load_site(UNIT / "site_open.toml", "site_open.toml", cat))
    v = ex(open_policy, "tcp", "8.8.8.8", 443)
    assert v.verdict == Action.ACCEPT and v.rule is None
    assert "open at this site" in v.reason


# -- profiles and sources -------------------------------------------------------------
def test_profile_host_may_use_dns_anywhere(policy) -> None:
    v = ex(policy, "udp", "8.8.8.8", 53, src="192.168.10.50")
    assert v.verdict == Action.ACCEPT
    assert v.profile == "fjernhjelp-leverandor"
    assert v.rule.id == "fjernhjelp/dns" and v.rule.profile == "fjernhjelp-leverandor"
    assert ex(policy, "tcp", "1.1.1.1", 53, src="192.168.10.50").verdict == Action.ACCEPT


def test_profile_host_is_denied_https_elsewhere(policy) -> None:
    v = ex(policy, "tcp", "8.8.8.8", 443, src="192.168.10.50")
    assert v.verdict == Action.REJECT
    assert v.rule is None and v.profile == "fjernhjelp-leverandor"
    assert "profile fjernhjelp-leverandor" in v.reason


def test_profile_host_does_not_get_the_site_rules(policy) -> None:
    # the LAN may reach the Join media range; the isolated support machine may not
    assert ex(policy, "udp", "91.186.92.30", 40000).verdict == Action.ACCEPT
    assert ex(policy, "udp", "91.186.92.30", 40000, src="192.168.10.50").verdict == Action.REJECT
    # but it may reach hjelp.nhn.no on the internet
    v = ex(policy, "tcp", "91.186.66.22", 8041, src="192.168.10.50")
    assert v.verdict == Action.ACCEPT and v.rule.id == "fjernhjelp/hjelp-internett"


def test_video_room_reaches_only_the_video_network(policy) -> None:
    v = ex(policy, "icmp", "10.145.200.1", src="192.168.10.60")
    assert v.verdict == Action.ACCEPT and v.profile == "videoutstyr"
    assert ex(policy, "tcp", "91.186.66.22", 443, src="192.168.10.60").verdict == Action.REJECT


def test_ordinary_lan_host_uses_the_site_rules(policy) -> None:
    v = ex(policy, "tcp", "91.186.66.22", 8041, src="192.168.10.20")
    assert v.verdict == Action.ACCEPT and v.profile == "" and v.rule.profile == ""


def test_source_outside_the_lan_is_dropped(policy) -> None:
    v = ex(policy, "tcp", "91.186.66.22", 8041, src="10.99.0.1")
    assert v.verdict == Action.DROP
    assert v.rule is None
    assert "not in the site's LAN prefixes" in v.reason


def test_ipv6_without_an_ipv6_lan_is_dropped() -> None:
    cat = load_catalogue(UNIT / "catalogue")
    v4only = compile_policy(cat, load_site(UNIT / "site_helsenett.toml", "s.toml", cat))
    v = ex(v4only, "tcp", "2001:db8:ff::1", 443)
    assert v.verdict == Action.DROP
    assert "no IPv6 prefix" in v.reason


# -- uplinks -----------------------------------------------------------------------
def test_uplink_narrows_the_answer(policy) -> None:
    inet = ex(policy, "tcp", "91.186.66.22", 8041, uplink="internett")
    assert inet.verdict == Action.ACCEPT and inet.uplink.zone == Zone.INTERNETT
    hn = ex(policy, "tcp", "91.186.66.22", 8041, uplink="helsenett")
    assert hn.verdict == Action.REJECT and hn.rule is None
    assert hn.uplink.zone == Zone.HELSENETT and hn.uplink.interface == "wan-hn"


def test_uplink_the_site_does_not_have() -> None:
    cat = load_catalogue(UNIT / "catalogue")
    hn_only = compile_policy(cat, load_site(UNIT / "site_helsenett.toml", "s.toml", cat))
    v = ex(hn_only, "tcp", "203.0.113.10", 443, uplink="internett")
    assert v.verdict == Action.DROP
    assert "no internett uplink" in v.reason


# -- icmp ---------------------------------------------------------------------------
def test_icmp_has_no_port_and_matches_any_protocol_rules(policy) -> None:
    v = ex(policy, "icmp", "193.214.20.211", 8)  # a port given to icmp is ignored
    assert v.flow.port is None
    assert v.verdict == Action.ACCEPT and v.rule.id == "betalingsterminal/betalingsaksess"
    assert v.as_dict()["flow"]["port"] is None
    assert v.text().startswith("icmp 193.214.20.211 -> accept")


def test_icmp_to_a_ports_only_destination_is_denied(policy) -> None:
    assert ex(policy, "icmp", "91.186.66.22").verdict == Action.REJECT


# -- bad input ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "gist"),
    [
        (("tcp", "91.186.66.22", 70000), "port 70000 is out of range"),
        (("tcp", "91.186.66.22", -1), "port -1 is out of range"),
        (("sctp", "91.186.66.22", 80), "protocol 'sctp' is not known"),
        (("tcp", "91.186.66", 80), "'91.186.66' is not an IPv4 or IPv6 address"),
        (("tcp", "91.186.66.0/24", 80), "is not an IPv4 or IPv6 address"),
        (("tcp", "91.186.66.22", None), "tcp needs a port"),
        (("udp", "91.186.66.22", None), "udp needs a port"),
    ],
)
def test_bad_flows_are_refused(args: tuple, gist: str) -> None:
    with pytest.raises(ValueError) as info:
        Flow.parse(*args)
    assert gist in str(info.value)


def test_source_and_destination_must_share_a_family() -> None:
    with pytest.raises(ValueError, match="same IP family"):
        Flow.parse("tcp", "2001:db8::1", 443, "192.168.10.50")


def test_protocol_is_case_insensitive() -> None:
    assert Flow.parse("TCP", "91.186.66.22", 443).proto == "tcp"


def test_ipv6_flow_is_described_with_brackets() -> None:
    assert Flow.parse("tcp", "2001:db8::1", 443).describe() == "tcp [2001:db8::1]:443"


# -- what would allow a denied flow --------------------------------------------------------
def _site_without(tmp_path: Path, service: str) -> Path:
    text = (REPO / "appliance.toml").read_text()
    assert f'    "{service}",\n' in text
    path = tmp_path / "site.toml"
    path.write_text(text.replace(f'    "{service}",\n', ""))
    return path


def test_a_denied_flow_names_the_service_that_would_open_it(run_main, tmp_path: Path) -> None:
    site = _site_without(tmp_path, "join")
    code, out, _ = run_main(
        "--site", str(site), "--pins", str(PINS), "explain", "udp", "91.186.92.30", "50000"
    )
    assert code == 0 and "-> reject\n" in out  # no uplink named: none lets it out
    assert "allow:   join/helsenett-media (002:377-383) opens it through the helsenett" in out
    assert "join is not among this site's services" in out


def test_a_denied_flow_names_the_uplink_where_a_rule_opens_it(run_main) -> None:
    code, out, _ = run_main("explain", "tcp", "91.186.66.22", "8041", "--uplink", "helsenett")
    assert code == 0 and "-> reject via helsenett" in out
    assert "fjernhjelp/internett (002:88-89; 004:60) opens it through the internett" in out


def test_a_denied_flow_says_which_names_are_not_pinned(run_main) -> None:
    code, out, _ = run_main("explain", "tcp", "198.51.100.77", "8080", "--json")
    doc = json.loads(out)
    assert doc["verdict"] == "reject"
    assert any("sikker.proxy.nhn.no" in h and "resolve" in h for h in doc["would_allow"])


def test_an_accepted_flow_needs_no_hint(run_main) -> None:
    code, out, _ = run_main("explain", "tcp", "91.186.66.22", "8041", "--json")
    doc = json.loads(out)
    assert doc["verdict"] == "accept" and doc["would_allow"] == []


def test_nothing_in_the_catalogue_opens_it_says_nothing_false(run_main) -> None:
    code, out, _ = run_main("--pins", str(PINS), "explain", "tcp", "203.0.113.99", "25")
    assert "-> reject" in out and "opens it" not in out
