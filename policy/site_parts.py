"""Parts of the site file beyond its network: the site's own openings, the
render targets' options, and the sanity checks that need the catalogue.

Split from :mod:`site` to keep each loader short; every error still names
the file, the key path and what is allowed.
"""

from __future__ import annotations

from nhn_appliance.policy.addresses import format_span
from nhn_appliance.policy.catalogue import ENDPOINT_KEYS, load_endpoint
from nhn_appliance.policy.model import Catalogue, Endpoint, Host, Span, Zone
from nhn_appliance.policy.schema import Node

#: the service name the site's own openings are compiled under ("site/<id>")
SITE_SERVICE = "site"
#: what a site opening may say: a fixed destination, never names to pin or a system proxy
OPENING_KEYS = ENDPOINT_KEYS - {"names", "site_addresses", "sni", "system_proxy"}
#: every render target the command line knows (the registry in nhn_appliance.render)
KNOWN_TARGETS = ("nftables", "iptables", "cisco-ios", "junos", "routeros", "windows")
#: keys of [render.<target>]: the device's interface names, as ``render -O`` takes them
RENDER_KEYS = ("lan", "helsenett", "internett")


def load_openings(node: Node, catalogue: Catalogue) -> tuple[Endpoint, ...]:
    """``[[opening]]``: endpoints of the site's own, validated like the catalogue's."""
    if SITE_SERVICE in catalogue.services:
        raise node.fail(f"the catalogue has a service named {SITE_SERVICE!r}; rename it")
    out: list[Endpoint] = []
    for item in node.list():
        item.table(OPENING_KEYS, required=("id", "zone", "source", "addresses"))
        ep = load_endpoint(item)
        if any(o.id == ep.id for o in out):
            raise item.get("id").fail(f"opening id {ep.id!r} is used twice")
        if ep.qos not in catalogue.qos:
            raise item.get("qos").fail(
                f"unknown QoS class {ep.qos!r}", ", ".join(sorted(catalogue.qos))
            )
        out.append(ep)
    return tuple(out)


def load_render_options(node: Node) -> tuple[tuple[str, ...], dict[str, dict[str, str]]]:
    """``[render]``: the targets in order, and per target its interface names."""
    if node.value is None:
        return (), {}
    table = node.table({"targets", *KNOWN_TARGETS})
    targets = tuple(n.choice(KNOWN_TARGETS) for n in table.get("targets").list(single_ok=True))
    options: dict[str, dict[str, str]] = {}
    for target in KNOWN_TARGETS:
        if not table.has(target):
            continue
        sub = table.get(target).table(set(RENDER_KEYS))
        opts = {}
        for key, value in sub.items():
            names = [n.text() for n in value.list(single_ok=True)]
            for n, name in zip(value.list(single_ok=True), names, strict=True):
                if not device_iface_ok(name):
                    raise n.fail(f"{name!r} is not an interface name", DEVICE_IFACE_FORM)
            if key != "lan" and len(names) != 1:
                raise value.fail("names one interface")
            opts[key] = ",".join(names)
        options[target] = opts
    return targets, options


#: device interface names carry '/', ':' and '.' (GigabitEthernet0/0/1, ge-0/0/1.0,
#: ether2); each renderer then checks its own device's form
DEVICE_IFACE_FORM = "1-64 characters: letters, digits, '_', '.', '-', '/', ':'"


def device_iface_ok(name: str) -> bool:
    return 0 < len(name) <= 64 and all(c.isascii() and (c.isalnum() or c in "_.-/:") for c in name)


def check_lan(
    nodes: list[Node], prefixes: tuple[Span, ...], destinations: list[tuple[Zone, Span]]
) -> None:
    """A LAN prefix is a site's own network: never everything, and never overlapping
    a catalogue destination (a LAN inside the Helsenett's 10.145.128.0/17 would turn
    that opening into LAN traffic). Private ranges of zone lokal (the vendor
    profile's 192.168.0.0/16) may hold the LAN, but the LAN may not hold them."""
    for i, p in enumerate(prefixes):
        if _everything(p):
            raise nodes[i].fail(f"{format_span(p)} is every address; name the LAN's own prefix")
        for zone, d in destinations:
            if d.family != p.family or d.last < p.first or p.last < d.first or _everything(d):
                continue  # "any address" (DNS of the vendor profile) holds every LAN
            if zone != Zone.LOKAL or (p.first <= d.first and d.last <= p.last):
                raise nodes[i].fail(
                    f"{format_span(p)} overlaps the catalogue destination {format_span(d)} "
                    f"(zone {zone}); a LAN prefix must be the site's own network"
                )


def _everything(span: Span) -> bool:
    return span.first == 0 and span.last == (1 << (32 if span.family == 4 else 128)) - 1


def check_host_families(nodes: list[Node], hosts: list[Host], prefixes: tuple[Span, ...]) -> None:
    """On a dual-stack LAN a profile host needs its IPv6 address(es) too, or its
    isolation would hold for IPv4 only."""
    if not any(p.family == 6 for p in prefixes):
        return
    six = ", ".join(format_span(p) for p in prefixes if p.family == 6)
    for i, host in enumerate(hosts):
        if not any(a.family == 6 for a in host.addresses):
            raise (
                nodes[i]
                .get("addresses")
                .fail(
                    f"host {host.name!r} has no IPv6 address, but the LAN has the IPv6 prefix "
                    f"{six}: its profile would not hold over IPv6; give its IPv6 address(es) "
                    f"(static or DHCPv6-reserved)"
                )
            )
