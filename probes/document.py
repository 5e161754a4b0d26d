"""The versioned result document of a probe run (pure: the edge writes it).

``schema`` names the format and its version; readers refuse other versions
with a clear message. Besides the results it records the run's context: the
site, the appliance version, this host's addresses, gateways and resolvers
(:class:`HostInfo`, read by :mod:`nhn_appliance.hostinfo`), start and end times.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from nhn_appliance import __version__
from nhn_appliance.probes.model import RESULTS_SCHEMA, Result

SCHEMA = RESULTS_SCHEMA


@dataclass(frozen=True)
class HostInfo:
    """Where the probe ran, as the host itself says (no probing)."""

    hostname: str
    addresses: tuple[str, ...] = ()  #: "198.51.100.2/25 (eth0)"
    gateways: tuple[str, ...] = ()  #: "198.51.100.1 (eth0)"
    resolvers: tuple[str, ...] = ()  #: the system's, from /etc/resolv.conf


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def build(
    site: str,
    site_file: str,
    started: float,
    ended: float,
    results: list[Result],
    host: HostInfo,
    interrupted: bool = False,
) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    return {
        "schema": SCHEMA,
        "software": {"name": "nhn-appliance", "version": __version__},
        "site": {"name": site, "file": site_file},
        "host": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(host).items()},
        "started_at": iso(started),
        "ended_at": iso(ended),
        "runtime_s": round(ended - started, 3),
        "interrupted": interrupted,
        "summary": counts,
        "results": [r.as_dict() for r in results],
    }


def dumps(doc: dict[str, Any]) -> str:
    """The document as the file holds it."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
