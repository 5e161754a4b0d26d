"""The versioned result document of a probe run, written atomically.

``schema`` names the format and its version; readers refuse other versions
with a clear message. Besides the results it records the run's context: the
site, the appliance version, this host's addresses, gateways and resolvers,
start and end times.
"""

from __future__ import annotations

import json
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nhn_appliance import __version__
from nhn_appliance.probes.model import RESULTS_SCHEMA, Result

SCHEMA = RESULTS_SCHEMA


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def host_info() -> dict[str, Any]:
    """Addresses, default gateways and resolvers of this host, read without probing."""
    info: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "addresses": [],
        "gateways": [],
        "resolvers": [],
    }
    for argv, key in (
        (["ip", "-j", "addr"], "addresses"),
        (["ip", "-j", "route", "show", "default"], "gateways"),
        (["ip", "-6", "-j", "route", "show", "default"], "gateways"),
    ):
        try:
            out = subprocess.run(
                argv, capture_output=True, text=True, timeout=2, check=False
            ).stdout
            data = json.loads(out or "[]")
        except (OSError, ValueError, subprocess.TimeoutExpired):
            continue
        if key == "addresses":
            info[key] += [
                f"{a['local']}/{a['prefixlen']} ({i['ifname']})"
                for i in data
                for a in i.get("addr_info", [])
                if i.get("ifname") != "lo"
            ]
        else:
            info[key] += [f"{r.get('gateway', '')} ({r.get('dev', '')})" for r in data]
    try:
        for line in Path("/etc/resolv.conf").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                info["resolvers"].append(parts[1])
    except OSError:
        pass
    return info


def build(
    site: str,
    site_file: str,
    started: float,
    ended: float,
    results: list[Result],
    interrupted: bool = False,
    host: dict | None = None,
) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    return {
        "schema": SCHEMA,
        "software": {"name": "nhn-appliance", "version": __version__},
        "site": {"name": site, "file": site_file},
        "host": host if host is not None else host_info(),
        "started_at": iso(started),
        "ended_at": iso(ended),
        "runtime_s": round(ended - started, 3),
        "interrupted": interrupted,
        "summary": counts,
        "results": [r.as_dict() for r in results],
    }


def write(path: Path, doc: dict[str, Any]) -> None:
    """Temporary file in the same folder, fsync, rename: never half a document."""
    from nhn_appliance.outputs import write_text

    write_text(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
