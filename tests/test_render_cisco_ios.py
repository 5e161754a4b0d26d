"""Cisco IOS target, held to explain() by a model router written from Cisco's documents.

tests/readers/cisco_ios.py takes the rendered text statement by statement and
forwards packets in IOS's documented order (LAN inbound list, routing, PAT on the
internet uplink, zone-pair inspect with sessions, MQC marking and queueing). Flows
from tests/flowgen.py and every rule edge must get explain's verdict and DSCP;
replies of inspected sessions come back, unsolicited packets do not; the queues fit
max-reserved-bandwidth under a shaper at the site's rate; a second paste over the
first never lets through what neither the old nor the new policy lets through, and
leaves the same configuration as one paste on a fresh router.
Options, limits, determinism and hostile input: test_targets.py; goldens: test_golden.py.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from functools import cache

import pytest
from flowgen import aimed, cidr_edge_flows, expected, flows, qos_class, source
from hypothesis import HealthCheck, given, settings
from readers.cisco_ios import PAT_ADDRESS, SPORT, Packet, Router
from render_cases import TARGET_OPTIONS, policy

from nhn_appliance.errors import UsageError
from nhn_appliance.policy.explain import Flow, explain
from nhn_appliance.policy.model import Policy
from nhn_appliance.render.cisco_ios import RENDERER

OPTIONS = TARGET_OPTIONS["cisco-ios"]
LANS = (OPTIONS["lan"], "GigabitEthernet0/3.20")
POLICY_CASES = ["default", "default-pinned", "dual", "helsenett", "hosts", "open", "trick-open"]
EF = 46  #: what a LAN host may set on its own packets


def options(pol: Policy) -> dict[str, str]:
    return {u.zone.value: OPTIONS[u.zone.value] for u in pol.uplinks} | {
        "lan": ",".join(LANS[: len(pol.lan_interfaces)])
    }


def render(pol: Policy) -> str:
    return RENDERER.render(pol, options(pol))[0].text


def router(pol: Policy, text: str | None = None) -> Router:
    lan_nets = [(s.family, s.first, s.last) for s in pol.lan_prefixes]
    r = Router(nat_outside=OPTIONS["internett"], connected={LANS[0]: lan_nets})
    r.paste(text or render(pol))
    return r


@cache
def device(case: str) -> Router:
    return router(policy(case))


def packet(pol: Policy, flow: Flow) -> Packet:
    return Packet(
        flow.dst.family, flow.proto, source(pol, flow), flow.dst.first, flow.port, dscp=EF
    )


def split_conflict(pol: Policy, flow: Flow) -> bool:
    """The documented limit, from explain alone: this source may reach the destination by
    another uplink, and another source may reach it by this one."""
    others = [u.zone for u in pol.uplinks if u.zone != flow.uplink]
    mine = any(explain(pol, replace(flow, uplink=z)).verdict.value == "accept" for z in others)
    srcs = [None] + [h for b in pol.profiles for h in b.hosts if h.family == flow.dst.family]
    theirs = any(
        explain(pol, replace(flow, src=s)).verdict.value == "accept" for s in srcs if s != flow.src
    )
    return mine and theirs


def check_flow(pol: Policy, dev: Router, flow: Flow) -> None:
    verdict, qos = expected(pol, flow)
    uplink = OPTIONS[flow.uplink.value]
    leaving = dev.forward(packet(pol, flow), LANS[0], uplink)
    if verdict == "accept":
        assert leaving is not None, (flow, verdict)
    else:
        assert leaving is None or split_conflict(pol, flow), (flow, verdict)
    if leaving is None:
        return
    cls = qos_class(pol, flow.proto, flow.dst.family, flow.dst.first, flow.port)
    if verdict == "accept" and qos:
        assert cls is not None and cls.name == qos
    # the trust boundary: a class's DSCP, else 0 whatever the host set
    assert leaving.dscp == (cls.dscp if cls else 0), (flow, leaving.dscp)
    in_lan = any(p.family == flow.dst.family and p.first <= flow.dst.first <= p.last
                 for p in pol.lan_prefixes)  # fmt: skip
    if flow.dst.family == 4 and uplink == OPTIONS["internett"] and not in_lan:
        assert leaving.src == PAT_ADDRESS  # PAT happened, and the zone-pair still passed it
    if cls is not None and (cls.priority or cls.share):
        up = next(u for u in pol.uplinks if u.zone == flow.uplink)
        want = ("priority" if cls.priority else "bandwidth", cls.share, up.rate_mbit * 1_000_000)
        assert dev.queue(uplink, leaving.dscp) == want, (flow, cls)


@pytest.mark.parametrize("case", POLICY_CASES)
def test_flows_get_explains_verdict_and_dscp(case: str) -> None:
    pol, dev = policy(case), device(case)

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(flows(pol, families=(4, 6)) | aimed(pol))
    def check(flow: Flow) -> None:
        check_flow(pol, dev, flow)

    check()


@pytest.mark.parametrize("case", POLICY_CASES)
def test_every_rule_edge_gets_explains_verdict_and_dscp(case: str) -> None:
    pol, dev = policy(case), device(case)
    for flow in cidr_edge_flows(pol):
        check_flow(pol, dev, flow)


def test_the_split_limit_is_rare_and_one_sided() -> None:
    """Where the device and explain differ at all, the device lets through a flow
    explain rejects only in a documented split cell (never the reverse)."""
    pol, dev = policy("default"), device("default")
    differing = [
        f
        for f in cidr_edge_flows(pol)
        if (dev.forward(packet(pol, f), LANS[0], OPTIONS[f.uplink.value]) is not None)
        != (expected(pol, f)[0] == "accept")
    ]
    assert all(split_conflict(pol, f) for f in differing), differing
    assert len(differing) < 0.01 * len(cidr_edge_flows(pol))


@pytest.mark.parametrize("case", ["default", "dual", "open"])
def test_only_replies_of_lan_sessions_come_in(case: str) -> None:
    pol, dev = policy(case), router(policy(case))
    accepted = [
        f
        for f in cidr_edge_flows(pol)
        if expected(pol, f)[0] == "accept" and explain(pol, f).uplink is not None
    ][:50]
    assert accepted
    for f in accepted:
        up = OPTIONS[f.uplink.value]
        out = dev.forward(packet(pol, f), LANS[0], up)
        assert out is not None
        reply = Packet(out.family, out.proto, out.dst, out.src, out.sport, out.dport)
        assert dev.inbound(reply, up, LANS[0]), f
        # the same remote host opening a connection of its own: no zone-pair lets it in
        fresh = Packet(out.family, out.proto, out.dst, source(pol, f), 22, 50000)
        assert not dev.inbound(fresh, up, LANS[0]), f
        wrong = Packet(out.family, out.proto, out.dst, out.src, out.sport, SPORT + 1)
        assert not dev.inbound(wrong, up, LANS[0]), f


@pytest.mark.parametrize("case", POLICY_CASES)
def test_sources_outside_the_lan_are_dropped(case: str) -> None:
    dev = device(case)
    for up in policy(case).uplinks:
        for fam, proto, src, dst, port in [
            (4, "tcp", "100.64.0.1", "10.145.128.1", 443),
            (6, "udp", "2001:db8:dead::1", "2001:db8:81::1", 80),
        ]:
            p = Packet(
                fam, proto, int(ipaddress.ip_address(src)), int(ipaddress.ip_address(dst)), port
            )
            assert dev.forward(p, LANS[0], OPTIONS[up.zone.value]) is None


@pytest.mark.parametrize("case", ["helsenett", "open"])
def test_an_ipv4_only_lan_gets_ipv6_blocked(case: str) -> None:
    pol, dev = policy(case), device(case)
    assert not any(p.family == 6 for p in pol.lan_prefixes)
    lan6 = int(ipaddress.ip_address("2001:db8:10::5"))
    for up in pol.uplinks:
        for dst in ("2001:db8:81::1", "2001:db8:99::10"):
            p = Packet(6, "tcp", lan6, int(ipaddress.ip_address(dst)), 443)
            assert dev.forward(p, LANS[0], OPTIONS[up.zone.value]) is None


def test_queues_fit_the_reservation_under_a_shaper_at_the_line_rate() -> None:
    pol, dev = policy("default"), device("default")
    shares = sum(c.share for c in pol.qos.values() if c.priority or c.share)
    assert shares > 75  # so the reservation must be raised, which the router model checks
    for up in pol.uplinks:
        iface = dev.interfaces[OPTIONS[up.zone.value]]
        assert shares <= iface.reserved <= 100
        for cls in pol.qos.values():
            got = dev.queue(OPTIONS[up.zone.value], cls.dscp)
            if cls.priority or cls.share:
                assert got is not None and got[1:] == (cls.share, up.rate_mbit * 1_000_000)


def test_host_marking_is_kept_only_when_the_site_says_so() -> None:
    pol = replace(policy("default-open"), keep_host_marking=True)
    dev = router(pol)
    flow = Flow("udp", ipaddress_span("203.0.113.200"), 5000, None, pol.uplinks[1].zone)
    assert expected(pol, flow) == ("accept", None)
    assert dev.forward(packet(pol, flow), LANS[0], OPTIONS["internett"]).dscp == EF
    dev = device("open")
    p = Packet(
        4, "udp", lan(policy("open")), int(ipaddress.ip_address("203.0.113.200")), 5000, dscp=EF
    )
    assert dev.forward(p, LANS[0], OPTIONS[policy("open").uplinks[0].zone.value]).dscp == 0


def ipaddress_span(text: str):
    from nhn_appliance.policy.addresses import parse_ip

    return parse_ip(text)


def lan(pol: Policy) -> int:
    return next(p.first for p in pol.lan_prefixes if p.family == 4) + 5


# -- re-paste ------------------------------------------------------------------------------
def _probes(pol: Policy) -> list[Flow]:
    edge = cidr_edge_flows(pol)
    return edge[:: max(1, len(edge) // 40)]


@pytest.mark.parametrize(
    ("first", "second"), [("default", "default"), ("default", "default-pinned")]
)
def test_a_second_paste_never_opens_and_leaves_nothing_stale(first: str, second: str) -> None:
    old, new = policy(first), policy(second)
    dev = router(old)
    probes = _probes(old) + _probes(new)
    allowed = {
        f: expected(old, f)[0] == "accept" or expected(new, f)[0] == "accept" for f in probes
    }
    split = {f: split_conflict(old, f) or split_conflict(new, f) for f in probes}
    seen = []

    def after(r: Router, line: str) -> None:
        for f in probes:
            passed = r.forward(packet(new, f), LANS[0], OPTIONS[f.uplink.value]) is not None
            assert not passed or allowed[f] or split[f], (line, f)
        seen.append(line)

    dev.paste(render(new), after=after)
    assert len(seen) > 100
    fresh = router(new)
    assert dev.acls.keys() == fresh.acls.keys()
    assert {k: [a.text for a in v[1]] for k, v in dev.acls.items()} == {
        k: [a.text for a in v[1]] for k, v in fresh.acls.items()
    }
    assert dev.class_maps == fresh.class_maps and dev.policy_maps == fresh.policy_maps
    assert dev.interfaces == fresh.interfaces and dev.zone_pairs == fresh.zone_pairs


# -- interfaces -----------------------------------------------------------------------------
def test_interfaces_follow_the_options_and_linux_names_are_refused() -> None:
    text = RENDERER.render(policy("default"), OPTIONS)[0].text
    dev = Router()
    dev.paste(text)
    assert dev.interfaces["GigabitEthernet0/1"].zone == "NHN-HELSENETT"
    assert dev.interfaces["GigabitEthernet0/0"].acl_in == {4: "NHN-LAN-IN-A", 6: "NHN-LAN6-IN-A"}
    assert "wan-hn" not in text.split("! Interfaces:")[1].split("! route")[0]
    with pytest.raises(UsageError, match=r"\[render.cisco-ios\]"):
        RENDERER.render(policy("default"))


def test_the_output_begins_with_how_to_apply_it() -> None:
    head = render(policy("default")).split("zone security", 1)[0]
    assert "configure terminal revert timer" in head and "configure confirm" in head
    assert "EXPECTS" in head and "made by nhn-appliance" in head
