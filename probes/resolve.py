"""Pin the catalogue's names: ask the site's resolvers, record answers, TTL and time.

This is the explicit edge step that keeps compile pure: render uses what is
pinned here and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nhn_appliance.errors import ResolveError
from nhn_appliance.policy.model import Catalogue, Pin, Site, Span
from nhn_appliance.policy.pins import now_iso, refusal


def names_for(catalogue: Catalogue, site: Site) -> list[str]:
    """Every DNS name the site's services and host profiles need, in order."""
    profiles = catalogue.profiles
    endpoints = [ep for s in site.services for ep in catalogue.services[s].endpoints]
    for name in dict.fromkeys(h.profile for h in site.hosts):
        endpoints.extend(profiles[name].endpoints)
    return list(dict.fromkeys(n for ep in endpoints for n in ep.names))


@dataclass
class Outcome:
    pins: dict[str, Pin] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  #: name -> why
    #: answers refused as pins (loopback, multicast, the LAN...), each naming name and address
    refused: list[str] = field(default_factory=list)


def resolve_names(
    names: list[str],
    resolvers: list[str],
    port: int = 53,
    timeout: float = 2.0,
    lan: tuple[Span, ...] = (),
) -> Outcome:
    """Resolve A and AAAA for each name at the first resolver that answers.

    Only replies that answer the query count (``exchange``), only records of
    the name asked or its CNAME chain (``answers``), and no address that
    :func:`~nhn_appliance.policy.pins.refusal` refuses (loopback, unspecified,
    multicast, link-local, inside ``lan``): those are left out with a line in
    ``refused``; a name left with none is a failure."""
    import dns.exception
    import dns.message
    import dns.rcode
    import dns.rdatatype

    from nhn_appliance.probes.dns import UnmatchedReply, exchange
    from nhn_appliance.probes.names import answers

    if not resolvers:
        raise ResolveError(
            "the site names no DNS resolvers: add [dns] resolvers to the site file "
            "or give --resolver"
        )
    out = Outcome()
    unreachable: set[str] = set()
    for name in names:
        addresses: list[str] = []
        ttls: list[int] = []
        why = ""
        used = ""
        for server in resolvers:
            if server in unreachable:
                continue
            try:
                for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                    query = dns.message.make_query(name, rdtype)
                    reply = exchange(query, server, port, timeout)
                    rcode = reply.rcode()
                    if rcode == dns.rcode.NXDOMAIN:
                        why = f"NXDOMAIN from {server}"
                        break
                    if rcode != dns.rcode.NOERROR:
                        why = f"{dns.rcode.to_text(rcode)} from {server}"
                        break
                    found, found_ttls = answers(reply, rdtype)
                    addresses += found
                    ttls += found_ttls
                used = server
                break
            except UnmatchedReply as exc:
                # it answers, but not this query: try the next resolver, never pin it
                addresses, ttls = [], []
                why = str(exc)
            except (dns.exception.Timeout, OSError) as exc:
                unreachable.add(server)
                why = f"no answer from {server} ({type(exc).__name__})"
        usable, refused = [], []
        for address in sorted(set(addresses)):
            if what := refusal(address, lan):
                refused.append(f"{address} ({what})")
                out.refused.append(f"{name}: {used} answered {address} ({what}); not pinned")
            else:
                usable.append(address)
        if usable:
            out.pins[name] = Pin(name, tuple(usable), min(ttls), now_iso(), used)
        elif refused:
            out.failures[name] = f"every address {used} answered was refused: {', '.join(refused)}"
        else:
            out.failures[name] = why or f"no A or AAAA record at {used}"
    if names and len(unreachable) == len(resolvers):
        raise ResolveError(
            f"no resolver answered ({', '.join(resolvers)} port {port}); nothing was pinned"
        )
    return out
