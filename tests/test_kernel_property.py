"""Property: for random flows the nftables kernel verdict is explain's verdict.

Most flows are aimed at one opening of the lab catalogue: the destination at
an edge of one of its addresses (first, last, one either side) or inside,
the port likewise for one of its port ranges, now and then the other
protocol; the rest go anywhere in the lab's remote ranges. Half come from the
profile host 198.51.100.3 / 2001:db8:1::3. The site's default and that
profile reject, so every verdict comes back at once (the drop profile's host
is not used here).
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections import Counter
from dataclasses import dataclass

import netns as nn
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from kernel_lab import (  # noqa: F401 - kernel_lab is the fixture nft_lab builds on
    LAB_RULES,
    LAB_ZONES,
    SITE_TEMPLATE,
    Case,
    KernelLab,
    kernel_lab,
)

from nhn_appliance.policy.catalogue import load_catalogue
from nhn_appliance.policy.model import ALL_PORTS, Action, Proto

pytestmark = pytest.mark.kernel
KERNEL_TOOLS = ("nft",)  # read by the kernel_lab fixture


Net = ipaddress.IPv4Network | ipaddress.IPv6Network
NETS: list[Net] = [net for net, _ in LAB_ZONES]


@dataclass(frozen=True)
class Aim:
    """One box of the lab catalogue: addresses x protocol x ports, as the lab routes it."""

    profile: str  #: "" for the site's services
    net: Net  #: the lab range the addresses are clipped to
    first: int
    last: int
    proto: str  #: tcp or udp ("any" gives one aim for each)
    lo: int
    hi: int


def _aims() -> list[Aim]:
    """Every endpoint of the lab catalogue (profiles and the site's resolvers too),
    cut into one aim per address span, protocol and port range, so that each
    set element of the rendered ruleset is about as likely to be aimed at."""
    cat = load_catalogue(LAB_RULES)
    site = tomllib.loads(SITE_TEMPLATE.read_text(encoding="utf-8"))
    resolvers = [ipaddress.ip_address(a) for a in site["dns"]["resolvers"]]
    out = []
    for svc in cat.services.values():
        scoped = [("", ep) for ep in svc.endpoints]
        scoped += [(p.name, ep) for p in svc.profiles for ep in p.endpoints]
        for profile, ep in scoped:
            spans = [(s.first, s.last, s.family) for s in ep.addresses]
            if ep.site_addresses == "resolvers":
                spans += [(int(a), int(a), a.version) for a in resolvers]
            for first, last, family in spans:
                for net in NETS:
                    lo_net, hi_net = int(net.network_address), int(net.broadcast_address)
                    if net.version != family or first > hi_net or last < lo_net:
                        continue
                    for proto, ranges in ep.flows:
                        for p in ("tcp", "udp") if proto == Proto.ANY else (proto.value,):
                            out.extend(
                                Aim(
                                    profile,
                                    net,
                                    max(first, lo_net),
                                    min(last, hi_net),
                                    p,
                                    max(r.lo, 1),
                                    r.hi,
                                )
                                for r in ranges or ALL_PORTS
                            )
    return out


AIMS = _aims()
SITE_AIMS = [a for a in AIMS if not a.profile]
PROFILE_AIMS = [a for a in AIMS if a.profile == "fjernhjelp-leverandor"]


def _near(lo: int, hi: int, floor: int, ceil: int) -> st.SearchStrategy[int]:
    """A value at an edge of lo-hi, just outside it, or anywhere inside."""
    edges = sorted({v for v in (lo - 1, lo, hi, hi + 1) if floor <= v <= ceil})
    return st.one_of(st.sampled_from(edges), st.sampled_from(edges), st.integers(lo, hi))


@st.composite
def aimed(draw: st.DrawFn, aims: list[Aim]) -> tuple[str, str, int]:
    """A flow at, beside or inside one of ``aims``; now and then the other protocol."""
    aim = draw(st.sampled_from(aims))
    dst = draw(
        _near(aim.first, aim.last, int(aim.net.network_address), int(aim.net.broadcast_address))
    )
    proto = aim.proto if draw(st.integers(0, 3)) else draw(st.sampled_from(("tcp", "udp")))
    return proto, str(type(aim.net.network_address)(dst)), draw(_near(aim.lo, aim.hi, 1, 65535))


@st.composite
def anywhere(draw: st.DrawFn) -> tuple[str, str, int]:
    """A flow to any lab address (IPv6: the low 16 bits, where the rules are)."""
    net = draw(st.sampled_from(NETS))
    offset = draw(st.integers(0, min(net.num_addresses, 2**16) - 1))
    return (
        draw(st.sampled_from(("tcp", "udp"))),
        str(net.network_address + offset),
        draw(st.integers(1, 65535)),
    )


@st.composite
def flows(draw: st.DrawFn) -> tuple[str, str, int, str]:
    profile = draw(st.booleans())
    # the profile host is aimed at its own openings and at the site's (which it may not use)
    mine = aimed(PROFILE_AIMS if profile else SITE_AIMS)
    proto, dst, port = draw(st.one_of(mine, mine, aimed(SITE_AIMS), anywhere()))
    if ":" in dst:
        src = nn.RouterLab.SITE6_ALT if profile else nn.RouterLab.SITE6
    else:
        src = nn.RouterLab.SITE4_ALT if profile else nn.RouterLab.SITE4
    return proto, dst, port, src


@pytest.fixture(scope="module")
def nft_lab(kernel_lab: KernelLab) -> KernelLab:  # noqa: F811 - the imported fixture
    [ruleset] = kernel_lab.render("nftables")
    kernel_lab.run_rtr(["nft", "-f", str(ruleset)])
    return kernel_lab


SEEN: Counter[str] = Counter()  #: verdicts the property test met, for the check after it


# 1000 flows, not the usual 150: the lab ruleset has ~90 set elements, and
# removing any one of them should be caught. Deleting each element in turn,
# 150 flows caught about a quarter of the deletions the lab can observe,
# 1000 flows about three quarters; a flow takes ~6 ms here.
@settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(flow=flows())
def test_kernel_verdict_is_explains(nft_lab: KernelLab, flow: tuple[str, str, int, str]) -> None:
    proto, dst, port, src = flow
    said = nft_lab.explain(Case(proto, dst, port, Action.ACCEPT, src=src))  # expect is unused
    note(said.text())
    # expect what explain says, so that a drop would get the short drop timeout
    case = Case(proto, dst, port, said.verdict, src=src)
    kernel = nft_lab.kernel(case)
    profile = src in (nn.RouterLab.SITE4_ALT, nn.RouterLab.SITE6_ALT)
    SEEN[f"{said.verdict}{' profile' if profile else ''}"] += 1
    assert kernel == said.verdict, f"{case.id}: kernel {kernel}, explain {said.verdict}"


def test_property_met_both_verdicts() -> None:
    """The random flows were not all of one kind (else the property proves little)."""
    if not SEEN:
        pytest.skip("the property test did not run")
    for kind in ("accept", "reject", "accept profile", "reject profile"):
        assert SEEN[kind] >= 20, f"only {SEEN[kind]} flows with verdict {kind}: {dict(SEEN)}"
