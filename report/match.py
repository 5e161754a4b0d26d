"""Which results a selector of a finding rule matches, and what a result is about.

Shared by the rule evaluation (:mod:`.diagnose`), the causes and the general
findings; pure functions of the result dicts.
"""

from __future__ import annotations

import fnmatch
from typing import Any


def address_port(result: dict[str, Any]) -> tuple[str, int | None]:
    """The address and port a result is about: from its evidence, else parsed from the target."""
    ev = result.get("evidence") or {}
    address, port = ev.get("address"), ev.get("port")
    target = (
        str(result.get("target", "")).split(" ")[-1]
        if result.get("kind") == "note"
        else str(result.get("target", ""))
    )
    if address is None or port is None:
        host, p = target, None
        if target.startswith("["):
            host, _, rest = target[1:].partition("]")
            p = rest[1:] if rest.startswith(":") else None
        elif target.count(":") == 1:
            host, p = target.split(":")
        address = address if address is not None else host
        if port is None and p is not None:
            port = p.split("-")[0]
    try:
        port = int(port) if port is not None else None
    except (TypeError, ValueError):
        port = None
    return str(address), port


def _port_match(port: int | None, wanted: list[tuple[int, int]]) -> bool:
    return port is not None and any(lo <= port <= hi for lo, hi in wanted)


def matches(sel: dict[str, Any], result: dict[str, Any], rule_service: str) -> bool:
    service = sel.get("service", rule_service)
    if service != "*" and result.get("service") != service:
        return False
    for key in ("kind", "status", "reason"):
        if key in sel and result.get(key) not in sel[key]:
            return False
    if "id_glob" in sel and not fnmatch.fnmatchcase(str(result.get("id", "")), sel["id_glob"]):
        return False
    if "ports" in sel or "addresses" in sel:
        address, port = address_port(result)
        if "addresses" in sel and address not in sel["addresses"]:
            return False
        if "ports" in sel and not _port_match(port, sel["ports"]):
            return False
    return True
