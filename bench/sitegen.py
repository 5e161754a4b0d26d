"""Generate varied, valid customer sites for the bulk benchmarks (stdlib only).

A site is a plain dict, written out as an ``appliance.toml`` (``site_toml``)
and, where it has pinned names, a ``*.pins.json`` beside it (``pins_json``).

Every address is from a private range (RFC 1918, RFC 4193) or a documentation
range (RFC 5737, RFC 3849): the sites are data only, nothing is ever sent.
Generation is seeded, so a run is repeatable.
"""

from __future__ import annotations

import ipaddress
import json
import random

LAN_IFACES = ("lan0", "eth1", "br-lan", "vlan10", "enp2s0", "lan-kontor", "em1", "bond0.20")
HN_IFACES = ("wan-hn", "eth0", "enp1s0", "hn0", "vlan100", "nhn-rtr")
INET_IFACES = ("wan-inet", "ppp0", "eth2", "enp3s0", "wan1", "inet0")

#: (pool, smallest prefix length, largest) for LAN prefixes
V4_POOLS = (
    ("10.0.0.0/8", 20, 26),
    ("172.16.0.0/12", 20, 26),
    ("192.168.0.0/16", 22, 26),
    ("198.51.100.0/24", 25, 28),  # TEST-NET-2
    ("203.0.113.0/24", 25, 28),  # TEST-NET-3
)
V6_POOLS = ("2001:db8::/32", "fd00::/8")
#: addresses a pinned name may resolve to (documentation ranges)
PIN_POOLS = ("198.51.100.0/24", "203.0.113.0/24", "2001:db8:ffff::/48")
#: a catalogue destination no LAN may overlap (rules/videokonferanse.toml)
HELSENETT_VIDEO = ipaddress.ip_network("10.145.128.0/17")


def _subnet(rng: random.Random, pool: str, plen: int) -> ipaddress._BaseNetwork:
    net = ipaddress.ip_network(pool)
    count = 2 ** (plen - net.prefixlen)
    index = rng.randrange(count)
    size = 2 ** (net.max_prefixlen - plen)
    first = int(net.network_address) + index * size
    return ipaddress.ip_network(f"{ipaddress.ip_address(first)}/{plen}")


def _host(rng: random.Random, net: ipaddress._BaseNetwork, skip: set[str]) -> str:
    hosts = net.num_addresses - 2 if net.version == 4 else 2**16
    for _ in range(100):
        addr = str(net.network_address + 1 + rng.randrange(max(hosts, 1)))
        if addr not in skip:
            skip.add(addr)
            return addr
    raise RuntimeError(f"no free host address in {net}")


def make_site(
    i: int, rng: random.Random, services: list[str], profiles: list[str], names: list[str]
) -> dict:
    """One site. ``services``/``profiles``/``names`` come from the real catalogue."""
    kind = rng.random()
    helsenett_only = kind < 0.25
    v4 = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        pool, lo, hi = rng.choice(V4_POOLS)
        v4.append(_subnet(rng, pool, rng.randint(lo, hi)))
    # distinct prefixes, none inside a catalogue destination (the loader refuses
    # a LAN in the Helsenett's video network)
    kept: list = []
    for net in v4:
        if not any(net.overlaps(k) for k in kept + [HELSENETT_VIDEO]):
            kept.append(net)
    v4 = kept or [ipaddress.ip_network("192.168.1.0/24")]
    v6 = [_subnet(rng, rng.choice(V6_POOLS), 64)] if rng.random() < 0.5 else []
    used: set[str] = set()

    lan_ifaces = rng.sample(LAN_IFACES, rng.choice((1, 1, 1, 2)))
    uplinks = {"helsenett": rng.choice(HN_IFACES)}
    if not helsenett_only:
        uplinks["internett"] = rng.choice(INET_IFACES)
    if rng.random() < 0.1:
        chosen = ["*"]
    else:
        chosen = rng.sample(services, rng.randint(1, len(services)))

    hosts = []
    if profiles and rng.random() < 0.4:
        for n, profile in enumerate(rng.sample(profiles, rng.randint(1, len(profiles)))):
            for k in range(rng.randint(1, 3)):
                # on a dual-stack LAN a profile host needs its IPv6 address too
                addrs = [_host(rng, rng.choice(v4), used)]
                addrs += [_host(rng, v6[0], used)] if v6 else []
                name = f"{profile[:20]}-{n}-{k}"
                hosts.append({"name": name, "profile": profile, "addresses": addrs})

    resolvers = []
    if rng.random() < 0.8:
        resolvers = [_host(rng, rng.choice(v4), used) for _ in range(rng.randint(1, 2))]
        if v6 and rng.random() < 0.3:
            resolvers.append(_host(rng, v6[0], used))

    pins = {}
    if names and rng.random() < 0.3:
        for name in rng.sample(names, rng.randint(1, len(names))):
            addrs = sorted(
                {
                    _host(rng, ipaddress.ip_network(rng.choice(PIN_POOLS)), set())
                    for _ in range(rng.randint(1, 3))
                }
            )
            pins[name] = addrs

    outbound = "open" if rng.random() < 0.5 else "blocked"
    return {
        "name": f"site-{i:04d}",
        "title": f"Generated site {i} ({'helsenett only' if helsenett_only else 'two uplinks'})",
        "outbound": outbound,
        "blocked_action": rng.choice(("reject", "drop")),
        "services": chosen,
        "lan_interfaces": lan_ifaces,
        "lan_prefixes": [str(n) for n in v4 + v6],
        "uplinks": uplinks,
        "hosts": hosts,
        "resolvers": resolvers,
        "pins": pins,
    }


def make_sites(
    n: int, services: list[str], profiles: list[str], names: list[str], seed: int = 20240611
) -> list[dict]:
    rng = random.Random(seed)
    return [make_site(i, rng, sorted(services), sorted(profiles), sorted(names)) for i in range(n)]


def _q(value: object) -> str:
    return json.dumps(value)  # a JSON string or list of strings is valid TOML


SITE = """[site]
name = {name}
title = {title}
outbound = {outbound}
blocked_action = {blocked_action}
services = {services}

[lan]
interfaces = {lan_interfaces}
prefixes = {lan_prefixes}
"""


def site_toml(site: dict) -> str:
    text = SITE.format(**{k: _q(v) for k, v in site.items()})
    for zone, iface in site["uplinks"].items():
        text += f"\n[uplinks.{zone}]\ninterface = {_q(iface)}\n"
    for h in site["hosts"]:
        text += f"\n[[host]]\nname = {_q(h['name'])}\naddresses = {_q(h['addresses'])}\n"
        text += f"profile = {_q(h['profile'])}\n"
    return text + f"\n[dns]\nresolvers = {_q(site['resolvers'])}\n"


def pins_json(site: dict, resolved_at: str = "2024-06-11T08:00:00Z") -> str:
    """The state file 'nhn-appliance resolve' would have written (schema 1)."""
    resolver = site["resolvers"][0] if site["resolvers"] else "198.51.100.53"
    pin = {"ttl": 300, "resolved_at": resolved_at, "resolver": resolver}
    names = {n: {"addresses": a, **pin} for n, a in sorted(site["pins"].items())}
    doc = {"schema": "nhn-appliance/pins/1", "site": site["name"], "written_at": resolved_at}
    return json.dumps({**doc, "names": names}, indent=2) + "\n"
