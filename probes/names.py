"""Names and addresses for the probers: is it an IP, the site's resolver, DNS answers.

ntp, proxy and pac look names up through the site's resolvers (never the
system's, which could hang for 10 s or give another view); dns and resolve
read A and AAAA answers the same way.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from nhn_appliance.probes.context import ProbeContext, Resolver

#: CNAMEs followed from the name asked before an answer is given up (a loop ends too)
MAX_CNAMES = 8


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def answers(reply: Any, rdtype: Any) -> tuple[list[str], list[int]]:
    """(addresses, TTLs) of the ``rdtype`` records (A or AAAA) in a dnspython reply
    that belong to the name asked: its own records, or those at the end of its
    CNAME chain. Records of any other owner are not the answer and are left out
    (an injected ``other.name. A 127.0.0.1`` never becomes an address)."""
    import dns.rdatatype

    if not reply.question:
        return [], []
    question = reply.question[0]
    by_owner = {(r.name, r.rdtype): r for r in reply.answer if r.rdclass == question.rdclass}
    name = question.name
    for _ in range(MAX_CNAMES + 1):
        rrset = by_owner.get((name, rdtype))
        if rrset is not None:
            return [r.address for r in rrset], [rrset.ttl]
        cname = by_owner.get((name, dns.rdatatype.CNAME))
        if cname is None or not len(cname):
            break
        name = cname[0].target
    return [], []


def resolver_for(ctx: ProbeContext) -> Resolver:
    """``ctx.resolver`` when given, else dnspython at the site's resolvers (the
    system's when the site names none), within the check's time."""
    if ctx.resolver is not None:
        return ctx.resolver
    import dns.resolver

    res = dns.resolver.Resolver(configure=not ctx.resolvers)
    if ctx.resolvers:
        res.nameservers, res.port = list(ctx.resolvers), ctx.dns_port
    res.timeout = res.lifetime = min(ctx.timeout, 2.0)

    def resolve(name: str) -> list[str]:
        for rdtype in ("A", "AAAA"):
            try:
                return [r.address for r in res.resolve(name, rdtype, search=False)]
            except dns.resolver.NoAnswer:
                continue
        return []

    return resolve


def first_address(name: str, ctx: ProbeContext) -> str:
    """``name`` itself when it is an IP, else its first address; OSError when it has none."""
    if is_ip(name):
        return name
    addresses = resolver_for(ctx)(name)
    if not addresses:
        raise OSError(f"{name} has no address")
    return addresses[0]
