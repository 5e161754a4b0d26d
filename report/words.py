"""A check in the report's own words: what was checked, the reason, the detail.

The probe writes its details in English for the log; a report in bokmål must
not. So the report says each check again from data: the reason code's words
(``reason_*`` in ``labels.toml``, one per code of ``probes/reasons.py``), what
the evidence measured (the ICMP sender and whether it is the site's own
gateway, a clock offset, an HTTP status) and, for the matrix, what was
checked in a technician's words (``kind_*``), never a prober's name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: the matrix's column order: from the name, through the connection, to what rides on it
KIND_ORDER = (
    "dns",
    "tcp",
    "syn",
    "tls",
    "sip",
    "stun",
    "ntp",
    "pac",
    "proxy",
    "path",
    "sniff",
    "note",
)
#: a skipped check with one of these reasons could not be verified from the site
#: (no cooperating endpoint): counted as "not verifiable", never as "not run"
UNVERIFIED_REASONS = frozenset({"not-verifiable"})
_ADDRESS = re.compile(r"^[0-9A-Fa-f:.]+")


def is_unverified(check: Mapping[str, Any]) -> bool:
    """A skipped check that cannot be verified from the site (not one that did not run)."""
    if check.get("status") != "skipped":
        return False
    return check.get("reason") in UNVERIFIED_REASONS or check.get("kind") == "note"


def kind_words(kind: str, labels: Mapping[str, str]) -> str:
    """What a check of ``kind`` checks, as the matrix names it."""
    return labels.get(f"kind_{kind}") or labels["kind_other"]


def reason_words(reason: str, labels: Mapping[str, str]) -> str:
    """The words of a reason code; ``unknown: ...`` keeps its (technical) tail visible."""
    if reason.startswith("unknown"):
        tail = reason.partition(":")[2].strip()
        return labels["reason_unknown"] + (f" ({tail})" if tail else "")
    return labels.get("reason_" + reason.replace("-", "_"), reason)


def gateway_addresses(host: Mapping[str, Any]) -> set[str]:
    """The site's own gateways from the document's host facts ("198.51.100.1 (eth0)")."""
    out = set()
    for item in host.get("gateways") or []:
        m = _ADDRESS.match(str(item))
        if m:
            out.add(m.group(0))
    return out


def sender(result: Mapping[str, Any]) -> str:
    """The address an ICMP error came from, when one did."""
    ev = result.get("evidence") if isinstance(result.get("evidence"), dict) else {}
    return str(ev.get("from") or "") if ev else ""


def sender_words(address: str, gateways: set[str], labels: Mapping[str, str]) -> str:
    """Who sent the ICMP error and what that means for the fix."""
    key = "sender_gateway" if address in gateways else "sender_beyond"
    return labels[key].format(address=address)


def detail(result: Mapping[str, Any], gateways: set[str], labels: Mapping[str, str]) -> str:
    """The check's detail in the report's language: the reason and what was measured."""
    reason = str(result.get("reason") or "")
    if is_unverified(result):
        return labels["why_not_verifiable"]
    parts = [reason_words(reason, labels)] if reason else []
    ev = result.get("evidence") if isinstance(result.get("evidence"), dict) else {}
    offset = ev.get("offset_s") if ev else None
    if isinstance(offset, int | float) and not isinstance(offset, bool) and reason != "open":
        number = f"{offset:+.1f}".replace("-", "\u2212").replace(".", labels["decimal_mark"])
        clock = labels["clock_off"].format(offset=number)
        parts = [clock] if reason == "clock-offset" else [*parts, clock]
    if ev and reason == "answer-differs" and isinstance(ev.get("addresses"), list):
        parts.append(
            labels["dns_answer"].format(
                got=", ".join(map(str, ev["addresses"])),
                want=", ".join(map(str, ev.get("expect") or [])),
            )
        )
    if ev and ev.get("resolver") and reason in ("timeout", "servfail", "dns-refused"):
        parts.append(labels["dns_resolver"].format(resolver=ev["resolver"]))
    code = ev.get("http_status") if ev else None
    if isinstance(code, int) and not isinstance(code, bool) and reason != "proxy-status-407":
        parts.append(labels["http_status"].format(code=code))
    who = sender(result)
    if who:
        parts.append(f"{labels['sender']}: {sender_words(who, gateways, labels)}")
    return "; ".join(parts)
