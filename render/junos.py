"""JunOS: ``set`` commands to paste (``load set terminal``) and commit.

Per uplink, one stateless firewall filter per family (``family inet`` /
``inet6 filter nhn-out-ZONE``), applied as output filter on the uplink's unit,
with one term per policy rule in the policy's order: each profile's terms
(``source-prefix-list`` of its hosts), its ``otherwise`` term, the LAN's terms
(``source-prefix-list nhn-lan``), the site default and a final discard of
anything not from the LAN. Destinations are prefix lists (or one address),
rejects are ``reject`` (ICMP administratively prohibited) and drops
``discard``.

Class of service: a forwarding class per QoS class (DSCP 0 is ``best-effort``,
CS6 ``network-control``), a DSCP classifier and rewrite rule, schedulers with
the shares and ``priority strict-high`` for priority classes, and a
multifield classifier (``nhn-qos``, the LAN units' input filter) built from
:func:`nhn_appliance.policy.qos.marks` that sets forwarding class and DSCP.
Comments are ``#`` lines, which the JunOS CLI ignores; every one goes through
the escaping of :func:`text`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from nhn_appliance.errors import UsageError
from nhn_appliance.policy.addresses import span_cidrs
from nhn_appliance.policy.model import Action, Policy, Proto, QosClass, Rule, Span
from nhn_appliance.render import Artifact
from nhn_appliance.render.devices import ANY_PORTS, dscp_name, interface_map, mark_pieces, text
from nhn_appliance.render.templating import render_template

JUNOS_IFACE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9/:_-]{0,31}(\.[0-9]{1,5})?$")
FREE_QUEUES = (1, 2, 4, 5, 6, 7)  #: best-effort keeps queue 0, network-control queue 3
THEN = {Action.ACCEPT: "accept", Action.REJECT: "reject", Action.DROP: "discard"}
FAMILY = {4: "inet", 6: "inet6"}
PROTO = {4: "protocol", 6: "next-header"}


def dscp_alias(value: int) -> str:
    """JunOS DSCP alias (be, ef, afXY, csN), else the six bits."""
    return dscp_name(value, "be", lambda v: format(v, "06b"))


def _ident(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:60]


def _port(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}-{hi}"


@dataclass
class Term:
    name: str
    note: str  #: escaped free text, printed as a '#' line before the term
    conditions: list[str] = field(default_factory=list)  #: "from ..." parts
    actions: list[str] = field(default_factory=list)  #: "then ..." parts


@dataclass
class Filter:
    family: str
    name: str
    terms: list[Term] = field(default_factory=list)


class PrefixLists:
    """Prefix lists, one per distinct content, named after their first user."""

    def __init__(self) -> None:
        self.items: dict[str, list[str]] = {}
        self._by_key: dict[tuple[Span, ...], str] = {}

    def get(self, spans: tuple[Span, ...], base: str) -> str:
        if spans not in self._by_key:
            name = _ident(base) + ("-v6" if spans[0].family == 6 else "")
            n = 1
            while name in self.items:
                n += 1
                name = _ident(f"{base}-{n}") + ("-v6" if spans[0].family == 6 else "")
            self.items[name] = [
                c if "/" in c else f"{c}/{32 if s.family == 4 else 128}"
                for s in spans
                for c in span_cidrs(s)
            ]
            self._by_key[spans] = name
        return self._by_key[spans]


def forwarding_classes(qos: dict[str, QosClass]) -> dict[str, tuple[str, int]]:
    """QoS class name -> (forwarding class, queue)."""
    out: dict[str, tuple[str, int]] = {}
    free = list(FREE_QUEUES)
    for name, cls in qos.items():
        if cls.dscp == 0:
            out[name] = ("best-effort", 0)
        elif cls.dscp == 48:
            out[name] = ("network-control", 3)
        elif name in ("best-effort", "network-control"):
            raise UsageError(
                f"QoS class {name}: the name of a JunOS forwarding class, with another DSCP"
            )
        elif not free:
            raise UsageError(
                f"QoS class {name}: JunOS has 8 queues and the other classes use them all"
            )
        else:
            out[name] = (f"nhn-{name}", free.pop(0))
    return out


class JunosRenderer:
    name = "junos"
    description = (
        "JunOS set commands: stateless filters per uplink with prefix lists, class of service"
    )
    options: dict[str, str] = {
        "helsenett": "JunOS unit of the helsenett uplink, e.g. ge-0/0/1.0 "
        "(default: the site's name, unit 0)",
        "internett": "JunOS unit of the internett uplink, e.g. ge-0/0/2.0 "
        "(default: the site's name, unit 0)",
        "lan": "JunOS unit(s) of the LAN, comma-separated in the site's order, e.g. ge-0/0/0.0",
    }
    limits: tuple[str, ...] = (
        "stateless: the filters act only on what leaves by the uplinks; connections started from "
        "the uplink side are not filtered (use security policies on an SRX)",
        "the filters replace any output filter of the uplink units and any input filter of the LAN "
        "units, and the scheduler map replaces the uplinks' one",
        "forwarding classes: best-effort keeps queue 0 and network-control queue 3, the other QoS "
        "classes take queues 1, 2 and 4-7 in catalogue order (at most six; fewer-queue platforms "
        "need them merged by hand)",
        "IPv6 is filtered only when the LAN has an IPv6 prefix; leave family inet6 off otherwise",
    )

    def render(self, policy: Policy, options: Mapping[str, str] | None = None) -> list[Artifact]:
        units = self._units(policy, options or {})
        lists = PrefixLists()
        # IPv4 always (a LAN without IPv4 gets a filter that discards it); IPv6 where the LAN has it
        families = [4] + [6] * any(p.family == 6 for p in policy.lan_prefixes)
        filters: list[Filter] = []
        interfaces: list[str] = []
        for up in policy.uplinks:
            name = f"nhn-out-{up.zone.value}"
            for family in families:
                filters.append(self._filter(policy, up.interface, family, name, lists))
                interfaces.append(
                    f"{units[up.interface]} family {FAMILY[family]} filter output {name}"
                )
        fcs = forwarding_classes(policy.qos)
        pieces = mark_pieces(policy)
        for family in families:
            qos_filter = self._marking(policy, family, pieces, fcs)
            if any(
                len(f) for f in pieces.values()
            ):  # also a bare one, so a unit never names a lost filter
                filters.append(qos_filter)
                interfaces += [
                    f"{units[i]} family {FAMILY[family]} filter input nhn-qos"
                    for i in policy.lan_interfaces
                ]
        kinds = ["dscp"] + (["dscp-ipv6"] if 6 in families else [])
        cos, schedulers = self._cos(policy, fcs, kinds, units)
        roles = [(u.zone.value, units[u.interface]) for u in policy.uplinks] + [
            ("LAN", units[i]) for i in policy.lan_interfaces
        ]
        text_ = render_template(
            "junos.j2",
            policy=policy,
            roles=roles,
            lists=lists.items,
            filters=filters,
            interfaces=interfaces,
            cos=cos,
            schedulers=schedulers,
            kinds=kinds,
            comment=text,
        )
        return [Artifact("nhn-appliance.set", text_)]

    @staticmethod
    def _cos(
        policy: Policy, fcs: dict[str, tuple[str, int]], kinds: list[str], units: dict[str, str]
    ) -> tuple[list[str], list[str]]:
        """class-of-service lines (after 'set class-of-service') and the scheduler names."""
        lines = [
            f"forwarding-classes class {fc} queue-num {q}"
            for fc, q in sorted(set(fcs.values()), key=lambda x: x[1])
        ]
        for what, key in (("classifiers", "code-points"), ("rewrite-rules", "code-point")):
            for kind in kinds:
                for name, cls in policy.qos.items():
                    fc = fcs[name][0]
                    if what == "rewrite-rules" and fc == "best-effort":
                        continue  # unclassified traffic keeps its marking
                    lines.append(
                        f"{what} {kind} nhn forwarding-class {fc} loss-priority low "
                        f"{key} {dscp_alias(cls.dscp)}"
                    )
        chosen: dict[str, QosClass | None] = {}
        for name, cls in policy.qos.items():
            chosen.setdefault(
                fcs[name][0], cls
            )  # the first class of a forwarding class sets its queue
        chosen.setdefault("best-effort", None)
        names = {fc: fc if fc.startswith("nhn-") else f"nhn-{fc}" for fc in chosen}
        for fc, queued in chosen.items():
            rate = f"percent {queued.share}" if queued and queued.share else "remainder"
            lines.append(f"schedulers {names[fc]} transmit-rate {rate}")
            if queued and queued.priority:
                lines.append(f"schedulers {names[fc]} priority strict-high")
        lines += [
            f"scheduler-maps nhn forwarding-class {fc} scheduler {s}" for fc, s in names.items()
        ]
        for i in policy.lan_interfaces:
            ifd, unit = units[i].split(" unit ")
            lines += [f"interfaces {ifd} unit {unit} classifiers {k} nhn" for k in kinds]
        for up in policy.uplinks:
            ifd, unit = units[up.interface].split(" unit ")
            lines.append(f"interfaces {ifd} scheduler-map nhn")
            lines += [f"interfaces {ifd} unit {unit} rewrite-rules {k} nhn" for k in kinds]
        return lines, list(names.values())

    @staticmethod
    def _units(policy: Policy, options: Mapping[str, str]) -> dict[str, str]:
        """Site interface -> "IFD unit N" (unit 0 unless the name ends in .N)."""
        out = {}
        for site_name, name in interface_map(
            policy, options, JUNOS_IFACE_RE, "ge-0/0/1.0", "junos"
        ).items():
            ifd, dot, unit = name.rpartition(".")
            out[site_name] = f"{ifd} unit {unit}" if dot and unit.isdigit() else f"{name} unit 0"
        return out

    def _filter(
        self, policy: Policy, iface: str, family: int, name: str, lists: PrefixLists
    ) -> Filter:
        flt = Filter(FAMILY[family], name)
        for b in policy.profiles:
            hosts = tuple(h for h in b.hosts if h.family == family)
            if not hosts:
                continue
            src = f"source-prefix-list {lists.get(hosts, f'nhn-hosts-{b.name}')}"
            rules = [
                r
                for r in policy.scope_rules(b.name)
                if r.family == family and iface in r.interfaces
            ]
            self._terms(flt, rules, src, f"p-{b.name}", lists)
            flt.terms.append(
                Term(
                    f"p-{b.name}-otherwise",
                    text(f"{b.name}: everything else blocked ({b.source})"),
                    [src],
                    [THEN[b.otherwise]],
                )
            )
        lan = tuple(p for p in policy.lan_prefixes if p.family == family)
        if not lan:
            flt.terms.append(
                Term("no-lan-prefix", f"the LAN has no IPv{family} prefix", [], ["discard"])
            )
            return flt
        src = f"source-prefix-list {lists.get(lan, 'nhn-lan')}"
        rules = [r for r in policy.scope_rules("") if r.family == family and iface in r.interfaces]
        self._terms(flt, rules, src, "lan", lists)
        default = policy.default_comment
        flt.terms.append(Term("lan-default", text(default), [src], [THEN[policy.default_action]]))
        flt.terms.append(Term("not-from-lan", "source not in the LAN prefixes", [], ["discard"]))
        return flt

    @staticmethod
    def _terms(flt: Filter, rules: list[Rule], src: str, block: str, lists: PrefixLists) -> None:
        family = 4 if flt.family == "inet" else 6
        for n, r in enumerate(rules, 1):
            cidrs = [c for s in r.dst for c in span_cidrs(s)]
            if len(cidrs) == 1:
                host = "/32" if family == 4 else "/128"
                dst = f"destination-address {cidrs[0] if '/' in cidrs[0] else cidrs[0] + host}"
            else:
                dst = f"destination-prefix-list {lists.get(r.dst, f'nhn-{r.id}')}"
            cond = [src, dst]
            if r.proto != Proto.ANY:
                cond.append(f"{PROTO[family]} {r.proto}")
                cond += [f"destination-port {_port(p.lo, p.hi)}" for p in r.ports]
            flt.terms.append(
                Term(f"{block}-{n}", text(f"{r.id} {r.source}"), cond, [THEN[r.action]])
            )

    @staticmethod
    def _marking(policy: Policy, family: int, pieces, fcs) -> Filter:
        flt = Filter(FAMILY[family], "nhn-qos")
        set_dscp = "dscp" if family == 4 else "traffic-class"
        host = "/32" if family == 4 else "/128"
        for name, cls in policy.qos.items():
            by_port: dict[tuple, list[str]] = {}  # (proto, lo, hi) -> destinations
            for m in pieces.get(name, {}).get(family, []):
                by_port.setdefault((m.proto, m.plo, m.phi), []).extend(
                    c if "/" in c else c + host for c in span_cidrs(Span(family, m.first, m.last))
                )
            terms: dict[tuple, list[tuple[int, int]]] = {}  # (proto, destinations) -> port ranges
            for (proto, lo, hi), cidrs in by_port.items():
                terms.setdefault((proto, tuple(cidrs)), []).append((lo, hi))
            note = text(f"QoS class {name}" + (f": {cls.title}" if cls.title else ""))
            for n, ((proto, cidrs), ports) in enumerate(terms.items(), 1):
                cond = [f"destination-address {c}" for c in cidrs]
                if proto != Proto.ANY:
                    cond.append(f"{PROTO[family]} {proto}")
                    if ANY_PORTS not in ports:
                        cond += [f"destination-port {_port(lo, hi)}" for lo, hi in ports]
                flt.terms.append(
                    Term(
                        f"{name}-{n}",
                        note,
                        cond,
                        [
                            f"forwarding-class {fcs[name][0]}",
                            f"{set_dscp} {dscp_alias(cls.dscp)}",
                            "accept",
                        ],
                    )
                )
        flt.terms.append(Term("other", "everything else keeps its marking", [], ["accept"]))
        return flt


RENDERER = JunosRenderer()
