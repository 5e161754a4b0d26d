"""nftables: one ``inet`` table for a Linux router, loaded with ``nft -f``.

Layout: the forward chain accepts replies, admits new connections only from
the LAN, sends profile hosts to their own chain and the rest of the LAN to the
``site`` chain. Each of those chains makes at most one set lookup per family
for "every protocol" destinations (``oifname . daddr``) and one for
port-specific ones (``oifname . daddr . l4proto . dport``), then applies its
default. A reject goes to one chain that answers TCP with a reset and the
rest with ICMP admin-prohibited. Set elements carry a comment naming service
and source, and a counter each. A forward chain at mangle priority marks
traffic from the LAN leaving by an uplink with its QoS class's DSCP
(:mod:`nhn_appliance.policy.qos`), and with DSCP 0 where no class names it
unless the site keeps host markings. It runs in the forward hook because
only there are both the input and the output interface known.

Python builds view data (the dataclasses below); the template spells it.
``-O routes=yes`` adds ``routes.sh`` (also used by the iptables target).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nhn_appliance.errors import UsageError
from nhn_appliance.policy.addresses import format_span, parse_ip, span_cidrs
from nhn_appliance.policy.model import Action, Policy, Proto, Rule, Span
from nhn_appliance.policy.qos import Mark, marks
from nhn_appliance.policy.sets import Element, disjoint
from nhn_appliance.render import Artifact
from nhn_appliance.render.escape import identifier
from nhn_appliance.render.templating import render_template

TABLE = "nhn_appliance"
REJECT_CHAIN = "reject_flow"  #: a reset for TCP, ICMP admin-prohibited for the rest
ROUTES_OPTION = "routes"


@dataclass(frozen=True)
class NftElement:
    """One set or map element: [oifname .] address [. proto . ports] [: goto chain]."""

    addr: str
    comment: str
    iface: str = ""
    proto: str = ""
    plo: int = 0
    phi: int = 0
    goto: str = ""  #: for verdict maps


@dataclass
class NftSet:
    name: str
    family: int
    elements: list[NftElement]
    iface: bool = True  #: the key starts with the output interface
    ports: bool = False  #: the key ends with protocol and port
    verdict: bool = False  #: a verdict map, not a set
    interval: bool = True
    counter: bool = True


@dataclass(frozen=True)
class Lookup:
    """``oifname . daddr [. l4proto . dport] @set`` and its verdict."""

    family: int
    set: str
    ports: bool
    action: Action


@dataclass(frozen=True)
class Dispatch:
    family: int
    set: str
    chain: str


@dataclass
class Scope:
    chain: str
    title: str
    default: Action
    default_comment: str
    lookups: list[Lookup] = field(default_factory=list)


@dataclass(frozen=True)
class MarkChain:
    name: str
    family: int
    dscp: int
    note: str


@dataclass(frozen=True)
class Route:
    """``ip [-6] route replace CIDR [via GATEWAY] dev IFACE``."""

    family: int
    cidr: str
    iface: str
    gateway: str = ""


def _label(rule: Rule) -> str:
    return rule.id + " " + rule.source


def _element(e: Element, with_ports: bool) -> NftElement:
    addr = format_span(Span(e.rule.family, e.first, e.last))
    if not with_ports:
        return NftElement(addr, _label(e.rule), iface=e.interface)
    return NftElement(addr, _label(e.rule), e.interface, e.proto.value, e.plo, e.phi)


def _scope_sets(rules: list[Rule], prefix: str, scope: Scope, sets: list[NftSet]) -> None:
    """Add the sets of one block and the lookups that use them, in policy order."""
    groups = (
        ("any", Action.ACCEPT, lambda r: r.action == Action.ACCEPT and r.proto == Proto.ANY),
        ("svc", Action.ACCEPT, lambda r: r.action == Action.ACCEPT and r.proto != Proto.ANY),
        ("rej_any", Action.REJECT, lambda r: r.action != Action.ACCEPT and r.proto == Proto.ANY),
        ("rej_svc", Action.REJECT, lambda r: r.action != Action.ACCEPT and r.proto != Proto.ANY),
    )
    for family in (4, 6):
        for kind, action, wanted in groups:
            elements = disjoint([r for r in rules if r.family == family and wanted(r)], family)
            if not elements:
                continue
            with_ports = kind.endswith("svc")
            name = prefix + "_" + kind + str(family)
            sets.append(
                NftSet(name, family, [_element(e, with_ports) for e in elements], ports=with_ports)
            )
            scope.lookups.append(Lookup(family, name, with_ports, action))


def _qos(policy: Policy) -> tuple[list[NftSet], list[MarkChain]]:
    """Verdict maps that send each packet to its class's marking chain.

    nft 1.0.6 cannot set DSCP from a map directly, so each element jumps to
    a one-line chain per class and family. tcp/udp look up address . proto .
    port (pieces for any-protocol rules are in that map too); every other
    protocol looks up the address alone.
    """
    maps: list[NftSet] = []
    used: dict[tuple[int, str], MarkChain] = {}
    for family in (4, 6):
        pieces = marks(policy, family)
        for with_ports in (True, False):
            chosen = [m for m in pieces if (m.proto != Proto.ANY) == with_ports]
            if not chosen:
                continue
            elements = [_mark_element(m, used) for m in chosen]
            name = "qos_" + ("svc" if with_ports else "any") + str(family)
            maps.append(NftSet(name, family, elements, False, with_ports, verdict=True))
    return maps, [used[k] for k in sorted(used)]


def _mark_element(m: Mark, used: dict[tuple[int, str], MarkChain]) -> NftElement:
    chain = "mark" + str(m.family) + "_" + identifier(m.qos.name)
    note = m.qos.name + " DSCP " + str(m.qos.dscp) + " (" + m.qos.source + ")"
    used[(m.family, m.qos.name)] = MarkChain(chain, m.family, m.qos.dscp, note)
    addr = format_span(Span(m.family, m.first, m.last))
    proto = "" if m.proto == Proto.ANY else m.proto.value
    return NftElement(addr, _label(m.rule), "", proto, m.plo, m.phi, goto=chain)


def wants_routes(options: Mapping[str, str] | None, target: str) -> bool:
    """The Linux targets' one option: ``routes=yes`` adds routes.sh."""
    for key, value in (options or {}).items():
        if key != ROUTES_OPTION:
            raise UsageError(f"unknown option {key!r}: {target} takes routes=yes|no")
        if value not in ("yes", "no"):
            raise UsageError(f"routes = {value!r}: say yes or no")
    return (options or {}).get(ROUTES_OPTION) == "yes"


