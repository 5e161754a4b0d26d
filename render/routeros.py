"""RouterOS v7: one script for a MikroTik router, pasted in a terminal or run with ``/import``.

Idempotent: every item the script adds carries a comment that starts with
``nhn-appliance:``, and the script first removes every such item (filter and
mangle rules, address lists, the LAN interface list, IPv4 and IPv6), so a
second run replaces the first instead of adding to it.

Layout mirrors nftables: ``forward`` accepts replies, drops invalid packets,
admits new connections only from the LAN interface list, passes traffic
within the LAN, jumps profile hosts (``src-address-list``) to their own chain
and the rest of the LAN to ``nhn-site``. Each chain keeps the policy's order
(one rule per uplink interface, destinations in address lists) and ends in
its default. QoS: one ``change-dscp`` mangle rule in ``postrouting`` per
piece of :func:`policy.qos.marks`; the pieces are disjoint.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from nhn_appliance.policy.addresses import chunk_ports, format_ports, format_span, span_cidrs
from nhn_appliance.policy.model import Action, Policy, Proto, Rule, Span
from nhn_appliance.policy.qos import compact_marks
from nhn_appliance.render import Artifact
from nhn_appliance.render.devices import interface_map
from nhn_appliance.render.templating import render_template

TAG = "nhn-appliance"
LAN_LIST = "nhn-lan"
MENU = {4: "/ip", 6: "/ipv6"}
PORT_SLOTS = 15  # ports per rule, a range counting two (conservative, as iptables multiport)
IFACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
ASCII = str.maketrans({"æ": "ae", "ø": "o", "å": "aa", "Æ": "Ae", "Ø": "O", "Å": "Aa"})
VERDICT = {
    Action.ACCEPT: (("action", "accept"),),
    Action.DROP: (("action", "drop"),),
    Action.REJECT: (("action", "reject"), ("reject-with", "icmp-admin-prohibited")),
}


def _ascii(text: str) -> str:
    """The RouterOS console shows non-ASCII comments as escapes: spell Norwegian letters out."""
    return str(text).translate(ASCII)


def _name(text: str) -> str:
    name = text.replace("/", "-").lower()
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"{text!r} is not a safe RouterOS name")
    return name


def _addresses(span: Span) -> list[str]:
    """IPv4 lists and matchers take ranges; IPv6 ones take prefixes only."""
    return [format_span(span)] if span.family == 4 else span_cidrs(span)


@dataclass
class Item:
    """One ``add`` command: key=value pairs (validated tokens) and its comment text."""

    pairs: tuple[tuple[str, str], ...]
    note: str


@dataclass
class Chain:
    title: str
    items: list[Item]


@dataclass
class Section:
    family: int
    menu: str
    lists: list[tuple[str, str, str]] = field(default_factory=list)  #: (list, address, note)
    chains: list[Chain] = field(default_factory=list)
    mangle: list[Item] = field(default_factory=list)


class _Lists:
    """Address lists of one family: one per endpoint (named after it) and destination group."""

    def __init__(self, section: Section) -> None:
        self.section = section
        self.names: dict[tuple[str, tuple[Span, ...]], str] = {}

    def get(self, base: str, spans: tuple[Span, ...], note: str) -> str:
        if (base, spans) in self.names:
            return self.names[(base, spans)]
        taken = set(self.names.values())
        name, n = base, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        self.names[(base, spans)] = name
        for span in spans:
            self.section.lists.extend((name, a, note) for a in _addresses(span))
        return name


def _rule_items(rule: Rule, chain: str, lists: _Lists, up: dict[str, str]) -> list[Item]:
    note = f"{rule.id} {rule.source}"
    dst = lists.get("nhn-" + _name(rule.id), rule.dst, note)
    head = (("chain", chain), *VERDICT[rule.action], ("dst-address-list", dst))
    items = []
    for iface in rule.interfaces:
        if rule.proto == Proto.ANY:
            items.append(Item((*head, ("out-interface", up[iface])), note))
            continue
        for ports in (format_ports(c) for c in chunk_ports(rule.ports, PORT_SLOTS)):
            pairs = (
                *head,
                ("protocol", rule.proto.value),
                ("dst-port", ports),
                ("out-interface", up[iface]),
            )
            items.append(Item(pairs, note))
    return items


def _section(policy: Policy, family: int, up: dict[str, str]) -> Section:
    sec = Section(family, MENU[family])
    lists = _Lists(sec)
    fwd = [
        Item(
            (
                ("chain", "forward"),
                ("action", "accept"),
                ("connection-state", "established,related"),
            ),
            "replies to allowed connections",
        ),
        Item(
            (("chain", "forward"), ("action", "drop"), ("connection-state", "invalid")),
            "invalid packets",
        ),
        Item(
            (("chain", "forward"), ("action", "drop"), ("in-interface-list", "!" + LAN_LIST)),
            "new connections only from the LAN",
        ),
        Item(
            (("chain", "forward"), ("action", "accept"), ("out-interface-list", LAN_LIST)),
            "within the LAN",
        ),
    ]
    chains = [Chain("forward: replies, then new connections from the LAN", fwd)]
    for binding in policy.profiles:
        hosts = tuple(h for h in binding.hosts if h.family == family)
        if not hosts:
            continue
        chain = "nhn-p-" + _name(binding.name)
        src = lists.get(chain, hosts, f"profile {binding.name}: {', '.join(binding.host_names)}")
        fwd.append(
            Item(
                (
                    ("chain", "forward"),
                    ("action", "jump"),
                    ("jump-target", chain),
                    ("src-address-list", src),
                ),
                f"profile {binding.name}",
            )
        )
        items = [
            i
            for r in policy.scope_rules(binding.name)
            if r.family == family
            for i in _rule_items(r, chain, lists, up)
        ]
        items.append(
            Item(
                (("chain", chain), *VERDICT[binding.otherwise]),
                f"{binding.name}: everything else blocked ({binding.source})",
            )
        )
        chains.append(
            Chain(
                f"profile {binding.name} ({binding.service}, {binding.source}): "
                f"hosts {', '.join(binding.host_names)}",
                items,
            )
        )
    prefixes = tuple(p for p in policy.lan_prefixes if p.family == family)
    if not prefixes:
        fwd.append(
            Item((("chain", "forward"), ("action", "drop")), f"the LAN has no IPv{family} prefix")
        )
    else:
        lan = lists.get("nhn-lan-prefixes", prefixes, "LAN prefixes")
        fwd.append(
            Item(
                (("chain", "forward"), ("action", "drop"), ("src-address-list", "!" + lan)),
                "source not in the LAN prefixes",
            )
        )
        fwd.append(
            Item((("chain", "forward"), ("action", "jump"), ("jump-target", "nhn-site")), "the LAN")
        )
        items = [
            i
            for r in policy.scope_rules("")
            if r.family == family
            for i in _rule_items(r, "nhn-site", lists, up)
        ]
        items.append(
            Item(
                (("chain", "nhn-site"), *VERDICT[policy.default_action]),
                policy.default_comment,
            )
        )
        chains.append(Chain(f"the LAN of {policy.site}: outbound {policy.outbound}", items))
    sec.chains = chains
    sec.mangle = _mangle(policy, family)
    return sec


def _mangle(policy: Policy, family: int) -> list[Item]:
    """One change-dscp rule per QoS piece (and per CIDR block for IPv6)."""
    items = []
    for m in compact_marks(policy, family):
        match: tuple[tuple[str, str], ...] = ()
        if m.proto != Proto.ANY:
            match = (("protocol", m.proto.value),)
            if (m.plo, m.phi) != (0, 65535):
                match += (("dst-port", str(m.plo) if m.plo == m.phi else f"{m.plo}-{m.phi}"),)
        for addr in _addresses(Span(family, m.first, m.last)):
            pairs = (
                ("chain", "postrouting"),
                ("action", "change-dscp"),
                ("new-dscp", str(m.qos.dscp)),
                ("passthrough", "yes"),
                ("dst-address", addr),
                *match,
            )
            items.append(Item(pairs, f"QoS {m.qos.name} (DSCP {m.qos.dscp}): {m.rule.id}"))
    return items


class RouterOSRenderer:
    name = "routeros"
    description = (
        "MikroTik RouterOS v7 script (paste or /import): address lists, filter, DSCP mangle"
    )

    options: dict[str, str] = {
        "lan": "the router's LAN interface(s), comma-separated "
        "(default: the site's [lan] interfaces)",
        "helsenett": "the router's interface towards the NHN router (default: the site's name)",
        "internett": "the router's interface to the site's own internet line "
        "(default: the site's name)",
    }
    limits: tuple[str, ...] = (
        "the rules are appended to the forward chain: earlier rules that accept new connections "
        "win, and FastTrack skips these rules and the DSCP marking for fast-tracked connections",
    )

    def render(self, policy: Policy, options: Mapping[str, str] | None = None) -> list[Artifact]:
        lan, up = self._interfaces(policy, dict(options or {}))
        sections = [_section(policy, family, up) for family in (4, 6)]
        text = render_template(
            "routeros.j2",
            policy=policy,
            tag=TAG,
            lan_list=LAN_LIST,
            lan=lan,
            uplinks=[(u.zone.value, up[u.interface]) for u in policy.uplinks],
            sections=sections,
            ascii=_ascii,
        )
        return [Artifact("nhn-appliance.rsc", text)]

    @staticmethod
    def _interfaces(policy: Policy, opts: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        names = interface_map(policy, opts, IFACE_RE, "ether1", "routeros", one_lan=True)
        lan = list(dict.fromkeys(names[i] for i in policy.lan_interfaces))
        return lan, {u.interface: names[u.interface] for u in policy.uplinks}


RENDERER = RouterOSRenderer()
