"""Put the findings in the order support reads them: causes first, then what
follows from each cause, then the rest; every failing check in some finding.

Roles (the contract with the report formats): ``cause`` (one fault that
explains others), ``consequence`` (every failing check it cites is explained
by a cause; ``because_of`` names those causes) and ``finding`` (stands on
its own). The ICMP sender of a rejection, and what it means, is written into
the finding's explanation; sources are given in words (:mod:`.sources`).
"""

from __future__ import annotations

from typing import Any

from nhn_appliance.report.causes import ABSORBS, find_causes
from nhn_appliance.report.diagnose import service_titles
from nhn_appliance.report.general import FAILING, general_findings
from nhn_appliance.report.sources import in_words
from nhn_appliance.report.wording import gateways, sender_of, sender_sentence

#: shown when no part of a finding's source is a citation a reader can follow
MEASURED = {
    "nb": "målt på stedet (nhn-appliance probe)",
    "en": "measured at the site (nhn-appliance probe)",
}


def assemble(
    results: list[dict[str, Any]],
    rules_found: list[dict[str, Any]],
    host: dict[str, Any] | None,
    lang: str,
) -> list[dict[str, Any]]:
    by_id = {str(r.get("id", "")): r for r in results}
    causes = find_causes(results, host, lang)
    absorbed = set().union(*(ABSORBS.get(c["id"], set()) for c in causes))
    kept = [f for f in rules_found if f["id"] not in absorbed]
    causes += [f for f in kept if "explains" in f]
    plain = [f for f in kept if "explains" not in f]
    explained_by: dict[str, list[str]] = {}
    for cause in causes:
        for cid in sorted(cause.pop("explains")):
            explained_by.setdefault(cid, []).append(cause["id"])
    cited = {c for f in kept for c in f["checks"]}
    plain += general_findings(results, cited, explained_by, service_titles(lang), lang)
    for f in plain:
        failing = [c for c in f["checks"] if by_id.get(c, {}).get("status") in FAILING]
        if "because_of" not in f:
            f["because_of"] = []
            if failing and all(c in explained_by for c in failing):
                f["because_of"] = list(dict.fromkeys(x for c in failing for x in explained_by[c]))
        f["role"] = "consequence" if f["because_of"] else "finding"
        _add_senders(f, [by_id[c] for c in failing if c in by_id], gateways(host), lang)
    for cause in causes:
        cause.update(role="cause", because_of=[])
    order = [c["id"] for c in causes]
    consequences = sorted(
        (f for f in plain if f["role"] == "consequence"),
        key=lambda f: min(order.index(c) for c in f["because_of"]),
    )
    out = causes + consequences + [f for f in plain if f["role"] == "finding"]
    for f in out:
        f["source"] = in_words(f["source"], lang) or MEASURED[lang]
    return out


def _add_senders(
    finding: dict[str, Any], failing: list[dict[str, Any]], gws: list[str], lang: str
) -> None:
    """The ICMP sender of each rejection and what it means, in the explanation."""
    senders = list(dict.fromkeys(s for r in failing if (s := sender_of(r))))
    sentences = [sender_sentence(s, gws, lang) for s in senders]
    if sentences:
        finding["explanation"] = " ".join([finding["explanation"].rstrip(), *sentences])
