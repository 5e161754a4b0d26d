"""Read this host's addresses, default gateways and resolvers for the result document.

An edge module: it runs ``ip -j`` and reads /etc/resolv.conf, so the
document builder (:mod:`nhn_appliance.probes.document`) can stay pure.
Nothing here sends a packet.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

from nhn_appliance.probes.document import HostInfo

RESOLV_CONF = Path("/etc/resolv.conf")


def _ip_json(argv: list[str]) -> list[dict[str, Any]]:
    """What ``ip -j ...`` prints, or [] when it cannot run."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=2, check=False).stdout
        data = json.loads(out or "[]")
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return []
    return data if isinstance(data, list) else []


def host_info(resolv_conf: Path = RESOLV_CONF) -> HostInfo:
    """Addresses (not loopback), default gateways (v4 and v6) and resolvers of this host."""
    addresses = [
        f"{a['local']}/{a['prefixlen']} ({i['ifname']})"
        for i in _ip_json(["ip", "-j", "addr"])
        if i.get("ifname") != "lo"
        for a in i.get("addr_info", [])
    ]
    gateways = [
        f"{r.get('gateway', '')} ({r.get('dev', '')})"
        for argv in (
            ["ip", "-j", "route", "show", "default"],
            ["ip", "-6", "-j", "route", "show", "default"],
        )
        for r in _ip_json(argv)
    ]
    resolvers: list[str] = []
    try:
        for line in resolv_conf.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                resolvers.append(parts[1])
    except OSError:
        pass
    return HostInfo(socket.gethostname(), tuple(addresses), tuple(gateways), tuple(resolvers))
