"""RouterOS v7: one script for a MikroTik router, pasted in a terminal or run with ``/import``.

The script never edits the policy in force. Everything it adds belongs to one
*generation* (``nhn-<digest>``: the digest of the script's statements, comments
blanked, so the same rules are the same generation and changed ones a new one):

1. checks that every interface it names exists (``:error`` otherwise);
2. removes what an interrupted earlier run of this same generation left, unless
   that generation is in force;
3. builds the generation in one ``:if`` block (interface lists, address lists,
   its own filter and mangle chains) ending with a "complete" marker: a
   failing line ends the block, so no marker;
4. only with the marker, puts one jump per table (IPv4/IPv6 filter and mangle)
   at the top of the built-in ``forward`` chain, ahead of FastTrack and any
   accept already there (a packet matching no rule of a built-in chain is
   accepted [ROS-FILTER], so an earlier accept would make the policy inert);
5. only when every jump of the generation is in place, removes older
   generations and items of earlier versions of this script.

So a failure at any line leaves each table on the previous generation or the
new one, never on none or a half-built one, whether the paste goes on line by
line or ``/import`` stops at the first error; a second run changes nothing.
The generation's own chain accepts established and related traffic itself,
so FastTrack (which skips firewall and mangle) never takes these connections
and every packet is marked.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from nhn_appliance.policy.addresses import chunk_ports, format_ports, format_span, span_cidrs
from nhn_appliance.policy.model import Action, Policy, PortRange, Proto, Rule, Span
from nhn_appliance.policy.qos import compact_marks
from nhn_appliance.render import Artifact
from nhn_appliance.render.devices import interface_map, text
from nhn_appliance.render.templating import render_template

GEN = "{G}"  #: stands for the generation until the script's digest is known (braces: never in data)
PRE = "nhn-" + GEN  #: every name the script adds starts with this
MENU = {4: "/ip", 6: "/ipv6"}
PORT_SLOTS = 15  # ports per rule, a range counting two (conservative, as iptables multiport)
IFACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
QUOTED = re.compile(r'"[^"\n]*"')
NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
Pairs = tuple[tuple[str, str], ...]


def _name(value: str) -> str:
    name = value.replace("/", "-").lower()
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"{value!r} is not a safe RouterOS name")
    return name


def _addresses(span: Span) -> list[str]:
    """IPv4 lists and matchers take ranges; IPv6 ones take prefixes only."""
    return [format_span(span)] if span.family == 4 else span_cidrs(span)


@dataclass
class Item:
    """One ``add``: its chain, then key=value pairs (validated tokens), and its comment."""

    chain: str
    pairs: Pairs
    note: str


@dataclass
class Section:
    """One family's address lists, filter chains and mangle chain."""

    family: int
    menu: str
    lists: list[tuple[str, str, str]] = field(default_factory=list)  #: (list, address, note)
    titles: dict[str, str] = field(default_factory=dict)  #: chain -> what it is
    filter: list[Item] = field(default_factory=list)
    mangle: list[Item] = field(default_factory=list)


@dataclass
class Switch:
    """The jump of one table at the top of its built-in ``forward`` chain."""

    menu: str  #: e.g. ``/ip firewall filter``
    target: str
    scope: Pairs


@dataclass
class IfList:
    name: str
    note: str
    members: list[str]


def _verdict(action: Action, proto: Proto) -> list[Pairs]:
    """Reject answers TCP with a reset (every stack gives up at once) and the rest with
    ICMP admin-prohibited; ``reject-with=tcp-reset`` needs ``protocol=tcp``."""
    if action != Action.REJECT:
        return [(("action", action.value),)]
    out: list[Pairs] = []
    if proto in (Proto.TCP, Proto.ANY):
        out.append((("action", "reject"), ("reject-with", "tcp-reset"), ("protocol", "tcp")))
    if proto in (Proto.UDP, Proto.ANY):
        out.append((("action", "reject"), ("reject-with", "icmp-admin-prohibited")))
    return out


