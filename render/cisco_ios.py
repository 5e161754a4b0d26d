"""Cisco IOS / IOS XE: a zone-based policy firewall (ZBF) plus a LAN access list, MQC QoS.

Why this shape (Cisco documentation cited in tests/readers/cisco_ios.py):

- IOS translates the source (NAT inside-to-outside) after routing and before the
  output access list, so nothing on an uplink may match the LAN source. Every
  source-specific decision (profile hosts, "source in the LAN") is an *inbound*
  access list on the LAN interfaces, which IOS checks before routing and NAT.
- Each uplink is a ZBF zone; the zone-pair LAN -> uplink matches the destination
  only (NAT never changes it) and ``inspect``s what it lets out, so only replies
  to sessions the LAN opened come back. There is no zone-pair into the LAN: ZBF
  drops traffic between zones that have no policy.
- Per uplink: accepts of every scope on that uplink, then the LAN's rejects, then
  the site default. The LAN list gives each source its own accepts (any uplink).
- QoS: LAN input marks (class-default to DSCP 0 unless the site keeps host
  marking); each uplink's output is a shaper at the line rate with the queues as
  child, and ``max-reserved-bandwidth`` where the shares need more than 75 %.
- Re-paste: every object exists in two slots, A and B. The paste builds B,
  swaps every attachment to B, rebuilds A, swaps back and removes B, so an
  attachment always names a complete object, and a zone-pair between ``no
  service-policy`` and the next drops (fail closed). Names are fixed, so nothing
  of an earlier paste stays behind.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from nhn_appliance.policy.addresses import span_cidrs
from nhn_appliance.policy.model import Action, Policy, PortRange, Proto, Rule, Span
from nhn_appliance.render import Artifact
from nhn_appliance.render.devices import ANY_PORTS, dscp_name, interface_map, mark_pieces, text
from nhn_appliance.render.templating import render_template

IOS_IFACE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9./:-]{0,63}$")
DEFAULT_RESERVED = 75  #: classic IOS lets queues reserve 75 % unless told otherwise


def _ident(value: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "-", value.upper()).strip("-")


@dataclass(frozen=True)
class Addr:
    kind: str  #: any, host, net (IPv4 address + wildcard) or prefix (IPv6 X/len)
    ip: str = ""
    mask: str = ""


ANY = Addr("any")


def _addrs(spans: tuple[Span, ...]) -> list[Addr]:
    out = []
    for s in spans:
        for cidr in span_cidrs(s):
            net = ipaddress.ip_network(cidr)
            if net.prefixlen == 0:
                out.append(ANY)
            elif net.prefixlen == net.max_prefixlen:
                out.append(Addr("host", str(net.network_address)))
            elif net.version == 4:
                out.append(Addr("net", str(net.network_address), str(net.hostmask)))
            else:
                out.append(Addr("prefix", cidr))
    return out


@dataclass(frozen=True)
class Ace:
    action: str  #: permit / deny; "remark" for a remark (text in ``note``)
    proto: str = ""  #: ip, ipv6, tcp, udp, icmp
    src: Addr = ANY
    dst: Addr = ANY
    lo: int = -1  #: destination port range; -1: none
    hi: int = -1
    sport: int = -1  #: a source port (DHCP); -1: none
    extra: str = ""  #: an ICMPv6 message name (nd-ns, ...)
    note: str = ""


@dataclass
class Acl:
    family: int
    name: str
    aces: list[Ace] = field(default_factory=list)

    def remark(self, value: str) -> None:
        self.aces.append(Ace("remark", note=text(value)))

    def add(self, action: str, rule: Rule | None, srcs: list[Addr], dsts: list[Addr]) -> None:
        any_proto = "ip" if self.family == 4 else "ipv6"
        proto = any_proto if rule is None or rule.proto == Proto.ANY else rule.proto.value
        ports = (rule.ports if rule else ()) or (ANY_PORTS,)
        for s in srcs:
            for d in dsts:
                for p in ports:
                    lo, hi = (-1, -1) if p == ANY_PORTS else (p.lo, p.hi)
                    self.aces.append(Ace(action, proto, s, d, lo, hi))


@dataclass(frozen=True)
class Queue:
    cmap: str
    dscp: str
    kind: str  #: priority / bandwidth
    percent: int  #: 0: a priority queue without a rate


@dataclass(frozen=True)
class Uplink:
    zone: str  #: HELSENETT / INTERNETT (the ZBF zone is NHN-<zone>)
    interface: str
    acls: tuple[Acl, ...]  #: the zone-pair's destination lists, IPv4 then IPv6
    rate_bps: int  #: the parent shaper's rate; 0: no shaper (rate not given)
    reserved: int  #: max-reserved-bandwidth to render; 0: the default is enough


@dataclass(frozen=True)
class MarkClass:
    cmap: str
    acls: tuple[Acl, ...]
    dscp: str


class CiscoIosRenderer:
    name = "cisco-ios"
    description = (
        "Cisco IOS / IOS XE: zone-based firewall per uplink, LAN access list, MQC marking, "
        "shaped queueing"
    )
    options: dict[str, str] = {
        "helsenett": "IOS interface of the helsenett uplink, e.g. GigabitEthernet0/0/1 (required)",
        "internett": "IOS interface of the internett uplink (required when the site has one)",
        "lan": "IOS interface(s) of the LAN, comma-separated in the site's order (required)",
    }
    limits: tuple[str, ...] = (
        "reject and drop: the zone-based firewall drops silently; the LAN access list's deny "
        "answers ICMP administratively prohibited (rate-limited) while 'ip unreachables' is on; "
        "IOS never sends a TCP reset",
        "the uplink zone-pairs match destinations only (NAT changes the source); where a profile "
        "opens a destination on one uplink that the LAN opens only on another, the LAN reaches "
        "it by both (the site's routes send it one way)",
        "needs IOS XE 16.x or IOS 15.x with the zone-based firewall and IPv6 access lists in "
        "inspect class-maps; every interface that forwards to the LAN or uplinks must be in a zone",
        "a re-paste swaps every policy twice (slots A and B): zone-pairs drop, never pass, while "
        "they switch, so open sessions through them are cut; marking and queueing pause for "
        "the same moment",
    )

    def render(self, policy: Policy, options: Mapping[str, str] | None = None) -> list[Artifact]:
        ifmap = interface_map(
            policy, options or {}, IOS_IFACE_RE, "GigabitEthernet0/0/1", "cisco-ios"
        )
        lan = {4: [p for p in policy.lan_prefixes if p.family == 4]}
        lan[6] = [p for p in policy.lan_prefixes if p.family == 6]
        lan_acls = tuple(self._lan_acl(policy, f, tuple(lan[f])) for f in (4, 6))
        uplinks = []
        queues = self._queues(policy)
        shares = sum(q.percent for q in queues)
        for up in policy.uplinks:
            zone = _ident(up.zone.value)
            acls = tuple(self._uplink_acl(policy, f, zone, up.interface) for f in (4, 6))
            reserved = min(100, shares) if shares > DEFAULT_RESERVED else 0
            uplinks.append(
                Uplink(zone, ifmap[up.interface], acls, up.rate_mbit * 1_000_000, reserved)
            )
        marks = self._marks(policy)
        view = dict(
            policy=policy,
            lan_acls=lan_acls,
            lans=[ifmap[i] for i in policy.lan_interfaces],
            uplinks=uplinks,
            marks=marks,
            remark_all=not policy.keep_host_marking,
            queues=queues,
            qos_names=sorted({_ident(n) for n in policy.qos}),
            comment=text,
        )
        # which policy this file holds, from the view data alone (dataclasses print stably)
        digest = hashlib.sha256(
            repr((lan_acls, uplinks, marks, queues, view["remark_all"])).encode()
        )
        out = render_template("cisco_ios.j2", digest=digest.hexdigest()[:12], **view)
        return [Artifact("nhn-appliance.ios", out)]

    @staticmethod
    def _lan_acl(policy: Policy, family: int, lan: tuple[Span, ...]) -> Acl:
        """The LAN interfaces' inbound list: checked before routing and NAT, so it sees
        the real source. Profiles, then the LAN, by destination on any uplink."""
        acl = Acl(family, "NHN-LAN-IN" if family == 4 else "NHN-LAN6-IN")
        srcs = _addrs(lan)
        if not lan:
            acl.remark(f"the LAN has no IPv{family} prefix: IPv{family} is blocked")
        else:
            acl.remark("within the LAN")
            acl.add("permit", None, srcs, srcs)
            acl.remark("the router's own link services (address configuration, neighbours)")
            if family == 4:
                acl.aces.append(Ace("permit", "udp", Addr("host", "0.0.0.0"), ANY, 67, 67, 68))
            else:
                for msg in ("nd-ns", "nd-na", "router-solicitation"):
                    acl.aces.append(Ace("permit", "icmp", ANY, ANY, extra=msg))
                link = Addr("prefix", "FE80::/10")
                acl.aces.append(Ace("permit", "udp", link, ANY, 547, 547, 546))
            for b in policy.profiles:
                hosts = _addrs(tuple(h for h in b.hosts if h.family == family))
                if not hosts:
                    continue
                acl.remark(f"profile {b.name} ({b.service}, {b.source}): {', '.join(b.host_names)}")
                for r in policy.scope_rules(b.name):
                    if r.family == family and r.action == Action.ACCEPT:
                        acl.remark(f"{r.id} {r.source}")
                        acl.add("permit", r, hosts, _addrs(r.dst))
                acl.remark(f"{b.name}: everything else {b.otherwise} ({b.source})")
                acl.add("deny", None, hosts, [ANY])
            acl.remark(f"the LAN of {policy.site}")
            if policy.default_action == Action.ACCEPT:
                acl.add("permit", None, srcs, [ANY])
            for r in policy.scope_rules(""):
                if r.family == family and r.action == Action.ACCEPT:
                    acl.remark(f"{r.id} {r.source}")
                    acl.add("permit", r, srcs, _addrs(r.dst))
        acl.remark("everything else, and sources outside the LAN")
        acl.add("deny", None, [ANY], [ANY])
        return acl

    @staticmethod
    def _uplink_acl(policy: Policy, family: int, zone: str, iface: str) -> Acl:
        """What the zone-pair LAN -> uplink inspects, by destination only: accepts of
        every scope on this uplink, the LAN's rejects, then the site default."""
        acl = Acl(family, f"NHN-ZP-{zone}" if family == 4 else f"NHN-ZP6-{zone}")
        mine = [r for r in policy.rules if r.family == family and iface in r.interfaces]
        for r in mine:
            if r.action == Action.ACCEPT:
                acl.remark(f"{r.id} {r.source}" + (f" (profile {r.profile})" if r.profile else ""))
                acl.add("permit", r, [ANY], _addrs(r.dst))
        for r in mine:
            if r.action != Action.ACCEPT and not r.profile:
                acl.remark(f"{r.id} {r.source}: {r.action}")
                acl.add("deny", r, [ANY], _addrs(r.dst))
        acl.remark(policy.default_comment or f"site default: {policy.default_action}")
        acl.add("permit" if policy.default_action == Action.ACCEPT else "deny", None, [ANY], [ANY])
        return acl

    @staticmethod
    def _marks(policy: Policy) -> list[MarkClass]:
        pieces = mark_pieces(policy)
        out = []
        for name, cls in policy.qos.items():
            acls = []
            for family, marks in sorted(pieces.get(name, {}).items()):
                acl = Acl(family, ("NHN-QOS-" if family == 4 else "NHN-QOS6-") + _ident(name))
                acl.remark(f"QoS class {name}" + (f": {cls.title}" if cls.title else ""))
                for m in marks:
                    rule = Rule("", "", "", "", m.rule.zone, (), Action.ACCEPT, family, m.proto,
                                (), (PortRange(m.plo, m.phi),) if m.proto != Proto.ANY else (),
                                "", "")  # fmt: skip
                    acl.add("permit", rule, [ANY], _addrs((Span(family, m.first, m.last),)))
                acls.append(acl)
            if acls:
                out.append(MarkClass(f"NHN-MARK-{_ident(name)}", tuple(acls), dscp_name(cls.dscp)))
        return out

    @staticmethod
    def _queues(policy: Policy) -> list[Queue]:
        return [
            Queue(
                f"NHN-Q-{_ident(c.name)}",
                dscp_name(c.dscp),
                "priority" if c.priority else "bandwidth",
                c.share,
            )
            for c in policy.qos.values()
            if c.priority or c.share
        ]


RENDERER = CiscoIosRenderer()
