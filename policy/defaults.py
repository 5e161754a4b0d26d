"""What a site file leaves unsaid where NHN's pages decide it (``rules/site/defaults.toml``).

The outbound default and its comment, NHN's NTP server, PAC file and proxy,
and the clock thresholds are facts (or readings) with a source, so they live
in the catalogue's data, never in Python. A catalogue directory may carry its
own ``site/defaults.toml``; without one, the packaged file applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from nhn_appliance.errors import CatalogueError
from nhn_appliance.policy.schema import Node, read_toml

RELATIVE = Path("site") / "defaults.toml"


@dataclass(frozen=True)
class Sourced:
    """A default value and the NHN source it rests on."""

    value: str
    source: str


@dataclass(frozen=True)
class ClockLimits:
    warn_s: float
    fail_s: float
    source: str
    note: str
    why_en: str


@dataclass(frozen=True)
class SiteDefaults:
    outbound: str  #: "open" or "blocked" when the site file does not say
    outbound_source: str
    open_comment: str  #: printed by every target beside the site's default rule
    blocked_comment: str
    ntp_servers: tuple[str, ...]
    ntp_source: str
    pac: Sourced  #: the PAC file's URL
    proxy: Sourced  #: HOST:PORT of the proxy the probe asks for a CONNECT
    connect_to: Sourced  #: HOST:PORT the proxy check asks for when the site names no test URL
    clock: ClockLimits
    verify_services: tuple[str, ...] = ()  #: what `apply --verify` checks (TCP openings)

    def default_comment(self, outbound: str) -> str:
        return self.open_comment if outbound == "open" else self.blocked_comment


def defaults_file(rules_dir: Path | None) -> Path:
    """The catalogue's own defaults file, else the packaged one."""
    if rules_dir is not None and (rules_dir / RELATIVE).is_file():
        return rules_dir / RELATIVE
    return Path(str(resources.files("nhn_appliance.rules").joinpath(*RELATIVE.parts)))


def load_defaults(path: Path) -> SiteDefaults:
    display = str(path)
    root = Node(read_toml(path, display, CatalogueError), display, "", CatalogueError)
    root.table({"outbound", "probe", "clock", "apply"}, required=("outbound", "probe", "clock"))
    out = root.get("outbound").table(
        {"default", "source", "open_comment", "blocked_comment"},
        required=("default", "source", "open_comment", "blocked_comment"),
    )
    probe = root.get("probe").table({"ntp", "pac", "proxy"}, required=("ntp", "pac", "proxy"))
    ntp = probe.get("ntp").table({"servers", "source"}, required=("servers", "source"))
    pac = probe.get("pac").table({"url", "source"}, required=("url", "source"))
    proxy = probe.get("proxy").table(
        {"address", "source", "connect_to", "connect_to_source"},
        required=("address", "source", "connect_to", "connect_to_source"),
    )
    clock = root.get("clock").table(
        {"warn_s", "fail_s", "source", "note", "why_en"},
        required=("warn_s", "fail_s", "source", "why_en"),
    )
    apply = root.get("apply").table({"verify_services", "source"}) if root.has("apply") else None
    verify = (
        tuple(n.name() for n in apply.get("verify_services").list(single_ok=True)) if apply else ()
    )
    warn_s = clock.get("warn_s").number(0.001, 3600, 1.0)
    fail_s = clock.get("fail_s").number(0.001, 3600, 30.0)
    if fail_s <= warn_s:
        raise clock.get("fail_s").fail(f"{fail_s:g} must be above warn_s ({warn_s:g})")
    return SiteDefaults(
        outbound=out.get("default").choice(("open", "blocked")),
        outbound_source=out.get("source").text(),
        open_comment=out.get("open_comment").text(),
        blocked_comment=out.get("blocked_comment").text(),
        ntp_servers=tuple(n.text() for n in ntp.get("servers").list(single_ok=True)),
        ntp_source=ntp.get("source").text(),
        pac=Sourced(pac.get("url").text(), pac.get("source").text()),
        proxy=Sourced(proxy.get("address").text(), proxy.get("source").text()),
        connect_to=Sourced(proxy.get("connect_to").text(), proxy.get("connect_to_source").text()),
        clock=ClockLimits(
            warn_s,
            fail_s,
            clock.get("source").text(),
            clock.get("note").text(""),
            clock.get("why_en").text(),
        ),
        verify_services=verify,
    )
