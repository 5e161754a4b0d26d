"""Loading the site file: the default site, and one broken site per rule.

Each tests/cases/invalid/site_*.toml is a small site with exactly one flaw,
checked against the real catalogue. Its test asserts the file, the key path
and the gist of the message, and that the command line prints the same error
on stderr and exits with code 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import INVALID, REPO, UNIT

from nhn_appliance.errors import SiteError
from nhn_appliance.policy.addresses import parse_address
from nhn_appliance.policy.catalogue import load_catalogue
from nhn_appliance.policy.model import Action, Uplink, Zone
from nhn_appliance.policy.site import find_site, load_site, packaged_site

MINIMAL = """\
[site]
name = "kontor"
services = ["join"]

[lan]
interfaces = "lan0"
prefixes = "192.168.10.0/24"

[uplinks.internett]
interface = "wan0"
"""


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def write_site(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- the default site ----------------------------------------------------------------
def test_packaged_default_is_the_repository_appliance_toml() -> None:
    assert packaged_site().read_text(encoding="utf-8") == (REPO / "appliance.toml").read_text(
        encoding="utf-8"
    )


def test_default_site_loads(catalogue) -> None:
    site = load_site(packaged_site(), "appliance.toml (packaged default)", catalogue)
    assert site.name == "legekontor-eksempel"
    assert site.file == "appliance.toml (packaged default)"
    assert site.outbound == "blocked" and site.blocked_action == Action.REJECT
    assert set(site.services) == set(catalogue.services)
    assert site.lan_interfaces == ("lan0",)
    assert site.lan_prefixes == (
        parse_address("192.168.10.0/24"),
        parse_address("2001:db8:10::/64"),
    )
    assert site.uplinks == (
        Uplink(Zone.HELSENETT, "wan-hn", rate_mbit=50),
        Uplink(Zone.INTERNETT, "wan-inet", rate_mbit=100),
    )
    assert site.render_options["cisco-ios"]["helsenett"] == "GigabitEthernet0/0/1"
    assert {(h.name, h.profile) for h in site.hosts} == {
        ("leverandor-pc", "fjernhjelp-leverandor"),
        ("videorom", "videoutstyr"),
    }
    assert site.resolvers == ("192.168.10.1",)
    assert site.targets == ("nftables", "iptables")
    assert site.probe.ntp_servers == ("ntp.nhn.no",)


def test_minimal_site_takes_the_defaults(tmp_path: Path, catalogue) -> None:
    site = load_site(write_site(tmp_path, MINIMAL), "site.toml", catalogue)
    assert site.outbound == "open"  # NHN's default
    assert site.blocked_action == Action.REJECT
    assert site.lan_interfaces == ("lan0",)  # a bare string is one interface
    assert site.uplinks == (Uplink(Zone.INTERNETT, "wan0"),)
    assert site.hosts == () and site.resolvers == () and site.qos == {}
    assert site.dns_port == 53 and site.pin_max_age_days == 30
    assert site.targets == ("nftables",)
    assert site.probe.timeout == 3.0


def test_star_selects_every_service_in_catalogue_order(tmp_path: Path, catalogue) -> None:
    text = MINIMAL.replace('services = ["join"]', 'services = ["join", "*"]')
    site = load_site(write_site(tmp_path, text), "site.toml", catalogue)
    assert site.services[0] == "join"
    assert sorted(site.services) == sorted(catalogue.services)
    assert len(site.services) == len(set(site.services))


def test_uplinks_are_ordered_helsenett_first(tmp_path: Path, catalogue) -> None:
    text = MINIMAL + '\n[uplinks.helsenett]\ninterface = "wan1"\n'
    site = load_site(write_site(tmp_path, text), "site.toml", catalogue)
    assert [u.zone for u in site.uplinks] == [Zone.HELSENETT, Zone.INTERNETT]
    assert site.uplink(Zone.INTERNETT) == Uplink(Zone.INTERNETT, "wan0")
    assert site.uplink(Zone.LOKAL) is None


def test_qos_override_changes_only_what_it_names(tmp_path: Path, catalogue) -> None:
    text = MINIMAL + '\n[qos.interaktiv-video]\ndscp = "AF42"\n'
    site = load_site(write_site(tmp_path, text), "site.toml", catalogue)
    cls = site.qos["interaktiv-video"]
    base = catalogue.qos["interaktiv-video"]
    assert cls.dscp == 36  # AF42
    assert (cls.share, cls.priority, cls.title) == (base.share, base.priority, base.title)
    assert cls.source == "site.toml: qos.interaktiv-video"


def test_interface_of_exactly_15_characters_is_fine(tmp_path: Path, catalogue) -> None:
    text = MINIMAL.replace('"wan0"', '"wan-helsenett-0"')
    assert len("wan-helsenett-0") == 15
    site = load_site(write_site(tmp_path, text), "site.toml", catalogue)
    assert site.uplinks[0].interface == "wan-helsenett-0"


def test_ipv6_host_in_an_ipv6_prefix(tmp_path: Path, catalogue) -> None:
    text = MINIMAL.replace(
        'prefixes = "192.168.10.0/24"', 'prefixes = ["192.168.10.0/24", "2001:db8::/64"]'
    )
    text += '\n[[host]]\nname = "pc"\naddresses = "2001:db8::50"\nprofile = "videoutstyr"\n'
    site = load_site(write_site(tmp_path, text), "site.toml", catalogue)
    assert site.hosts[0].addresses == (parse_address("2001:db8::50"),)


# -- finding the site --------------------------------------------------------------
def test_find_site_explicit_wins(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "appliance.toml").write_text(MINIMAL)
    assert find_site("other.toml") == (Path("other.toml"), "other.toml")


def test_find_site_prefers_local_appliance_toml(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "appliance.toml").write_text(MINIMAL)
    assert find_site(None) == (Path("appliance.toml"), "appliance.toml")


def test_find_site_falls_back_to_the_packaged_default(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path, display = find_site(None)
    assert path == packaged_site()
    assert display == "appliance.toml (packaged default)"


# -- one broken site per rule -------------------------------------------------------
# (file, key path, gist of the message)
INVALID_SITES = [
    ("site_unknown_service.toml", "site.services[1]", "unknown service 'jion'"),
    ("site_service_twice.toml", "site.services[2]", "service 'fjernhjelp' is listed twice"),
    ("site_bad_prefix.toml", "lan.prefixes[1]", "'83.118.128.0/33' has prefix length /33"),
    ("site_prefix_host_bits.toml", "lan.prefixes[0]", "host bits set; did you mean 10.0.0.0/8?"),
    (
        "site_long_interface.toml",
        "uplinks.helsenett.interface",
        "'wan-helsenett-nhn0' is not a valid interface name",
    ),
    ("site_bad_interface.toml", "lan.interfaces[0]", "'lan 0' is not a valid interface name"),
    ("site_interface_twice.toml", "uplinks", "interface 'lan0' is used twice"),
    ("site_bad_name.toml", "site.name", "'Kontor 1' is not a valid name"),
    ("site_bad_outbound.toml", "site.outbound", "'closed' is not known"),
    ("site_unknown_key.toml", "site.servces", "unknown key"),
    ("site_missing_services.toml", "site.services", "is required but missing"),
    ("site_unknown_uplink.toml", "uplinks.internet", "unknown key"),
    ("site_no_prefix.toml", "lan.prefixes", "needs at least one LAN prefix"),
    ("site_duplicate_key.toml", "line 4", "duplicate key 'name'"),
    ("site_duplicate_table.toml", "line 13", "duplicate key 'uplinks.helsenett'"),
    ("site_bad_toml.toml", "line 10", "not valid TOML"),
    ("site_unknown_profile.toml", "host[0].profile", "unknown profile 'fjernhjelp-leverandr'"),
    ("site_host_address_twice.toml", "host[1].addresses[0]", "192.168.10.50 is already host 'pc'"),
    ("site_host_name_twice.toml", "host[1].name", "host name 'pc' is used twice"),
    (
        "site_host_outside_lan.toml",
        "host[0].addresses[1]",
        "192.168.11.50 is outside the LAN prefixes",
    ),
    ("site_host_cidr.toml", "host[0].addresses[0]", "is not an IPv4 or IPv6 address"),
    ("site_unknown_qos.toml", "qos.gull", "unknown QoS class 'gull'"),
    ("site_qos_bad_dscp.toml", "qos.sanntid.dscp", "DSCP 64 is out of range"),
    (
        "site_bad_resolver.toml",
        "dns.resolvers[1]",
        "'dns.example.no' is not an IPv4 or IPv6 address",
    ),
    ("site_dns_port.toml", "dns.port", "70000 is out of range"),
    ("site_unknown_target.toml", "render.targets[0]", "'pf' is not known"),
    ("site_probe_timeout.toml", "probe.timeout", "expected a number, found a string"),
    ("site_does_not_exist.toml", "", "file not found"),
    ("site_lan_everything.toml", "lan.prefixes[1]", "::/0 is every address"),
    ("site_lan_in_helsenett.toml", "lan.prefixes[0]", "overlaps the catalogue destination 10.145"),
    ("site_lan_holds_local.toml", "lan.prefixes[0]", "destination 10.0.0.0/8 (zone lokal)"),
    ("site_host_no_ipv6.toml", "host[0].addresses", "host 'pc' has no IPv6 address"),
    ("site_opening_names.toml", "opening[0].names", "unknown key"),
    ("site_opening_no_source.toml", "opening[0].source", "is required but missing"),
    ("site_opening_unknown_qos.toml", "opening[0].qos", "unknown QoS class 'gull'"),
    ("site_render_bad_interface.toml", "render.cisco-ios.helsenett", "is not an interface name"),
    ("site_render_unknown_key.toml", "render.junos.wan", "unknown key"),
    ("site_uplink_bad_gateway.toml", "uplinks.helsenett.gateway", "is not an IPv4 or IPv6"),
    ("site_qos_shares_over.toml", "qos", "QoS shares add up to 155%"),
    ("site_keep_marking_not_bool.toml", "qos.keep_host_marking", "expected true or false"),
]


@pytest.mark.parametrize(("file", "key", "gist"), INVALID_SITES, ids=[c[0] for c in INVALID_SITES])
def test_invalid_site(file: str, key: str, gist: str, catalogue, run_main) -> None:
    path = INVALID / file
    with pytest.raises(SiteError) as info:
        load_site(path, str(path), catalogue)
    err = info.value
    assert err.file == str(path)
    assert err.key == key
    assert gist in err.message

    code, out, stderr = run_main("--site", str(path), "rules", "check")
    assert code == 2
    assert "site " not in out  # the catalogue line may print, the site's "ok" must not
    where = f"{path}: {key}" if key else str(path)
    assert stderr.startswith(f"error: {where}: ")
    assert gist in stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr


def test_every_invalid_site_case_has_a_test() -> None:
    on_disk = {p.name for p in INVALID.glob("site_*.toml")}
    listed = {c[0] for c in INVALID_SITES} - {"site_does_not_exist.toml"}
    assert on_disk == listed
    assert not (INVALID / "site_does_not_exist.toml").exists()


def test_unknown_service_names_the_known_ones(catalogue) -> None:
    path = INVALID / "site_unknown_service.toml"
    with pytest.raises(SiteError) as info:
        load_site(path, "kontor.toml", catalogue)
    assert info.value.file == "kontor.toml"  # the name the user gave
    assert "join" in info.value.allowed and '"*"' in info.value.allowed


def test_duplicate_key_line_is_the_second_occurrence(catalogue) -> None:
    path = INVALID / "site_duplicate_key.toml"
    with pytest.raises(SiteError) as info:
        load_site(path, str(path), catalogue)
    line = int(info.value.key.split()[1])
    assert path.read_text().splitlines()[line - 1] == 'name = "kontor2"'


def test_site_against_another_catalogue_does_not_know_its_services(tmp_path: Path) -> None:
    unit = load_catalogue(UNIT / "catalogue")
    with pytest.raises(SiteError, match="unknown service 'join'"):
        load_site(write_site(tmp_path, MINIMAL), "site.toml", unit)
