"""Cisco IOS target, held to explain() by an independent reader.

The rendered configuration is read back by tests/readers/cisco_ios.py (with
ciscoconfparse2, not the renderer), whose evaluator follows IOS semantics;
it then decides random flows from tests/flowgen.py and every edge of every
rule. An IOS ``deny`` cannot say whether it rejects or drops, so the verdict
compared is permit versus not permit. For QoS the LAN interface's input
policy-map gives the DSCP and the uplink's output policy-map the queue.
Options, limits, determinism and hostile input: test_targets.py; goldens:
test_golden.py.
"""

from __future__ import annotations

import ipaddress

import pytest
from flowgen import aimed, cidr_edge_flows, expected, flows, qos_class, source
from hypothesis import HealthCheck, given, settings
from readers.cisco_ios import Ios
from render_cases import TARGET_OPTIONS, policy

from nhn_appliance.policy.explain import Flow
from nhn_appliance.policy.model import Policy
from nhn_appliance.render.cisco_ios import RENDERER

OPTIONS = TARGET_OPTIONS["cisco-ios"]  #: for the default site
UPLINKS = {zone: OPTIONS[zone] for zone in ("helsenett", "internett")}
LANS = (OPTIONS["lan"], "GigabitEthernet0/3.20")
POLICY_CASES = ["default", "default-pinned", "dual", "helsenett", "hosts", "open"]


def options(policy: Policy) -> dict[str, str]:
    return {u.zone.value: UPLINKS[u.zone.value] for u in policy.uplinks} | {
        "lan": ",".join(LANS[: len(policy.lan_interfaces)])
    }


def read(case: str) -> Ios:
    return Ios(RENDERER.render(policy(case), options(policy(case)))[0].text)


def check_flow(policy: Policy, ios: Ios, flow: Flow) -> None:
    verdict, qos = expected(policy, flow)
    fam, dst, port = flow.dst.family, flow.dst.first, flow.port
    permitted = ios.egress_permits(
        OPTIONS[flow.uplink.value], fam, flow.proto, source(policy, flow), dst, port
    )
    # IOS has one 'deny' for reject and drop: compare permit with accept only
    assert permitted == (verdict == "accept"), (flow, verdict)
    marked = {
        ios.marked_dscp(lan, fam, flow.proto, dst, port)
        for lan in LANS[: len(policy.lan_interfaces)]
    }
    assert len(marked) == 1, (flow, marked)  # every LAN interface marks alike
    dscp = marked.pop()
    # accepted flows: explain's class; the marking is the same for every flow (qos.classify)
    cls = (
        policy.qos[qos]
        if verdict == "accept" and qos
        else qos_class(policy, flow.proto, fam, dst, port)
    )
    assert dscp == (cls.dscp if cls else None), (flow, qos)
    if cls is not None and (cls.priority or cls.share):
        want = ("priority", cls.share) if cls.priority else ("bandwidth", cls.share)
        assert ios.queue(OPTIONS[flow.uplink.value], dscp) == want, (flow, cls)


# -- the property ------------------------------------------------------------------------------
@pytest.mark.parametrize("case", POLICY_CASES)
def test_flows_get_explains_verdict_and_class(case: str) -> None:
    pol, ios = policy(case), read(case)

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(flows(pol, families=(4, 6)) | aimed(pol))
    def check(flow: Flow) -> None:
        check_flow(pol, ios, flow)

    check()


@pytest.mark.parametrize("case", POLICY_CASES)
def test_every_rule_edge_gets_explains_verdict_and_class(case: str) -> None:
    pol, ios = policy(case), read(case)
    for flow in cidr_edge_flows(pol):
        check_flow(pol, ios, flow)


def test_every_class_with_a_share_is_queued() -> None:
    pol, ios = policy("default"), read("default")
    for cls in pol.qos.values():
        want = (
            ("priority", cls.share)
            if cls.priority
            else ("bandwidth", cls.share)
            if cls.share
            else None
        )
        for up in pol.uplinks:
            assert ios.queue(OPTIONS[up.zone.value], cls.dscp) == want, cls


@pytest.mark.parametrize("case", POLICY_CASES)
def test_sources_outside_the_lan_are_denied(case: str) -> None:
    ios = read(case)
    for up in policy(case).uplinks:
        iface = OPTIONS[up.zone.value]
        assert not ios.egress_permits(
            iface,
            4,
            "tcp",
            int(ipaddress.ip_address("100.64.0.1")),
            int(ipaddress.ip_address("10.145.128.1")),
            443,
        )
        assert not ios.egress_permits(
            iface,
            6,
            "udp",
            int(ipaddress.ip_address("2001:db8:dead::1")),
            int(ipaddress.ip_address("2001:db8:81::1")),
            80,
        )


def test_interfaces_follow_the_options() -> None:
    text = RENDERER.render(policy("default"), OPTIONS)[0].text
    ios = Ios(text)
    assert ios.interfaces["GigabitEthernet0/1"][0] == "ip access-group NHN-OUT-HELSENETT out"
    assert "service-policy input NHN-MARK" in ios.interfaces["GigabitEthernet0/0"]
    assert "interface wan-hn" not in text and "interface lan0" not in text
    default = RENDERER.render(policy("default"))[0].text
    assert "interface wan-hn\n ip access-group NHN-OUT-HELSENETT out" in default
