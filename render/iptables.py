"""iptables: ``iptables-restore --noflush`` (IPv4) and ``ip6tables-restore --noflush`` (IPv6).

Each file declares only this policy's own chains (``NHN-*``): under
``--noflush`` a declared chain is created, or flushed if it exists, and
nothing else in any table is touched, so a router's INPUT protection, its
NAT and its MSS clamp stay as they were. ``NHN-FWD`` decides forwarded
traffic (the layout mirrors the nftables one) and ``NHN-QOS`` marks DSCP in
the mangle table. iptables-restore has no conditional, so a file cannot add
the jumps from the built-in chains exactly once; the header's load commands
add them with ``iptables -C ... || iptables -I ...``. Both files are always
written: on a LAN without IPv6 the IPv6 file blocks forwarded IPv6.

Python builds view data (:class:`IptRule`); the template spells every line.
Address ranges use ``-m iprange`` and ports ``-m multiport`` (at most 15
ports per rule, a range counting two), so the rule count stays small.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from nhn_appliance.policy.addresses import chunk_ports, format_ip, span_cidrs
from nhn_appliance.policy.model import Action, Policy, PortRange, Proto, Rule, Span
from nhn_appliance.render import Artifact
from nhn_appliance.render.nftables import ROUTES_OPTION, route_artifacts, wants_routes
from nhn_appliance.render.templating import render_template

MULTIPORT_SLOTS = 15
CHAIN_MAX = 28  # iptables chain names are at most 28 characters
FORWARD_CHAIN = "NHN-FWD"  #: jumped to from filter FORWARD
QOS_CHAIN = "NHN-QOS"  #: jumped to from mangle FORWARD
#: ICMP type of a reject for what is not TCP (TCP gets a reset)
REJECT_ICMP = {4: "icmp-admin-prohibited", 6: "icmp6-adm-prohibited"}
TARGET = {Action.ACCEPT: "ACCEPT", Action.DROP: "DROP", Action.REJECT: "NHN-REJECT"}


@dataclass(frozen=True)
class Addr:
    """One address match: a CIDR (``-s``/``-d``) or a range (``-m iprange``)."""

    cidr: str = ""
    first: str = ""
    last: str = ""


@dataclass(frozen=True)
class IptRule:
    """One ``-A`` line; the template spells the matches in this order."""

    chain: str
    target: str
    in_iface: str = ""
    out_iface: str = ""
    proto: str = ""
    src: Addr | None = None
    dst: Addr | None = None
    ports: tuple[PortRange, ...] = ()
    ctstate: str = ""
    comment: str = ""
    reject_with: str = ""
    dscp: int | None = None


@dataclass
class Chain:
    name: str
    title: str
    rules: list[IptRule] = field(default_factory=list)


def chain_name(prefix: str, name: str) -> str:
    full = prefix + name.upper()
    if len(full) <= CHAIN_MAX:
        return full
    digest = hashlib.sha1(name.encode()).hexdigest()[:6].upper()
    return full[: CHAIN_MAX - 7] + "-" + digest


def _addr(span: Span) -> Addr:
    cidrs = span_cidrs(span)
    if len(cidrs) == 1:
        return Addr(cidr=cidrs[0])
    return Addr(first=format_ip(span.family, span.first), last=format_ip(span.family, span.last))


def _label(rule: Rule) -> str:
    return rule.id + " " + rule.source


def _port_chunks(rule: Rule) -> list[tuple[PortRange, ...]]:
    return [()] if rule.proto == Proto.ANY else chunk_ports(rule.ports, MULTIPORT_SLOTS)


def _rule_lines(rule: Rule, chain: str) -> list[IptRule]:
    """One line per uplink, destination span and chunk of at most 15 ports."""
    proto = "" if rule.proto == Proto.ANY else rule.proto.value
    return [
        IptRule(
            chain,
            TARGET[rule.action],
            out_iface=iface,
            proto=proto,
            dst=_addr(span),
            ports=chunk,
            comment=_label(rule),
        )
        for iface in rule.interfaces
        for span in rule.dst
        for chunk in _port_chunks(rule)
    ]


def _qos_rules(policy: Policy, family: int) -> list[IptRule]:
    """DSCP marking of traffic from the LAN leaving by an uplink.

    DSCP does not terminate, so the last rule that matches sets the final
    value: first the trust boundary (DSCP 0 for what no class names, unless
    the site keeps host markings), then one rule per LAN accept rule in
    reverse policy order, so the first rule of the policy wins, as
    :mod:`nhn_appliance.policy.qos` defines.
    """
    mark = QOS_CHAIN + "-MARK"
    out = [
        IptRule(QOS_CHAIN, mark, in_iface=lan, out_iface=up.interface)
        for lan in policy.lan_interfaces
        for up in policy.uplinks
    ]
    if not policy.keep_host_marking:
        out.append(IptRule(mark, "DSCP", comment="no class: DSCP 0 (trust boundary)", dscp=0))
    seen: set[tuple] = set()
    lan_accepts = [
        r for r in policy.scope_rules("") if r.action == Action.ACCEPT and r.family == family
    ]
    for rule in reversed(lan_accepts):
        key = (rule.proto, rule.dst, rule.ports, rule.qos)
        if key in seen:
            continue
        seen.add(key)
        cls = policy.qos[rule.qos]
        proto = "" if rule.proto == Proto.ANY else rule.proto.value
        out += [
            IptRule(
                mark,
                "DSCP",
                proto=proto,
                dst=_addr(span),
                ports=chunk,
                comment=rule.id + " " + cls.name,
                dscp=cls.dscp,
            )
            for span in rule.dst
            for chunk in _port_chunks(rule)
        ]
    return out


def _forward_chains(policy: Policy, family: int) -> list[Chain]:
    """NHN-FWD, NHN-LAN, one chain per profile, NHN-SITE and NHN-REJECT."""
    fwd = Chain(FORWARD_CHAIN, "forwarded traffic: replies, then new connections from the LAN")
    fwd.rules += [
        IptRule(
            FORWARD_CHAIN,
            "ACCEPT",
            ctstate="RELATED,ESTABLISHED",
            comment="replies to allowed connections",
        ),
        IptRule(FORWARD_CHAIN, "DROP", ctstate="INVALID"),
    ]
    fwd.rules += [IptRule(FORWARD_CHAIN, "NHN-LAN", in_iface=i) for i in policy.lan_interfaces]
    fwd.rules.append(IptRule(FORWARD_CHAIN, "DROP", comment="new connections only from the LAN"))

    lan = Chain("NHN-LAN", "from the LAN: within it, profile hosts, then the site")
    lan.rules += [
        IptRule("NHN-LAN", "ACCEPT", out_iface=i, comment="within the LAN")
        for i in policy.lan_interfaces
    ]
    chains = [fwd, lan]
    for binding in policy.profiles:
        hosts = [h for h in binding.hosts if h.family == family]
        if not hosts:
            continue
        name = chain_name("NHN-P-", binding.name)
        lan.rules += [IptRule("NHN-LAN", name, src=_addr(h)) for h in hosts]
        chain = Chain(name, "profile " + binding.name + ": hosts " + ", ".join(binding.host_names))
        for r in policy.scope_rules(binding.name):
            if r.family == family:
                chain.rules += _rule_lines(r, name)
        blocked = binding.name + ": everything else blocked (" + binding.source + ")"
        chain.rules.append(IptRule(name, TARGET[binding.otherwise], comment=blocked))
        chains.append(chain)
    prefixes = [p for p in policy.lan_prefixes if p.family == family]
    lan.rules += [IptRule("NHN-LAN", "NHN-SITE", src=_addr(p)) for p in prefixes]
    no_lan = (
        "source not in the LAN prefixes"
        if prefixes
        else "the LAN has no IPv" + str(family) + " prefix"
    )
    lan.rules.append(IptRule("NHN-LAN", "DROP", comment=no_lan))

    site = Chain("NHN-SITE", "the LAN of " + policy.site + ": outbound " + policy.outbound)
    for r in policy.scope_rules(""):
        if r.family == family:
            site.rules += _rule_lines(r, "NHN-SITE")
    site.rules.append(
        IptRule("NHN-SITE", TARGET[policy.default_action], comment=policy.default_comment)
    )
    chains.append(site)
    reject = Chain("NHN-REJECT", "reject: a reset for TCP, ICMP admin-prohibited for the rest")
    reject.rules += [
        IptRule("NHN-REJECT", "REJECT", proto="tcp", reject_with="tcp-reset"),
        IptRule("NHN-REJECT", "REJECT", reject_with=REJECT_ICMP[family]),
    ]
    chains.append(reject)
    return chains


class IptablesRenderer:
    name = "iptables"
    description = "iptables-restore --noflush files: own NHN-* chains only, IPv4 and IPv6"

    options: dict[str, str] = {ROUTES_OPTION: "yes: also write routes.sh (ip route replace)"}
    limits: tuple[str, ...] = (
        "iptables-restore cannot add a jump exactly once: the header's load commands hook "
        "NHN-FWD and NHN-QOS into FORWARD with iptables -C || -I",
        "filters forwarded traffic only: INPUT, OUTPUT and NAT are left as they are",
        "no sets: one rule per destination, protocol and 15 ports, "
        "so larger than the nftables form",
        "marks DSCP only: no queueing or shaping on the uplink",
    )

    def render(self, policy: Policy, options: Mapping[str, str] | None = None) -> list[Artifact]:
        routes = wants_routes(options, self.name)
        out = [
            Artifact("rules.v" + str(family), self._family(policy, family), family)
            for family in (4, 6)
        ]
        return out + (route_artifacts(policy) if routes else [])

    def _family(self, policy: Policy, family: int) -> str:
        chains = _forward_chains(policy, family)
        qos = _qos_rules(policy, family)
        return render_template(
            "iptables.j2",
            policy=policy,
            family=family,
            tool="iptables" if family == 4 else "ip6tables",
            lan_families=sorted({p.family for p in policy.lan_prefixes}),
            chains=chains,
            qos_chains=[QOS_CHAIN, QOS_CHAIN + "-MARK"],
            qos=qos,
            forward_chain=FORWARD_CHAIN,
            qos_chain=QOS_CHAIN,
        )


RENDERER = IptablesRenderer()
