"""The rendered iptables files in a real kernel: exactly the allowed flows pass.

Same lab, site and flows as test_kernel_nftables.py, rendered with
``render -t iptables`` (rules.v4 and rules.v6) and loaded the way the files'
header says (``iptables-restore --test --noflush``, ``--noflush``, then the
guarded jumps from FORWARD), twice, over a router that already has its own
iptables configuration (kernel_lab.existing_iptables: INPUT policy DROP with
SSH, a FORWARD allow-all from the LAN, MSS clamps in mangle, masquerade on
the internet uplink). Everything that is not this policy's must come through
unchanged, with one copy of its chains and of each jump.

The documented behaviour relied on: iptables-restore(8) "--noflush: don't
flush the previous contents of the table"; a chain line ``:NAME`` creates the
chain, or under --noflush flushes an existing user chain (iptables-restore
source, and shown by the second load here); a table's rules are committed at
once at COMMIT; iptables-extensions(8) REJECT "--reject-with tcp-reset" and
that DSCP is a non-terminating target (so the last match sets the value).
"""

from __future__ import annotations

import re
import time
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
    existing_iptables,
    iptables_state,
    kernel_lab,
    load_as_header_says,
    others,
    own,
    scratch_netns,
    skip_reason,
)

from nhn_appliance.render.escape import comment

pytestmark = pytest.mark.kernel
# read by the kernel_lab fixture
KERNEL_TOOLS = ("iptables-restore", "ip6tables-restore", "iptables-save", "ip6tables-save")


@pytest.fixture(scope="module")
def ipt_lab(kernel_lab: KernelLab) -> KernelLab:  # noqa: F811 - the imported fixture
    existing_iptables(kernel_lab)
    before = iptables_state(kernel_lab)
    files = kernel_lab.render("iptables")
    assert [f.name for f in files] == ["rules.v4", "rules.v6"]
    load_as_header_says(kernel_lab, files)
    once = iptables_state(kernel_lab)
    load_as_header_says(kernel_lab, files)
    kernel_lab.before = (before, once, iptables_state(kernel_lab))
    # the flows below mean nothing unless these very chains are in the router
    for tool in ("iptables-save", "ip6tables-save"):
        saved = kernel_lab.run_rtr([tool, "-t", "filter"])
        assert ":NHN-SITE" in saved and f"-o {kernel_lab.lab.if_hn}" in saved, tool
    return kernel_lab


def test_loading_twice_leaves_everything_else_as_it_was(ipt_lab: KernelLab) -> None:
    before, once, twice = ipt_lab.before
    assert others(once) == others(before)
    assert others(twice) == others(before)
    # and there was something to keep: INPUT drop with ssh, the clamps, the NAT
    text = "\n".join(before["iptables-save"])
    for piece in (":INPUT DROP", "--dport 22 -j ACCEPT", "TCPMSS", "-j MASQUERADE"):
        assert piece in text, piece


def test_loading_twice_keeps_one_copy_of_its_own_rules(ipt_lab: KernelLab) -> None:
    _, once, twice = ipt_lab.before
    assert own(twice) == own(once)
    for tool in ("iptables-save", "ip6tables-save"):
        lines = own(twice)[tool]
        assert lines.count("-A FORWARD -j NHN-FWD") == 1, tool
        assert lines.count("-A FORWARD -j NHN-QOS") == 1, tool  # mangle
        assert sum(x.startswith("-A NHN-FWD ") for x in lines) == 4, tool
    # the jump comes first in FORWARD, before the router's own allow-all from the LAN
    saved = twice["iptables-save"]
    start = saved.index("*filter")
    filter_table = saved[start : saved.index("COMMIT", start)]
    forward = [x for x in filter_table if x.startswith("-A FORWARD")]
    assert forward[:2] == ["-A FORWARD -j NHN-FWD", f"-A FORWARD -i {ipt_lab.lab.if_lan} -j ACCEPT"]


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
    cli("render", "-t", "iptables", "--allow-unpinned", "-o", str(v4), cwd=tmp_path)
    v6 = tmp_path / "rules.v6"
    for path in (v4, v6):
        assert "legekontor-eksempel" in path.read_text(encoding="utf-8"), path
    with scratch_netns() as ns:
        for tool, path in (("iptables-restore", v4), ("ip6tables-restore", v6)):
            res = nn.run_in(ns, [tool, "--test", "--noflush", str(path)])
            assert res.returncode == 0, f"{tool} --test --noflush {path}:\n{res.stderr}"


def test_tcp_to_a_rejected_destination_gets_a_reset_at_once(ipt_lab: KernelLab) -> None:
    """A reset fails connect() with ECONNREFUSED at once, on every stack (RFC 5461)."""
    for dst in ("203.0.113.200", "2001:db8:b::99"):  # the site default: reject
        start = time.monotonic()
        got = nn.probe_flow(ipt_lab.lab.ns["site"], "tcp", dst, 22, timeout=2.0)
        assert (got, time.monotonic() - start < 0.5) == ("refused", True), dst


def test_internet_flows_leave_masqueraded(ipt_lab: KernelLab) -> None:
    """The router's own masquerade applies to what the policy lets out; replies come back."""
    assert ipt_lab.far is not None
    seen = len(ipt_lab.far.peers)
    assert ipt_lab.kernel(Case("tcp", "203.0.113.160", 443, ACCEPT)) == ACCEPT
    assert ipt_lab.kernel(Case("tcp", "203.0.113.30", 443, ACCEPT)) == ACCEPT
    peers = ipt_lab.far.peers_after(seen, 2)
    # one select() pass may accept them in either order
    assert sorted(peers) == [("hn", nn.RouterLab.SITE4), ("inet", nn.RouterLab.INET_LINK4[0])]


@pytest.mark.parametrize("role", ["hn", "inet"])
@pytest.mark.parametrize("proto", ["tcp", "udp"])
@pytest.mark.parametrize("dst", [nn.RouterLab.SITE4, nn.RouterLab.SITE6])
def test_unsolicited_packets_from_an_uplink_do_not_enter_the_lan(
    ipt_lab: KernelLab, role: str, proto: str, dst: str
) -> None:
    got = nn.probe_flow(ipt_lab.lab.ns[role], proto, dst, 22, timeout=0.3)
    assert got == "timeout", f"{proto} from {role} to {dst}: {got}"
