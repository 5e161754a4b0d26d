"""Plan the checks a site's services need, from the compiled policy.

Probes only ever talk to what the plan names: catalogue and site addresses
and names. Port ranges are never swept: a range is represented by its first
port, and what cannot be verified without a cooperating endpoint (UDP media
ranges, every-protocol openings) becomes a ``not-verifiable`` entry that the
report shows as such, never as a pass.

Two stages: :func:`plan` before the run, then :func:`followups` from the
first stage's results (the runner calls it): a PAC file's answer names a
proxy, which then gets a CONNECT check of its own. The sources and
fallbacks of the site-wide checks (NTP, PAC, proxy, clock limits) come from
the catalogue's ``site/defaults.toml``.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from nhn_appliance.policy.addresses import format_ip, format_ports, format_span, span_cidrs
from nhn_appliance.policy.model import Action, Catalogue, Pin, Policy, Proto, Rule, Site, Span
from nhn_appliance.probes.model import Check, Result, Status
from nhn_appliance.probes.params import (
    DnsParams,
    NoteParams,
    NtpParams,
    PacParams,
    Params,
    PathParams,
    ProxyParams,
    SipParams,
    SniffParams,
    StunParams,
    SynParams,
    TcpParams,
    TlsParams,
)
from nhn_appliance.probes.proxy import hostport, split_hostport

STUN_PORTS = {3478}
SIP_PORTS = {5060}

Add = Callable[..., None]


def _host(span: Span) -> str:
    """The address to probe in a span: its first address, or the first host of
    a whole CIDR block of four or more (not its network address)."""
    whole_block = len(span_cidrs(span)) == 1 and span.last - span.first >= 3
    return format_ip(span.family, span.first + 1 if whole_block else span.first)


def plan(
    catalogue: Catalogue,
    site: Site,
    policy: Policy,
    pins: dict[str, Pin],
    kinds: set[str] | None = None,
    services: set[str] | None = None,
) -> list[Check[Params]]:
    """Every check for the site, in a stable order; ``kinds``/``services`` narrow it."""
    checks: dict[str, Check[Params]] = {}

    def add(check: Check[Params], explicit: bool = False) -> None:
        """``explicit``: only when ``kinds`` names the kind (raw SYNs)."""
        if (kinds and check.kind not in kinds) or (
            explicit and not (kinds and check.kind in kinds)
        ):
            return
        if services and check.service not in services:
            return
        checks.setdefault(check.id, check)

    sni = {(s.name, e.id): e.sni for s in catalogue.services.values() for e in s.endpoints if e.sni}
    for rule in policy.scope_rules(""):
        if rule.action == Action.ACCEPT:
            _rule_checks(rule, sni.get((rule.service, rule.endpoint), ""), add)
    for name in _names(catalogue, site):
        pin = pins.get(name)
        expect = pin.addresses if pin else ()
        for resolver in site.resolvers:
            params = DnsParams(name, resolver, site.dns_port, expect)
            service = _service_of(catalogue, name)
            add(Check(f"dns:{name}@{resolver}", name, service, "", "resolves", params))
    _path_checks(policy, add)
    _sniff_checks(catalogue, site, add)
    _site_checks(catalogue, site, add)
    return list(checks.values())


def _site_checks(catalogue: Catalogue, site: Site, add: Add) -> None:
    """NTP, PAC and proxy: from the site's [probe] settings, sources from the catalogue."""
    probe, facts = site.probe, catalogue.defaults
    clock = facts.clock
    for server in probe.ntp_servers:
        params = NtpParams(server, clock.warn_s, clock.fail_s, clock.why_en)
        expect = f"offset under {clock.warn_s:g} s"
        add(Check(f"ntp:{server}", server, "ntp", facts.ntp_source, expect, params))
    if probe.pac_url:
        url = probe.pac_url
        params_pac = PacParams(url, probe.test_urls)
        expect = "the PAC file loads and answers"
        add(Check(f"pac:{url}", url, "proxy", facts.pac.source, expect, params_pac))
    if probe.proxy:
        host, port = split_hostport(probe.proxy)
        first = next(iter(probe.test_urls), "")
        dest = _connect_to(first) if first else facts.connect_to.value
        params_proxy = ProxyParams(host, dest, port=port)
        check_id = f"proxy:{probe.proxy}"
        add(
            Check(
                check_id,
                probe.proxy,
                "proxy",
                facts.proxy.source,
                "CONNECT is allowed",
                params_proxy,
            )
        )


