"""The rendered nftables ruleset in a real kernel: exactly the allowed flows pass.

The lab site (tests/cases/lab) is rendered with the real command line and
loaded into the router namespace of a RouterLab the way its header says
(``nft -c -f`` then ``nft -f``), twice, over a router that already has its
own configuration (kernel_lab.existing_nftables: an input policy drop with
SSH, an MSS clamp, masquerade on the internet uplink, one iptables-nft rule).
That configuration must come through unchanged, and one copy of the table
must be there. Then every flow of ``kernel_lab.FLOWS`` is sent as a real
packet from the site namespace, through that NAT; the kernel's answer and
explain's verdict must both be the catalogue's.

The documented behaviour relied on: ``nft -f`` applies a file as one
transaction, and ``table`` / ``delete table`` / ``table {}`` replaces one
table (nftables wiki, "Scripting" and "Atomic rule replacement"); a packet
must be accepted by every base chain of a hook, a drop anywhere is final
(wiki "Configuring chains": "a packet ... dropped ... in any chain is
dropped"); ``reject with tcp reset`` answers TCP with a RST (wiki "Rejecting
traffic").
"""

from __future__ import annotations

import time
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
    existing_nftables,
    header_commands,
    kernel_lab,
    load_as_header_says,
    nft_others,
    nft_set_elements,
    scratch_netns,
    skip_reason,
)

pytestmark = pytest.mark.kernel
KERNEL_TOOLS = ("nft", "iptables")  # read by the kernel_lab fixture


@pytest.fixture(scope="module")
def nft_lab(kernel_lab: KernelLab) -> KernelLab:  # noqa: F811 - the imported fixture
    existing_nftables(kernel_lab)
    kernel_lab.before = nft_others(kernel_lab)
    [ruleset] = kernel_lab.render("nftables")
    script = header_commands(ruleset.read_text(encoding="utf-8"))
    assert "nft -c -f nhn-appliance.nft && nft -f nhn-appliance.nft" in script
    for _ in range(2):
        load_as_header_says(kernel_lab, [ruleset])
    # the flows below mean nothing unless this very table is in the router
    listed = kernel_lab.run_rtr(["nft", "list", "table", "inet", "nhn_appliance"])
    assert f'"{kernel_lab.lab.if_hn}"' in listed and "chain site" in listed
    return kernel_lab


def test_loading_twice_leaves_the_routers_own_configuration_alone(nft_lab: KernelLab) -> None:
    after = nft_others(nft_lab)
    assert after == nft_lab.before
    # and it was there to be kept: input drop with ssh, the clamp, the NAT, iptables-nft
    text = nft_lab.run_rtr(["nft", "list", "ruleset"])
    for piece in ("policy drop", "tcp dport 22 accept", "maxseg size set rt mtu", "masquerade"):
        assert piece in text, piece
    assert "TCPMSS" in nft_lab.run_rtr(["iptables-save", "-t", "mangle"])


def test_one_copy_of_the_table(nft_lab: KernelLab) -> None:
    tables = nft_lab.run_rtr(["nft", "list", "tables"]).splitlines()
    assert tables.count("table inet nhn_appliance") == 1
    listed = nft_lab.run_rtr(["nft", "list", "table", "inet", "nhn_appliance"])
    assert listed.count("chain forward {") == 1
    assert listed.count("ct state established,related") == 1


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
    cli("render", "-t", "nftables", "--allow-unpinned", "-o", str(out), cwd=tmp_path)
    text = out.read_text(encoding="utf-8")
    assert "legekontor-eksempel" in text and "chain site" in text
    with scratch_netns() as ns:
        res = nn.run_in(ns, ["nft", "-c", "-f", str(out)])
        assert res.returncode == 0, f"nft -c -f {out}:\n{res.stderr}"


def test_tcp_to_a_rejected_destination_gets_a_reset_at_once(nft_lab: KernelLab) -> None:
    """A reset fails connect() with ECONNREFUSED at once, on every stack (RFC 5461)."""
    for dst in ("203.0.113.200", "2001:db8:b::99"):  # the site default: reject
        start = time.monotonic()
        got = nn.probe_flow(nft_lab.lab.ns["site"], "tcp", dst, 22, timeout=2.0)
        assert (got, time.monotonic() - start < 0.5) == ("refused", True), dst


def test_internet_flows_leave_masqueraded(nft_lab: KernelLab) -> None:
    """The existing masquerade on the internet uplink applies to what the policy lets out,
    and the replies find their way back (the connection opens)."""
    assert nft_lab.far is not None
    seen = len(nft_lab.far.peers)
    assert nft_lab.kernel(Case("tcp", "203.0.113.160", 443, ACCEPT)) == ACCEPT
    assert nft_lab.kernel(Case("tcp", "203.0.113.30", 443, ACCEPT)) == ACCEPT
    peers = nft_lab.far.peers_after(seen, 2)
    # one select() pass may accept them in either order
    assert sorted(peers) == [("hn", nn.RouterLab.SITE4), ("inet", nn.RouterLab.INET_LINK4[0])]


@pytest.mark.parametrize("role", ["hn", "inet"])
@pytest.mark.parametrize("proto", ["tcp", "udp"])
@pytest.mark.parametrize("dst", [nn.RouterLab.SITE4, nn.RouterLab.SITE6])
def test_unsolicited_packets_from_an_uplink_do_not_enter_the_lan(
    nft_lab: KernelLab, role: str, proto: str, dst: str
) -> None:
    got = nn.probe_flow(nft_lab.lab.ns[role], proto, dst, 22, timeout=0.3)
    assert got == "timeout", f"{proto} from {role} to {dst}: {got}"
