"""JunOS view data: what the templates spell (zones, address sets, applications,
policies, filter terms, class of service), and the small spelling helpers they
share. No statement is built here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nhn_appliance.policy.addresses import span_cidrs
from nhn_appliance.policy.model import Span
from nhn_appliance.render.devices import dscp_name

ACCEPT, DISCARD = ("accept", ""), ("discard", "")
FAMILY = {4: "inet", 6: "inet6"}


def dscp_alias(value: int) -> str:
    """JunOS DSCP alias (be, ef, afXY, csN), else the six bits."""
    return dscp_name(value, "be", lambda v: format(v, "06b"))


def ident(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:48]


def cidrs(spans: tuple[Span, ...]) -> list[str]:
    host = {4: "/32", 6: "/128"}
    return [c if "/" in c else c + host[s.family] for s in spans for c in span_cidrs(s)]


def port_range(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}-{hi}"


@dataclass
class Unit:
    ifd: str
    unit: str


@dataclass
class AddressSet:
    name: str
    prefixes: list[str]


@dataclass
class App:
    name: str
    proto: str
    ports: str


@dataclass
class SecPolicy:
    name: str
    note: str
    sources: list[str]  #: address-set names, or ["any"]
    dests: list[str]
    apps: list[str]  #: application names, or ["any"]
    then: str  #: permit, reject or deny
    count: bool


@dataclass
class ZonePair:
    src: str
    dst: str
    policies: list[SecPolicy] = field(default_factory=list)


@dataclass
class Term:
    name: str
    note: str
    conditions: list[tuple[str, str]] = field(default_factory=list)  #: (match, value)
    actions: list[tuple[str, str]] = field(default_factory=list)  #: (action, argument or "")
    count: bool = False


@dataclass
class Filter:
    family: str
    name: str
    terms: list[Term] = field(default_factory=list)


@dataclass
class Cos:
    classes: list[tuple[str, int]]  #: (forwarding class, queue)
    classifier: str  #: the BA classifier on the LAN units
    classify: list[tuple[str, str]]  #: (forwarding class, code points) of that classifier
    rewrite: list[tuple[str, str]]  #: (forwarding class, code point) for every class
    schedulers: list[tuple[str, str, int, bool]]  #: (fc, scheduler, share %, strict-high)
    kinds: list[str]  #: dscp, dscp-ipv6


class Names:
    """Address sets, one per distinct content, named after their first user."""

    def __init__(self) -> None:
        self.sets: dict[str, AddressSet] = {}
        self._by_key: dict[tuple[Span, ...], str] = {}

    def get(self, spans: tuple[Span, ...], base: str) -> str:
        if spans not in self._by_key:
            name, n = ident(base), 1
            while name in self.sets:
                n += 1
                name = ident(f"{base}-{n}")
            self.sets[name] = AddressSet(name, cidrs(spans))
            self._by_key[spans] = name
        return self._by_key[spans]
