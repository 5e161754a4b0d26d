"""Windows target: the scripts run by an independent interpreter on a model PC, held to explain().

tests/readers/powershell.py knows Windows, not the renderer: it runs each
script statement by statement against a PC modelled from Microsoft's
documentation (Block rules before Allow rules, then the default outbound
action; ALE re-authorisation of open connections at every firewall change;
the most specific QoS policy), starting from Windows' own enabled Allow rules
and an open remote-support connection to hjelp.nhn.no (91.186.66.22 tcp 443
and 8041). Options, limits and determinism: test_targets.py; goldens:
test_golden.py.

Windows does not tell drop from reject, so verdicts are compared as allow vs
block. A PC has no uplinks (``with_uplink=False``); the site-PC script is run
for flows without a source, a profile's script for flows from its hosts.
Windows' own Allow rules let traffic out past any policy, so the verdict tests
render with ``builtin-allow=disable``, the option that takes them out.
"""

from __future__ import annotations

import re
from functools import cache

import pytest
from flowgen import edge_flows, expected, flows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from readers.powershell import (
    BUILTIN_RULES,
    Interpreter,
    PSError,
    WindowsPC,
    parse,
    run_script,
    run_task,
    tokens,
)
from render_cases import hostile_policy, policy

from nhn_appliance.errors import UsageError
from nhn_appliance.policy.explain import Flow
from nhn_appliance.render.windows import RENDERER, ps

TASK = "nhn-appliance-rollback"
CONFIRM = (
    "Unregister-ScheduledTask -TaskName 'nhn-appliance-rollback' -Confirm:$false; "
    "Get-NetFirewallRule -Group 'nhn-appliance' | Where-Object Enabled -eq 'False' "
    "| Remove-NetFirewallRule"
)
DISABLE = {"builtin-allow": "disable"}


@cache
def scripts(case: str, builtin: str = "disable") -> dict[str, str]:
    arts = RENDERER.render(policy(case), {"builtin-allow": builtin})
    return {a.name.removesuffix(".ps1"): a.text for a in arts}


@cache
def pcs(case: str) -> dict[str, WindowsPC]:
    return {name: run_script(text) for name, text in scripts(case).items()}


def check(case: str, flow: Flow) -> None:
    pol = policy(case)
    want, cls = expected(pol, flow)
    fam, dst = flow.dst.family, flow.dst.first
    script = "site-pc"
    if flow.src is not None:
        script = next(
            b.name
            for b in pol.profiles
            if any(h.family == fam and h.first <= flow.src.first <= h.last for h in b.hosts)
        )
    pc = pcs(case)[script]
    for profile in ("Domain", "Private", "Public"):
        got = pc.allows(flow.proto, fam, dst, flow.port, profile)
        assert got == (want == "accept"), (script, profile, flow, want)
    if want == "accept":
        # unclassified traffic is re-marked to DSCP 0 unless the site keeps host marking
        dscp = pol.qos[cls].dscp if cls else (None if pol.keep_host_marking else 0)
        got_dscp = pc.dscp(flow.proto, fam, dst, flow.port)
        assert got_dscp == ({dscp} if dscp is not None else set()), (script, flow, cls, got_dscp)


POLICY_CASES = ["default", "default-pinned", "default-open", "trick", "trick-open", "trick-open-hn"]


@pytest.mark.parametrize("case", POLICY_CASES)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_full_run_agrees_with_explain(case: str, data) -> None:
    check(case, data.draw(flows(policy(case), families=(4, 6), with_uplink=False)))


@pytest.mark.parametrize("case", POLICY_CASES)
def test_full_run_agrees_with_explain_at_every_rule_edge(case: str) -> None:
    for flow in edge_flows(policy(case), with_uplink=False):
        check(case, flow)


def test_block_rules_are_cut_to_what_the_policy_blocks() -> None:
    rules = pcs("trick")["site-pc"].rules.values()
    blocks = [r for r in rules if r["Action"] == "Block" and r["Group"] == "nhn-appliance"]
    # wide-reject minus web (tcp 443, 8000-8100 on .10-.20) minus open-any (.128/26, every protocol)
    assert any(
        r["Protocol"] == "TCP"
        and "203.0.113.10-203.0.113.20" in r["RemoteAddress"]
        and r["RemotePort"] == ["0-442", "444-7999", "8101-65535"]
        for r in blocks
    ), blocks
    assert not any("203.0.113.128/26" in r["RemoteAddress"] for r in blocks)
    open_pc = pcs("trick-open")
    assert not any("wide-reject" in r["DisplayName"] for r in open_pc["site-pc"].rules.values())
    assert open_pc["site-pc"].default["Private"] == "NotConfigured"
    assert open_pc["kiosk"].default["Private"] == "Block"


