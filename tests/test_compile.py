"""Compile: Catalogue x Site (x pins) -> an ordered, normalized Policy.

Most tests use the small catalogue in tests/cases/unit/catalogue/ (services
alpha and beta, profile kiosk) with the sites beside it:

* site_dual.toml: both uplinks, IPv4 + IPv6 LAN, blocked (drop), every service, a kiosk host;
* site_helsenett.toml: Helsenett only, IPv4 only, blocked (reject);
* site_open.toml: both uplinks, IPv4 only, outbound open.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import UNIT

from nhn_appliance.policy.addresses import parse_address, subtract_spans
from nhn_appliance.policy.catalogue import load_catalogue
from nhn_appliance.policy.compile import compile_policy, rule_covers
from nhn_appliance.policy.explain import Flow, explain
from nhn_appliance.policy.model import Action, Pin, PortRange, Proto, Zone
from nhn_appliance.policy.site import load_site, packaged_site

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def cat():
    return load_catalogue(UNIT / "catalogue")


def site(cat, name: str):
    return load_site(UNIT / f"{name}.toml", f"{name}.toml", cat)


@pytest.fixture(scope="module")
def dual(cat):
    return compile_policy(cat, site(cat, "site_dual"))


@pytest.fixture(scope="module")
def helsenett(cat):
    return compile_policy(cat, site(cat, "site_helsenett"))


def rules_of(policy, rule_id: str, profile: str = ""):
    return [r for r in policy.rules if r.id == rule_id and r.profile == profile]


def pin(name: str, *addresses: str, at: datetime = NOW) -> Pin:
    return Pin(name, addresses, 300, at.strftime("%Y-%m-%dT%H:%M:%SZ"), "198.51.100.53")


# -- reachability through the site's uplinks ---------------------------------------------
def test_helsenett_only_site_drops_internett_endpoints(helsenett) -> None:
    assert helsenett.rules
    assert all(r.zone != Zone.INTERNETT for r in helsenett.rules)
    assert all(r.interfaces == ("wan-hn",) for r in helsenett.rules)
    assert not rules_of(helsenett, "alpha/inet-web")
    assert not rules_of(helsenett, "beta/inet-only")
    assert "alpha/inet-web: left out: the site has no internett uplink" in helsenett.omitted
    assert "beta/inet-only: left out: the site has no internett uplink" in helsenett.omitted


def test_helsenett_only_site_keeps_the_helsenett_half_of_a_two_zone_endpoint(helsenett) -> None:
    (both,) = rules_of(helsenett, "alpha/both")
    assert both.zone == Zone.HELSENETT and both.interfaces == ("wan-hn",)
    assert (
        "alpha/both: its internett part is left out: the site has no internett uplink"
        in helsenett.omitted
    )


def test_dual_site_puts_each_zone_on_its_uplink(dual) -> None:
    expected = {
        Zone.HELSENETT: ("wan-hn",),
        Zone.INTERNETT: ("wan-inet",),
        Zone.LOKAL: ("wan-hn", "wan-inet"),
    }
    assert {r.zone for r in dual.rules} == set(expected)
    for r in dual.rules:
        assert r.interfaces == expected[r.zone], r.id
    assert [(r.zone, r.interfaces) for r in rules_of(dual, "alpha/both")] == [
        (Zone.HELSENETT, ("wan-hn",)),
        (Zone.INTERNETT, ("wan-inet",)),
    ]
    (inet,) = rules_of(dual, "alpha/inet-web")
    assert inet.interfaces == ("wan-inet",)
    assert not any("not reachable" in o for o in dual.omitted)


# -- normalization ---------------------------------------------------------------------
def test_adjacent_cidrs_merge_into_one_span(dual) -> None:
    (r,) = rules_of(dual, "alpha/hn-web")
    assert r.dst == (parse_address("10.1.0.0/23"),)


def test_overlapping_ranges_merge_into_one_span(dual) -> None:
    (r,) = rules_of(dual, "alpha/inet-web")
    assert r.dst == (parse_address("203.0.113.10-203.0.113.30"),)


def test_adjacent_port_ranges_merge(dual) -> None:
    (r,) = rules_of(dual, "alpha/media")
    assert (r.proto, r.ports) == (Proto.UDP, (PortRange(40000, 54999),))
    assert r.qos == "video"


def test_overlapping_port_lists_merge(dual) -> None:
    (r,) = rules_of(dual, "alpha/inet-web")
    assert r.ports == (PortRange(440, 445),)


def test_exact_duplicate_rules_are_removed(dual) -> None:
    # beta/hn-web-again is alpha/hn-web again: the first in catalogue order stays
    assert not rules_of(dual, "beta/hn-web-again")
    assert len(rules_of(dual, "alpha/hn-web")) == 1
    keys = [
        (r.profile, r.interfaces, r.action, r.family, r.proto, r.dst, r.ports) for r in dual.rules
    ]
    assert len(keys) == len(set(keys))


def test_every_rule_is_tagged_with_service_zone_and_source(cat, dual) -> None:
    for r in dual.rules:
        assert r.id == f"{r.service}/{r.endpoint}"
        assert isinstance(r.zone, Zone)
        svc = cat.services[r.service]
        eps = (
            svc.endpoints
            if not r.profile
            else next(p for p in svc.profiles if p.name == r.profile).endpoints
        )
        ep = next(e for e in eps if e.id == r.endpoint)
        assert r.source == ep.source and r.source
        assert r.zone in ep.zones
        assert r.qos == ep.qos


def test_protocol_any_rules_have_no_ports(dual) -> None:
    (r,) = rules_of(dual, "alpha/everything")
    assert r.proto == Proto.ANY and r.ports == ()


# -- order -------------------------------------------------------------------------
def _rank(r) -> int:
    if r.action == Action.ACCEPT:
        return 0 if r.proto == Proto.ANY else 1
    return 2


def test_profile_blocks_come_before_the_site(dual) -> None:
    scopes = [r.profile for r in dual.rules]
    assert scopes[0] == "kiosk"
    first_site = scopes.index("")
    assert set(scopes[:first_site]) == {"kiosk"}
    assert set(scopes[first_site:]) == {""}


def test_within_a_block_accept_any_then_ports_then_rejects(dual) -> None:
    for scope in ("kiosk", ""):
        ranks = [_rank(r) for r in dual.scope_rules(scope)]
        assert ranks == sorted(ranks), scope
        assert set(ranks) == {0, 1, 2}, scope


def test_site_block_order_is_rank_then_catalogue_order(dual) -> None:
    assert [r.id for r in dual.scope_rules("")] == [
        "alpha/everything",  # accept, every protocol
        "alpha/hn-web",
        "alpha/inet-web",
        "alpha/media",
        "alpha/both",
        "alpha/both",
        "alpha/lokal",
        "alpha/v6",
        "beta/inet-only",  # accept with ports, catalogue order
        "alpha/reject-me",  # explicit reject last
    ]


def test_profile_block_order(dual) -> None:
    assert [(r.id, r.proto.value) for r in dual.scope_rules("kiosk")] == [
        ("beta/video", "any"),
        ("beta/dns", "udp"),
        ("beta/dns", "tcp"),
        ("beta/dns", "udp"),
        ("beta/dns", "tcp"),
        ("beta/blocked", "any"),
    ]
    assert dual.scope_rules("kiosk")[-1].action == Action.REJECT


def test_profiles_are_bound_to_their_hosts(dual) -> None:
    (b,) = dual.profiles
    assert (b.name, b.service, b.host_names, b.otherwise) == (
        "kiosk",
        "beta",
        ("kiosk-1",),
        Action.DROP,
    )
    assert b.hosts == (parse_address("192.168.1.50"), parse_address("2001:db8:1::50"))
    assert b.source == "beta:kiosk"


def test_profile_blocks_are_sorted_by_name_on_the_default_site() -> None:
    real = load_catalogue()
    policy = compile_policy(real, load_site(packaged_site(), "appliance.toml", real))
    seen = list(dict.fromkeys(r.profile for r in policy.rules))
    assert seen == ["fjernhjelp-leverandor", "videoutstyr", ""]
    assert [b.name for b in policy.profiles] == ["fjernhjelp-leverandor", "videoutstyr"]


# -- names and pins ----------------------------------------------------------------
def test_unpinned_names_are_left_out_with_one_warning(dual) -> None:
    assert not rules_of(dual, "alpha/named")
    unpinned = [w for w in dual.warnings if "not pinned" in w]
    assert len(unpinned) == 1
    (w,) = unpinned
    assert "svc.example.no" in w and "alt.example.no" in w
    assert "nhn-appliance resolve" in w
    assert w.startswith("2 name(s)")
    assert "alpha/named: svc.example.no is not pinned" in dual.omitted
    assert "alpha/named: alt.example.no is not pinned" in dual.omitted


def test_pinned_names_are_used(cat) -> None:
    pins = {
        "svc.example.no": pin("svc.example.no", "10.50.0.1", "10.50.0.2"),
        "alt.example.no": pin("alt.example.no", "10.50.0.3", "2001:db8:50::1"),
    }
    policy = compile_policy(cat, site(cat, "site_dual"), pins)
    rules = rules_of(policy, "alpha/named")
    assert [(r.family, r.dst, r.ports) for r in rules] == [
        (4, (parse_address("10.50.0.1-10.50.0.3"),), (PortRange(8443, 8443),)),
        (6, (parse_address("2001:db8:50::1"),), (PortRange(8443, 8443),)),
    ]
    assert not any("not pinned" in w for w in policy.warnings)
    assert not any("alpha/named" in o for o in policy.omitted)


def test_partly_pinned_warns_only_for_the_missing_name(cat) -> None:
    pins = {"svc.example.no": pin("svc.example.no", "10.50.0.1")}
    policy = compile_policy(cat, site(cat, "site_dual"), pins)
    (rule,) = rules_of(policy, "alpha/named")
    assert rule.dst == (parse_address("10.50.0.1"),)
    (w,) = [w for w in policy.warnings if "not pinned" in w]
    assert "alt.example.no" in w and "svc.example.no" not in w


def test_stale_pin_warns_when_now_is_given(cat) -> None:
    old = {
        n: pin(n, "10.50.0.1", at=NOW - timedelta(days=31))
        for n in ("svc.example.no", "alt.example.no")
    }
    stale = compile_policy(cat, site(cat, "site_dual"), old, now=NOW)
    assert len([w for w in stale.warnings if "more than 30 days ago" in w]) == 2
    assert all("nhn-appliance resolve" in w for w in stale.warnings)
    assert rules_of(stale, "alpha/named")  # still used
    assert compile_policy(cat, site(cat, "site_dual"), old).warnings == ()  # no now, no age check
    fresh = {n: pin(n, "10.50.0.1", at=NOW - timedelta(days=29)) for n in old}
    assert compile_policy(cat, site(cat, "site_dual"), fresh, now=NOW).warnings == ()


def test_a_resolver_inside_the_lan_is_lan_traffic_not_an_opening() -> None:
    real = load_catalogue()
    policy = compile_policy(real, load_site(packaged_site(), "appliance.toml", real))
    assert not rules_of(policy, "dns/resolvere")
    why = "lies inside the LAN prefixes: LAN traffic, not an uplink opening"
    assert f"dns/resolvere: 192.168.10.1 {why}" in policy.omitted
    # nothing of any rule points into the LAN
    lan = policy.lan_prefixes
    assert all(subtract_spans(r.dst, lan) == r.dst for r in policy.rules)


def test_site_resolvers_outside_the_lan_fill_site_addresses(tmp_path: Path) -> None:
    real = load_catalogue()
    text = (
        packaged_site()
        .read_text()
        .replace('resolvers = ["192.168.10.1"]', 'resolvers = ["198.51.100.53"]')
    )
    site_file = tmp_path / "site.toml"
    site_file.write_text(text)
    policy = compile_policy(real, load_site(site_file, "site.toml", real))
    dns = rules_of(policy, "dns/resolvere")
    assert dns and all(r.dst == (parse_address("198.51.100.53"),) for r in dns)
    assert {(r.proto, r.interfaces) for r in dns} == {
        (Proto.UDP, ("wan-hn",)),
        (Proto.TCP, ("wan-hn",)),
        (Proto.UDP, ("wan-inet",)),
        (Proto.TCP, ("wan-inet",)),
    }


def test_no_resolvers_leaves_dns_out_with_a_reason(tmp_path: Path) -> None:
    real = load_catalogue()
    text = (
        '[site]\nname = "k"\nservices = ["dns"]\n[lan]\ninterfaces = "lan0"\n'
        'prefixes = "192.168.10.0/24"\n[uplinks.helsenett]\ninterface = "wan0"\n'
    )
    (tmp_path / "k.toml").write_text(text)
    policy = compile_policy(real, load_site(tmp_path / "k.toml", "k.toml", real))
    assert policy.rules == ()
    assert any("the site names no DNS resolvers" in o for o in policy.omitted)


# -- default action, families, determinism -------------------------------------------
def test_outbound_open_makes_the_default_accept(cat) -> None:
    policy = compile_policy(cat, site(cat, "site_open"))
    assert policy.outbound == "open"
    assert policy.default_action == Action.ACCEPT


def test_outbound_blocked_uses_the_blocked_action(dual, helsenett) -> None:
    assert dual.default_action == Action.DROP
    assert helsenett.default_action == Action.REJECT


def test_ipv6_destinations_without_an_ipv6_lan_are_omitted(helsenett) -> None:
    assert all(r.family == 4 for r in helsenett.rules)
    assert not rules_of(helsenett, "alpha/v6")
    assert (
        "alpha/v6: its IPv6 destinations are left out: the LAN has no IPv6 prefix"
        in helsenett.omitted
    )
    assert helsenett.families() == (4,)


def test_ipv6_destinations_with_an_ipv6_lan_are_kept(dual) -> None:
    (r,) = rules_of(dual, "alpha/v6")
    assert r.family == 6 and r.dst == (parse_address("2001:db8:ff::/48"),)
    assert dual.families() == (4, 6)


def test_omitted_has_no_duplicates(helsenett) -> None:
    assert len(helsenett.omitted) == len(set(helsenett.omitted))


def test_compile_is_deterministic(cat) -> None:
    s = site(cat, "site_dual")
    pins = {"svc.example.no": pin("svc.example.no", "10.50.0.1")}
    assert compile_policy(cat, s, pins, now=NOW) == compile_policy(cat, s, dict(pins), now=NOW)
    assert compile_policy(cat, s) == compile_policy(cat, s)


def test_compile_does_not_change_its_inputs(cat) -> None:
    s = site(cat, "site_dual")
    pins = {"svc.example.no": pin("svc.example.no", "10.50.0.1")}
    before = (dict(cat.services), dict(cat.qos), s, dict(pins))
    compile_policy(cat, s, pins, now=NOW)
    assert before == (dict(cat.services), dict(cat.qos), s, dict(pins))


def test_site_qos_overrides_reach_the_policy(tmp_path: Path) -> None:
    real = load_catalogue()
    text = packaged_site().read_text(encoding="utf-8") + '\n[qos.signalering]\ndscp = "CS5"\n'
    (tmp_path / "s.toml").write_text(text, encoding="utf-8")
    policy = compile_policy(real, load_site(tmp_path / "s.toml", "s.toml", real))
    assert policy.qos["signalering"].dscp == 40
    assert policy.qos["sanntid"] == real.qos["sanntid"]


# -- matching ------------------------------------------------------------------------
def test_rule_covers(dual) -> None:
    (media,) = rules_of(dual, "alpha/media")
    dst = parse_address("10.2.0.1").first
    assert rule_covers(media, "wan-hn", 4, "udp", dst, 40000)
    assert rule_covers(media, "wan-hn", 4, "udp", dst, 54999)
    assert not rule_covers(media, "wan-hn", 4, "udp", dst, 39999)
    assert not rule_covers(media, "wan-hn", 4, "tcp", dst, 40000)
    assert not rule_covers(media, "wan-inet", 4, "udp", dst, 40000)
    assert not rule_covers(media, "wan-hn", 6, "udp", dst, 40000)
    assert not rule_covers(media, "wan-hn", 4, "udp", dst + 1, 40000)
    assert not rule_covers(media, "wan-hn", 4, "udp", dst, None)
    (anyr,) = rules_of(dual, "alpha/everything")
    inside = parse_address("10.9.1.1").first
    assert rule_covers(anyr, "wan-hn", 4, "icmp", inside, None)
    assert rule_covers(anyr, "wan-hn", 4, "tcp", inside, 1)


def _default_site_with(tmp_path: Path, extra: str, old: str = "", new: str = "") -> Path:
    text = packaged_site().read_text()
    if old:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "site.toml"
    path.write_text(text + extra)
    return path


OPENING = """
[[opening]]
id = "journal"
title = "Journal system vendor"
zone = "internett"
addresses = ["203.0.113.10", "2001:db8:99::10"]
protocol = "tcp"
ports = [443, 8443]
qos = "forretningskritisk"
source = "agreement with the vendor"
"""


def test_a_site_opening_compiles_like_a_catalogue_endpoint(tmp_path: Path) -> None:
    real = load_catalogue()
    site = load_site(_default_site_with(tmp_path, OPENING), "site.toml", real)
    policy = compile_policy(real, site)
    rules = rules_of(policy, "site/journal")
    assert {(r.family, r.interfaces, r.proto, r.qos, r.source) for r in rules} == {
        (4, ("wan-inet",), Proto.TCP, "forretningskritisk", "agreement with the vendor"),
        (6, ("wan-inet",), Proto.TCP, "forretningskritisk", "agreement with the vendor"),
    }
    verdict = explain(policy, Flow.parse("tcp", "203.0.113.10", 8443))
    assert verdict.verdict == Action.ACCEPT and verdict.rule and verdict.rule.id == "site/journal"
    assert verdict.qos == "forretningskritisk"


def test_routes_list_what_each_uplink_must_carry_on_a_dual_site() -> None:
    real = load_catalogue()
    policy = compile_policy(real, load_site(packaged_site(), "appliance.toml", real))
    routes = policy.routes
    assert set(routes) == {Zone.HELSENETT, Zone.INTERNETT}
    assert parse_address("10.145.128.0/17") in routes[Zone.HELSENETT]
    assert parse_address("91.186.66.22") in routes[Zone.INTERNETT]
    # what both lines may carry (83.118.128.0/28, 002:379-393 read either way) and
    # "any address" (the vendor profile's DNS) follow the site's own routing
    for spans in routes.values():
        assert subtract_spans([parse_address("83.118.128.0/28")], spans) != ()
        assert all(s.last - s.first < 1 << 24 for s in spans if s.family == 4)


def test_a_single_uplink_site_needs_no_routes() -> None:
    catalogue = load_catalogue(UNIT / "catalogue")
    site = load_site(UNIT / "site_helsenett.toml", "h.toml", catalogue)
    assert compile_policy(catalogue, site).routes == {}


def test_host_marking_is_reset_unless_the_site_keeps_it(tmp_path: Path) -> None:
    real = load_catalogue()
    plain = compile_policy(real, load_site(packaged_site(), "appliance.toml", real))
    assert plain.keep_host_marking is False
    kept = load_site(_default_site_with(tmp_path, "\n[qos]\nkeep_host_marking = true\n"), "s", real)
    assert compile_policy(real, kept).keep_host_marking is True


def test_every_policy_says_which_software_and_catalogue_made_it() -> None:
    real = load_catalogue()
    policy = compile_policy(
        real, load_site(packaged_site(), "appliance.toml", real), software="nhn-appliance 9"
    )
    assert policy.software == "nhn-appliance 9"
    assert len(policy.catalogue_revision) == 12 and policy.catalogue_revision == real.revision


def test_the_catalogue_revision_changes_with_any_catalogue_file(tmp_path: Path) -> None:

    rules = tmp_path / "rules"
    shutil.copytree(UNIT / "catalogue", rules)
    before = load_catalogue(rules).revision
    shutil.copytree(UNIT / "catalogue", tmp_path / "rules2")
    other = tmp_path / "rules2"
    qos = other / "qos.toml"
    qos.write_text(qos.read_text() + "\n# a comment changes the file\n")
    assert load_catalogue(other).revision != before