def _connect_to(url: str) -> str:
    """ "https://a.test/x" -> "a.test:443": where the proxy check asks a CONNECT to
    for a test URL (port 443 unless the URL names one)."""
    host, port = split_hostport(url.split("//", 1)[-1].split("/", 1)[0])
    return hostport(host, port or 443)


def _rule_checks(rule: Rule, sni: str, add: Add) -> None:
    for span in rule.dst:
        address = _host(span)
        label = f"{rule.id} to {format_span(span)}"

        def check(cid: str, target: str, expect: str, params: Params) -> Check[Params]:
            return Check(cid, target, rule.service, rule.source, expect, params, rule.zone.value)

        if rule.proto == Proto.ANY:
            why = (
                f"{label}: every protocol and port is open; "
                "only a cooperating endpoint can show that"
            )
            add(
                check(
                    f"note:{rule.id}:{address}",
                    format_span(span),
                    "every protocol open",
                    NoteParams(why),
                )
            )
            continue
        for ports in rule.ports:
            port = ports.lo
            target = hostport(address, port)
            rng = (
                f" (range {ports.lo}-{ports.hi}: only its first port is tried)"
                if ports.hi > ports.lo
                else ""
            )
            if rule.proto == Proto.TCP:
                add(check(f"tcp:{address}:{port}", target, f"open{rng}", TcpParams(address, port)))
                # a raw SYN (root) for the same target; only on request (--only syn), as the
                # connect probe already tells a firewall's reject from silence
                syn = check(f"syn:{address}:{port}", target, f"open{rng}", SynParams(address, port))
                add(syn, explicit=True)
                if port in SIP_PORTS:
                    sip = SipParams(address, port, transport="tcp")
                    add(check(f"sip-tcp:{address}:{port}", target, "answers SIP OPTIONS", sip))
                if port == 443 and sni:
                    tls = TlsParams(address, port, sni=sni)
                    add(
                        check(
                            f"tls:{sni}@{address}", f"{sni} ({address})", "valid certificate", tls
                        )
                    )
            elif port in STUN_PORTS:
                add(
                    check(
                        f"stun:{address}:{port}", target, "answers STUN", StunParams(address, port)
                    )
                )
            elif port in SIP_PORTS:
                sip = SipParams(address, port, transport="udp")
                add(check(f"sip-udp:{address}:{port}", target, "answers SIP OPTIONS", sip))
            else:
                rngs = format_ports([ports])
                why = (
                    f"{label}: UDP {rngs} gives no answer to a probe; "
                    "only a cooperating endpoint (a test call) can show it is open"
                )
                cid = f"note:{rule.id}:{address}:udp:{rngs}"
                add(check(cid, f"udp {target}", "udp open", NoteParams(why)))


def _path_checks(policy: Policy, add: Add) -> None:
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
        params = PathParams(address, max_hops=8, zone=zone)
        expect = f"leaves by the {zone} uplink"
        cid = f"path:{zone}:{address}"
        add(Check(cid, address, rule.service, rule.source, expect, params, zone))


def _sniff_checks(catalogue: Catalogue, site: Site, add: Add) -> None:
    """A passive capture for each service with known-wrong hosts (payment terminals)."""
    for name in site.services:
        service = catalogue.services[name]
        bad = [a for e in service.endpoints if e.action == Action.REJECT for a in e.addresses]
        if not bad:
            continue
        accepted = [e for e in service.endpoints if e.action == Action.ACCEPT]
        params = SniffParams(
            good=tuple(format_span(a) for e in accepted for a in e.addresses),
            bad=tuple(format_span(a) for a in bad),
            good_label=", ".join(e.id for e in accepted),
            seconds=site.probe.timeout,
        )
        expect = "no host talks to a known-wrong address"
        add(Check(f"sniff:{name}", name, name, service.source, expect, params))


