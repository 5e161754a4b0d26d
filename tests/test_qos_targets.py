"""One QoS class table for every target: a site override reaches every output.

The catalogue's classes are defaults; ``[qos.<class>]`` in the site file
overrides them. Changing signalering from CS3 to CS5 must change what explain
reports and what each target marks, and leave the other classes alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from render_cases import TARGET_OPTIONS

from nhn_appliance.inputs import load_inputs
from nhn_appliance.policy.explain import Flow, explain
from nhn_appliance.policy.site import packaged_site
from nhn_appliance.render import RENDERERS, get_renderer

#: how each target spells "mark with DSCP N" (cs3 = 24, cs5 = 40, af41 = 34)
SPELLING = {
    "nftables": {24: "ip dscp set 24", 40: "ip dscp set 40", 34: "ip dscp set 34"},
    "iptables": {24: "--set-dscp 24", 40: "--set-dscp 40", 34: "--set-dscp 34"},
    "cisco-ios": {24: "set dscp cs3", 40: "set dscp cs5", 34: "set dscp af41"},
    "junos": {24: "then dscp cs3", 40: "then dscp cs5", 34: "then dscp af41"},
    "routeros": {24: "new-dscp=24", 40: "new-dscp=40", 34: "new-dscp=34"},
    "windows": {24: "-DSCPAction 24", 40: "-DSCPAction 40", 34: "-DSCPAction 34"},
}


def _policy(tmp_path: Path, override: str = ""):
    site = tmp_path / "site.toml"
    site.write_text(packaged_site().read_text(encoding="utf-8") + override, encoding="utf-8")
    return load_inputs(
        str(site), None, str(tmp_path / "none.pins.json"), pins_must_exist=False
    ).policy()


def test_every_target_has_a_spelling() -> None:
    assert set(SPELLING) == set(RENDERERS)


@pytest.mark.parametrize("target", sorted(RENDERERS))
def test_site_override_changes_the_marking_of_every_target(tmp_path: Path, target: str) -> None:
    renderer, options = get_renderer(target), TARGET_OPTIONS.get(target, {})
    before = "".join(a.text for a in renderer.render(_policy(tmp_path), options))
    after_policy = _policy(tmp_path, '\n[qos.signalering]\ndscp = "CS5"\n')
    after = "".join(a.text for a in renderer.render(after_policy, options))
    spell = SPELLING[target]
    assert spell[24] in before and spell[40] not in before
    assert spell[40] in after and spell[24] not in after
    # other classes are untouched
    assert spell[34] in before and spell[34] in after


def test_explain_reports_the_overridden_class(tmp_path: Path) -> None:
    flow = Flow.parse("udp", "91.186.92.30", 1719)  # Join signalling (002:372)
    assert explain(_policy(tmp_path), flow).dscp == 24
    changed = explain(_policy(tmp_path, '\n[qos.signalering]\ndscp = "CS5"\n'), flow)
    assert (changed.qos, changed.dscp) == ("signalering", 40)