def test_an_ipv4_only_lan_gets_ipv6_blocked() -> None:
    pc = run_script(RENDERER.render(policy("helsenett"), DISABLE)[0].text)
    for proto, port in (("tcp", 443), ("udp", 53)):
        assert not pc.allows(proto, 6, 0x20010DB8 << 96 | 1, port)
    assert pc.allows("tcp", 4, 0xC0A80205, 80)  # within the LAN (192.168.2.0/24)


# -- safety: order, errors, re-runs, rollback ----------------------------------------------
def _verdicts(pc: WindowsPC) -> dict:
    """What decides every verdict: enabled rules (by content) and the default actions."""
    enabled = sorted(
        repr({k: v for k, v in r.items() if k != "Name"})
        for r in pc.rules.values()
        if r["Enabled"] == "True"
    )
    return {"rules": enabled, "default": dict(pc.default)}


def _confirmed(text: str) -> WindowsPC:
    pc = run_script(text)
    Interpreter(pc).run(CONFIRM)
    return pc


SAFETY = [("default", "site-pc"), ("default-pinned", "fjernhjelp-leverandor")]


@pytest.mark.parametrize(("case", "script"), SAFETY)
def test_remote_support_is_never_cut_and_block_comes_last(case: str, script: str) -> None:
    text = scripts(case)[script]
    pc = run_script(text)
    assert all(c.cut_at is None for c in pc.conns), pc.conns
    # the default becomes Block in the last firewall statement: every Allow rule exists before
    lines = [x.strip() for x in text.splitlines() if x.strip() and not x.startswith("#")]
    block = next(i for i, x in enumerate(lines) if "-DefaultOutboundAction Block" in x)
    assert all("New-NetFirewallRule" not in x for x in lines[block:])


@pytest.mark.parametrize(("case", "script"), SAFETY)
@pytest.mark.parametrize("before", ["fresh", "previous run"])
def test_a_failure_at_any_statement_leaves_the_previous_policy(
    case: str, script: str, before: str
) -> None:
    text = scripts(case)[script]
    # the previous policy: nothing, or the unpinned site's script, run and confirmed
    old = scripts("default" if case == "default-pinned" else "default-pinned")
    start = WindowsPC.fresh if before == "fresh" else lambda: _confirmed(old[script])
    base = start()
    done = run_script(text, start())
    firewall_done = done.try_end - base.steps  # the try block's last statement
    assert firewall_done > 50 and done.steps - base.steps > firewall_done
    for k in range(1, done.steps - base.steps + 1):
        pc = start()
        want = _verdicts(pc)
        with pytest.raises(PSError, match="injected"):
            run_script(text, pc, fail_at=pc.steps + k)
        assert all(c.cut_at is None for c in pc.conns), (k, pc.conns)
        if k <= firewall_done:  # undone: the previous policy, no task, the previous QoS
            assert _verdicts(pc) == want, k
            assert TASK not in pc.tasks and set(pc.qos) == set(base.qos), k
        else:  # after the firewall: the new policy is whole, the rollback task waits
            assert _verdicts(pc) == _verdicts(done) and TASK in pc.tasks, k


@pytest.mark.parametrize(("case", "script"), SAFETY)
def test_a_second_run_replaces_the_first_without_a_gap(case: str, script: str) -> None:
    text = scripts(case)[script]
    pc = run_script(text)
    first = _verdicts(pc)
    # unconfirmed: a second run refuses before changing anything
    with pytest.raises(PSError, match="awaits confirmation"):
        run_script(text, pc)
    assert _verdicts(pc) == first
    Interpreter(pc).run(CONFIRM)
    run_script(text, pc)
    assert all(c.cut_at is None for c in pc.conns), pc.conns
    assert _verdicts(pc) == first  # same policy, no duplicate in force
    Interpreter(pc).run(CONFIRM)
    ours = [r for r in pc.rules.values() if r["Group"] == "nhn-appliance"]
    assert len(ours) == text.count("New-NetFirewallRule ") == len(first["rules"])
    assert len(pc.qos) == text.count("New-NetQosPolicy ")


