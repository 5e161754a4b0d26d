"""Turn patterns of probe results into findings NHN support can act on.

The rules are data (``rules/report/diagnosis.toml``): which results trigger a
finding, its severity, its catalogue source and its texts in bokmål and
English. This module only evaluates the patterns; see the header of the
TOML file for the selector keys.
"""

from __future__ import annotations

import fnmatch
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

#: a finding's severity, worst first
SEVERITIES = ("fail", "warn", "info")
SELECTOR_KEYS = {"service", "kind", "status", "reason", "ports", "addresses", "id_glob", "cite"}
RULE_KEYS = {"id", "service", "severity", "source", "subject", "per", "require", "absent", *LANGS}
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
        if not NAME_RE.match(name):
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
        if not SUBJECT.match(subject):
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
        }
        for lang in LANGS:
            texts = node.get(lang).table(set(TEXT_KEYS), required=TEXT_KEYS)
            rule[lang] = {key: _words(texts.get(key)) for key in TEXT_KEYS}
        rules.append(rule)
    return {"services": services, "rule": rules}


def _words(node: Node) -> str:
    value = node.text()
    if not value.strip():
        raise node.fail("is empty")
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


def diagnose(
    results: list[dict[str, Any]], lang: str = "nb", rules: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Findings, in rule order: id, service, severity, title, explanation,
    remediation, source, checks. ``rules`` as :func:`load_rules` returns them."""
    check_lang(lang)
    rules = rules or load_rules()
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
        texts = {k: rule[lang][k].replace("{subjects}", subjects) for k in TEXT_KEYS}
        findings.append(
            {
                "id": rule["id"],
                "service": rule["service"]
                if rule["service"] != "*"
                else (services[0] if services else ""),
                "severity": rule["severity"],
                **texts,
                "source": rule["source"],
                "checks": [r.get("id", "") for r in cited],
            }
        )
    return findings


def service_titles(lang: str = "nb") -> dict[str, str]:
    check_lang(lang)
    return {name: titles[lang] for name, titles in load_rules()["services"].items()}
