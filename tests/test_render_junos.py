"""JunOS target, held to explain() by an independent reader.

The ``set``/``delete`` lines are read back by tests/readers/junos.py into
the configuration tree JunOS builds from them, whose evaluator follows
JunOS firewall-filter semantics; it then decides random flows from
tests/flowgen.py and every edge of every rule. JunOS tells ``reject`` from
``discard``, so verdicts are compared exactly. For QoS it follows the LAN
unit's input filter (forwarding class + DSCP), the uplink's rewrite rule and
its scheduler map. Options, limits, determinism and hostile input:
test_targets.py; goldens: test_golden.py.
"""

from __future__ import annotations

import ipaddress

import pytest
from flowgen import aimed, cidr_edge_flows, expected, flows, qos_class, source
from hypothesis import HealthCheck, given, settings
from readers.junos import Junos, code_point, one
from render_cases import TARGET_OPTIONS, policy

from nhn_appliance.policy.explain import Flow
from nhn_appliance.policy.model import Policy
from nhn_appliance.render.junos import RENDERER

OPTIONS = TARGET_OPTIONS["junos"]  #: for the default site
UNITS = {
    "helsenett": ("ge-0/0/1", "0"),
    "internett": ("ge-0/0/2", "0"),
    "lan": ("ge-0/0/0", "0"),
    "lan1": ("ge-0/0/3", "20"),
}
POLICY_CASES = ["default", "default-pinned", "dual", "helsenett", "hosts", "open"]
VERDICT = {"accept": "accept", "reject": "reject", "discard": "drop"}


def options(policy: Policy) -> dict[str, str]:
    return {u.zone.value: OPTIONS[u.zone.value] for u in policy.uplinks} | {
        "lan": "ge-0/0/0.0,ge-0/0/3.20" if len(policy.lan_interfaces) == 2 else "ge-0/0/0.0"
    }


def lans(policy: Policy) -> list[str]:
    return ["lan", "lan1"][: len(policy.lan_interfaces)]


def read(case: str) -> Junos:
    return Junos(RENDERER.render(policy(case), options(policy(case)))[0].text, UNITS)


def check_flow(policy: Policy, junos: Junos, flow: Flow) -> None:
    verdict, qos = expected(policy, flow)
    fam, dst, port, zone = flow.dst.family, flow.dst.first, flow.port, flow.uplink.value
    got = junos.egress(zone, fam, flow.proto, source(policy, flow), dst, port)
    assert VERDICT[got] == verdict, (flow, verdict, got)
    marked = {junos.marking(lan, fam, flow.proto, dst, port) for lan in lans(policy)}
    assert len(marked) == 1, (flow, marked)  # every LAN unit marks alike
    fc, dscp = marked.pop()
    cls = (
        policy.qos[qos]
        if verdict == "accept" and qos
        else qos_class(policy, flow.proto, fam, dst, port)
    )
    assert dscp == (cls.dscp if cls else None), (flow, qos)
    assert junos.leaves_with(zone, fam, fc, dscp) == dscp, (flow, fc)
    if cls is not None:
        sched = junos.scheduler(zone, fc)
        rate = sched["transmit-rate"]
        assert (one(rate["percent"]) == str(cls.share)) if cls.share else "remainder" in rate, (
            cls,
            sched,
        )
        assert ("strict-high" in sched.get("priority", {})) == cls.priority, (cls, sched)


# -- the property ------------------------------------------------------------------------------
@pytest.mark.parametrize("case", POLICY_CASES)
def test_flows_get_explains_verdict_and_class(case: str) -> None:
    pol, junos = policy(case), read(case)

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(flows(pol, families=(4, 6)) | aimed(pol))
    def check(flow: Flow) -> None:
        check_flow(pol, junos, flow)

    check()


@pytest.mark.parametrize("case", POLICY_CASES)
def test_every_rule_edge_gets_explains_verdict_and_class(case: str) -> None:
    pol, junos = policy(case), read(case)
    for flow in cidr_edge_flows(pol):
        check_flow(pol, junos, flow)


@pytest.mark.parametrize("case", POLICY_CASES)
def test_sources_outside_the_lan_are_discarded(case: str) -> None:
    junos = read(case)
    for up in policy(case).uplinks:
        assert (
            junos.egress(
                up.zone.value,
                4,
                "tcp",
                int(ipaddress.ip_address("100.64.0.1")),
                int(ipaddress.ip_address("10.145.128.1")),
                443,
            )
            == "discard"
        )


@pytest.mark.parametrize("case", POLICY_CASES)
def test_class_of_service_is_consistent(case: str) -> None:
    pol, junos = policy(case), read(case)
    classes = junos.get("class-of-service", "forwarding-classes", "class")
    queues = [one(c["queue-num"]) for c in classes.values()]
    assert len(queues) == len(set(queues)) and all(0 <= int(q) <= 7 for q in queues)
    for kind in (
        ("dscp", "dscp-ipv6") if any(p.family == 6 for p in pol.lan_prefixes) else ("dscp",)
    ):
        table = junos.get("class-of-service", "classifiers", kind, "nhn", "forwarding-class")
        for cls in pol.qos.values():  # a packet already marked lands in its class's queue
            owner = [
                fc
                for fc, e in table.items()
                if cls.dscp in {code_point(c) for c in e["loss-priority"]["low"]["code-points"]}
            ]
            assert len(owner) == 1 and owner[0] in classes, (cls, owner)
            for up in pol.uplinks:  # and is queued with the class's share and priority
                sched = junos.scheduler(up.zone.value, owner[0])
                rate = sched["transmit-rate"]
                assert (
                    (one(rate["percent"]) == str(cls.share)) if cls.share else "remainder" in rate
                )
                assert ("strict-high" in sched.get("priority", {})) == cls.priority, (cls, sched)


def test_units_follow_the_options() -> None:
    text = RENDERER.render(policy("default"), OPTIONS)[0].text
    assert "set interfaces ge-0/0/1 unit 0 family inet filter output nhn-out-helsenett" in text
    assert "set interfaces ge-0/0/2 unit 0 family inet6 filter output nhn-out-internett" in text
    assert "set interfaces ge-0/0/0 unit 0 family inet filter input nhn-qos" in text
    default = RENDERER.render(policy("default"))[0].text
    assert "set interfaces wan-hn unit 0 family inet filter output nhn-out-helsenett" in default
