"""The rendered iptables files in a real kernel: exactly the allowed flows pass.

Same lab, site and flows as test_kernel_nftables.py, rendered with
``render -t iptables`` (rules.v4 and rules.v6) and loaded with
``iptables-restore`` and ``ip6tables-restore`` into the router namespace.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import netns as nn
import pytest
from kernel_lab import (  # noqa: F401 - kernel_lab is the fixture ipt_lab builds on
    ACCEPT,
    FLOWS,
    PROFILE4,
    REJECT,
    Case,
    KernelLab,
    cli,
    kernel_lab,
    scratch_netns,
    skip_reason,
)

from nhn_appliance.render.escape import comment

pytestmark = pytest.mark.kernel
# read by the kernel_lab fixture
KERNEL_TOOLS = ("iptables-restore", "ip6tables-restore", "iptables-save", "ip6tables-save")


@pytest.fixture(scope="module")
def ipt_lab(kernel_lab: KernelLab) -> KernelLab:  # noqa: F811 - the imported fixture
    v4, v6 = kernel_lab.render("iptables")
    assert v6.name == "rules.v6"
    kernel_lab.run_rtr(["iptables-restore", str(v4)])
    kernel_lab.run_rtr(["ip6tables-restore", str(v6)])
    # the flows below mean nothing unless these very chains are in the router
    for tool in ("iptables-save", "ip6tables-save"):
        saved = kernel_lab.run_rtr([tool, "-t", "filter"])
        assert ":NHN-SITE" in saved and f"-o {kernel_lab.lab.if_hn}" in saved, tool
    return kernel_lab


@pytest.mark.parametrize("case", FLOWS, ids=lambda c: c.id)
def test_flow(ipt_lab: KernelLab, case: Case) -> None:
    ipt_lab.check(case)


def _rule_packets(kl: KernelLab) -> Counter:
    """IPv4 packets counted per policy rule, by the rule's comment (iptables-save -c)."""
    mine = {comment(f"{r.id} {r.source}", 200) for r in kl.policy.rules}
    counts: Counter = Counter()
    for line in kl.run_rtr(["iptables-save", "-c", "-t", "filter"]).splitlines():
        match = re.match(r'\[(\d+):\d+\] .* --comment "([^"]*)"', line)
        if match and match.group(2) in mine:
            counts[match.group(2)] += int(match.group(1))
    return counts


def test_rule_counters_attribute_flows_to_their_rules(ipt_lab: KernelLab) -> None:
    """The kernel counts each flow on the rule explain names (the first that matches)."""
    sent = [  # (flow, times sent, the rule it belongs to)
        # Join and remote support both open tcp 443 on .30; Join is first
        (Case("tcp", "203.0.113.30", 443, ACCEPT), 3, "join/helsenett-signalering"),
        (Case("tcp", "203.0.113.30", 8041, ACCEPT), 2, "fjernhjelp/helsenett"),
        # in both rejects: the one for every protocol comes first
        (Case("tcp", "203.0.113.121", 9100, REJECT), 1, "betalingsterminal/secure-access-feil"),
        (Case("tcp", "203.0.113.122", 9100, REJECT), 2, "betalingsterminal/gammel-port"),
        (Case("udp", "203.0.113.200", 53, ACCEPT, src=PROFILE4), 1, "fjernhjelp/dns"),
    ]
    expected: Counter = Counter()
    for case, times, rule_id in sent:
        rule = ipt_lab.explain(case).rule
        assert rule is not None and rule.id == rule_id, f"{case.id}: explain: {rule and rule.id}"
        expected[comment(f"{rule.id} {rule.source}", 200)] += times
    before = _rule_packets(ipt_lab)
    for case, times, _ in sent:
        for _ in range(times):
            assert ipt_lab.kernel(case) == case.expect, case.id
    moved = _rule_packets(ipt_lab)
    moved.subtract(before)
    assert +moved == expected


def test_default_site_passes_restore_test(tmp_path: Path) -> None:
    """The packaged default site's files pass ``--test`` in the kernel (no packets)."""
    if reason := skip_reason("iptables-restore", "ip6tables-restore"):
        pytest.skip(reason)
    v4 = tmp_path / "rules.v4"
    # cwd without appliance.toml: the packaged default site and catalogue
    cli("render", "-t", "iptables", "-o", str(v4), cwd=tmp_path)
    v6 = tmp_path / "rules.v6"
    for path in (v4, v6):
        assert "legekontor-eksempel" in path.read_text(encoding="utf-8"), path
    with scratch_netns() as ns:
        for tool, path in (("iptables-restore", v4), ("ip6tables-restore", v6)):
            res = nn.run_in(ns, [tool, "--test", str(path)])
            assert res.returncode == 0, f"{tool} --test {path}:\n{res.stderr}"
