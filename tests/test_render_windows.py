"""Windows target: an independent reader of the PowerShell, held to explain(); injection.

tests/readers/powershell.py knows the Windows Firewall and policy-based QoS,
not the renderer: it tokenizes each command line as PowerShell does and
evaluates an outbound flow the way Windows does (Block rules first, then
Allow rules, then the default outbound action). QoS: the DSCP of the
matching ``New-NetQosPolicy``; the policies must never disagree on a flow.
Options, limits and determinism: test_targets.py; goldens: test_golden.py.

Windows does not tell drop from reject, so verdicts are compared as allow
vs block. A PC has no uplinks: flows have none (``with_uplink=False``), and
the site-PC script is used for flows without a source, a profile's script
for flows from that profile's hosts. Traffic inside the LAN never reaches
the router, which passes it ("within the LAN"); the scripts allow it too, so
for destinations in the LAN prefixes the expected verdict is allow.
"""

from __future__ import annotations

import re
from functools import cache

import pytest
from flowgen import edge_flows, expected, flows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from readers.powershell import WindowsHost, command, tokens
from render_cases import hostile_policy, policy

from nhn_appliance.errors import UsageError
from nhn_appliance.policy.explain import Flow
from nhn_appliance.policy.qos import classify
from nhn_appliance.render.windows import RENDERER, ps


@cache
def hosts(case: str) -> dict[str, WindowsHost]:
    return {a.name.removesuffix(".ps1"): WindowsHost(a.text) for a in RENDERER.render(policy(case))}


def check(case: str, flow: Flow) -> None:
    pol = policy(case)
    want, cls = expected(pol, flow)
    fam, dst = flow.dst.family, flow.dst.first
    if any(p.family == fam and p.first <= dst <= p.last for p in pol.lan_prefixes):
        want = "accept"  # within the LAN: the router passes it, and so does every script
        c = classify(pol, flow.proto, fam, dst, flow.port)
        cls = c.name if c else None
    script = "site-pc"
    if flow.src is not None:
        script = next(
            b.name
            for b in pol.profiles
            if any(h.family == fam and h.first <= flow.src.first <= h.last for h in b.hosts)
        )
    pc = hosts(case)[script]
    assert pc.allows(flow.proto, fam, dst, flow.port) == (want == "accept"), (script, flow, want)
    if want == "accept":
        got = pc.dscp(flow.proto, fam, dst, flow.port)
        assert got == ({pol.qos[cls].dscp} if cls else set()), (script, flow, cls, got)


# the default site, and the trick catalogue: rejects overlapping openings, an open site,
# a profile with its own reject
POLICY_CASES = ["default", "default-pinned", "default-open", "trick", "trick-open", "trick-open-hn"]


@pytest.mark.parametrize("case", POLICY_CASES)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_reader_agrees_with_explain(case: str, data) -> None:
    check(case, data.draw(flows(policy(case), families=(4, 6), with_uplink=False)))


@pytest.mark.parametrize("case", POLICY_CASES)
def test_reader_agrees_with_explain_at_every_rule_edge(case: str) -> None:
    for flow in edge_flows(policy(case), with_uplink=False):
        check(case, flow)


def test_block_rules_are_cut_to_what_the_policy_blocks() -> None:
    pc = hosts("trick")["site-pc"]
    blocks = [r for r in pc.rules if r["Action"] == ["Block"]]
    # wide-reject minus web (tcp 443, 8000-8100 on .10-.20) minus open-any (.128/26, every protocol)
    assert any(
        r["Protocol"] == ["TCP"]
        and "203.0.113.10-203.0.113.20" in r["RemoteAddress"]
        and r["RemotePort"] == ["0-442", "444-7999", "8101-65535"]
        for r in blocks
    ), blocks
    assert not any("203.0.113.128/26" in r["RemoteAddress"] for r in blocks)
    # at an open site with both uplinks, wide-reject (Helsenett only) blocks nothing:
    # the internet line lets it out
    assert not any(
        r["DisplayName"][0].startswith("nhn-appliance: trick/wide-reject")
        for r in hosts("trick-open")["site-pc"].rules
    )
    assert (
        not hosts("trick-open")["site-pc"].default_block
        and hosts("trick-open")["kiosk"].default_block
    )


# -- the scripts, idempotence, options --------------------------------------------
@pytest.mark.parametrize("case", ["default", "default-pinned"])
def test_one_script_for_the_site_pc_and_one_per_profile(case: str) -> None:
    arts = RENDERER.render(policy(case))
    assert [a.name for a in arts] == ["site-pc.ps1", "fjernhjelp-leverandor.ps1", "videoutstyr.ps1"]


