"""iptables: ``iptables-restore`` (IPv4) and ``ip6tables-restore`` (IPv6) files.

Each file holds whole ``filter`` and ``mangle`` tables, the form that iptables-persistent's
``rules.v4``/``rules.v6`` hold: FORWARD does the site policy, INPUT and OUTPUT
are left as ACCEPT with no rules (the router's own protection is not this
policy's business). The chain layout mirrors the nftables one; address
ranges use ``-m iprange`` and ports ``-m multiport`` (at most 15 ports per
rule, a range counting two), so the rule count stays small. The mangle table
marks traffic leaving by an uplink with its QoS class's DSCP.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from nhn_appliance.policy.addresses import chunk_ports, format_ip, format_ports, span_cidrs
from nhn_appliance.policy.model import Action, Policy, PortRange, Proto, Rule, Span
from nhn_appliance.render import Artifact
from nhn_appliance.render.escape import comment
from nhn_appliance.render.templating import render_template

REJECT = {
    4: "REJECT --reject-with icmp-admin-prohibited",
    6: "REJECT --reject-with icmp6-adm-prohibited",
}
MULTIPORT_SLOTS = 15
CHAIN_MAX = 28  # iptables chain names are at most 28 characters


def _target(action: Action, family: int) -> str:
    return {Action.ACCEPT: "ACCEPT", Action.DROP: "DROP", Action.REJECT: REJECT[family]}[action]


def chain_name(prefix: str, name: str) -> str:
    full = f"{prefix}{name.upper()}"
    if len(full) <= CHAIN_MAX:
        return full
    digest = hashlib.sha1(name.encode()).hexdigest()[:6].upper()
    return f"{full[: CHAIN_MAX - 7]}-{digest}"


def _addr_match(span: Span, flag: str) -> str:
    """``-d cidr`` when the span is one CIDR, else ``-m iprange --dst-range a-b``."""
    cidrs = span_cidrs(span)
    if len(cidrs) == 1:
        return f"-{flag} {cidrs[0]}"
    kind = "--dst-range" if flag == "d" else "--src-range"
    first, last = format_ip(span.family, span.first), format_ip(span.family, span.last)
    return f"-m iprange {kind} {first}-{last}"


def _rule_lines(rule: Rule, chain: str) -> list[str]:
    note = f'-m comment --comment "{comment(f"{rule.id} {rule.source}", 200)}"'
    target = _target(rule.action, rule.family)
    lines = []
    for iface in rule.interfaces:
        for span in rule.dst:
            dst = _addr_match(span, "d")
            if rule.proto == Proto.ANY:
                lines.append(f"-A {chain} -o {iface} {dst} {note} -j {target}")
                continue
            for chunk in chunk_ports(rule.ports, MULTIPORT_SLOTS):
                match = _ports_match(rule.proto, chunk)
                lines.append(
                    f"-A {chain} -o {iface} -p {rule.proto} {dst} {match} {note} -j {target}"
                )
    return lines


def _qos_lines(policy: Policy, family: int) -> list[str]:
    """DSCP marking in the mangle table, one rule per LAN accept rule.

    DSCP is not a terminating target, so the rules run in reverse policy
    order: the last one to match, which is the first rule of the policy,
    sets the final DSCP, as :mod:`nhn_appliance.policy.qos` defines.
    """
    lines: list[str] = []
    seen: set[tuple] = set()
    for rule in reversed(
        [r for r in policy.scope_rules("") if r.action == Action.ACCEPT and r.family == family]
    ):
        key = (rule.proto, rule.dst, rule.ports, rule.qos)
        if key in seen:
            continue
        seen.add(key)
        cls = policy.qos[rule.qos]
        note = f'-m comment --comment "{comment(f"{rule.id} {cls.name}", 200)}"'
        for span in rule.dst:
            dst = _addr_match(span, "d")
            chunks = [()] if rule.proto == Proto.ANY else chunk_ports(rule.ports, MULTIPORT_SLOTS)
            for chunk in chunks:
                match = f"-p {rule.proto} {_ports_match(rule.proto, chunk)} " if chunk else ""
                lines.append(f"-A NHN-QOS {match}{dst} {note} -j DSCP --set-dscp {cls.dscp}")
    return lines


def _ports_match(proto: str, chunk: tuple[PortRange, ...]) -> str:
    if len(chunk) == 1:
        p = chunk[0]
        return f"-m {proto} --dport {p.lo}" if p.lo == p.hi else f"-m {proto} --dport {p.lo}:{p.hi}"
    return f"-m multiport --dports {format_ports(chunk, ':')}"


@dataclass
class Chain:
    name: str
    title: str
    lines: list[str]


class IptablesRenderer:
    name = "iptables"
    description = "iptables-restore and ip6tables-restore files (whole filter table)"

    options: dict[str, str] = {}
    limits: tuple[str, ...] = (
        "a load replaces the whole filter and mangle tables (iptables-persistent style); "
        "INPUT and OUTPUT are left open",
        "no sets: one rule per destination, protocol and 15 ports, "
        "so larger than the nftables form",
    )

    def render(self, policy: Policy, options: Mapping[str, str] | None = None) -> list[Artifact]:
        out = []
        for family in (4, 6):
            if family in policy.families():
                out.append(Artifact(f"rules.v{family}", self._family(policy, family), family))
        return out

    def _family(self, policy: Policy, family: int) -> str:
        forward: list[str] = []
        lan = [
            f'-A NHN-LAN -o {i} -m comment --comment "within the LAN" -j ACCEPT'
            for i in policy.lan_interfaces
        ]
        chains: list[Chain] = []
        for binding in policy.profiles:
            hosts = [h for h in binding.hosts if h.family == family]
            if not hosts:
                continue
            name = chain_name("NHN-P-", binding.name)
            for h in hosts:
                lan.append(f"-A NHN-LAN {_addr_match(h, 's')} -j {name}")
            lines = [
                line
                for r in policy.scope_rules(binding.name)
                if r.family == family
                for line in _rule_lines(r, name)
            ]
            blocked = f"{binding.name}: everything else blocked ({binding.source})"
            lines.append(
                f'-A {name} -m comment --comment "{comment(blocked)}"'
                f" -j {_target(binding.otherwise, family)}"
            )
            chains.append(
                Chain(name, f"profile {binding.name}: hosts {', '.join(binding.host_names)}", lines)
            )
        prefixes = [p for p in policy.lan_prefixes if p.family == family]
        for p in prefixes:
            lan.append(f"-A NHN-LAN {_addr_match(p, 's')} -j NHN-SITE")
        lan.append('-A NHN-LAN -m comment --comment "source not in the LAN prefixes" -j DROP')
        site_lines = [
            line
            for r in policy.scope_rules("")
            if r.family == family
            for line in _rule_lines(r, "NHN-SITE")
        ]
        default = policy.default_comment
        site_lines.append(
            f'-A NHN-SITE -m comment --comment "{default}"'
            f" -j {_target(policy.default_action, family)}"
        )
        chains.append(
            Chain("NHN-SITE", f"the LAN of {policy.site}: outbound {policy.outbound}", site_lines)
        )
        for i in policy.lan_interfaces:
            forward.append(f"-A FORWARD -i {i} -j NHN-LAN")
        return render_template(
            "iptables.j2",
            policy=policy,
            family=family,
            tool="iptables-restore" if family == 4 else "ip6tables-restore",
            forward=forward,
            lan=lan,
            chains=chains,
            lan_ifaces=policy.lan_interfaces,
            qos=_qos_lines(policy, family),
        )


RENDERER = IptablesRenderer()