def bounds(
    catalogue: Catalogue, site: Site, policy: Policy, pins: dict[str, Pin]
) -> frozenset[str]:
    """The names and addresses the plan lists (lower case): every target of the whole
    plan, the catalogue's names and their pins, the site's resolvers, proxy, PAC URL and
    test URLs. A PAC redirect, a PAC-chosen proxy or a name the PAC code asks for is
    contacted only when it is one of these (or with ``--follow-pac``)."""
    hosts = {*_names(catalogue, site), *site.resolvers}
    hosts.update(a for pin in pins.values() for a in pin.addresses)
    for check in plan(catalogue, site, policy, pins):
        p = check.params
        for key in ("address", "name", "resolver"):
            if isinstance(value := getattr(p, key, None), str) and value:
                hosts.add(value)
        if isinstance(p, ProxyParams):
            hosts.add(split_hostport(p.proxy)[0])
        if isinstance(p, PacParams):
            hosts.update(urlsplit(u).hostname or "" for u in (p.url, *p.test_urls))
    return frozenset(h.lower().rstrip(".") for h in hosts if h)


def followups(
    results: list[Result],
    kinds: set[str] | None = None,
    plan_hosts: frozenset[str] = frozenset(),
    follow_pac: bool = False,
) -> list[Check[Params]]:
    """The second stage: a ``proxy`` check for the proxy each answering PAC file chose
    (unless ``kinds`` leaves proxy checks out), none twice. A proxy the plan does not
    list (``plan_hosts``, :func:`bounds`) is not contacted unless ``follow_pac``: its
    check is a note, "outside the plan, not contacted"."""
    if kinds and "proxy" not in kinds:
        return []
    seen = {r.id for r in results}
    out: list[Check[Params]] = []
    for r in results:
        if r.kind == "pac" and r.status in (Status.OK, Status.WARN):
            proxy = check_from_pac(r)
            if proxy is None or proxy.id in seen:
                continue
            seen.add(proxy.id)
            host = split_hostport(proxy.params.proxy)[0].lower().rstrip(".")
            check: Check[Params] = proxy
            if not follow_pac and host not in plan_hosts:
                why = (
                    f"the PAC file chose the proxy {proxy.params.proxy}, which the catalogue "
                    "and the site file do not name: outside the plan, not contacted "
                    "(probe --follow-pac contacts it)"
                )
                note = NoteParams(why)
                check = Check(proxy.id, proxy.target, r.service, r.source, "not contacted", note)
            out.append(check)
    return out


def check_from_pac(
    pac: Result, connect_to: str | None = None, url: str | None = None, check_id: str | None = None
) -> Check[ProxyParams] | None:
    """The ``proxy`` check for the first PROXY entry a ``pac`` result gave.

    Takes the answer for ``url`` (default: the first test URL that got a PROXY
    entry); ``connect_to`` defaults to that URL's host and port. None when the
    PAC file sent everything DIRECT (or gave no answer).
    """
    for row in pac.evidence.get("urls", []):
        if url and row.get("url") != url:
            continue
        entries = row.get("proxies", [])
        entry = next((e for e in entries if e.get("type") in ("PROXY", "HTTP")), None)
        if entry is None:
            continue
        parts = urlsplit(row["url"])
        port = parts.port or (443 if parts.scheme == "https" else 80)
        dest = connect_to or hostport(parts.hostname or "", port)
        proxy = hostport(entry["host"], entry["port"])
        return Check(
            id=check_id or f"{pac.id}.proxy",
            target=f"{proxy} CONNECT {dest}",
            service=pac.service,
            source=pac.source,
            expect="answered",
            params=ProxyParams(proxy, dest),
        )
    return None


def _names(catalogue: Catalogue, site: Site) -> list[str]:
    from nhn_appliance.probes.resolve import names_for

    return names_for(catalogue, site)


def _service_of(catalogue: Catalogue, name: str) -> str:
    return next(
        (s.name for s in catalogue.services.values() for e in s.endpoints if name in e.names), "dns"
    )
