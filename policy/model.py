"""The frozen model shared by every part of the appliance.

Addresses are kept as integer spans (family, first, last) so that compile can
merge and split them quickly; :mod:`nhn_appliance.policy.addresses` parses and
prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from nhn_appliance.policy.defaults import SiteDefaults


class Zone(StrEnum):
    """Where an endpoint lives, which decides the uplink its traffic leaves by."""

    HELSENETT = "helsenett"  #: the closed health network, via the NHN router
    INTERNETT = "internett"  #: the public internet, via the site's own line
    LOKAL = "lokal"  #: private/local addresses, reachable on any interface


class Proto(StrEnum):
    TCP = "tcp"
    UDP = "udp"
    ANY = "any"  #: every IP protocol, every port


class Action(StrEnum):
    ACCEPT = "accept"
    DROP = "drop"
    REJECT = "reject"


class Span(NamedTuple):
    """An inclusive address range of one family (4 or 6)."""

    family: int
    first: int
    last: int


class PortRange(NamedTuple):
    lo: int
    hi: int


ALL_PORTS = (PortRange(0, 65535),)


@dataclass(frozen=True)
class Endpoint:
    """One opening of a service: where to, which protocols and ports, and why."""

    id: str
    zones: tuple[Zone, ...]
    #: (protocol, ports) pairs; ports are empty for protocol ``any``
    flows: tuple[tuple[Proto, tuple[PortRange, ...]], ...]
    addresses: tuple[Span, ...] = ()  #: literal addresses from the catalogue
    names: tuple[str, ...] = ()  #: DNS names, pinned by ``resolve`` before use
    site_addresses: str = ""  #: take addresses from the site (``resolvers``)
    qos: str = "standard"
    action: Action = Action.ACCEPT
    source: str = ""
    note: str = ""
    title: str = ""
    sni: str = ""  #: the TLS server name to check at tcp/443 of this endpoint
    system_proxy: bool = False  #: this endpoint is the system-level (winhttp) proxy


@dataclass(frozen=True)
class Profile:
    """A per-host isolation list: the host may reach only these endpoints."""

    name: str
    service: str
    title: str
    otherwise: Action
    endpoints: tuple[Endpoint, ...]
    source: str = ""
    note: str = ""


@dataclass(frozen=True)
class Service:
    name: str
    title: str
    file: str
    endpoints: tuple[Endpoint, ...]
    profiles: tuple[Profile, ...] = ()
    source: str = ""
    note: str = ""
    description: str = ""


@dataclass(frozen=True)
class QosClass:
    name: str
    dscp: int
    share: int  #: percent of the uplink in a bandwidth queue (0 = no guarantee)
    priority: bool  #: strict-priority (low-latency) queue
    title: str = ""
    source: str = ""
    note: str = ""


@dataclass(frozen=True)
class Catalogue:
    directory: str
    services: dict[str, Service]
    qos: dict[str, QosClass]
    defaults: SiteDefaults  #: what a site file leaves unsaid (rules/site/defaults.toml)
    revision: str = ""  #: a digest of the catalogue's files (which catalogue a config came from)

    @property
    def profiles(self) -> dict[str, Profile]:
        return {p.name: p for s in self.services.values() for p in s.profiles}


@dataclass(frozen=True)
class Uplink:
    zone: Zone
    interface: str
    rate_mbit: int = 0  #: the line's rate, for a shaper that lets the queues act (0: unknown)
    gateway: str = ""  #: next hop on this line, for rendered routes ("" : not given)


@dataclass(frozen=True)
class Host:
    name: str
    addresses: tuple[Span, ...]
    profile: str


#: the product's own probe defaults (not NHN facts: those are in rules/site/defaults.toml)
PROBE_TIMEOUT_S = 3.0  #: seconds per check
PROBE_DEADLINE_S = 60.0  #: seconds for a whole run
PROBE_CONCURRENCY = 64  #: checks (and worker threads) at once


@dataclass(frozen=True)
class ProbeSettings:
    """A site's ``[probe]`` section, with the catalogue's defaults filled in.

    Empty ``ntp_servers``, ``pac_url`` or ``proxy`` mean "no such check".
    """

    timeout: float = PROBE_TIMEOUT_S
    deadline: float = PROBE_DEADLINE_S
    concurrency: int = PROBE_CONCURRENCY
    ntp_servers: tuple[str, ...] = ()
    pac_url: str = ""
    proxy: str = ""  #: HOST:PORT
    test_urls: tuple[str, ...] = ()  #: URLs the PAC file is asked about


@dataclass(frozen=True)
class Site:
    file: str
    name: str
    title: str
    outbound: str  #: "open" (NHN's default) or "blocked"
    blocked_action: Action  #: what "blocked" does: drop or reject
    lan_interfaces: tuple[str, ...]
    lan_prefixes: tuple[Span, ...]
    uplinks: tuple[Uplink, ...]
    services: tuple[str, ...]
    hosts: tuple[Host, ...] = ()
    resolvers: tuple[str, ...] = ()
    dns_port: int = 53
    pin_max_age_days: int = 30
    targets: tuple[str, ...] = ("nftables",)
    qos: dict[str, QosClass] = field(default_factory=dict)  #: per-site class overrides
    probe: ProbeSettings = field(default_factory=ProbeSettings)  #: read by the probes
    #: the site's own openings ([[opening]]: a journal vendor, a backup service)
    openings: tuple[Endpoint, ...] = ()
    #: keep the DSCP LAN hosts set on traffic no class names (default: re-mark it to 0)
    keep_host_marking: bool = False
    #: per render target, its options as the site file gives them ([render.<target>])
    render_options: dict[str, dict[str, str]] = field(default_factory=dict)

    def uplink(self, zone: Zone) -> Uplink | None:
        return next((u for u in self.uplinks if u.zone == zone), None)


@dataclass(frozen=True)
class Pin:
    """Addresses a name resolved to, as ``resolve`` saw them."""

    name: str
    addresses: tuple[str, ...]
    ttl: int
    resolved_at: str  #: ISO 8601, UTC
    resolver: str


@dataclass(frozen=True)
class Rule:
    """One normalized line of a compiled policy.

    ``profile`` is empty for the site's LAN rules and names the profile for a
    host isolation list. ``ports`` is empty for protocol ``any``.
    """

    id: str
    service: str
    endpoint: str
    profile: str
    zone: Zone
    interfaces: tuple[str, ...]
    action: Action
    family: int
    proto: Proto
    dst: tuple[Span, ...]
    ports: tuple[PortRange, ...]
    qos: str
    source: str
    note: str = ""


@dataclass(frozen=True)
class ProfileBinding:
    """A profile applied to hosts of this site."""

    name: str
    service: str
    hosts: tuple[Span, ...]
    host_names: tuple[str, ...]
    otherwise: Action
    source: str


@dataclass(frozen=True)
class Policy:
    site: str
    site_file: str
    outbound: str
    default_action: Action
    lan_interfaces: tuple[str, ...]
    lan_prefixes: tuple[Span, ...]
    uplinks: tuple[Uplink, ...]
    profiles: tuple[ProfileBinding, ...]
    rules: tuple[Rule, ...]
    qos: dict[str, QosClass]
    warnings: tuple[str, ...] = ()
    omitted: tuple[str, ...] = ()  #: endpoints left out, with the reason
    system_proxy: str = ""  #: HOST:PORT of the catalogue's system proxy, if the site uses it
    system_proxy_source: str = ""  #: where the catalogue has it from
    default_comment: str = ""  #: what every target prints beside the site's default rule
    #: names a service in use needs but no pin gives an address (their rules are left out)
    unpinned: tuple[str, ...] = ()
    keep_host_marking: bool = False  #: see Site.keep_host_marking
    software: str = ""  #: "nhn-appliance VERSION", printed in every rendered file
    catalogue_revision: str = ""  #: a digest of the catalogue's files, printed likewise
    #: on a site with several uplinks: the destinations that must leave by each
    #: uplink (rules bound to that uplink alone), for the site's routing
    routes: dict[Zone, tuple[Span, ...]] = field(default_factory=dict)

    def families(self) -> tuple[int, ...]:
        """Families that appear anywhere in the policy (LAN, rules or hosts)."""
        fams = {s.family for s in self.lan_prefixes} | {r.family for r in self.rules}
        return tuple(sorted(fams))

    def scope_rules(self, profile: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.profile == profile)
