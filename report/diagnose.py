"""Turn patterns of probe results into findings NHN support can act on.

The rules are data (``rules/report/diagnosis.toml``): which results trigger a
finding, its severity, its catalogue source and its texts in bokmål and
English. This module only evaluates the patterns; see the header of the
TOML file for the selector keys.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from nhn_appliance.errors import CatalogueError
from nhn_appliance.policy.catalogue import cited_source
from nhn_appliance.policy.schema import NAME_FORM, NAME_RE, Node, read_toml
from nhn_appliance.probes.model import Status
from nhn_appliance.report.data import LANGS, check_lang, rules_file
from nhn_appliance.report.facts import fill
from nhn_appliance.report.match import address_port, matches

#: a finding's severity, worst first
SEVERITIES = ("fail", "warn", "info")
SELECTOR_KEYS = {"service", "kind", "status", "reason", "ports", "addresses", "id_glob", "cite"}
RULE_KEYS = {"id", "service", "severity", "source", "subject", "per", "require", "absent"}
RULE_KEYS |= {"role", "explains", "under", *LANGS}
ROLES = ("finding", "cause")
TEXT_KEYS = ("title", "explanation", "remediation")
STATUSES = tuple(s.value for s in Status)
SUBJECT = re.compile(r"^[a-z][a-z0-9_]*$")
SUBJECT_FORM = "address, target, or an evidence key (a-z, 0-9, '_')"

T = TypeVar("T")


def load_rules(path: str | Path | None = None) -> dict[str, Any]:
    """The rule file, checked like the catalogue: an error names the file, the key
    path and what is allowed; unknown keys are errors, never silence.

    Returns ``{"services": {name: {lang: title}}, "rule": [rule, ...]}``; in a
    rule, ``ports`` are ``(first, last)`` pairs and optional keys have their
    defaults.
    """
    return _load_rules(str(path) if path else str(rules_file("diagnosis.toml")))


@lru_cache(maxsize=4)
def _load_rules(file: str) -> dict[str, Any]:
    root = Node(read_toml(Path(file), file, CatalogueError), file, "", CatalogueError)
    root.table({"services", "rule"}, required=("rule",))
    services: dict[str, dict[str, str]] = {}
    for name, node in root.get("services", {}).table().items():
        if not NAME_RE.fullmatch(name):
            raise node.fail(f"{name!r} is not a valid service name", NAME_FORM)
        node.table(set(LANGS), required=LANGS)
        services[name] = {lang: _words(node.get(lang)) for lang in LANGS}
    rules: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    nodes = root.get("rule").list()
    if not nodes:
        raise root.get("rule").fail("needs at least one [[rule]]")
    for i, node in enumerate(nodes):
        node.table(RULE_KEYS, required=("id", "service", "severity", "source", "require", *LANGS))
        rid = node.get("id").name()
        if rid in seen:
            raise node.get("id").fail(f"rule id {rid!r} is also used by rule[{seen[rid]}]")
        seen[rid] = i
        require = node.get("require").list()
        if not require:
            raise node.get("require").fail("needs at least one selector")
        subject = node.get("subject").text("target")
        if not SUBJECT.fullmatch(subject):
            raise node.get("subject").fail(f"{subject!r} is not a subject", SUBJECT_FORM)
        rule: dict[str, Any] = {
            "id": rid,
            "service": _service(node.get("service"), services),
            "severity": node.get("severity").choice(SEVERITIES),
            "source": cited_source(node.get("source")),
            "subject": subject,
            "per": node.get("per").choice(("address",)) if node.has("per") else None,
            "require": [_selector(s, services) for s in require],
            "absent": [_selector(s, services) for s in node.get("absent").list()],
            "role": node.get("role").choice(ROLES, "finding"),
            # the service a "*" rule's finding is listed under (else its checks' service)
            "under": _service(node.get("under"), services) if node.has("under") else "",
            "explains": [_selector(s, services) for s in node.get("explains").list()],
        }
        for lang in LANGS:
            texts = node.get(lang).table(set(TEXT_KEYS), required=TEXT_KEYS)
            rule[lang] = {key: _text(texts.get(key), lang) for key in TEXT_KEYS}
        rules.append(rule)
    return {"services": services, "rule": rules}


def _words(node: Node) -> str:
    value = node.text()
    if not value.strip():
        raise node.fail("is empty")
    return value


def _text(node: Node, lang: str) -> str:
    """A rule text whose catalogue placeholders resolve (checked now, filled per report)."""
    value = _words(node)
    try:
        fill(value, lang)
    except CatalogueError as exc:
        raise node.fail(exc.message) from None
    return value


def _service(node: Node, services: dict[str, dict[str, str]]) -> str:
    value = node.text()
    if value != "*" and value not in services:
        raise node.fail(
            f"unknown service {value!r}",
            ", ".join(sorted(services)) + ' (the [services] table), or "*" for all',
        )
    return value


def _list_of(node: Node, each: Callable[[Node], T]) -> list[T]:
    items = node.list()
    if not items:
        raise node.fail("is an empty list: it would never match")
    return [each(n) for n in items]


def _port(node: Node) -> tuple[int, int]:
    if isinstance(node.value, str):
        lo, sep, hi = node.value.replace("\u2013", "-").partition("-")
        if not (lo.isdigit() and (not sep or hi.isdigit())):
            raise node.fail(f"{node.value!r} is not a port range", 'a port 0-65535 or "first-last"')
        first, last = int(lo), int(hi or lo)
        if not 0 <= first <= last <= 65535:
            raise node.fail(f"{node.value!r} is out of range", "0-65535, first <= last")
        return first, last
    port = node.integer(0, 65535)
    return port, port


def _address(value: Any) -> str:
    """An IP address, kept as written (results are compared with it as text)."""
    if not isinstance(value, str):
        raise ValueError("expected an IP address as a string")
    ipaddress.ip_address(value)
    return value


def _selector(node: Node, services: dict[str, dict[str, str]]) -> dict[str, Any]:
    node.table(SELECTOR_KEYS)
    sel: dict[str, Any] = {"cite": node.get("cite").boolean(True)}
    if node.has("service"):
        sel["service"] = _service(node.get("service"), services)
    for key in ("kind", "reason"):
        if node.has(key):
            sel[key] = _list_of(node.get(key), lambda n: n.name())
    if node.has("status"):
        sel["status"] = _list_of(node.get("status"), lambda n: n.choice(STATUSES))
    if node.has("ports"):
        sel["ports"] = _list_of(node.get("ports"), _port)
    if node.has("addresses"):
        sel["addresses"] = _list_of(node.get("addresses"), lambda n: n.parsed(_address))
    if node.has("id_glob"):
        sel["id_glob"] = _words(node.get("id_glob"))
    return sel


def _subjects(rule: dict[str, Any], cited: list[dict[str, Any]]) -> list[str]:
    key, out = rule["subject"], []
    for r in cited:
        if key == "target":
            values = [r.get("target", "")]
        elif key == "address":
            values = [address_port(r)[0]]
        else:
            v = (r.get("evidence") or {}).get(key)
            if v is None and key == "resolver" and "@" in str(r.get("id", "")):
                v = str(r["id"]).rsplit("@", 1)[1]
            values = v if isinstance(v, list) else [v if v is not None else r.get("target", "")]
        out += [str(v) for v in values if str(v) not in out]
    return out


def _evaluate(rule: dict[str, Any], results: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The cited results when the pattern holds in ``results``, else None."""
    service, cited = rule["service"], []
    for sel in rule["absent"]:
        if any(matches(sel, r, service) for r in results):
            return None
    for sel in rule["require"]:
        hits = [r for r in results if matches(sel, r, service)]
        if not hits:
            return None
        if sel["cite"]:
            cited += [r for r in hits if r not in cited]
    return cited


