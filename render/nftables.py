"""nftables: one ``inet`` table for a Linux router, loaded with ``nft -f``.

Layout: the forward chain accepts replies, admits new connections only from
the LAN, sends profile hosts to their own chain and the rest of the LAN to the
``site`` chain. Each of those chains makes at most one set lookup per family
for "every protocol" destinations (``oifname . daddr``) and one for
port-specific ones (``oifname . daddr . l4proto . dport``), then applies its
default. Set elements carry a comment naming service and source, and a
counter each. A postrouting chain at mangle priority marks traffic leaving
by an uplink with its QoS class's DSCP (:mod:`nhn_appliance.policy.qos`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nhn_appliance.policy.addresses import format_span
from nhn_appliance.policy.model import Action, Policy, Proto, Rule, Span
from nhn_appliance.policy.qos import marks
from nhn_appliance.policy.sets import Element, disjoint
from nhn_appliance.render import Artifact
from nhn_appliance.render.escape import comment, identifier
from nhn_appliance.render.templating import render_template

TABLE = "nhn_appliance"
ADDR_TYPE = {4: "ipv4_addr", 6: "ipv6_addr"}
DADDR = {4: "ip daddr", 6: "ip6 daddr"}
SADDR = {4: "ip saddr", 6: "ip6 saddr"}
VERDICT = {
    Action.ACCEPT: "accept",
    Action.DROP: "drop",
    Action.REJECT: "reject with icmpx type admin-prohibited",
}


@dataclass
class NftSet:
    name: str
    type: str
    elements: list[str]
    interval: bool = True
    counter: bool = True


@dataclass
class Scope:
    chain: str
    title: str
    default: str
    default_comment: str
    lookups: list[str] = field(default_factory=list)  #: rule lines, in order


def _element(e: Element, with_ports: bool) -> str:
    addr = format_span(Span(e.rule.family, e.first, e.last))
    parts = [f'"{e.interface}"', addr]
    if with_ports:
        port = str(e.plo) if e.plo == e.phi else f"{e.plo}-{e.phi}"
        parts += [e.proto.value, port]
    return " . ".join(parts) + f' comment "{comment(_label(e.rule), 100)}"'


def _label(rule: Rule) -> str:
    return f"{rule.id} {rule.source}"


def _scope_sets(
    policy: Policy, prefix: str, rules: list[Rule], scope: Scope, sets: list[NftSet]
) -> None:
    """Add the sets of one block and the lookups that use them, in policy order."""
    groups = (
        ("any", Action.ACCEPT, lambda r: r.action == Action.ACCEPT and r.proto == Proto.ANY),
        ("svc", Action.ACCEPT, lambda r: r.action == Action.ACCEPT and r.proto != Proto.ANY),
        ("rej_any", Action.REJECT, lambda r: r.action != Action.ACCEPT and r.proto == Proto.ANY),
        ("rej_svc", Action.REJECT, lambda r: r.action != Action.ACCEPT and r.proto != Proto.ANY),
    )
    for family in (4, 6):
        for kind, action, wanted in groups:
            chosen = [r for r in rules if r.family == family and wanted(r)]
            elements = disjoint(chosen, family)
            if not elements:
                continue
            with_ports = kind.endswith("svc")
            name = f"{prefix}_{kind}{family}"
            key = f"ifname . {ADDR_TYPE[family]}" + (
                " . inet_proto . inet_service" if with_ports else ""
            )
            sets.append(NftSet(name, key, [_element(e, with_ports) for e in elements]))
            match = f"oifname . {DADDR[family]}" + (
                " . meta l4proto . th dport" if with_ports else ""
            )
            verdict = "accept" if action == Action.ACCEPT else "counter " + VERDICT[Action.REJECT]
            scope.lookups.append(f"{match} @{name} {verdict}")


@dataclass
class QosMap:
    name: str
    type: str
    match: str
    elements: list[str]


def _qos(policy: Policy) -> tuple[list[QosMap], list[tuple[str, str, str]]]:
    """Verdict maps that send each packet to its class's marking chain.

    nft 1.0.6 cannot set DSCP from a map directly, so each element jumps to
    a two-line chain per class and family. tcp/udp look up address . proto .
    port (pieces for any-protocol rules are in that map too); every other
    protocol looks up the address alone.
    """
    maps: list[QosMap] = []
    used: dict[tuple[int, str], tuple[str, str, str]] = {}
    for family in (4, 6):
        pieces = marks(policy, family)
        for kind in ("svc", "any"):
            chosen = [m for m in pieces if (m.proto != Proto.ANY) == (kind == "svc")]
            if not chosen:
                continue
            elements = []
            for m in chosen:
                chain = f"mark{family}_{identifier(m.qos.name)}"
                used[(family, m.qos.name)] = (
                    chain,
                    f"{'ip' if family == 4 else 'ip6'} dscp set {m.qos.dscp}",
                    f"{m.qos.name} DSCP {m.qos.dscp} ({m.qos.source})",
                )
                addr = format_span(Span(family, m.first, m.last))
                port = str(m.plo) if m.plo == m.phi else f"{m.plo}-{m.phi}"
                key = f"{addr} . {m.proto.value} . {port}" if kind == "svc" else addr
                elements.append(f'{key} comment "{comment(_label(m.rule), 100)}" : goto {chain}')
            if kind == "svc":
                typ = f"{ADDR_TYPE[family]} . inet_proto . inet_service : verdict"
                match = f"meta l4proto {{ tcp, udp }} {DADDR[family]} . meta l4proto . th dport"
            else:
                typ = f"{ADDR_TYPE[family]} : verdict"
                match = f"meta l4proto != {{ tcp, udp }} {DADDR[family]}"
            maps.append(QosMap(f"qos_{kind}{family}", typ, match, elements))
    return maps, [used[k] for k in sorted(used)]


class NftablesRenderer:
    name = "nftables"
    description = "one 'inet' table (nft -f), interval sets with per-element counters"

    options: dict[str, str] = {}
    limits: tuple[str, ...] = (
        "needs nftables 0.9.4 and Linux 5.6 or newer (interval sets with concatenations)",
        "filters forwarded traffic only: the router's own input and output are left alone",
    )

    def render(self, policy: Policy, options: Mapping[str, str] | None = None) -> list[Artifact]:
        sets: list[NftSet] = []
        families = policy.families()
        lan_sets = []
        for family in (4, 6):
            prefixes = [p for p in policy.lan_prefixes if p.family == family]
            if prefixes:
                sets.append(
                    NftSet(
                        f"lan{family}",
                        ADDR_TYPE[family],
                        [format_span(p) for p in prefixes],
                        counter=False,
                    )
                )
                lan_sets.append((family, f"lan{family}"))

        dispatch: list[str] = []
        scopes: list[Scope] = []
        for binding in policy.profiles:
            ident = "p_" + identifier(binding.name)
            for family in (4, 6):
                hosts = [h for h in binding.hosts if h.family == family]
                if hosts:
                    sets.append(
                        NftSet(
                            f"{ident}_hosts{family}",
                            ADDR_TYPE[family],
                            [format_span(h) for h in hosts],
                            counter=False,
                        )
                    )
                    dispatch.append(f"{SADDR[family]} @{ident}_hosts{family} goto {ident}")
            scope = Scope(
                chain=ident,
                title=f"profile {binding.name} ({binding.service}, {binding.source}): "
                f"hosts {', '.join(binding.host_names)}",
                default=VERDICT[binding.otherwise],
                default_comment=f"{binding.name}: everything else blocked ({binding.source})",
            )
            _scope_sets(policy, ident, list(policy.scope_rules(binding.name)), scope, sets)
            scopes.append(scope)

        site_scope = Scope(
            chain="site",
            title=f"the LAN of {policy.site}: outbound {policy.outbound}",
            default=VERDICT[policy.default_action],
            default_comment=policy.default_comment,
        )
        _scope_sets(policy, "site", list(policy.scope_rules("")), site_scope, sets)
        scopes.append(site_scope)

        qos_maps, qos_chains = _qos(policy)
        text = render_template(
            "nftables.j2",
            qos_maps=qos_maps,
            qos_chains=qos_chains,
            table=TABLE,
            policy=policy,
            families=families,
            sets=sets,
            lan_ifaces=policy.lan_interfaces,
            lan_sets=lan_sets,
            missing_families=[f for f in (4, 6) if f not in {fam for fam, _ in lan_sets}],
            saddr=SADDR,
            dispatch=dispatch,
            scopes=scopes,
        )
        return [Artifact("nhn-appliance.nft", text)]


RENDERER = NftablesRenderer()
