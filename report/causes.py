"""Root causes: one fault that explains the failures of many checks.

With every target silent, seven services fail; support needs one sentence,
not seven: the site's line is down. Each cause here is found from the
pattern of all results together (grouped by uplink, resolver or ICMP
sender), which a per-rule selector cannot see:

- ``all-silent``: no network check got any answer at all: the site's own
  machine, router, line or cable (with its own line supplier, call it first,
  002:595-597);
- ``uplink-silent``: everything meant for one uplink is silent while other
  traffic is answered: that line or router is down;
- ``resolvers-silent``: no resolver answers, so every name fails;
- ``site-firewall`` / ``rejected-beyond``: checks rejected with ICMP by the
  site's own gateway (its firewall blocks them) or by something beyond it.

A cause is a finding with the checks it rests on and the set of check ids
it explains; :mod:`.diagnose` makes the findings of explained checks its
consequences. Texts and sources are data (``rules/report/causes.toml``).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from nhn_appliance.report.general import FAILING, sources_of, wanted, zone_of
from nhn_appliance.report.match import address_port
from nhn_appliance.report.wording import (
    gateways,
    opening,
    resolver_of,
    short_list,
    texts,
    zone_words,
)

#: reasons that mean "nothing came back"
SILENT = {"timeout", "no-answer", "network-unreachable", "icmp-host-unreachable", "deadline"}
#: reasons that mean "something on the way said no", when an ICMP sender is known
REJECTED = {"icmp-admin-prohibited", "refused", "icmp-host-unreachable", "network-unreachable"}
#: kinds whose outcome says whether the network carried the packets
NETWORK_KINDS = {"tcp", "syn", "tls", "stun", "sip", "path", "ntp", "dns", "pac", "proxy"}
#: cause ids a rule finding repeats: the rule's finding is left out when the cause holds
ABSORBS = {
    "cause-all-silent": {"dns-resolver-silent"},
    "cause-resolvers-silent": {"dns-resolver-silent"},
}


def _silent(r: dict[str, Any]) -> bool:
    if r.get("status") not in FAILING:
        return False
    ev = r.get("evidence") or {}
    if ev.get("from") and r.get("reason") in REJECTED:
        return False  # an ICMP error: someone answered
    if r.get("kind") == "pac":
        reason = (ev.get("fetch") or {}).get("network_reason")
        return reason in SILENT
    return r.get("reason") in SILENT


def _answered(r: dict[str, Any]) -> bool:
    return r.get("status") in ("ok", "warn", "fail", "error") and not _silent(r)


def _network(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        r
        for r in results
        if r.get("kind") in NETWORK_KINDS
        and r.get("status") != "skipped"
        and not str(r.get("reason", "")).startswith(("needs-root", "bad-input", "unknown"))
    ]


def _is_name(target: str) -> bool:
    host = target.split("://")[-1].split("/")[0].rsplit(":", 1)[0].strip("[]")
    try:
        ipaddress.ip_address(host)
        return False
    except ValueError:
        return bool(host)


def _cause(
    key: str,
    lang: str,
    rs: list[dict[str, Any]],
    fill: dict[str, str],
    explains: set[str],
    suffix: str = "",
) -> dict[str, Any]:
    words = texts()["cause"][key]
    rejected = key in ("site-firewall", "rejected-beyond")  # cite the openings' sources
    services = sorted({str(r.get("service") or "") for r in rs})
    return {
        "id": f"cause-{key}{suffix}",
        "service": services[0] if len(services) == 1 else "",
        "severity": "fail",
        **{k: v.format(**fill) for k, v in words[lang].items()},
        "source": sources_of(rs, words["source"]) if rejected else words["source"],
        "checks": [str(r.get("id", "")) for r in rs],
        "explains": explains,
    }


def find_causes(
    results: list[dict[str, Any]], host: dict[str, Any] | None, lang: str
) -> list[dict[str, Any]]:
    """The causes that hold in ``results``, most general first."""
    gws = gateways(host)
    base = {"gateway": ", ".join(gws) or "?"}
    net = _network(results)
    ids = lambda rs: {str(r.get("id", "")) for r in rs}  # noqa: E731
    targets = lambda rs: short_list([str(r.get("target")) for r in rs], lang)  # noqa: E731
    causes: list[dict[str, Any]] = []
    if len(net) >= 3 and all(_silent(r) for r in net):
        fill = {**base, "n": str(len(net)), "subjects": targets(net)}
        return [_cause("all-silent", lang, net, fill, ids(net))]
    # one uplink silent while other traffic is answered
    zones: dict[str, list[dict[str, Any]]] = {}
    for r in net:
        if r.get("kind") != "dns" and (zone := zone_of(r)):
            zones.setdefault(zone, []).append(r)
    for zone, rs in zones.items():
        others = [r for r in net if r not in rs and _answered(r)]
        # two hosts at least: one silent host is that host's fault, not the line's
        hosts = {address_port(r)[0] for r in rs}
        if len(hosts) >= 2 and all(_silent(r) for r in rs) and others:
            fill = {**base, "n": str(len(rs)), "subjects": targets(rs)}
            fill["zone"] = zone_words(zone, lang)
            causes.append(_cause("uplink-silent", lang, rs, fill, ids(rs), f"-{zone}"))
    # no resolver answers: every name fails
    dns = [r for r in net if r.get("kind") == "dns"]
    if dns and all(r.get("status") in FAILING for r in dns):
        named = [r for r in net if r.get("status") in FAILING and _is_name(str(r.get("target")))]
        resolvers = [resolver_of(r) for r in dns]
        fill = {
            **base,
            "subjects": short_list(resolvers, lang),
            "names": targets(named),
            "n": str(len(named)),
        }
        causes.append(_cause("resolvers-silent", lang, dns, fill, ids(named) | ids(dns)))
    # rejected with ICMP: by the site's own gateway, or by something beyond it
    if gws:
        rejected = [
            r
            for r in results
            if r.get("status") in FAILING and r.get("reason") in REJECTED and _sender(r)
        ]
        for key, rs in (
            ("site-firewall", [r for r in rejected if _sender(r) in gws]),
            ("rejected-beyond", [r for r in rejected if _sender(r) not in gws]),
        ):
            if rs:
                fill = {
                    **base,
                    "n": str(len(rs)),
                    "sender": short_list([_sender(r) for r in rs], lang),
                    "openings": short_list([opening(r, lang) for r in rs], lang, 8, "; "),
                    "wanted": wanted(rs, lang),
                }
                causes.append(_cause(key, lang, rs, fill, ids(rs)))
    return causes


def _sender(r: dict[str, Any]) -> str:
    value = (r.get("evidence") or {}).get("from")
    return str(value) if isinstance(value, str) else ""
