"""The words of causes and general findings (``rules/report/causes.toml``) and the
small helpers that put a check into words: how it failed, what it tried, who
rejected it. Checked on load like every rules file: a mistake names the file,
the key path and what is allowed.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Any

from nhn_appliance.errors import CatalogueError
from nhn_appliance.policy.schema import Node, read_toml
from nhn_appliance.report.data import LANGS, rules_file
from nhn_appliance.report.facts import words_list

TEXT_KEYS = ("title", "explanation", "remediation")
CAUSES = ("all-silent", "uplink-silent", "resolvers-silent", "site-firewall", "rejected-beyond")
REASONS = (
    "refused",
    "timeout",
    "no-answer",
    "icmp-admin-prohibited",
    "icmp-host-unreachable",
    "network-unreachable",
    "other",
    "error",
)
SENDERS = ("own", "beyond", "unknown")
MORE = {"nb": "og {n} til", "en": "and {n} more"}


def texts() -> dict[str, Any]:
    return _load(str(rules_file("causes.toml")))


def _finding_texts(node: Node) -> dict[str, Any]:
    node.table({"source", *LANGS}, required=("source", *LANGS))
    out: dict[str, Any] = {"source": node.get("source").text()}
    for lang in LANGS:
        t = node.get(lang).table(set(TEXT_KEYS), required=TEXT_KEYS)
        out[lang] = {k: t.get(k).text() for k in TEXT_KEYS}
    return out


def _pair(node: Node) -> dict[str, str]:
    node.table(set(LANGS), required=LANGS)
    return {lang: node.get(lang).text() for lang in LANGS}


@lru_cache(maxsize=2)
def _load(file: str) -> dict[str, Any]:
    root = Node(read_toml(Path(file), file, CatalogueError), file, "", CatalogueError)
    root.table({"reason", "sender", "zone", "general", "general_error", "cause"})
    reason = root.get("reason").table(set(REASONS), required=REASONS)
    sender = root.get("sender").table(set(SENDERS), required=SENDERS)
    cause = root.get("cause").table(set(CAUSES), required=CAUSES)
    return {
        "reason": {k: _pair(reason.get(k)) for k in REASONS},
        "sender": {k: _pair(sender.get(k)) for k in SENDERS},
        "zone": {k: _pair(v) for k, v in root.get("zone").table().items()},
        "general": _finding_texts(root.get("general")),
        "general_error": _finding_texts(root.get("general_error")),
        "cause": {k: _finding_texts(cause.get(k)) for k in CAUSES},
    }


# -- a check in words -------------------------------------------------------------
def how(r: dict[str, Any], lang: str) -> str:
    """How a check failed: "timeout: no answer ...", in the report's language."""
    words = texts()["reason"]
    reason = str(r.get("reason", ""))
    if r.get("status") == "error":
        return words["error"][lang].format(code=reason)
    return words.get(reason, words["other"])[lang].format(code=reason)


PROTO = {"tcp": "TCP", "syn": "TCP", "tls": "TLS", "stun": "UDP", "ntp": "NTP", "path": "path"}


def what(r: dict[str, Any]) -> str:
    """What the check tried, as a technician writes it: "TCP 91.186.92.28:40000"."""
    kind, target, rid = str(r.get("kind")), str(r.get("target")), str(r.get("id", ""))
    if kind == "sip":
        return f"SIP {'UDP' if rid.startswith('sip-udp') else 'TCP'} {target}"
    if kind == "dns":
        resolver = resolver_of(r)
        return f"DNS {target} @ {resolver}" if resolver else f"DNS {target}"
    if kind in ("pac", "proxy"):
        return f"{kind.upper()} {target}"
    return f"{PROTO[kind]} {target}" if kind in PROTO else target


def resolver_of(r: dict[str, Any]) -> str:
    """The resolver a dns check asked (its evidence, else the id "dns:NAME@RESOLVER")."""
    ev = r.get("evidence") or {}
    return str(ev.get("resolver") or str(r.get("id", "")).rpartition("@")[2])


def opening(r: dict[str, Any], lang: str) -> str:
    """ "TCP 91.186.92.28:40000 (rejected by a firewall ..., from 198.51.100.1)"."""
    sender = sender_of(r)
    via = f" {'fra' if lang == 'nb' else 'from'} {sender}" if sender else ""
    return f"{what(r)}: {how(r, lang)}{via}"


def sender_of(r: dict[str, Any]) -> str:
    """The address an ICMP error about this check came from, or ""."""
    value = (r.get("evidence") or {}).get("from")
    return str(value) if isinstance(value, str) and value else ""


def gateways(host: dict[str, Any] | None) -> list[str]:
    """The probe host's default gateways ("198.51.100.1 (eth0)" -> "198.51.100.1")."""
    out = []
    for item in (host or {}).get("gateways") or []:
        word = str(item).split(" ")[0]
        try:
            out.append(str(ipaddress.ip_address(word)))
        except ValueError:
            continue
    return out


def sender_sentence(sender: str, gws: list[str], lang: str) -> str:
    """Who rejected it, and what that means: the site's own firewall, or beyond."""
    words = texts()["sender"]
    key = "unknown" if not gws else ("own" if sender in gws else "beyond")
    return words[key][lang].format(sender=sender, gateway=", ".join(gws))


def short_list(items: list[str], lang: str, limit: int = 6, sep: str = ", ") -> str:
    """At most ``limit`` items in words, then "and N more"."""
    items = list(dict.fromkeys(i for i in items if i))
    if sep != ", ":
        more = [MORE[lang].format(n=len(items) - limit)] if len(items) > limit else []
        return sep.join(items[:limit] + more)
    if len(items) <= limit:
        return words_list(items, lang)
    rest = MORE[lang].format(n=len(items) - limit)
    return f"{', '.join(items[:limit])} {rest}"


def zone_words(zone: str, lang: str) -> str:
    z = texts()["zone"].get(zone)
    return z[lang] if z else zone
