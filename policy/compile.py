"""Compile Catalogue x Site (x pinned names) into an ordered, normalized Policy.

Pure: no I/O, inputs are never changed. The order of the result is the order
every renderer must keep and that :mod:`explain` evaluates:

1. one block per profile (hosts with an isolation list), then the site's LAN;
2. inside a block: accept rules for every protocol, accept rules with ports,
   then explicit rejects (known-wrong hosts; every protocol before those with
   ports, as the nftables sets are looked up), then the block's default.

Accept rules never conflict, so their relative order only decides which rule
a packet is attributed to (the first); rejects come after every accept so an
explicit opening always wins.
"""

from __future__ import annotations

from datetime import datetime

from nhn_appliance.policy.addresses import format_span, merge_spans, parse_ip, subtract_spans
from nhn_appliance.policy.model import (
    Action,
    Catalogue,
    Endpoint,
    Pin,
    Policy,
    ProfileBinding,
    Proto,
    QosClass,
    Rule,
    Site,
    Span,
    Zone,
)
from nhn_appliance.policy.pins import pin_age_days, refusal
from nhn_appliance.policy.site_parts import SITE_SERVICE


def compile_policy(
    catalogue: Catalogue,
    site: Site,
    pins: dict[str, Pin] | None = None,
    now: datetime | None = None,
    software: str = "",
) -> Policy:
    """Build the site's policy. ``now`` enables the stale-pin warning; ``software``
    (name and version) is printed in rendered files."""
    pins = pins or {}
    warnings: list[str] = []
    omitted: list[str] = []
    seen_warn: set[str] = set()

    def warn(text: str) -> None:
        if text not in seen_warn:
            seen_warn.add(text)
            warnings.append(text)

    qos: dict[str, QosClass] = {**catalogue.qos, **site.qos}
    zone_ifaces = _zone_interfaces(site)
    lan_families = {p.family for p in site.lan_prefixes}
    lan = merge_spans(site.lan_prefixes)

    unpinned: list[str] = []

    def expand(service: str, ep: Endpoint, profile: str) -> list[Rule]:
        label = f"{service}/{ep.id}"
        dst = list(ep.addresses)
        for name in ep.names:
            pin = pins.get(name)
            if pin is None:
                if name not in unpinned:
                    unpinned.append(name)
                omitted.append(f"{label}: {name} is not pinned")
                continue
            if now is not None and pin_age_days(pin, now) > site.pin_max_age_days:
                warn(
                    f"{name} was pinned at {pin.resolved_at}, "
                    f"more than {site.pin_max_age_days} days ago; "
                    f"run 'nhn-appliance resolve' to refresh it"
                )
            usable = []
            for a in pin.addresses:
                if why := refusal(a, site.lan_prefixes):
                    # a spoofed or hand-edited pin never becomes an opening
                    warn(f"{name} is pinned to {a} ({why}): refused, no rule uses it")
                else:
                    usable.append(a)
            if pin.addresses and not usable:
                if name not in unpinned:
                    unpinned.append(name)
                omitted.append(f"{label}: {name} has no usable pinned address")
                continue
            dst.extend(parse_ip(a) for a in usable)
        if ep.site_addresses == "resolvers":
            dst.extend(parse_ip(a) for a in site.resolvers)
            if not site.resolvers:
                omitted.append(f"{label}: the site names no DNS resolvers ([dns] resolvers)")
        if not dst:
            if not ep.names:
                omitted.append(f"{label}: no address known")
            return []
        outside = subtract_spans(dst, lan)
        if outside != merge_spans(dst):
            # the LAN's own hosts (a resolver on the LAN): LAN traffic, which every
            # target passes, never an opening through an uplink
            inside = subtract_spans(dst, outside)
            what = ", ".join(format_span(s) for s in inside)
            omitted.append(
                f"{label}: {what} lies inside the LAN prefixes: LAN traffic, not an uplink opening"
                if not outside
                else f"{label}: its part inside the LAN prefixes ({what}) is LAN traffic, "
                "not an uplink opening"
            )
            dst = list(outside)
            if not dst:
                return []
        rules = []
        for zone in ep.zones:
            ifaces = zone_ifaces.get(zone, ())
            if not ifaces:
                what = f"its {zone} part is left out" if len(ep.zones) > 1 else "left out"
                omitted.append(f"{label}: {what}: the site has no {zone} uplink")
                continue
            for family in (4, 6):
                spans = merge_spans(s for s in dst if s.family == family)
                if not spans:
                    continue
                if family not in lan_families:
                    omitted.append(
                        f"{label}: its IPv{family} destinations are left out: "
                        f"the LAN has no IPv{family} prefix"
                    )
                    continue
                for proto, ports in ep.flows:
                    rules.append(
                        Rule(
                            id=label,
                            service=service,
                            endpoint=ep.id,
                            profile=profile,
                            zone=zone,
                            interfaces=ifaces,
                            action=ep.action,
                            family=family,
                            proto=proto,
                            dst=spans,
                            ports=ports,
                            qos=ep.qos,
                            source=ep.source,
                            note=ep.note,
                        )
                    )
        return rules

    blocks: list[list[Rule]] = []
    bindings: list[ProfileBinding] = []
    profiles = catalogue.profiles
    for name in sorted({h.profile for h in site.hosts}):
        prof = profiles[name]
        hosts = [h for h in site.hosts if h.profile == name]
        bindings.append(
            ProfileBinding(
                name=name,
                service=prof.service,
                hosts=merge_spans(a for h in hosts for a in h.addresses),
                host_names=tuple(h.name for h in hosts),
                otherwise=prof.otherwise,
                source=prof.source,
            )
        )
        blocks.append([r for ep in prof.endpoints for r in expand(prof.service, ep, name)])
    site_rules: list[Rule] = []
    for svc_name in site.services:
        for ep in catalogue.services[svc_name].endpoints:
            site_rules.extend(expand(svc_name, ep, ""))
    for ep in site.openings:
        site_rules.extend(expand(SITE_SERVICE, ep, ""))
    blocks.append(site_rules)

    if unpinned:
        warnings.insert(
            0,
            f"{len(unpinned)} name(s) not pinned, their rules are left out: {', '.join(unpinned)}; "
            f"run 'nhn-appliance resolve' to pin them",
        )

    ordered: list[Rule] = []
    for block in blocks:
        ordered.extend(_order_block(block))

    default = Action.ACCEPT if site.outbound == "open" else site.blocked_action
    proxy_ep = next(
        (
            ep
            for name in site.services
            for ep in catalogue.services[name].endpoints
            if ep.system_proxy and ep.flows[0][1]
        ),
        None,
    )
    system_proxy = (
        f"{(proxy_ep.names or ('',))[0] or format_span(proxy_ep.addresses[0])}"
        f":{proxy_ep.flows[0][1][0].lo}"
        if proxy_ep
        else ""
    )
    return Policy(
        site=site.name,
        site_file=site.file,
        outbound=site.outbound,
        default_action=default,
        lan_interfaces=site.lan_interfaces,
        lan_prefixes=merge_spans(site.lan_prefixes),
        uplinks=site.uplinks,
        profiles=tuple(bindings),
        rules=tuple(ordered),
        qos=qos,
        warnings=tuple(warnings),
        omitted=tuple(dict.fromkeys(omitted)),
        system_proxy=system_proxy,
        system_proxy_source=proxy_ep.source if proxy_ep else "",
        default_comment=catalogue.defaults.default_comment(site.outbound),
        unpinned=tuple(unpinned),
        keep_host_marking=site.keep_host_marking,
        software=software,
        catalogue_revision=catalogue.revision,
        routes=_routes(site, ordered),
    )