def rule_findings(
    results: list[dict[str, Any]], lang: str, rules: dict[str, Any]
) -> list[dict[str, Any]]:
    """The findings of the rules that fire, in rule order, texts filled in; a rule
    with ``role = "cause"`` carries the ids its ``explains`` selectors match."""
    findings = []
    for rule in rules.get("rule", []):
        if rule["per"] == "address":
            groups: dict[str, list[dict[str, Any]]] = {}
            for r in results:
                groups.setdefault(address_port(r)[0], []).append(r)
            cited = []
            for group in groups.values():
                cited += _evaluate(rule, group) or []
        else:
            cited = _evaluate(rule, results) or []
        if not cited:
            continue
        services = sorted({r.get("service", "") for r in cited})
        subjects = ", ".join(_subjects(rule, cited))
        texts = {k: fill(rule[lang][k].replace("{subjects}", subjects), lang) for k in TEXT_KEYS}
        found = {
            "id": rule["id"],
            "service": rule["service"]
            if rule["service"] != "*"
            else (rule["under"] or [*services, ""][0]),
            "severity": rule["severity"],
            **texts,
            "source": rule["source"],
            "checks": [r.get("id", "") for r in cited],
        }
        if rule["role"] == "cause":
            found["explains"] = {
                str(r.get("id", ""))
                for r in results
                if r.get("status") in ("fail", "error")
                and any(matches(sel, r, "*") for sel in rule["explains"])
            }
        findings.append(found)
    return findings


def diagnose(
    results: list[dict[str, Any]],
    lang: str = "nb",
    rules: dict[str, Any] | None = None,
    host: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Findings, causes first: id, service, severity, title, explanation,
    remediation, source (in words), checks, role ("cause", "consequence",
    "finding") and because_of (the causes a consequence follows from).
    ``rules`` as :func:`load_rules` returns them; ``host`` is the result
    document's host (its default gateways tell the site's own firewall from
    something beyond)."""
    from nhn_appliance.report.assemble import assemble

    check_lang(lang)
    return assemble(results, rule_findings(results, lang, rules or load_rules()), host, lang)


def service_titles(lang: str = "nb") -> dict[str, str]:
    check_lang(lang)
    return {name: titles[lang] for name, titles in load_rules()["services"].items()}
