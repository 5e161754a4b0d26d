"""The site defaults NHN's pages decide (rules/site/defaults.toml): loaded,
validated with file and key path, overridable per catalogue, and used."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import REPO, UNIT

from nhn_appliance.errors import CatalogueError
from nhn_appliance.policy.catalogue import load_catalogue
from nhn_appliance.policy.compile import compile_policy
from nhn_appliance.policy.defaults import defaults_file, load_defaults
from nhn_appliance.policy.site import load_site

PACKAGED = REPO / "rules" / "site" / "defaults.toml"


def test_packaged_defaults_carry_their_sources() -> None:
    d = load_defaults(PACKAGED)
    assert (d.outbound, d.outbound_source) == ("open", "002:83")
    assert d.ntp_servers == ("ntp.nhn.no",) and d.ntp_source == "002:486"
    assert d.pac.source == "002:530" and d.proxy.source == "002:524-528"
    assert d.clock.warn_s < d.clock.fail_s and d.clock.source == "002:265"
    assert d.default_comment("open") == "outbound open (NHN default, 002:83)"
    assert d.default_comment("blocked") != d.default_comment("open")
    assert d.verify_services == ("fjernhjelp",)  # apply --verify: remote support


def _catalogue_with(tmp_path: Path, defaults: str) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(UNIT / "catalogue", rules)
    (rules / "site").mkdir(exist_ok=True)
    (rules / "site" / "defaults.toml").write_text(defaults)
    return rules


def test_a_catalogue_without_defaults_uses_the_packaged_file() -> None:
    assert defaults_file(UNIT / "catalogue") == defaults_file(None)
    assert load_catalogue(UNIT / "catalogue").defaults == load_defaults(PACKAGED)


def test_a_catalogue_brings_its_own_defaults_and_they_reach_site_and_policy(tmp_path) -> None:
    text = PACKAGED.read_text().replace('default = "open"', 'default = "blocked"')
    text = text.replace('servers = ["ntp.nhn.no"]', 'servers = ["ntp.example.no"]')
    rules = _catalogue_with(tmp_path, text)
    catalogue = load_catalogue(rules)
    site_file = tmp_path / "site.toml"
    # a site that does not say whether outbound is open
    site_file.write_text((UNIT / "site_open.toml").read_text().replace('outbound = "open"\n', ""))
    site = load_site(site_file, "site.toml", catalogue)
    assert site.outbound == "blocked"
    assert site.probe.ntp_servers == ("ntp.example.no",)
    policy = compile_policy(catalogue, site, {})
    assert policy.default_comment == "outbound blocked: nothing else leaves the site"


@pytest.mark.parametrize(
    ("edit", "key", "words"),
    [
        (('default = "open"', 'default = "sometimes"'), "outbound.default", "sometimes"),
        (("fail_s = 30.0", "fail_s = 0.5"), "clock.fail_s", "above warn_s"),
        (('source = "002:486"\n', ""), "probe.ntp", "source"),
        (("[clock]", "[clock]\ncolour = 1"), "clock", "colour"),
    ],
)
def test_a_broken_defaults_file_names_file_and_key(tmp_path, edit, key, words) -> None:
    text = PACKAGED.read_text()
    assert edit[0] in text
    rules = _catalogue_with(tmp_path, text.replace(edit[0], edit[1], 1))
    with pytest.raises(CatalogueError) as info:
        load_catalogue(rules)
    message = str(info.value)
    assert "defaults.toml" in message and key in message and words in message
