"""Cisco IOS / IOS XE: configuration to paste in ``configure terminal``.

Per uplink, one extended access list (``ip access-group NAME out``) and one
IPv6 list (``ipv6 traffic-filter NAME out``) in the policy's order: each
profile's permits from its hosts and a ``deny`` of the rest from them, the
LAN's permits, explicit rejects as ``deny``, then the site default. Sources
are the LAN prefixes (or a profile's hosts), so nothing from elsewhere
leaves. IPv4 uses ``object-group network``/``service``; IPv6 entries are
written out (IPv6 object groups are missing on many releases).

QoS (MQC): a marking policy-map on the LAN interfaces (``service-policy
input``) whose class-maps match plain access lists built from
:func:`nhn_appliance.policy.qos.marks` and ``set dscp``; a queueing
policy-map on each uplink (``service-policy output``), classes matched by
``match dscp``, with ``priority percent`` or ``bandwidth percent``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from nhn_appliance.policy.addresses import format_ip, span_cidrs
from nhn_appliance.policy.model import Action, Policy, PortRange, Proto, Rule, Span
from nhn_appliance.render import Artifact
from nhn_appliance.render.devices import ANY_PORTS, dscp_name, interface_map, mark_pieces, text
from nhn_appliance.render.templating import render_template

IOS_IFACE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9./:-]{0,63}$")
VERB = {Action.ACCEPT: "permit", Action.DROP: "deny", Action.REJECT: "deny"}


def _ident(value: str, limit: int = 48) -> str:
    name = re.sub(r"[^A-Z0-9]+", "-", value.upper()).strip("-")
    if len(name) > limit:
        name = f"{name[: limit - 7]}-{hashlib.sha1(name.encode()).hexdigest()[:6].upper()}"
    return name


def _addr(cidr: str) -> str:
    """One CIDR as an ACE address: any, host X, net wildcard (IPv4) or X/len (IPv6)."""
    net = ipaddress.ip_network(cidr)
    if net.prefixlen == 0:
        return "any"
    if net.prefixlen == net.max_prefixlen:
        return f"host {net.network_address}"
    return f"{net.network_address} {net.hostmask}" if net.version == 4 else str(net)


def _ports(p: PortRange) -> str:
    if p == ANY_PORTS:
        return ""
    return f" eq {p.lo}" if p.lo == p.hi else f" range {p.lo} {p.hi}"


@dataclass
class Group:
    kind: str  #: network or service
    name: str
    description: str
    entries: list[str]


@dataclass
class AccessList:
    header: str  #: "ip access-list extended" or "ipv6 access-list"
    name: str
    lines: list[str] = field(default_factory=list)

    def remark(self, value: str) -> None:
        line = "remark " + text(value)
        if not self.lines or self.lines[-1] != line:
            self.lines.append(line)


class Groups:
    """Object groups, one per distinct content, named after their first user."""

    def __init__(self) -> None:
        self.items: list[Group] = []
        self._by_key: dict[tuple, str] = {}

    def get(self, kind: str, key: tuple, base: str, description: str, entries: list[str]) -> str:
        if key not in self._by_key:
            name, n = _ident(base), 1
            while any(g.name == name for g in self.items):
                n += 1
                name = _ident(f"{base}-{n}")
            self.items.append(Group(kind, name, text(description), entries))
            self._by_key[key] = name
        return self._by_key[key]

    def network(self, spans: tuple[Span, ...], base: str, description: str) -> str:
        entries = []
        for s in spans:
            cidrs = span_cidrs(s)
            if len(cidrs) > 1:
                entries.append(f"range {format_ip(4, s.first)} {format_ip(4, s.last)}")
            else:
                net = ipaddress.ip_network(cidrs[0])
                entries.append(
                    f"host {cidrs[0]}"
                    if net.prefixlen == 32
                    else f"{net.network_address} {net.netmask}"
                )
        return self.get("network", spans, base, description, entries)


class CiscoIosRenderer:
    name = "cisco-ios"
    description = (
        "Cisco IOS / IOS XE: extended access lists with object groups, MQC marking and queueing"
    )
    options: dict[str, str] = {
        "helsenett": "IOS interface of the helsenett uplink, e.g. GigabitEthernet0/1 "
        "(default: the site's name)",
        "internett": "IOS interface of the internett uplink (default: the site's name)",
        "lan": "IOS interface(s) of the LAN, comma-separated in the site's order "
        "(default: the site's names)",
    }
    limits: tuple[str, ...] = (
        "reject and drop are both 'deny': IOS answers a denied packet with ICMP unreachable "
        "(administratively prohibited, rate-limited) while 'ip unreachables' is on, the default, "
        "and stays silent with 'no ip unreachables'; it never sends a TCP reset",
        "stateless: the lists filter only what leaves by the uplinks; connections started from the "
        "uplink side and the router's own traffic are not filtered (add a zone-based firewall)",
        "queueing acts only when the interface itself is congested: behind a slower line, nest "
        "NHN-QUEUE under a 'shape average' policy; old IOS needs 'max-reserved-bandwidth 100' "
        "when the shares add up to more than 75%",
        "re-pasting replaces the access lists: between 'no ip access-list' and the new list the "
        "uplink passes everything for a moment (use 'configure replace' to avoid it)",
    )

    def render(self, policy: Policy, options: Mapping[str, str] | None = None) -> list[Artifact]:
        ifmap = interface_map(
            policy, options or {}, IOS_IFACE_RE, "GigabitEthernet0/0/1", "cisco-ios"
        )
        groups = Groups()
        lan4 = tuple(p for p in policy.lan_prefixes if p.family == 4)
        src4 = (
            [f"object-group {groups.network(lan4, 'NHN-LAN', f'LAN prefixes of {policy.site}')}"]
            if lan4
            else []
        )
        src6 = [_addr(c) for p in policy.lan_prefixes if p.family == 6 for c in span_cidrs(p)]
        acls: list[AccessList] = []
        interfaces: dict[str, list[str]] = {}
        for up in policy.uplinks:
            acl4 = AccessList("ip access-list extended", f"NHN-OUT-{_ident(up.zone.value)}")
            acl6 = AccessList("ipv6 access-list", f"NHN-OUT6-{_ident(up.zone.value)}")
            for b in policy.profiles:
                title = (
                    f"profile {b.name} ({b.service}, {b.source}): hosts {', '.join(b.host_names)}"
                )
                hosts4 = tuple(h for h in b.hosts if h.family == 4)
                src = (
                    [f"object-group {groups.network(hosts4, f'NHN-HOSTS-{b.name}', title)}"]
                    if hosts4
                    else []
                )
                hosts6 = [_addr(c) for h in b.hosts if h.family == 6 for c in span_cidrs(h)]
                for acl, srcs in ((acl4, src), (acl6, hosts6)):
                    if srcs:
                        acl.remark(title)
                        self._aces(acl, policy.scope_rules(b.name), up.interface, srcs, groups)
                        acl.remark(f"{b.name}: everything else blocked ({b.source})")
                        acl.lines += [f"{VERB[b.otherwise]} {self._any(acl)} {s} any" for s in srcs]
            for acl, srcs in ((acl4, src4), (acl6, src6)):
                self._site(policy, acl, srcs, up.interface, groups)
            acls += [acl4, acl6]
            interfaces[ifmap[up.interface]] = [
                f"ip access-group {acl4.name} out",
                f"ipv6 traffic-filter {acl6.name} out",
            ]
        qos_acls, class_maps, policy_maps = self._qos(policy)
        for name, _ in policy_maps:
            for i in (
                [u.interface for u in policy.uplinks]
                if name == "NHN-QUEUE"
                else policy.lan_interfaces
            ):
                direction = "output" if name == "NHN-QUEUE" else "input"
                interfaces.setdefault(ifmap[i], []).append(f"service-policy {direction} {name}")
        roles = [(u.zone.value, ifmap[u.interface]) for u in policy.uplinks] + [
            ("LAN", ifmap[i]) for i in policy.lan_interfaces
        ]
        out = render_template(
            "cisco_ios.j2",
            policy=policy,
            groups=groups.items,
            acls=acls,
            qos_acls=qos_acls,
            class_maps=class_maps,
            policy_maps=policy_maps,
            interfaces=interfaces,
            roles=roles,
            comment=text,
        )
        return [Artifact("nhn-appliance.ios", out)]

    @staticmethod
    def _any(acl: AccessList) -> str:
        return "ipv6" if acl.header.startswith("ipv6") else "ip"

    def _site(
        self, policy: Policy, acl: AccessList, srcs: list[str], iface: str, groups: Groups
    ) -> None:
        family = 6 if acl.header.startswith("ipv6") else 4
        if not srcs:
            acl.remark(f"the LAN has no IPv{family} prefix")
        else:
            acl.remark(f"the LAN of {policy.site}")
            self._aces(acl, policy.scope_rules(""), iface, srcs, groups)
            acl.remark(policy.default_comment)
            if policy.default_action == Action.ACCEPT:
                acl.lines += [f"permit {self._any(acl)} {s} any" for s in srcs]
                acl.remark("source not in the LAN prefixes")
        if family == 6:
            acl.remark("neighbour discovery (a final deny removes the implicit permits)")
            acl.lines += ["permit icmp any any nd-na", "permit icmp any any nd-ns"]
        acl.lines.append(f"deny {self._any(acl)} any any")

    def _aces(
        self, acl: AccessList, rules: tuple[Rule, ...], iface: str, srcs: list[str], groups: Groups
    ) -> None:
        family = 6 if acl.header.startswith("ipv6") else 4
        for r in (r for r in rules if r.family == family and iface in r.interfaces):
            acl.remark(f"{r.id} {r.source}")
            proto = self._any(acl) if r.proto == Proto.ANY else r.proto.value
            cidrs = [c for s in r.dst for c in span_cidrs(s)]
            if family == 6 or len(r.dst) == 1 and len(cidrs) == 1:
                dsts = [_addr(c) for c in cidrs]
            else:
                dsts = [
                    "object-group " + groups.network(r.dst, f"NHN-{r.id}", f"addresses of {r.id}")
                ]
            if family == 4 and len(r.ports) > 1:  # a port list: a service group
                ports = "-".join(str(p.lo) if p.lo == p.hi else f"{p.lo}-{p.hi}" for p in r.ports)
                proto = "object-group " + groups.get(
                    "service",
                    (r.proto, r.ports),
                    f"NHN-{r.proto}-{ports}",
                    f"{r.proto} ports of {r.id}",
                    [f"{r.proto}{_ports(p)}" for p in r.ports],
                )
                ports_each: tuple[PortRange, ...] = (ANY_PORTS,)
            else:
                ports_each = r.ports or (ANY_PORTS,)
            acl.lines += [
                f"{VERB[r.action]} {proto} {s} {d}{_ports(p)}"
                for s in srcs
                for d in dsts
                for p in ports_each
            ]

    @staticmethod
    def _qos(policy: Policy):
        """Marking lists and class-maps per class used; queueing class-maps per queued class."""
        pieces = mark_pieces(policy)
        acls: list[AccessList] = []
        class_maps: list[tuple[str, list[str]]] = []
        marking: list[tuple[str, list[str]]] = []
        for name, cls in policy.qos.items():
            if name not in pieces:
                continue
            matches = []
            for family, marks_ in sorted(pieces[name].items()):
                acl = (
                    AccessList("ip access-list extended", f"NHN-QOS-{_ident(name)}")
                    if family == 4
                    else AccessList("ipv6 access-list", f"NHN-QOS6-{_ident(name)}")
                )
                acl.remark(f"QoS class {name}" + (f": {cls.title}" if cls.title else ""))
                for m in marks_:
                    proto = {Proto.ANY: "ip" if family == 4 else "ipv6"}.get(m.proto, m.proto.value)
                    acl.lines += [
                        f"permit {proto} any {_addr(c)}{_ports(PortRange(m.plo, m.phi))}"
                        for c in span_cidrs(Span(family, m.first, m.last))
                    ]
                acls.append(acl)
                matches.append(f"match access-group name {acl.name}")
            class_maps.append((f"NHN-MARK-{_ident(name)}", matches))
            marking.append((f"NHN-MARK-{_ident(name)}", [f"set dscp {dscp_name(cls.dscp)}"]))
        queues = [
            (c, f"priority percent {c.share}" if c.share else "priority")
            if c.priority
            else (c, f"bandwidth percent {c.share}")
            for c in policy.qos.values()
            if c.priority or c.share
        ]
        class_maps += [
            (f"NHN-Q-{_ident(c.name)}", [f"match dscp {dscp_name(c.dscp)}"]) for c, _ in queues
        ]
        policy_maps = [("NHN-MARK", marking)] if marking else []
        if queues:
            policy_maps.append(("NHN-QUEUE", [(f"NHN-Q-{_ident(c.name)}", [a]) for c, a in queues]))
        return acls, class_maps, policy_maps


RENDERER = CiscoIosRenderer()
