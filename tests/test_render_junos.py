"""JunOS target, both forms, held to explain() by a device model written from Juniper's docs.

tests/readers/junos.py reads the set lines into the configuration tree (each
statement checked against tests/readers/junos_schema.py) and evaluates stateless
filters and class of service; tests/readers/junos_flow.py forwards packets
through it as an SRX in flow mode (zones, policies before source NAT, sessions)
or, without zones, as a router in packet mode behind a NAT on the internet
uplink. Documentation is cited in those modules. Every flow of tests/flowgen.py
and every rule edge, from the LAN with EF set by the host, must get explain's
verdict and DSCP; an accepted flow's reply must come back; unsolicited inbound
must not pass; the router's own traffic must never be discarded.
Options, limits, determinism and hostile input: test_targets.py; goldens:
test_golden.py.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest
from flowgen import aimed, cidr_edge_flows, flows, source
from hypothesis import HealthCheck, given, settings
from readers.junos import Config, Packet
from readers.junos_flow import Device
from render_cases import TARGET_OPTIONS, policy

from nhn_appliance.errors import UsageError
from nhn_appliance.policy.addresses import parse_ip, span_contains
from nhn_appliance.policy.explain import Flow, explain
from nhn_appliance.policy.model import Policy, Zone
from nhn_appliance.render.junos import RENDERER

UNIT = {"helsenett": "ge-0/0/1.0", "internett": "ge-0/0/2.0"}
LANS = ["ge-0/0/0.0", "ge-0/0/3.20"]
IP = lambda s: int(ipaddress.ip_address(s))  # noqa: E731
ADDRESSES = {
    UNIT["helsenett"]: {4: IP("198.51.100.2"), 6: IP("2001:db8:ff::2")},
    UNIT["internett"]: {4: IP("203.0.113.2"), 6: IP("2001:db8:fe::2")},
}
POLICY_CASES = ["default", "default-pinned", "dual", "helsenett", "hosts", "open", "trick"]
FORMS = ["srx", "filter"]
EF = 46


def options(pol: Policy, form: str) -> dict[str, str]:
    lan = ",".join(LANS[: len(pol.lan_interfaces)])
    return {u.zone.value: UNIT[u.zone.value] for u in pol.uplinks} | {"lan": lan, "form": form}


def device(pol: Policy, form: str) -> Device:
    text = RENDERER.render(pol, options(pol, form))[0].text
    return Device(text, ADDRESSES, nat_units=(UNIT["internett"],))


def egress(pol: Policy, flow: Flow, form: str) -> str:
    """The unit a flow leaves by: the LAN for a LAN destination; on the SRX the flow's
    uplink (its policies hold for any route); on the router the route the header asks
    for where it names the destination, else the flow's uplink."""
    fam, dst = flow.dst.family, flow.dst.first
    if span_contains(pol.lan_prefixes, fam, dst):
        return LANS[len(pol.lan_interfaces) - 1]
    zone = flow.uplink.value
    if form == "filter":
        routed = [z.value for z, spans in pol.routes.items() if span_contains(spans, fam, dst)]
        zone = routed[0] if len(routed) == 1 else zone
    return UNIT[zone]


def never_forwarded(family: int, dst: int) -> bool:
    """Limited broadcast (RFC 1812 5.3.5.1) and link-scoped addresses (RFC 4291 2.5.6, 2.7)
    are for the router itself; no router sends them out of an uplink."""
    local = {4: ("255.255.255.255/32", "224.0.0.0/24"), 6: ("ff02::/16", "fe80::/10")}
    nets = [ipaddress.ip_network(n) for n in local[family]]
    return any(int(n.network_address) <= dst <= int(n.broadcast_address) for n in nets)