def route_artifacts(policy: Policy) -> list[Artifact]:
    """routes.sh: per uplink, ``ip route replace`` for the destinations that must leave
    by it (policy.routes), via the uplink's gateway when the site gives one of that family."""
    routes: list[Route] = []
    for up in policy.uplinks:
        gateway = parse_ip(up.gateway) if up.gateway else None
        for span in policy.routes.get(up.zone, ()):
            via = up.gateway if gateway is not None and gateway.family == span.family else ""
            routes += [Route(span.family, c, up.interface, via) for c in span_cidrs(span)]
    text = render_template("routes.sh.j2", policy=policy, routes=routes)
    return [Artifact("routes.sh", text)]


class NftablesRenderer:
    name = "nftables"
    description = "one 'inet' table (nft -f), interval sets with per-element counters"

    options: dict[str, str] = {ROUTES_OPTION: "yes: also write routes.sh (ip route replace)"}
    limits: tuple[str, ...] = (
        "needs nftables 0.9.5 and Linux 5.7 or newer (counters declared in sets and maps; "
        "interval sets with concatenations)",
        "filters forwarded traffic only: the router's own input and output, and NAT, "
        "are left alone",
        "marks DSCP only: no queueing or shaping on the uplink",
    )

    def render(self, policy: Policy, options: Mapping[str, str] | None = None) -> list[Artifact]:
        routes = wants_routes(options, self.name)
        sets: list[NftSet] = []
        lan_sets: list[Dispatch] = []
        for family in (4, 6):
            prefixes = [p for p in policy.lan_prefixes if p.family == family]
            if prefixes:
                elements = [NftElement(format_span(p), "") for p in prefixes]
                sets.append(NftSet("lan" + str(family), family, elements, False, counter=False))
                lan_sets.append(Dispatch(family, "lan" + str(family), "site"))

        dispatch: list[Dispatch] = []
        scopes: list[Scope] = []
        for binding in policy.profiles:
            ident = "p_" + identifier(binding.name)
            for family in (4, 6):
                hosts = [h for h in binding.hosts if h.family == family]
                if hosts:
                    name = ident + "_hosts" + str(family)
                    elements = [NftElement(format_span(h), "") for h in hosts]
                    sets.append(NftSet(name, family, elements, False, counter=False))
                    dispatch.append(Dispatch(family, name, ident))
            scope = Scope(
                chain=ident,
                title="profile "
                + binding.name
                + " ("
                + binding.service
                + ", "
                + binding.source
                + "): hosts "
                + ", ".join(binding.host_names),
                default=binding.otherwise,
                default_comment=binding.name + ": everything else blocked (" + binding.source + ")",
            )
            _scope_sets(list(policy.scope_rules(binding.name)), ident, scope, sets)
            scopes.append(scope)

        site_scope = Scope(
            chain="site",
            title="the LAN of " + policy.site + ": outbound " + policy.outbound,
            default=policy.default_action,
            default_comment=policy.default_comment,
        )
        _scope_sets(list(policy.scope_rules("")), "site", site_scope, sets)
        scopes.append(site_scope)

        qos_maps, mark_chains = _qos(policy)
        text = render_template(
            "nftables.j2",
            table=TABLE,
            policy=policy,
            sets=sets + qos_maps,
            lan_ifaces=policy.lan_interfaces,
            uplink_ifaces=[u.interface for u in policy.uplinks],
            lan_sets=lan_sets,
            missing_families=[f for f in (4, 6) if f not in {d.family for d in lan_sets}],
            dispatch=dispatch,
            scopes=scopes,
            reject_chain=REJECT_CHAIN,
            qos_maps=qos_maps,
            mark_chains=mark_chains,
        )
        return [Artifact("nhn-appliance.nft", text)] + (route_artifacts(policy) if routes else [])


RENDERER = NftablesRenderer()