@pytest.mark.parametrize(("case", "script"), SAFETY)
def test_the_rollback_task_restores_the_previous_firewall(case: str, script: str) -> None:
    # the previous policy: another script of the group (a site PC that becomes this PC)
    old = scripts("default" if case == "default-pinned" else "default-pinned")["site-pc"]
    pc = _confirmed(old)
    want = _verdicts(pc)
    run_script(scripts(case)[script], pc)
    assert _verdicts(pc) != want and TASK in pc.tasks
    run_task(pc, TASK)  # nobody confirmed in time
    assert _verdicts(pc) == want and TASK not in pc.tasks
    assert all(c.cut_at is None for c in pc.conns), pc.conns


def _builtin_enabled(pc: WindowsPC) -> set[str]:
    names = {b[0] for b in BUILTIN_RULES}
    return {n for n in names if pc.rules[n]["Enabled"] == "True"}


@pytest.mark.parametrize("choice", ["keep", "list", "disable"])
def test_builtin_allow_option_does_what_the_header_says(choice: str) -> None:
    text = scripts("default", choice)["site-pc"]
    header = text.split("$ErrorActionPreference", 1)[0]
    assert f"WINDOWS' OWN ALLOW RULES (builtin-allow={choice})" in header
    pc = run_script(text)
    names = {b[0] for b in BUILTIN_RULES}
    listed = names & set(pc.console)
    if choice == "disable":
        assert _builtin_enabled(pc) == set() and not listed
        assert not pc.allows(
            "tcp", 4, 0x08080808, 443
        )  # the app's Allow rule no longer lets it out
        run_task(pc, TASK)
        assert _builtin_enabled(pc) == names  # the rollback re-enables them
    else:
        assert _builtin_enabled(pc) == names
        assert pc.allows("tcp", 4, 0x08080808, 443)  # as the header warns: they still let it out
        assert listed == (names if choice == "list" else set())


def test_dscp_without_domain_option_sets_the_registry_value() -> None:
    key = ("HKLM:\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\QoS", "Do not use NLA")
    on = run_script(RENDERER.render(policy("default"), {"dscp-without-domain": "yes"})[0].text)
    assert on.registry == {key: "1"}
    assert run_script(scripts("default")["site-pc"]).registry == {}
    with pytest.raises(UsageError):
        RENDERER.render(policy("default"), {"dscp-without-domain": "maybe"})


def test_rollback_minutes_option() -> None:
    pc = run_script(RENDERER.render(policy("default"), {"rollback-minutes": "30"})[0].text)
    trigger = pc.tasks[TASK]["Trigger"]
    assert isinstance(trigger, dict) and "30 minutes" not in repr(trigger)
    assert (trigger["At"].minute, trigger["At"].hour) == (30, 0)  # the model clock starts at 0:00
    for bad in ("0", "x", "1441"):
        with pytest.raises(UsageError):
            RENDERER.render(policy("default"), {"rollback-minutes": bad})


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
        assert line in pc
    assert not any("winhttp set" in x for a in arts[1:] for x in a.text.splitlines())


# -- injection ------------------------------------------------------------------
@pytest.mark.parametrize("text", ["a'b", "a\u2019b\u2018c", "''", "$(reboot) `n; x"])
def test_quoting_round_trips(text: str) -> None:
    assert tokens(ps(text)) == [("str", text)]


def test_hostile_catalogue_adds_no_command() -> None:
    hostile = hostile_policy()
    with pytest.raises(UsageError, match="name no system proxy"):
        RENDERER.render(hostile, {"winhttp-proxy": "yes"})
    text = RENDERER.render(hostile, {"winhttp-proxy": "proxy.example.test:8080"})[0].text
    reference = RENDERER.render(policy("default"), {"winhttp-proxy": "yes"})[0].text

    def shapes(script: str) -> set[str]:
        """Each statement with its strings and numbers blanked: the commands and parameters."""
        out = set()
        for node in parse(script):
            for one in getattr(node, "body", []) + getattr(node, "catch", []) + [node]:
                if hasattr(one, "toks"):
                    out.add(" ".join("S" if k in ("str", "num") else t for k, t in one.toks))
        return out

    assert shapes(text) <= shapes(reference)  # no command the default site does not have
    assert '"' not in text  # no expanding strings at all
    code = "\n".join(x for x in text.splitlines() if not x.lstrip().startswith("#"))
    for word in ("flush", "reboot", "evil", "configure"):
        assert word not in code.lower().replace("nhn-appliance", "")
    pc = run_script(text)  # and it runs
    assert pc.default["Public"] == "Block" and not re.search("reboot", " ".join(pc.console))
