"""Explain one flow against a compiled Policy: verdict, matching rule, service, source.

This walks the policy in exactly the order the renderers emit it (see
:mod:`compile`), so its answer is the kernel's answer; the kernel tests hold
it to that.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from nhn_appliance.policy.addresses import (
    format_ip,
    format_ports,
    format_span,
    parse_ip,
    span_contains,
)
from nhn_appliance.policy.compile import rule_covers
from nhn_appliance.policy.model import Action, Policy, Rule, Span, Uplink, Zone
from nhn_appliance.policy.qos import classify

FLOW_PROTOCOLS = ("tcp", "udp", "icmp")


@dataclass(frozen=True)
class Flow:
    proto: str
    dst: Span
    port: int | None = None
    src: Span | None = None
    uplink: Zone | None = None

    @classmethod
    def parse(
        cls,
        proto: str,
        dst: str,
        port: int | None,
        src: str | None = None,
        uplink: str | None = None,
    ) -> Flow:
        """Build a flow from user text; ValueError carries the user message."""
        proto = proto.lower()
        if proto not in FLOW_PROTOCOLS:
            raise ValueError(f"protocol {proto!r} is not known; use {', '.join(FLOW_PROTOCOLS)}")
        if proto in ("tcp", "udp"):
            if port is None:
                raise ValueError(f"{proto} needs a port")
            if not 0 <= port <= 65535:
                raise ValueError(f"port {port} is out of range; ports are 0-65535")
        d = parse_ip(dst)
        s = parse_ip(src) if src else None
        if s is not None and s.family != d.family:
            raise ValueError("source and destination must be the same IP family")
        return cls(proto, d, port if proto != "icmp" else None, s, Zone(uplink) if uplink else None)

    def describe(self) -> str:
        dst = format_ip(self.dst.family, self.dst.first)
        if self.dst.family == 6:
            dst = f"[{dst}]"
        where = f"{dst}:{self.port}" if self.port is not None else dst
        src = f" from {format_ip(self.src.family, self.src.first)}" if self.src else ""
        return f"{self.proto} {where}{src}"


@dataclass(frozen=True)
class Verdict:
    flow: Flow
    verdict: Action
    rule: Rule | None
    uplink: Uplink | None
    profile: str
    reason: str
    qos: str | None = None  #: the class an accepted flow is marked with (policy.qos)
    dscp: int | None = None
    would_allow: tuple[str, ...] = ()  #: for a denied flow: what would let it out

    def as_dict(self) -> dict:
        r = self.rule
        return {
            "flow": {
                "proto": self.flow.proto,
                "dst": format_ip(self.flow.dst.family, self.flow.dst.first),
                "port": self.flow.port,
                "src": format_ip(self.flow.src.family, self.flow.src.first)
                if self.flow.src
                else None,
            },
            "verdict": self.verdict.value,
            "service": r.service if r else None,
            "zone": r.zone.value if r else (self.uplink.zone.value if self.uplink else None),
            "rule": describe_rule(r) if r else None,
            "rule_id": r.id if r else None,
            "source": r.source if r else None,
            "note": r.note if r and r.note else None,
            "qos": self.qos,
            "dscp": self.dscp,
            "uplink": self.uplink.zone.value if self.uplink else None,
            "interface": self.uplink.interface if self.uplink else None,
            "profile": self.profile or None,
            "reason": self.reason,
            "would_allow": list(self.would_allow),
        }

    def text(self) -> str:
        # a denied flow that no rule names leaves by no uplink: naming the first
        # one would suggest the traffic went there
        up = self.uplink
        shown = up is not None and (self.rule or self.verdict == Action.ACCEPT or self.flow.uplink)
        via = f" via {up.zone} ({up.interface})" if up is not None and shown else ""
        lines = [f"{self.flow.describe()} -> {self.verdict.value}{via}"]
        if self.rule:
            lines.append(f"  rule:    {describe_rule(self.rule)}")
            lines.append(f"  service: {self.rule.service}, zone {self.rule.zone}")
            lines.append(f"  source:  {self.rule.source}")
            if self.rule.note:
                lines.append(f"  note:    {self.rule.note}")
        if self.qos:
            lines.append(f"  QoS:     {self.qos} (DSCP {self.dscp})")
        lines.append(f"  why:     {self.reason}")
        lines += [f"  allow:   {hint}" for hint in self.would_allow]
        return "\n".join(lines)


def describe_rule(r: Rule) -> str:
    dst = ", ".join(format_span(s) for s in r.dst)
    ports = f" port {format_ports(r.ports)}" if r.ports else ""
    scope = f" [profile {r.profile}]" if r.profile else ""
    return f"{r.id}: {r.action} {r.proto} to {dst}{ports} out {'/'.join(r.interfaces)}{scope}"


def explain(policy: Policy, flow: Flow) -> Verdict:
    """The verdict for one flow, with the QoS class it is marked with if accepted."""
    verdict = _verdict(policy, flow)
    if verdict.verdict == Action.ACCEPT:
        cls = classify(policy, flow.proto, flow.dst.family, flow.dst.first, flow.port)
        if cls is not None:
            verdict = replace(verdict, qos=cls.name, dscp=cls.dscp)
    return verdict


def _verdict(policy: Policy, flow: Flow) -> Verdict:
    fam, dst = flow.dst.family, flow.dst.first
    profile = ""
    default = policy.default_action
    default_why = (
        "no rule matches; outbound traffic is open at this site"
        if policy.outbound == "open"
        else f"no rule matches; outbound traffic is blocked at this site ({default})"
    )
    if flow.src is not None:
        binding = next(
            (
                b
                for b in policy.profiles
                if any(h.family == fam and h.first <= flow.src.first <= h.last for h in b.hosts)
            ),
            None,
        )
        if binding:
            profile = binding.name
            default = binding.otherwise
            default_why = (
                f"no rule of profile {binding.name} matches; "
                f"everything else is blocked ({binding.source})"
            )
        elif not any(
            p.family == fam and p.first <= flow.src.first <= p.last for p in policy.lan_prefixes
        ):
            return Verdict(
                flow, Action.DROP, None, None, "", "the source is not in the site's LAN prefixes"
            )
    elif not any(p.family == fam for p in policy.lan_prefixes):
        return Verdict(flow, Action.DROP, None, None, "", f"the site's LAN has no IPv{fam} prefix")

    if span_contains(policy.lan_prefixes, fam, dst):
        # every target passes traffic between LAN hosts before any profile or uplink rule
        return Verdict(
            flow,
            Action.ACCEPT,
            None,
            None,
            profile,
            "within the LAN: the router passes traffic between LAN hosts",
        )
    uplinks = [u for u in policy.uplinks if flow.uplink is None or u.zone == flow.uplink]
    if not uplinks:
        return Verdict(
            flow, Action.DROP, None, None, profile, f"the site has no {flow.uplink} uplink"
        )
    answers = []
    for up in uplinks:
        rule = next(
            (
                r
                for r in policy.rules
                if r.profile == profile
                and rule_covers(r, up.interface, fam, flow.proto, dst, flow.port)
            ),
            None,
        )
        if rule:
            why = f"matches {rule.id} ({rule.source})"
            answers.append(Verdict(flow, rule.action, rule, up, profile, why))
        else:
            answers.append(Verdict(flow, default, None, up, profile, default_why))
    # a flow leaves by one uplink; without --uplink, report the one that lets it out
    return (
        next((a for a in answers if a.verdict == Action.ACCEPT and a.rule), None)
        or next((a for a in answers if a.verdict == Action.ACCEPT), None)
        or next((a for a in answers if a.rule), answers[0])
    )
