"""Policies shared by the renderer tests that read their own output back.

``policy(case)`` gives the default site ("default", "default-pinned",
"default-open"), a small "trick" catalogue whose rejects overlap openings,
with a kiosk profile ("trick", "trick-open", "trick-open-hn" for a
Helsenett-only site), or a site of tests/cases/unit against its small
catalogue ("dual", "open", "helsenett"; "hosts" adds a profile on a host
range and an IPv6 host, and a second LAN interface). ``hostile_policy()`` is
the catalogue of tests/cases/injection, whose free text tries to break out of
every target's syntax. Rendering only: no address here is ever contacted.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from functools import cache
from pathlib import Path

from conftest import HOSTILE, PINS, REPO, UNIT

from nhn_appliance.policy.addresses import parse_address
from nhn_appliance.policy.catalogue import load_catalogue
from nhn_appliance.policy.compile import compile_policy
from nhn_appliance.policy.model import Action, Host, Policy, Site, Span, Uplink, Zone
from nhn_appliance.policy.pins import read_pins
from nhn_appliance.policy.site import load_site

UNIT_SITES = ("dual", "helsenett", "hosts", "open")  #: tests/cases/unit/site_<case>.toml
#: each target's options for the default site (router interface names, the PC's proxy)
TARGET_OPTIONS = {
    "cisco-ios": {
        "helsenett": "GigabitEthernet0/1",
        "internett": "GigabitEthernet0/2",
        "lan": "GigabitEthernet0/0",
    },
    "junos": {"helsenett": "ge-0/0/1.0", "internett": "ge-0/0/2", "lan": "ge-0/0/0.0"},
    "routeros": {"lan": "bridge", "helsenett": "ether1", "internett": "ether2"},
    "windows": {"winhttp-proxy": "yes"},
    "nftables": {"routes": "yes"},
    "iptables": {"routes": "yes"},
}

TRICK = """
[service]
name = "trick"
source = "test"
[[endpoint]]
id = "wide-reject"
zone = "helsenett"
addresses = ["203.0.113.0/24", "2001:db8:99::/48"]
protocol = "any"
action = "reject"
source = "t"
[[endpoint]]
id = "web"
zone = ["helsenett", "internett"]
addresses = ["203.0.113.10-203.0.113.20", "2001:db8:99::10"]
protocol = "tcp"
ports = [443, "8000-8100"]
qos = "video"
source = "t"
[[endpoint]]
id = "open-any"
zone = "internett"
addresses = ["203.0.113.128/26"]
protocol = "any"
qos = "video"
source = "t"
[[endpoint]]
id = "udp-reject"
zone = ["helsenett", "internett"]
addresses = ["198.51.100.0/24"]
protocol = "udp"
ports = ["1000-2000"]
action = "reject"
source = "t"
[[endpoint]]
id = "udp-open"
zone = "helsenett"
addresses = ["198.51.100.7"]
protocol = "udp"
ports = [1500]
qos = "bulk"
source = "t"
[[endpoint]]
id = "many-ports"
zone = "internett"
addresses = ["198.51.100.240/28", "2001:db8:77::/126"]
tcp = [
    21, 22, 23, 25, 110, 143, 465, 587, 993, 995,
    "3000-3010", "4000-4010", 5000, 5001, 5002, 6000,
]
source = "t"
[[profile]]
name = "kiosk"
otherwise = "drop"
source = "t"
[[profile.endpoint]]
id = "dns"
zone = ["helsenett", "internett"]
addresses = ["0.0.0.0/0"]
protocol = ["udp", "tcp"]
ports = [53]
source = "t"
[[profile.endpoint]]
id = "no-evil"
zone = "helsenett"
addresses = ["203.0.113.53"]
protocol = "any"
action = "reject"
source = "t"
"""
TRICK_QOS = """
[[class]]
name = "standard"
dscp = "DF"
source = "t"
[[class]]
name = "video"
dscp = "AF41"
share = 30
source = "t"
[[class]]
name = "bulk"
dscp = "CS1"
share = 5
source = "t"
"""


def _unit_policy(case: str):
    cat = load_catalogue(UNIT / "catalogue")
    if case == "hosts":  # a profile on a host range and an IPv6 host, two LAN interfaces
        site = load_site(UNIT / "site_dual.toml", "site_dual.toml", cat)
        host = Host(
            "kiosk-2",
            (parse_address("192.168.1.60-192.168.1.67"), parse_address("2001:db8:1::60")),
            "kiosk",
        )
        site = replace(site, hosts=site.hosts + (host,), lan_interfaces=("lan0", "lan1"))
        return compile_policy(cat, site)
    return compile_policy(cat, load_site(UNIT / f"site_{case}.toml", f"site_{case}.toml", cat))


@cache
def policy(case: str):
    if case in UNIT_SITES:
        return _unit_policy(case)
    if case.startswith("trick"):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "trick.toml").write_text(TRICK)
            (Path(tmp) / "qos.toml").write_text(TRICK_QOS)
            catalogue = load_catalogue(Path(tmp))
        site = Site(
            file="trick.toml",
            name="trick",
            title="",
            outbound="blocked",
            blocked_action=Action.DROP,
            lan_interfaces=("lan0", "lan1"),
            lan_prefixes=(parse_address("192.168.5.0/24"), parse_address("2001:db8:5::/64")),
            uplinks=(Uplink(Zone.HELSENETT, "wan-hn"), Uplink(Zone.INTERNETT, "wan-inet")),
            services=("trick",),
            hosts=(Host("kiosk-1", (parse_address("192.168.5.9"),), "kiosk"),),
        )
    else:
        catalogue = load_catalogue(REPO / "rules")
        site = load_site(REPO / "appliance.toml", "appliance.toml", catalogue)
    pins = read_pins(PINS) if "pinned" in case else {}
    if "open" in case:
        site = replace(site, outbound="open")
    if case.endswith("-hn"):
        site = replace(site, uplinks=site.uplinks[:1])
    return compile_policy(catalogue, site, pins)


def hostile_site() -> Site:
    """A small blocked site that uses only the hostile catalogue's service."""
    return Site(
        file="site.toml",
        name="inj",
        title="",
        outbound="blocked",
        blocked_action=Action.REJECT,
        lan_interfaces=("lan0",),
        lan_prefixes=(Span(4, 0xC6336400, 0xC633647F),),
        uplinks=(Uplink(Zone.HELSENETT, "wan-hn"),),
        services=("ondsinnet",),
    )


@cache
def hostile_policy():
    return compile_policy(load_catalogue(HOSTILE), hostile_site())


def options_for(target: str, policy: Policy) -> dict[str, str]:
    """TARGET_OPTIONS narrowed to what this policy's site has: the LAN and the
    uplinks it really has, and the winhttp proxy only where the catalogue names one."""
    zones = {"lan"} | {u.zone.value for u in policy.uplinks}
    opts = {k: v for k, v in TARGET_OPTIONS.get(target, {}).items() if k in zones or "-" in k}
    if opts.get("winhttp-proxy") == "yes" and not policy.system_proxy:
        del opts["winhttp-proxy"]
    return opts
