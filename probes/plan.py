"""Plan the checks a site's services need, from the compiled policy.

Probes only ever talk to what the plan names: catalogue and site addresses
and names. Port ranges are never swept: a range is represented by its first
port, and what cannot be verified without a cooperating endpoint (UDP media
ranges, every-protocol openings) becomes a ``not-verifiable`` entry that the
report shows as such, never as a pass.
"""

from __future__ import annotations

from nhn_appliance.policy.addresses import format_ip, format_ports, format_span, span_cidrs
from nhn_appliance.policy.model import Action, Catalogue, Pin, Policy, Proto, Rule, Site
from nhn_appliance.probes.model import Check

STUN_PORTS = {3478}
SIP_PORTS = {5060}


def _host(span) -> str:
    """The address to probe in a span: its first address, or the first host of
    a whole CIDR block of four or more (not its network address)."""
    whole_block = len(span_cidrs(span)) == 1 and span.last - span.first >= 3
    return format_ip(span.family, span.first + 1 if whole_block else span.first)


def _target(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def plan(
    catalogue: Catalogue,
    site: Site,
    policy: Policy,
    pins: dict[str, Pin],
    kinds: set[str] | None = None,
    services: set[str] | None = None,
) -> list[Check]:
    """Every check for the site, in a stable order; ``kinds``/``services`` narrow it."""
    checks: dict[str, Check] = {}

    def add(check: Check, explicit: bool = False) -> None:
        if (kinds and check.kind not in kinds) or (
            explicit and not (kinds and check.kind in kinds)
        ):
            return
        if services and check.service not in services:
            return
        checks.setdefault(check.id, check)

    sni = {(s.name, e.id): e.sni for s in catalogue.services.values() for e in s.endpoints if e.sni}
    for rule in policy.scope_rules(""):
        if rule.action != Action.ACCEPT:
            continue
        _rule_checks(rule, sni.get((rule.service, rule.endpoint), ""), add)

    for name in _names(catalogue, site):
        for resolver in site.resolvers:
            pin = pins.get(name)
            add(
                Check(
                    f"dns:{name}@{resolver}",
                    "dns",
                    name,
                    _service_of(catalogue, name),
                    "",
                    "resolves",
                    {
                        "name": name,
                        "resolver": resolver,
                        "port": site.dns_port,
                        "expect": list(pin.addresses) if pin else [],
                    },
                )
            )
    _path_checks(policy, add)
    _sniff_checks(catalogue, site, add)
    probe = site.probe
    for server in probe.get("ntp_servers", []):
        add(
            Check(
                f"ntp:{server}",
                "ntp",
                server,
                "ntp",
                "002:486",
                "offset under 1 s",
                {"address": server, "port": 123},
            )
        )
    if probe.get("pac_url"):
        add(
            Check(
                f"pac:{probe['pac_url']}",
                "pac",
                probe["pac_url"],
                "proxy",
                "002:530",
                "the PAC file loads and answers",
                {"url": probe["pac_url"], "test_urls": list(probe.get("test_urls", []))},
            )
        )
    if probe.get("proxy"):
        host, _, port = probe["proxy"].rpartition(":")
        first = next(iter(probe.get("test_urls", [])), "https://hjelp.nhn.no/")
        dest = first.split("//", 1)[-1].split("/", 1)[0]
        add(
            Check(
                f"proxy:{probe['proxy']}",
                "proxy",
                probe["proxy"],
                "proxy",
                "002:524-528",
                "CONNECT is allowed",
                {
                    "proxy": host,
                    "port": int(port or 8080),
                    "connect_to": dest if ":" in dest else f"{dest}:443",
                },
            )
        )
    return list(checks.values())


def _rule_checks(rule: Rule, sni: str, add) -> None:
    for span in rule.dst:
        address = _host(span)
        label = f"{rule.id} to {format_span(span)}"
        if rule.proto == Proto.ANY:
            add(
                Check(
                    f"note:{rule.id}:{address}",
                    "note",
                    format_span(span),
                    rule.service,
                    rule.source,
                    "every protocol open",
                    {
                        "why": f"{label}: every protocol and port is open; "
                        "only a cooperating endpoint can show that"
                    },
                )
            )
            continue
        for ports in rule.ports:
            port = ports.lo
            rng = (
                f" (range {ports.lo}-{ports.hi}: only its first port is tried)"
                if ports.hi > ports.lo
                else ""
            )
            base = dict(address=address, port=port)
            if rule.proto == Proto.TCP:
                add(
                    Check(
                        f"tcp:{address}:{port}",
                        "tcp",
                        _target(address, port),
                        rule.service,
                        rule.source,
                        f"open{rng}",
                        base,
                    )
                )
                # a raw SYN (root) for the same target; only on request (--only syn), as the
                # connect probe already tells a firewall's reject from silence
                add(
                    Check(
                        f"syn:{address}:{port}",
                        "syn",
                        _target(address, port),
                        rule.service,
                        rule.source,
                        f"open{rng}",
                        base,
                    ),
                    explicit=True,
                )
                if port in SIP_PORTS:
                    add(
                        Check(
                            f"sip-tcp:{address}:{port}",
                            "sip",
                            _target(address, port),
                            rule.service,
                            rule.source,
                            "answers SIP OPTIONS",
                            base | {"transport": "tcp"},
                        )
                    )
                if port == 443 and sni:
                    add(
                        Check(
                            f"tls:{sni}@{address}",
                            "tls",
                            f"{sni} ({address})",
                            rule.service,
                            rule.source,
                            "valid certificate",
                            base | {"sni": sni},
                        )
                    )
            elif port in STUN_PORTS:
                add(
                    Check(
                        f"stun:{address}:{port}",
                        "stun",
                        _target(address, port),
                        rule.service,
                        rule.source,
                        "answers STUN",
                        base,
                    )
                )
            elif port in SIP_PORTS:
                add(
                    Check(
                        f"sip-udp:{address}:{port}",
                        "sip",
                        _target(address, port),
                        rule.service,
                        rule.source,
                        "answers SIP OPTIONS",
                        base | {"transport": "udp"},
                    )
                )
            else:
                add(
                    Check(
                        f"note:{rule.id}:{address}:udp:{format_ports([ports])}",
                        "note",
                        f"udp {_target(address, port)}",
                        rule.service,
                        rule.source,
                        "udp open",
                        {
                            "why": f"{label}: UDP {format_ports([ports])} gives no answer to a probe; "
                            "only a cooperating endpoint (a test call) can show it is open"
                        },
                    )
                )


def _path_checks(policy: Policy, add) -> None:
    """One short traceroute per uplink zone, to the first TCP destination there."""
    for zone in ("helsenett", "internett"):
        rule = next(
            (
                r
                for r in policy.scope_rules("")
                if r.zone == zone
                and r.action == Action.ACCEPT
                and r.proto == Proto.TCP
                and r.family == 4
            ),
            None,
        )
        if rule is None:
            continue
        address = _host(rule.dst[0])
        add(
            Check(
                f"path:{zone}:{address}",
                "path",
                address,
                rule.service,
                rule.source,
                f"leaves by the {zone} uplink",
                {"address": address, "max_hops": 8, "zone": zone},
            )
        )


def _sniff_checks(catalogue: Catalogue, site: Site, add) -> None:
    """A passive capture for each service with known-wrong hosts (payment terminals, 002:549)."""
    for name in site.services:
        service = catalogue.services[name]
        bad = [a for e in service.endpoints if e.action == Action.REJECT for a in e.addresses]
        if not bad:
            continue
        good = [a for e in service.endpoints if e.action == Action.ACCEPT for a in e.addresses]
        add(
            Check(
                f"sniff:{name}",
                "sniff",
                name,
                name,
                service.source,
                "no host talks to a known-wrong address",
                {
                    "good": [format_span(a) for a in good],
                    "bad": [format_span(a) for a in bad],
                    "seconds": site.probe.get("timeout", 3.0),
                },
            )
        )


def _names(catalogue: Catalogue, site: Site) -> list[str]:
    from nhn_appliance.probes.resolve import names_for

    return names_for(catalogue, site)


def _service_of(catalogue: Catalogue, name: str) -> str:
    return next(
        (s.name for s in catalogue.services.values() for e in s.endpoints if name in e.names), "dns"
    )
