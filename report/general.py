"""The finding every failing service gets, and what to open, from the catalogue.

A finding rule (``diagnosis.toml``) knows a pattern; a failure no rule knows
must still reach support: each failing or erroring check that no rule cites
lands in a general finding of its service, naming the opening, how it failed
(refused, rejected and by whom, timeout) and what to open, with the
catalogue's source. Checks one cause explains are grouped apart, so the
finding can point at that cause.
"""

from __future__ import annotations

from typing import Any

from nhn_appliance.report.facts import endpoint_of
from nhn_appliance.report.match import address_port
from nhn_appliance.report.wording import (
    PROTO,
    opening,
    resolver_of,
    short_list,
    texts,
    zone_words,
)

FAILING = ("fail", "error")
TO = {"nb": "til", "en": "to"}


def proto_of(r: dict[str, Any]) -> str:
    kind, rid = str(r.get("kind")), str(r.get("id", ""))
    if kind == "sip":
        return "udp" if rid.startswith("sip-udp") else "tcp"
    return {"stun": "udp", "ntp": "udp"}.get(kind, "tcp" if kind in PROTO else "")


def catalogue_entry(r: dict[str, Any]) -> dict[str, Any] | None:
    address, port = address_port(r)
    return endpoint_of(address, port, proto_of(r)) if proto_of(r) else None


def zone_of(r: dict[str, Any]) -> str:
    """The uplink zone a check leaves by: as the probe recorded it, else the
    catalogue's when the address belongs to one zone only; else ""."""
    zone = r.get("zone")
    if isinstance(zone, str) and zone:
        return zone
    ep = catalogue_entry(r)
    return ep["zones"][0] if ep and len(ep["zones"]) == 1 else ""


def wanted(rs: list[dict[str, Any]], lang: str) -> str:
    """What to open for these checks, from the catalogue where it knows the address:
    "TCP 40000-49999 til 91.186.92.28-91.186.92.32 (Helsenett-linjen)"."""
    items: list[str] = []
    for r in rs:
        ep = catalogue_entry(r)
        zone = zone_of(r)
        where = f" ({zone_words(zone, lang)})" if zone else ""
        if r.get("kind") == "dns":
            items.append(f"UDP/TCP 53 {TO[lang]} {resolver_of(r)}{where}")
        elif ep:
            proto = ep["proto"].upper()
            ports = f" {ep['ports']}" if ep["ports"] else ""
            items.append(f"{proto}{ports} {TO[lang]} {', '.join(ep['addresses'])}{where}")
        elif proto_of(r):
            address, port = address_port(r)
            items.append(f"{proto_of(r).upper()} {port} {TO[lang]} {address}{where}")
        else:
            items.append(f"{r.get('target')}{where}")
    return short_list(items, lang, limit=8)


def sources_of(rs: list[dict[str, Any]], extra: str = "") -> str:
    """The catalogue's sources for these checks (the endpoint's, else the check's)."""
    parts: list[str] = [p.strip() for p in extra.split(";") if p.strip()]
    for r in rs:
        ep = catalogue_entry(r)
        for part in str(ep["source"] if ep else r.get("source") or "").split(";"):
            if part.strip() and part.strip() not in parts:
                parts.append(part.strip())
    return "; ".join(parts)


def general_findings(
    results: list[dict[str, Any]],
    cited: set[str],
    explained_by: dict[str, list[str]],
    titles: dict[str, str],
    lang: str,
) -> list[dict[str, Any]]:
    """One finding per service (and per set of causes) for the failing checks no
    rule cited; ``explained_by`` maps a check id to the causes that explain it."""
    groups: dict[tuple[str, tuple[str, ...], bool], list[dict[str, Any]]] = {}
    totals: dict[str, int] = {}
    for r in results:
        service = str(r.get("service") or "-")
        totals[service] = totals.get(service, 0) + 1
        if r.get("status") not in FAILING or str(r.get("id", "")) in cited:
            continue
        causes = tuple(explained_by.get(str(r.get("id", "")), ()))
        groups.setdefault((service, causes, r.get("status") == "error"), []).append(r)
    found = []
    for (service, causes, error), rs in groups.items():
        words = texts()["general_error" if error else "general"]
        fill = {
            "service": titles.get(service, service),
            "n": str(len(rs)),
            "total": str(totals[service]),
            "openings": short_list([opening(r, lang) for r in rs], lang, 8, "; "),
            "wanted": wanted(rs, lang),
        }
        suffix = "".join(f"-{c.removeprefix('cause-')}" for c in causes)
        found.append(
            {
                "id": f"{service}-{'error' if error else 'failing'}{suffix}",
                "service": service,
                "severity": "warn" if error else "fail",
                **{k: v.format(**fill) for k, v in words[lang].items()},
                "source": sources_of(rs, words["source"]),
                "checks": [str(r.get("id", "")) for r in rs],
                "because_of": list(causes),
            }
        )
    return found
