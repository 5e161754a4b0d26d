"""Lint: shadowed, overlapping and empty rules.

tests/cases/unit/lint_catalogue/web.toml is built for this: web/narrow is
covered by web/wide, web/video-ssh by the every-protocol web/video-net,
web/portal-a and web/portal-b share some packets, web/mail is clean and
web/named is never pinned.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import UNIT

from nhn_appliance.policy.catalogue import load_catalogue
from nhn_appliance.policy.compile import compile_policy
from nhn_appliance.policy.lint import lint
from nhn_appliance.policy.model import Pin
from nhn_appliance.policy.site import load_site, packaged_site


@pytest.fixture(scope="module")
def cat():
    return load_catalogue(UNIT / "lint_catalogue")


@pytest.fixture(scope="module")
def findings(cat):
    site = load_site(UNIT / "lint_site.toml", "lint_site.toml", cat)
    return lint(compile_policy(cat, site))


def kinds(findings, kind: str):
    return [f for f in findings if f.kind == kind]


def test_rule_fully_covered_by_an_earlier_one_is_shadowed(findings) -> None:
    shadowed = {f.rule: f.other for f in kinds(findings, "shadowed")}
    assert shadowed == {
        "web/narrow (tcp, IPv4, helsenett)": "web/wide (tcp, IPv4, helsenett)",
        "web/video-ssh (tcp, IPv4, helsenett)": "web/video-net (any, IPv4, helsenett)",
    }
    text = next(f.text for f in findings if f.rule.startswith("web/narrow"))
    assert "never matches" in text and "web/wide" in text


def test_partial_overlap_is_reported_once_in_order(findings) -> None:
    overlaps = [(f.rule, f.other) for f in kinds(findings, "overlap")]
    assert overlaps == [
        ("web/portal-a (tcp, IPv4, internett)", "web/portal-b (tcp, IPv4, internett)")
    ]
    assert "count for the first" in kinds(findings, "overlap")[0].text


def test_shadowed_rules_are_not_also_reported_as_overlaps(findings) -> None:
    for f in kinds(findings, "overlap"):
        assert "narrow" not in f.rule + f.other and "video-ssh" not in f.rule + f.other


def test_clean_rules_have_no_findings(findings) -> None:
    assert not [f for f in findings if "web/mail" in f.rule + f.other]


def test_left_out_entries_are_empty_findings(findings) -> None:
    (empty,) = kinds(findings, "empty")
    assert empty.rule == "web/named"
    assert "portal.example.no is not pinned" in empty.text
    assert empty.text.startswith("left out: ")


def test_pinning_the_name_clears_the_empty_finding(cat) -> None:
    site = load_site(UNIT / "lint_site.toml", "lint_site.toml", cat)
    pins = {
        "portal.example.no": Pin(
            "portal.example.no", ("203.0.113.199",), 60, "2025-01-01T00:00:00Z", ""
        )
    }
    assert not kinds(lint(compile_policy(cat, site, pins)), "empty")


def test_no_findings_for_a_clean_policy(tmp_path: Path) -> None:
    # the lint site, with a catalogue of one service with one endpoint
    (tmp_path / "qos.toml").write_text((UNIT / "lint_catalogue" / "qos.toml").read_text())
    (tmp_path / "one.toml").write_text(
        '[service]\nname = "one"\nsource = "t"\n[[endpoint]]\nid = "a"\nzone = "helsenett"\n'
        'addresses = "10.0.0.1"\nprotocol = "tcp"\nports = 443\nsource = "t"\n'
    )
    one = load_catalogue(tmp_path)
    site_text = (
        (UNIT / "lint_site.toml").read_text().replace('services = ["web"]', 'services = ["one"]')
    )
    (tmp_path / "site.toml").write_text(site_text)
    assert lint(compile_policy(one, load_site(tmp_path / "site.toml", "site.toml", one))) == []


def test_lint_runs_per_profile_scope_on_the_default_site() -> None:
    real = load_catalogue()
    found = lint(compile_policy(real, load_site(packaged_site(), "appliance.toml", real)))
    # a profile's rules are never compared with the site's
    assert kinds(found, "overlap")
    for f in found:
        if f.kind == "overlap":
            assert f.rule.startswith("profile ") == f.other.startswith("profile ")
    # names are unpinned in the packaged default: every left-out entry is reported
    assert {f.rule for f in kinds(found, "empty")} >= {
        "proxy/sikker-proxy",
        "ntp/ntp-nhn",
        "helseid/helseid",
    }