class _Builder:
    def __init__(self, policy: Policy, family: int, up: dict[str, str]) -> None:
        self.policy, self.up = policy, up
        self.sec = Section(family, MENU[family])
        self.names: dict[tuple[str, tuple[Span, ...]], str] = {}

    def addr_list(self, base: str, spans: tuple[Span, ...], note: str) -> str:
        """One list per endpoint (named after it) and destination group."""
        if (base, spans) in self.names:
            return self.names[(base, spans)]
        taken = set(self.names.values())
        name, n = base, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        self.names[(base, spans)] = name
        for span in spans:
            self.sec.lists.extend((name, a, note) for a in _addresses(span))
        return name

    def add(self, chain: str, pairs: Pairs, note: str) -> None:
        self.sec.filter.append(Item(chain, pairs, note))

    def rule(self, rule: Rule, chain: str) -> None:
        note = f"{rule.id} {rule.source}"
        dst = (("dst-address-list", self.addr_list(f"{PRE}-{_name(rule.id)}", rule.dst, note)),)
        for iface in rule.interfaces:
            out = (("out-interface", self.up[iface]),)
            if rule.proto == Proto.ANY:
                for verdict in _verdict(rule.action, rule.proto):
                    self.add(chain, verdict + dst + out, note)
                continue
            for chunk in chunk_ports(rule.ports, PORT_SLOTS):
                match = (("protocol", rule.proto.value), ("dst-port", format_ports(chunk)))
                for verdict in _verdict(rule.action, rule.proto):
                    self.add(chain, verdict[:2] + dst + match + out, note)

    def default(self, chain: str, action: Action, note: str) -> None:
        for verdict in _verdict(action, Proto.ANY):
            self.add(chain, verdict, note)

    def build(self) -> Section:
        sec, fam, fwd = self.sec, self.sec.family, f"{PRE}-fwd"
        sec.titles[fwd] = "forward: replies, then new connections from the LAN"
        self.add(
            fwd,
            (("action", "accept"), ("connection-state", "established,related")),
            "replies to allowed connections (here, so FastTrack never skips the marking)",
        )
        self.add(fwd, (("action", "drop"), ("connection-state", "invalid")), "invalid packets")
        self.add(
            fwd,
            (("action", "drop"), ("in-interface-list", f"!{PRE}-lan")),
            "new connections only from the LAN",
        )
        self.add(
            fwd, (("action", "accept"), ("out-interface-list", f"{PRE}-lan")), "within the LAN"
        )
        prefixes = tuple(p for p in self.policy.lan_prefixes if p.family == fam)
        if not prefixes:  # an IPv4-only LAN: IPv6 from it goes nowhere
            self.add(fwd, (("action", "drop"),), f"the LAN has no IPv{fam} prefix")
            return sec
        for b in self.policy.profiles:
            hosts = tuple(h for h in b.hosts if h.family == fam)
            if not hosts:
                continue
            chain = f"{PRE}-p-{_name(b.name)}"
            src = self.addr_list(chain, hosts, f"profile {b.name}: {', '.join(b.host_names)}")
            self.add(
                fwd,
                (("action", "jump"), ("jump-target", chain), ("src-address-list", src)),
                f"profile {b.name}",
            )
            sec.titles[chain] = f"profile {b.name} ({b.service}, {b.source}): " + ", ".join(
                b.host_names
            )
            for r in self.policy.scope_rules(b.name):
                if r.family == fam:
                    self.rule(r, chain)
            self.default(chain, b.otherwise, f"{b.name}: everything else blocked ({b.source})")
        lan = self.addr_list(f"{PRE}-lan-prefixes", prefixes, "LAN prefixes")
        self.add(
            fwd,
            (("action", "drop"), ("src-address-list", "!" + lan)),
            "source not in the LAN prefixes",
        )
        site = f"{PRE}-site"
        self.add(fwd, (("action", "jump"), ("jump-target", site)), "the LAN")
        sec.titles[site] = f"the LAN of {self.policy.site}: outbound {self.policy.outbound}"
        for r in self.policy.scope_rules(""):
            if r.family == fam:
                self.rule(r, site)
        self.default(site, self.policy.default_action, self.policy.default_comment)
        sec.mangle = self.mangle()
        return sec

    def mangle(self) -> list[Item]:
        """Per QoS piece one change-dscp (pieces are disjoint, so ``passthrough=no`` ends
        the walk); what no class names leaves with DSCP 0 unless the site trusts its hosts."""
        items, chain = [], f"{PRE}-qos"
        for m in compact_marks(self.policy, self.sec.family):
            match: Pairs = ()
            if m.proto != Proto.ANY:
                match = (("protocol", m.proto.value),)
                if (m.plo, m.phi) != (0, 65535):
                    match += (("dst-port", format_ports((PortRange(m.plo, m.phi),))),)
            for addr in _addresses(Span(self.sec.family, m.first, m.last)):
                pairs = (
                    ("action", "change-dscp"),
                    ("new-dscp", str(m.qos.dscp)),
                    ("passthrough", "no"),
                    ("dst-address", addr),
                    *match,
                )
                items.append(
                    Item(chain, pairs, f"QoS {m.qos.name} (DSCP {m.qos.dscp}): {m.rule.id}")
                )
        if not self.policy.keep_host_marking:
            items.append(
                Item(
                    chain,
                    (("action", "change-dscp"), ("new-dscp", "0"), ("passthrough", "no")),
                    "no class: DSCP 0 (a host's own marking is not trusted)",
                )
            )
        return items