def _routes(site: Site, rules: list[Rule]) -> dict[Zone, tuple[Span, ...]]:
    """On a site with several uplinks: what must leave by each uplink. A
    destination that rules bind to one uplink only must be routed that way; one
    that other uplinks may carry too (83.118.128.0/28 on both lines), and
    "any address" openings (DNS of the vendor profile), follow the routing the
    site has."""
    if len(site.uplinks) < 2:
        return {}
    per: dict[Zone, tuple[Span, ...]] = {}
    for up in site.uplinks:
        per[up.zone] = merge_spans(
            s for r in rules if r.interfaces == (up.interface,) and not _anywhere(r) for s in r.dst
        )
    out: dict[Zone, tuple[Span, ...]] = {}
    for zone, spans in per.items():
        others = [s for z, o in per.items() if z != zone for s in o]
        mine = subtract_spans(spans, others)
        if mine:
            out[zone] = mine
    return out


def _anywhere(rule: Rule) -> bool:
    """A rule to (nearly) every address of its family: the whole family but the LAN."""
    size = 1 << (32 if rule.family == 4 else 128)
    return sum(s.last - s.first + 1 for s in rule.dst) > size // 2


def _zone_interfaces(site: Site) -> dict[Zone, tuple[str, ...]]:
    """Which output interfaces a zone's traffic may leave by."""
    out: dict[Zone, tuple[str, ...]] = {u.zone: (u.interface,) for u in site.uplinks}
    # local and private addresses may sit behind any uplink (Helsenett uses 10/8)
    out[Zone.LOKAL] = tuple(u.interface for u in site.uplinks)
    return out


def _order_block(rules: list[Rule]) -> list[Rule]:
    """Accept-any, accept-with-ports, reject-any, reject-with-ports; exact duplicates removed."""

    def rank(r: Rule) -> int:
        if r.action == Action.ACCEPT:
            return 0 if r.proto == Proto.ANY else 1
        return 2 if r.proto == Proto.ANY else 3

    seen: set[tuple] = set()
    out = []
    for r in sorted(rules, key=rank):  # stable: catalogue order within a rank
        key = (r.interfaces, r.action, r.family, r.proto, r.dst, r.ports)
        if key in seen:
            continue
        seen.add(key)
        out.append(r)
    return out


def rule_covers(
    rule: Rule, interface: str, family: int, proto: str, dst: int, port: int | None
) -> bool:
    """Whether a rule matches one packet (the single definition of matching)."""
    if interface not in rule.interfaces or family != rule.family:
        return False
    if rule.proto != Proto.ANY and rule.proto != proto:
        return False
    if not any(s.first <= dst <= s.last for s in rule.dst):
        return False
    if rule.proto == Proto.ANY:
        return True
    return port is not None and any(p.lo <= port <= p.hi for p in rule.ports)
