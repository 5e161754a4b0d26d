"""Policies shared by the renderer tests that read their own output back.

``policy(case)`` gives the default site ("default", "default-pinned",
"default-open") or a small "trick" catalogue whose rejects overlap openings,
with a kiosk profile ("trick", "trick-open", "trick-open-hn" for a
Helsenett-only site). Rendering only: no address here is ever contacted.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from functools import cache
from pathlib import Path

from nhn_appliance.policy.addresses import parse_address
from nhn_appliance.policy.catalogue import load_catalogue
from nhn_appliance.policy.compile import compile_policy
from nhn_appliance.policy.model import Action, Host, Site, Uplink, Zone
from nhn_appliance.policy.pins import read_pins
from nhn_appliance.policy.site import load_site

TESTS = Path(__file__).parent
REPO = TESTS.parent
HOSTILE = TESTS / "cases" / "injection" / "rules"

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
tcp = [21, 22, 23, 25, 110, 143, 465, 587, 993, 995, "3000-3010", "4000-4010", 5000, 5001, 5002, 6000]
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


@cache
def policy(case: str):
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
    pins = read_pins(TESTS / "cases" / "pins" / "default.pins.json") if "pinned" in case else {}
    if "open" in case:
        site = replace(site, outbound="open")
    if case.endswith("-hn"):
        site = replace(site, uplinks=site.uplinks[:1])
    return compile_policy(catalogue, site, pins)