def check_flow(pol: Policy, dev: Device, flow: Flow, form: str) -> None:
    dev.sessions.clear()
    out = egress(pol, flow, form)
    zone = next((z for z, u in UNIT.items() if u == out), None)
    want = explain(pol, replace(flow, uplink=Zone(zone) if zone else flow.uplink))
    fam = flow.dst.family
    pkt = Packet(fam, source(pol, flow), flow.dst.first, flow.proto, 40000, flow.port or 0, "S", EF)
    if never_forwarded(fam, flow.dst.first):
        return  # not a flow through the router: explain's verdict does not apply
    got, left = dev.forward(pkt, LANS[0], out)
    allowed = {want.verdict.value}
    routed = any(span_contains(s, fam, flow.dst.first) for s in pol.routes.values())
    if form == "filter" and zone and not routed:
        # the route may pick either uplink and the LAN side cannot tell which: where the
        # uplinks' verdicts differ, the filter gives one of them (a documented limit)
        allowed |= {explain(pol, replace(flow, uplink=u.zone)).verdict.value for u in pol.uplinks}
        if len(allowed) > 1:
            return assert_one_of(got, allowed, flow)
    assert got == want.verdict.value, (flow, form, want.reason, got)
    if got != "accept" or zone is None:
        return
    keep = EF if pol.keep_host_marking else 0
    assert left.dscp == (want.dscp if want.qos else keep), (flow, want.qos, left)
    dev.scheduler(out, left.fc)  # the class has a queue, and strict-high is capped
    reply = Packet(fam, left.dst, left.src, left.proto, left.dport, left.sport, "SA", 0)
    back, arrived = dev.forward(reply, out, LANS[0])
    assert back == "accept" and arrived.dst == pkt.src, (flow, form, back, arrived)


def assert_one_of(got: str, allowed: set[str], flow: Flow) -> None:
    assert got in allowed, (flow, got, allowed)


# -- the property, both forms ------------------------------------------------------------------
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", POLICY_CASES)
def test_flows_get_explains_verdict_and_dscp(case: str, form: str) -> None:
    pol = policy(case)
    dev = device(pol, form)

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(flows(pol, families=(4, 6)) | aimed(pol))
    def check(flow: Flow) -> None:
        check_flow(pol, dev, flow, form)

    check()


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", POLICY_CASES)
def test_every_rule_edge_gets_explains_verdict_and_dscp(case: str, form: str) -> None:
    pol = policy(case)
    dev = device(pol, form)
    for flow in cidr_edge_flows(pol):
        check_flow(pol, dev, flow, form)


@pytest.mark.parametrize("form", FORMS)
def test_trusted_host_marking_is_kept(form: str) -> None:
    """With keep_host_marking, EF set by a host to a destination no class names stays EF
    (EF is in the class table); classified flows are still checked by check_flow."""
    pol = replace(policy("default-open"), keep_host_marking=True)
    dev = device(pol, form)
    check_flow(pol, dev, Flow("tcp", parse_ip("91.186.92.90"), 443, None, Zone.HELSENETT), form)
    unclassified = Packet(4, IP("192.168.10.9"), IP("198.51.100.99"), "tcp", 40000, 9, "S", EF)
    got, left = dev.forward(unclassified, LANS[0], UNIT["helsenett"])
    assert (got, left.dscp) == ("accept", EF), (got, left)


@pytest.mark.parametrize("form", FORMS)
def test_untrusted_host_marking_leaves_as_zero(form: str) -> None:
    dev = device(policy("default-open"), form)
    unclassified = Packet(4, IP("192.168.10.9"), IP("198.51.100.99"), "tcp", 40000, 9, "S", EF)
    got, left = dev.forward(unclassified, LANS[0], UNIT["helsenett"])
    assert (got, left.dscp, left.fc) == ("accept", 0, "best-effort"), (got, left)


# -- inbound, the router's own traffic, IPv6 on an IPv4-only LAN -------------------------------
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", ["default", "open", "hosts"])
def test_unsolicited_inbound_connections_are_refused(case: str, form: str) -> None:
    pol = policy(case)
    dev = device(pol, form)
    lan4 = next(p for p in pol.lan_prefixes if p.family == 4)
    for up in pol.uplinks:
        syn = Packet(4, IP("203.0.113.77"), lan4.first + 9, "tcp", 40000, 22, "S")
        got, _ = dev.forward(syn, UNIT[up.zone.value], LANS[0])
        assert got != "accept", (up, got)
        if form == "srx":  # stateful: UDP too
            udp = Packet(4, IP("203.0.113.77"), lan4.first + 9, "udp", 53, 40000)
            assert dev.forward(udp, UNIT[up.zone.value], LANS[0])[0] != "accept"


