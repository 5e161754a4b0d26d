"""Load the site file (``appliance.toml``): one customer site's network and choices."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from nhn_appliance.errors import SiteError
from nhn_appliance.policy.addresses import parse_address, parse_ip
from nhn_appliance.policy.catalogue import QOS_KEYS, check_shares, parse_dscp
from nhn_appliance.policy.model import (
    PROBE_CONCURRENCY,
    PROBE_DEADLINE_S,
    PROBE_TIMEOUT_S,
    Action,
    Catalogue,
    Endpoint,
    Host,
    ProbeSettings,
    QosClass,
    Site,
    Span,
    Uplink,
    Zone,
)
from nhn_appliance.policy.schema import IFACE_FORM, IFACE_RE, Node, read_toml
from nhn_appliance.policy.site_parts import (
    check_host_families,
    check_lan,
    load_openings,
    load_render_options,
)

TOP_KEYS = {"site", "lan", "uplinks", "host", "dns", "render", "qos", "probe", "opening", "serve"}
SITE_KEYS = {"name", "title", "outbound", "blocked_action", "services"}
PROBE_KEYS = {"timeout", "concurrency", "deadline", "ntp_servers", "pac_url", "proxy", "test_urls"}
UPLINK_ZONES = ("helsenett", "internett")
UPLINK_KEYS = {"interface", "rate_mbit", "gateway"}


def packaged_site() -> Path:
    """The embedded default site shipped with the package (``appliance.toml``)."""
    return Path(str(resources.files("nhn_appliance").joinpath("default_site.toml")))


def find_site(explicit: str | None) -> tuple[Path, str]:
    """The site file to use and how to name it: explicit, ./appliance.toml, packaged."""
    if explicit:
        return Path(explicit), explicit
    local = Path("appliance.toml")
    if local.is_file():
        return local, "appliance.toml"
    return packaged_site(), "appliance.toml (packaged default)"


def _proxy(node: Node, default: str) -> str:
    """``[probe] proxy``: empty (no proxy check) or HOST:PORT, the port a number."""
    value = node.text(default)
    m = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})", value)
    if value and (not m or not 1 <= int(m.group(2)) <= 65535):
        raise node.fail(f"{value!r} is not a proxy", "HOST:PORT with a port 1-65535, or ''")
    return value


def _iface(node: Node) -> str:
    value = node.text()
    if not IFACE_RE.fullmatch(value):
        raise node.fail(f"{value!r} is not a valid interface name", IFACE_FORM)
    return value


def load_site(path: Path, display: str, catalogue: Catalogue) -> Site:
    root = Node(read_toml(path, display, SiteError), display, "", SiteError)
    defaults = catalogue.defaults
    root.table(TOP_KEYS, required=("site", "lan", "uplinks"))
    head = root.get("site").table(SITE_KEYS, required=("name", "services"))

    known = sorted(catalogue.services)
    services: list[str] = []
    for node in head.get("services").list(single_ok=True):
        name = node.text()
        if name == "*":
            services.extend(s for s in known if s not in services)
            continue
        if name not in catalogue.services:
            raise node.fail(f"unknown service {name!r}", ", ".join(known) + ', or "*" for all')
        if name in services:
            raise node.fail(f"service {name!r} is listed twice")
        services.append(name)

    lan = root.get("lan").table({"interfaces", "prefixes"}, required=("interfaces", "prefixes"))
    lan_ifaces = tuple(_iface(n) for n in lan.get("interfaces").list(single_ok=True))
    prefixes = tuple(n.parsed(parse_address) for n in lan.get("prefixes").list(single_ok=True))
    if not lan_ifaces:
        raise lan.get("interfaces").fail("needs at least one LAN interface")
    if not prefixes:
        raise lan.get("prefixes").fail("needs at least one LAN prefix")

    uplinks_node = root.get("uplinks").table(set(UPLINK_ZONES))
    uplinks = []
    for zone, node in uplinks_node.items():
        node.table(UPLINK_KEYS, required=("interface",))
        gateway = node.get("gateway").text("")
        if gateway:
            node.get("gateway").parsed(parse_ip)
        uplinks.append(
            Uplink(
                Zone(zone),
                _iface(node.get("interface")),
                rate_mbit=node.get("rate_mbit").integer(1, 1_000_000, 0),
                gateway=gateway,
            )
        )
    if not uplinks:
        raise uplinks_node.fail("needs at least one uplink", ", ".join(UPLINK_ZONES))
    uplinks.sort(key=lambda u: UPLINK_ZONES.index(u.zone))
    ifaces = list(lan_ifaces) + [u.interface for u in uplinks]
    dup = {i for i in ifaces if ifaces.count(i) > 1}
    if dup:
        raise uplinks_node.fail(
            f"interface {sorted(dup)[0]!r} is used twice (LAN and uplinks must differ)"
        )

    hosts: list[Host] = []
    profiles = catalogue.profiles
    for node in root.get("host").list():
        node.table({"name", "addresses", "profile"}, required=("name", "addresses", "profile"))
        profile = node.get("profile").text()
        if profile not in profiles:
            raise node.get("profile").fail(
                f"unknown profile {profile!r}", ", ".join(sorted(profiles)) or "(none in catalogue)"
            )
        addrs = []
        for anode in node.get("addresses").list(single_ok=True):
            addr = anode.parsed(parse_ip)
            if not any(
                p.family == addr.family and p.first <= addr.first <= p.last for p in prefixes
            ):
                raise anode.fail(
                    f"{anode.value} is outside the LAN prefixes, so the firewall would never see it"
                )
            owner = next((h.name for h in hosts if addr in h.addresses), None)
            if owner:
                raise anode.fail(f"{anode.value} is already host {owner!r}; a host has one profile")
            addrs.append(addr)
        name = node.get("name").name()
        if any(h.name == name for h in hosts):
            raise node.get("name").fail(f"host name {name!r} is used twice")
        hosts.append(Host(name, tuple(addrs), profile))

    dns = (
        root.get("dns").table({"resolvers", "port", "pin_max_age_days"})
        if root.has("dns")
        else root.get("dns")
    )
    resolvers = []
    for node in dns.get("resolvers").list(single_ok=True):
        node.parsed(parse_ip)
        resolvers.append(node.text())

    targets, render_options = load_render_options(root.get("render"))
    openings = load_openings(root.get("opening"), catalogue)
    check_lan(
        lan.get("prefixes").list(single_ok=True),
        prefixes,
        _destinations(catalogue, services, hosts, openings),
    )
    check_host_families(root.get("host").list(), hosts, prefixes)
    qos_node = root.get("qos")
    keep_marking = qos_node.get("keep_host_marking").boolean(False) if root.has("qos") else False

    probe = root.get("probe").table(PROBE_KEYS) if root.has("probe") else root.get("probe")
    probe_settings = ProbeSettings(
        timeout=probe.get("timeout").number(0.1, 60, PROBE_TIMEOUT_S),
        deadline=probe.get("deadline").number(1, 3600, PROBE_DEADLINE_S),
        concurrency=probe.get("concurrency").integer(1, 256, PROBE_CONCURRENCY),
        # an explicit empty list means "no NTP check"; absent means the catalogue's default
        ntp_servers=tuple(n.text() for n in probe.get("ntp_servers").list(single_ok=True))
        if probe.has("ntp_servers")
        else defaults.ntp_servers,
        pac_url=probe.get("pac_url").text(defaults.pac.value),
        proxy=_proxy(probe.get("proxy"), defaults.proxy.value),
        test_urls=tuple(n.text() for n in probe.get("test_urls").list(single_ok=True)),
    )

    return Site(
        file=display,
        name=head.get("name").name(),
        title=head.get("title").text(""),
        outbound=head.get("outbound").choice(("open", "blocked"), defaults.outbound),
        blocked_action=Action(head.get("blocked_action").choice(("reject", "drop"), "reject")),
        lan_interfaces=lan_ifaces,
        lan_prefixes=prefixes,
        uplinks=tuple(uplinks),
        services=tuple(services),
        hosts=tuple(hosts),
        resolvers=tuple(resolvers),
        dns_port=dns.get("port").integer(1, 65535, 53),
        pin_max_age_days=dns.get("pin_max_age_days").integer(1, 3650, 30),
        targets=targets or ("nftables",),
        qos=_qos_overrides(qos_node, catalogue) if root.has("qos") else {},
        probe=probe_settings,
        openings=openings,
        keep_host_marking=keep_marking,
        render_options=render_options,
    )


def _qos_overrides(node: Node, catalogue: Catalogue) -> dict[str, QosClass]:
    """Per-site changes to the catalogue's QoS classes (DSCP, share, priority)."""
    out = {}
    for name, cnode in node.table().items():
        if name == "keep_host_marking":
            continue
        base = catalogue.qos.get(name)
        if base is None:
            raise cnode.fail(f"unknown QoS class {name!r}", ", ".join(sorted(catalogue.qos)))
        cnode.table(QOS_KEYS - {"name", "source"})
        out[name] = QosClass(
            name=name,
            title=cnode.get("title").text(base.title),
            dscp=cnode.get("dscp").parsed(parse_dscp) if cnode.has("dscp") else base.dscp,
            share=cnode.get("share").integer(0, 100, base.share),
            priority=cnode.get("priority").boolean(base.priority),
            source=f"{node.file}: qos.{name}",
            note=cnode.get("note").text(base.note),
        )
    check_shares({**catalogue.qos, **out}, node)
    return out


def _destinations(
    catalogue: Catalogue, services: list[str], hosts: list[Host], openings: tuple[Endpoint, ...]
) -> list[tuple[Zone, Span]]:
    """Every literal destination the site's services, profiles and openings name."""
    profiles = catalogue.profiles
    endpoints = [ep for s in services for ep in catalogue.services[s].endpoints]
    endpoints += [ep for h in {h.profile for h in hosts} for ep in profiles[h].endpoints]
    endpoints += openings
    return [(z, a) for ep in endpoints for z in ep.zones for a in ep.addresses]
