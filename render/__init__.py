"""Renderers: spell a compiled Policy in one target's dialect.

A renderer never decides policy. Each target is one module with a Jinja2
template beside it in ``templates/``, registered here by name and imported
only when asked for, so the command line stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from nhn_appliance.errors import UsageError
from nhn_appliance.policy.model import Policy

#: target name -> (module, one-line description); policy.site_parts.KNOWN_TARGETS mirrors the keys
RENDERERS: dict[str, tuple[str, str]] = {
    "nftables": (
        "nhn_appliance.render.nftables",
        "one 'inet' table for a Linux router (nft -f): interval sets, IPv4 and IPv6",
    ),
    "iptables": (
        "nhn_appliance.render.iptables",
        "iptables-restore --noflush files (own NHN-* chains only, hooked into FORWARD)",
    ),
    "cisco-ios": (
        "nhn_appliance.render.cisco_ios",
        "Cisco IOS / IOS XE: zone-based firewall per uplink, LAN access list, MQC marking, shaping",
    ),
    "junos": (
        "nhn_appliance.render.junos",
        "JunOS set commands: SRX zones and stateful policies (-O form=filter: stateless), CoS",
    ),
    "routeros": (
        "nhn_appliance.render.routeros",
        "MikroTik RouterOS script: address-lists, forward filter, DSCP mangle (idempotent)",
    ),
    "windows": (
        "nhn_appliance.render.windows",
        "PowerShell: firewall rules added before Block, rollback task, New-NetQosPolicy DSCP",
    ),
}


@dataclass(frozen=True)
class Artifact:
    """One rendered file: a default file name and its text."""

    name: str
    text: str
    family: int = 0  #: 4 or 6 for per-family files, 0 when one file holds both


class Renderer(Protocol):
    name: str
    description: str
    #: options the target takes (``render -O KEY=VALUE``): name -> help text
    options: dict[str, str]
    #: what the target cannot express, said by ``render --list-targets``
    limits: tuple[str, ...]

    def render(
        self, policy: Policy, options: Mapping[str, str] | None = None
    ) -> list[Artifact]: ...


def get_renderer(target: str) -> Renderer:
    try:
        module_name, _ = RENDERERS[target]
    except KeyError:
        raise UsageError(f"unknown target {target!r}; known: {', '.join(RENDERERS)}") from None
    return importlib.import_module(module_name).RENDERER
