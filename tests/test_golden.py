"""Golden files of the rendered output for the default site.

The default site is the packaged appliance.toml with the packaged catalogue;
one variant adds pinned names (documentation addresses, plus the documented
example answer for sikker.proxy.nhn.no) so that name-based rules show up.
Regenerate on purpose with: pytest tests/test_golden.py --update-golden
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nhn_appliance.policy.catalogue import load_catalogue
from nhn_appliance.policy.compile import compile_policy
from nhn_appliance.policy.pins import read_pins
from nhn_appliance.policy.site import load_site
from nhn_appliance.render import RENDERERS, get_renderer

TESTS = Path(__file__).parent
REPO = TESTS.parent
CASES = TESTS / "cases"


def _policy(pins: Path | None):
    catalogue = load_catalogue(REPO / "rules")
    site = load_site(REPO / "appliance.toml", "appliance.toml", catalogue)
    return compile_policy(catalogue, site, read_pins(pins) if pins else {})


CASES_PINS = {"default": None, "default-pinned": CASES / "pins" / "default.pins.json"}


@pytest.mark.parametrize("case", sorted(CASES_PINS))
@pytest.mark.parametrize("target", sorted(RENDERERS))
def test_golden_default_site(target: str, case: str, golden) -> None:
    artifacts = get_renderer(target).render(_policy(CASES_PINS[case]))
    assert artifacts, "a renderer must produce at least one file"
    for art in artifacts:
        golden(f"{target}/{case}.{art.name}", art.text)


@pytest.mark.parametrize("target", sorted(RENDERERS))
def test_render_is_deterministic(target: str) -> None:
    first = [a.text for a in get_renderer(target).render(_policy(CASES_PINS["default-pinned"]))]
    second = [a.text for a in get_renderer(target).render(_policy(CASES_PINS["default-pinned"]))]
    assert first == second


def test_pinned_names_reach_the_output() -> None:
    text = get_renderer("nftables").render(_policy(CASES_PINS["default-pinned"]))[0].text
    assert '185.84.36.241 . tcp . 8080 comment "proxy/sikker-proxy 002:524-528"' in text
    # helseid names were not pinned in this file: left out, and said so
    assert "not pinned" in text and "helseid-sts.nhn.no" in text
    assert "helseid/helseid" not in text.split("table inet nhn_appliance {", 1)[1]