def test_filter_form_never_discards_the_routers_own_traffic() -> None:
    pol = policy("default")
    cfg = Config(RENDERER.render(pol, options(pol, "filter"))[0].text)
    for unit in UNIT.values():  # out of an uplink: BGP, DHCP renewal, ND from fe80::
        for pkt in (
            Packet(4, ADDRESSES[unit][4], IP("198.51.100.1"), "tcp", 50000, 179, "A"),
            Packet(4, ADDRESSES[unit][4], IP("198.51.100.1"), "udp", 68, 67),
            Packet(6, IP("fe80::1"), IP("ff02::1:ff00:1"), "icmp"),
        ):
            assert cfg.filter_unit(unit, "output", pkt)[0] == "accept", (unit, pkt)
    for pkt in (  # to and from the LAN: DHCP, ND, RA, the router's answers
        Packet(4, 0, IP("255.255.255.255"), "udp", 68, 67),
        Packet(6, IP("fe80::50"), IP("ff02::1:ff00:1"), "icmp"),
        Packet(6, 0, IP("ff02::1:ff00:50"), "icmp"),
        Packet(4, IP("192.168.10.50"), IP("192.168.10.1"), "udp", 40000, 53),
    ):
        assert cfg.filter_unit(LANS[0], "input", pkt)[0] == "accept", pkt
    for pkt in (
        Packet(6, IP("fe80::1"), IP("ff02::1"), "icmp"),
        Packet(4, IP("192.168.10.1"), IP("192.168.10.50"), "udp", 53, 40000),
    ):
        assert cfg.filter_unit(LANS[0], "output", pkt)[0] == "accept", pkt


@pytest.mark.parametrize("form", FORMS)
def test_ipv6_from_an_ipv4_only_lan_is_blocked(form: str) -> None:
    pol = policy("helsenett")
    assert not any(p.family == 6 for p in pol.lan_prefixes)
    dev = device(pol, form)
    pkt = Packet(6, IP("2001:db8:2::5"), IP("2001:db8:99::1"), "tcp", 40000, 443)
    assert dev.forward(pkt, LANS[0], UNIT["helsenett"])[0] != "accept"


@pytest.mark.parametrize("form", FORMS)
def test_rejects_are_counted_and_uplinks_shaped(form: str) -> None:
    pol = policy("default")
    dev = device(pol, form)
    # betalingsterminal: 91.102.24.142 is rejected at once and counted (betalingsterminal.toml)
    pkt = Packet(4, IP("192.168.10.9"), IP("91.102.24.142"), "tcp", 40000, 443)
    assert dev.forward(pkt, LANS[0], UNIT["helsenett"])[0] == "reject"
    assert dev.counters, "the reject was not counted"
    for up in pol.uplinks:
        ifd = UNIT[up.zone.value].split(".")[0]
        rate = dev.get("class-of-service", "interfaces", ifd, "shaping-rate")
        assert list(rate) == [f"{up.rate_mbit}m"], (up, rate)


def test_a_misspelt_statement_fails_the_reader() -> None:
    with pytest.raises(AssertionError, match="unknown statement"):
        Config("set firewall family inet filter x term y then acept")
    with pytest.raises(AssertionError, match="unknown statement"):
        Config("set security policies from-zone a to-zone b policy p then permitt")


def test_units_and_form_follow_the_options() -> None:
    text = RENDERER.render(policy("default"), TARGET_OPTIONS["junos"])[0].text
    assert "security-zone nhn-internett interfaces ge-0/0/2.0 " in text
    assert "commit confirmed 5" in text
    filt = RENDERER.render(policy("default"), TARGET_OPTIONS["junos"] | {"form": "filter"})
    assert "set interfaces ge-0/0/0 unit 0 family inet filter input nhn-from-lan" in filt[0].text
    with pytest.raises(UsageError, match="form"):
        RENDERER.render(policy("default"), TARGET_OPTIONS["junos"] | {"form": "stateless"})


@pytest.mark.parametrize("form", FORMS)
def test_every_class_is_queued_with_its_share_and_strict_high_is_capped(form: str) -> None:
    """Juniper "Priority Scheduling Overview": strict-high is served without limit and
    starves the other queues unless its rate is capped (transmit-rate ... exact)."""
    pol = policy("default")
    dev = device(pol, form)
    for up in pol.uplinks:
        for cls in pol.qos.values():
            fc = {0: "best-effort", 48: "network-control"}.get(cls.dscp, f"nhn-{cls.name}")
            sched = dev.scheduler(UNIT[up.zone.value], fc)  # asserts strict-high is capped
            rate = sched["transmit-rate"]
            assert (str(cls.share) in rate["percent"]) if cls.share else "remainder" in rate
            assert ("strict-high" in sched.get("priority", {})) == cls.priority, (cls, sched)
