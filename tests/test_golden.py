"""Golden files of the rendered output for the default site, for every target.

The default site is the packaged appliance.toml with the packaged catalogue;
one variant adds pinned names (documentation addresses, plus the documented
example answer for sikker.proxy.nhn.no) so that name-based rules show up.
This is the only test that compares the renderers' goldens; determinism
across processes is in test_targets.py.
Regenerate on purpose with: pytest tests/test_golden.py --update-golden
"""

from __future__ import annotations

import pytest
from conftest import GOLDEN
from render_cases import options_for, policy

from nhn_appliance.render import RENDERERS, get_renderer

GOLDEN_CASES = ["default", "default-pinned"]


@pytest.mark.parametrize("case", GOLDEN_CASES)
@pytest.mark.parametrize("target", sorted(RENDERERS))
def test_golden_default_site(target: str, case: str, golden) -> None:
    artifacts = get_renderer(target).render(policy(case), options_for(target, policy(case)))
    assert artifacts, "a renderer must produce at least one file"
    for art in artifacts:
        golden(f"{target}/{case}.{art.name}", art.text)
    # and no golden is left over from a file the renderer no longer writes
    on_disk = {p.name for p in (GOLDEN / target).glob(f"{case}.*") if p.suffix != ".actual"}
    assert on_disk == {f"{case}.{art.name}" for art in artifacts}


def test_pinned_names_reach_the_output() -> None:
    text = get_renderer("nftables").render(policy("default-pinned"))[0].text
    assert '185.84.36.241 . tcp . 8080 comment "proxy/sikker-proxy 002:524-528"' in text
    # helseid names were not pinned in this file: left out, and said so
    assert "not pinned" in text and "helseid-sts.nhn.no" in text
    assert "helseid/helseid" not in text.split("table inet nhn_appliance {", 1)[1]
