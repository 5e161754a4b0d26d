"""The rendered nftables ruleset in a real kernel: exactly the allowed flows pass.

The lab site (tests/cases/lab) is rendered with the real command line, loaded
with ``nft -f`` into the router namespace of a RouterLab, and every flow of
``kernel_lab.FLOWS`` is sent as a real packet from the site namespace. The
kernel's answer and explain's verdict must both be the catalogue's.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import netns as nn
import pytest
from kernel_lab import (  # noqa: F401 - kernel_lab is the fixture nft_lab builds on
    ACCEPT,
    FLOWS,
    PROFILE4,
    REJECT,
    Case,
    KernelLab,
    cli,
    kernel_lab,
    nft_set_elements,
    scratch_netns,
    skip_reason,
)

pytestmark = pytest.mark.kernel
KERNEL_TOOLS = ("nft",)  # read by the kernel_lab fixture


@pytest.fixture(scope="module")
def nft_lab(kernel_lab: KernelLab) -> KernelLab:  # noqa: F811 - the imported fixture
    [ruleset] = kernel_lab.render("nftables")
    kernel_lab.run_rtr(["nft", "-f", str(ruleset)])
    # the flows below mean nothing unless this very table is in the router
    listed = kernel_lab.run_rtr(["nft", "list", "table", "inet", "nhn_appliance"])
    assert f'"{kernel_lab.lab.if_hn}"' in listed and "chain site" in listed
    return kernel_lab


@pytest.mark.parametrize("case", FLOWS, ids=lambda c: c.id)
def test_flow(nft_lab: KernelLab, case: Case) -> None:
    nft_lab.check(case)


def test_set_counters_attribute_flows_to_their_rules(nft_lab: KernelLab) -> None:
    """Each flow is counted on the one element whose comment names explain's rule."""
    hn, inet = nft_lab.lab.if_hn, nft_lab.lab.if_inet
    join = "203.0.113.28-203.0.113.32"
    # (flow, times sent, set, element key)
    sent = [
        (Case("udp", "203.0.113.31", 5060, ACCEPT), 3, "site_svc4", (hn, join, "udp", "5060")),
        # Join and remote support both open tcp 443 on .30; Join is first
        (Case("tcp", "203.0.113.30", 443, ACCEPT), 1, "site_svc4", (hn, join, "tcp", "443")),
        (
            Case("tcp", "203.0.113.30", 8041, ACCEPT),
            2,
            "site_svc4",
            (hn, "203.0.113.30", "tcp", "8041"),
        ),
        (Case("tcp", "203.0.113.121", 443, REJECT), 2, "site_rej_any4", (hn, "203.0.113.121")),
        (
            Case("tcp", "203.0.113.122", 9100, REJECT),
            1,
            "site_rej_svc4",
            (hn, "203.0.113.120/30", "tcp", "9100"),
        ),
        # in both rejects: the one for every protocol is looked up first
        (Case("tcp", "203.0.113.121", 9100, REJECT), 1, "site_rej_any4", (hn, "203.0.113.121")),
        (
            Case("udp", "203.0.113.200", 53, ACCEPT, src=PROFILE4),
            1,
            "p_fjernhjelp_leverandor_svc4",
            # DNS "to any address" (004:55) holds every address but the LAN's
            # (198.51.100.0/25): LAN traffic is no uplink opening
            (inet, "198.51.100.128-255.255.255.255", "udp", "53"),
        ),
    ]
    names = sorted({s for _, _, s, _ in sent})
    before = {
        name: {(e.key, e.comment): e.packets for e in nft_set_elements(nft_lab, name)}
        for name in names
    }
    for case, times, _, _ in sent:
        for _ in range(times):
            assert nft_lab.kernel(case) == case.expect, case.id
    moved: Counter = Counter()
    comments: dict[tuple, str] = {}
    for name in names:
        for e in nft_set_elements(nft_lab, name):
            delta = e.packets - before[name][(e.key, e.comment)]
            if delta:
                moved[(name, e.key)] += delta
                comments[(name, e.key)] = e.comment
    # one packet per flow: the TCP RST or ICMP answer is "established/related"
    expected: Counter = Counter()
    for _, times, name, key in sent:
        expected[(name, key)] += times
    assert moved == expected
    for case, _, name, key in sent:
        rule = nft_lab.explain(case).rule
        assert rule is not None and comments[(name, key)].split()[0] == rule.id, (
            f"{case.id}: counted on {comments[(name, key)]!r}, explain says {rule and rule.id}"
        )


def test_default_site_passes_nft_check(tmp_path: Path) -> None:
    """The packaged default site's ruleset is accepted by the kernel (no packets)."""
    if reason := skip_reason("nft"):
        pytest.skip(reason)
    out = tmp_path / "default.nft"
    # cwd without appliance.toml: the packaged default site and catalogue
    cli("render", "-t", "nftables", "-o", str(out), cwd=tmp_path)
    text = out.read_text(encoding="utf-8")
    assert "legekontor-eksempel" in text and "chain site" in text
    with scratch_netns() as ns:
        res = nn.run_in(ns, ["nft", "-c", "-f", str(out)])
        assert res.returncode == 0, f"nft -c -f {out}:\n{res.stderr}"