def test_scripts_clear_their_own_items_first() -> None:
    for art in RENDERER.render(policy("default")):
        lines = [x for x in art.text.splitlines() if x.strip() and not x.startswith("#")]
        assert art.text.startswith("#Requires -RunAsAdministrator\n")
        assert (
            lines[1].startswith("Get-NetFirewallRule -Group 'nhn-appliance' ")
            and "Remove-NetFirewallRule" in lines[1]
        )
        assert lines[2].startswith("Get-NetQosPolicy ") and "Remove-NetQosPolicy" in lines[2]
        for line in lines[3:]:
            name, params, tail = command(line)
            if name == "New-NetFirewallRule":
                assert params["Group"] == ["nhn-appliance"] and tail == ["Out-Null"]
            if name == "New-NetQosPolicy":
                assert params["Name"][0].startswith("nhn-appliance-")


@pytest.mark.parametrize(
    "value,line",
    [
        (None, "# netsh winhttp set proxy kunde.proxy.nhn.no:8080"),
        ("yes", "netsh winhttp set proxy 'kunde.proxy.nhn.no:8080'"),
        ("proxy.example.no:3128", "netsh winhttp set proxy 'proxy.example.no:3128'"),
        ("no", None),
    ],
)
def test_winhttp_proxy_option(value, line) -> None:
    arts = RENDERER.render(policy("default"), {"winhttp-proxy": value} if value else None)
    pc = arts[0].text.splitlines()
    if line is None:
        assert not any("winhttp set proxy" in x for x in pc)
    else:
        assert (
            line in pc
            and "# Show: netsh winhttp show proxy   Undo: netsh winhttp reset proxy" in pc
        )
    assert not any("winhttp" in x for a in arts[1:] for x in a.text.splitlines())


# -- injection ------------------------------------------------------------------
@pytest.mark.parametrize("text", ["a'b", "a\u2019b\u2018c", "''", "$(reboot) `n; x"])
def test_quoting_round_trips(text: str) -> None:
    assert tokens(ps(text)) == [("q", text)]


FIXED = {
    "$ErrorActionPreference = 'Stop'",
    "Get-NetFirewallRule -Group 'nhn-appliance' -ErrorAction SilentlyContinue "
    "| Remove-NetFirewallRule",
    "Get-NetQosPolicy -ErrorAction SilentlyContinue | Where-Object Name -like 'nhn-appliance-*' "
    "| Remove-NetQosPolicy -Confirm:$false",
    "Set-NetFirewallProfile -Profile Domain,Private,Public -DefaultOutboundAction Block",
}
SHAPES = {
    "New-NetFirewallRule": {
        "Name",
        "DisplayName",
        "Group",
        "Direction",
        "Action",
        "Protocol",
        "RemoteAddress",
        "RemotePort",
    },
    "New-NetQosPolicy": {
        "Name",
        "IPDstPrefixMatchCondition",
        "IPProtocolMatchCondition",
        "IPDstPortMatchCondition",
        "IPDstPortStartMatchCondition",
        "IPDstPortEndMatchCondition",
        "DSCPAction",
        "NetworkProfile",
    },
}


def test_hostile_catalogue_adds_no_command() -> None:
    hostile = hostile_policy()
    # the hostile catalogue has no system proxy: "yes" is refused, a HOST:PORT is written
    with pytest.raises(UsageError, match="name no system proxy"):
        RENDERER.render(hostile, {"winhttp-proxy": "yes"})
    text = RENDERER.render(hostile, {"winhttp-proxy": "proxy.example.test:8080"})[0].text
    seen = set()
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            assert "\r" not in line
            continue
        if line in FIXED:
            continue
        toks = tokens(line)  # quoted strings are whole, nothing else hides in the line
        for kind, value in toks:
            if kind == "word":
                assert re.fullmatch(r"-?[A-Za-z][A-Za-z0-9-]*|[0-9]+", value), value
        name, params, tail = command(line)
        seen.add(name)
        if name in SHAPES:
            assert set(params) <= SHAPES[name] and tail == ["Out-Null"], line
        elif name == "netsh":
            assert params == {"_": ["winhttp", "set", "proxy", "proxy.example.test:8080"]}, line
        else:
            assert name == "Write-Host" and re.fullmatch(r"[A-Za-z0-9 :-]+", params["_"][0]), line
    assert seen == {"New-NetFirewallRule", "New-NetQosPolicy", "netsh", "Write-Host"}
    assert '"' not in text  # no expanding strings at all
    for word in ("flush", "reboot", "evil", "configure"):
        assert word not in "\n".join(x for x in text.splitlines() if not x.startswith("#"))