class RouterOSRenderer:
    name = "routeros"
    description = (
        "MikroTik RouterOS v7 script (paste or /import): address lists, filter, DSCP mangle"
    )

    options: dict[str, str] = {
        "lan": "the router's LAN interface(s), comma-separated, or one bridge (e.g. bridge)",
        "helsenett": "the router's interface towards the NHN router (e.g. ether1)",
        "internett": "the router's interface to the site's own internet line (e.g. ether2)",
    }
    limits: tuple[str, ...] = (
        "FastTrack is not used for the traffic of the LAN and uplinks: the policy accepts "
        "established connections itself, ahead of any fasttrack rule, so DSCP marking sees "
        "every packet (more CPU per packet)",
        "the four tables (IPv4/IPv6 filter and mangle) switch to a new generation one after "
        "another, not together; each holds one whole generation at any time",
        "packets that come in by other interfaces (VPN, management) skip the policy and keep "
        "the rules already there",
        "no queues: DSCP marking only",
    )

    def render(self, policy: Policy, options: Mapping[str, str] | None = None) -> list[Artifact]:
        names = interface_map(
            policy, dict(options or {}), IFACE_RE, "ether1", "routeros", one_lan=True
        )
        lan = list(dict.fromkeys(names[i] for i in policy.lan_interfaces))
        up = {u.interface: names[u.interface] for u in policy.uplinks}
        wan = list(dict.fromkeys(up.values()))
        sections = [_Builder(policy, family, up).build() for family in (4, 6)]
        iflists = [
            IfList(f"{PRE}-lan", "LAN interfaces", lan),
            IfList(f"{PRE}-wan", "uplinks", wan),
            IfList(f"{PRE}-all", "LAN and uplinks: what this policy governs", lan + wan),
        ]
        switches = []
        for s in sections:
            switches.append(
                Switch(
                    f"{s.menu} firewall filter",
                    f"{PRE}-fwd",
                    (("in-interface-list", f"{PRE}-all"),),
                )
            )
        for s in sections:
            if s.mangle:
                switches.append(
                    Switch(
                        f"{s.menu} firewall mangle",
                        f"{PRE}-qos",
                        (("in-interface-list", f"{PRE}-lan"), ("out-interface-list", f"{PRE}-wan")),
                    )
                )
        script = render_template(
            "routeros.j2",
            policy=policy,
            gen=GEN,
            interfaces=list(dict.fromkeys(lan + wan)),
            lan=lan,
            uplinks=[(u.zone.value, up[u.interface]) for u in policy.uplinks],
            iflists=iflists,
            sections=sections,
            switches=switches,
            marker_menu="/ip firewall filter",
            text=text,
        )
        # the generation is the digest of what the device acts on (statements, comments
        # blanked): the same rules are the same generation, a changed rule is a new one
        acted = [QUOTED.sub('""', x) for x in script.splitlines() if not x.startswith("#")]
        digest = "g" + hashlib.sha256("\n".join(acted).encode()).hexdigest()[:8]
        return [Artifact("nhn-appliance.rsc", script.replace(GEN, digest))]


RENDERER = RouterOSRenderer()
