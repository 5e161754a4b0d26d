"""Turn patterns of probe results into findings NHN support can act on.

The rules are data (``rules/report/diagnosis.toml``): which results trigger a
finding, its severity, its catalogue source and its texts in bokmål and
English. This module only evaluates the patterns; see the header of the
TOML file for the selector keys.
"""

from __future__ import annotations

import fnmatch
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from nhn_appliance.errors import InputError

LANGS = ("nb", "en")
SEVERITIES = ("fail", "warn", "info")
SELECTOR_KEYS = {"service", "kind", "status", "reason", "ports", "addresses", "id_glob", "cite"}
RULE_KEYS = {"id", "service", "severity", "source", "subject", "per", "require", "absent", *LANGS}
TEXT_KEYS = ("title", "explanation", "remediation")


def _rules_path() -> Path:
    from importlib.resources import files  # the rules package data, installed or editable

    return Path(str(files("nhn_appliance.rules") / "report" / "diagnosis.toml"))


@lru_cache(maxsize=4)
def load_rules(path: str | None = None) -> dict[str, Any]:
    """The rule file, checked: unknown keys and missing texts are errors, never silence."""
    file = Path(path) if path else _rules_path()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(str(file), "", f"cannot read the diagnosis rules: {exc}") from None
    seen = set()
    for i, rule in enumerate(data.get("rule", [])):
        where = f"rule[{i}]"
        if unknown := set(rule) - RULE_KEYS:
            raise InputError(
                str(file), where, f"unknown keys {sorted(unknown)}", ", ".join(sorted(RULE_KEYS))
            )
        for key in ("id", "service", "severity", "source", "require"):
            if key not in rule:
                raise InputError(str(file), where, f"missing {key}")
        if rule["id"] in seen:
            raise InputError(str(file), f"{where}.id", f"duplicate id {rule['id']!r}")
        seen.add(rule["id"])
        if rule["severity"] not in SEVERITIES:
            raise InputError(
                str(file), f"{where}.severity", repr(rule["severity"]), ", ".join(SEVERITIES)
            )
        for lang in LANGS:
            missing = [k for k in TEXT_KEYS if not rule.get(lang, {}).get(k)]
            if missing:
                raise InputError(str(file), f"{where}.{lang}", f"missing {', '.join(missing)}")
        for part in ("require", "absent"):
            for j, sel in enumerate(rule.get(part, [])):
                if unknown := set(sel) - SELECTOR_KEYS:
                    raise InputError(
                        str(file),
                        f"{where}.{part}[{j}]",
                        f"unknown keys {sorted(unknown)}",
                        ", ".join(sorted(SELECTOR_KEYS)),
                    )
    return data


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


def _port_match(port: int | None, wanted: list) -> bool:
    if port is None:
        return False
    for w in wanted:
        if isinstance(w, int) and port == w:
            return True
        if isinstance(w, str):
            lo, _, hi = w.replace("–", "-").partition("-")
            if int(lo) <= port <= int(hi or lo):
                return True
    return False


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
    key, out = rule.get("subject", "target"), []
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
    for sel in rule.get("absent", []):
        if any(matches(sel, r, service) for r in results):
            return None
    for sel in rule["require"]:
        hits = [r for r in results if matches(sel, r, service)]
        if not hits:
            return None
        if sel.get("cite", True):
            cited += [r for r in hits if r not in cited]
    return cited


def diagnose(
    results: list[dict[str, Any]], lang: str = "nb", rules: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Findings, in rule order: id, service, severity, title, explanation, remediation, source, checks."""
    if lang not in LANGS:
        raise ValueError(f"language {lang!r}: use one of {', '.join(LANGS)}")
    rules = rules or load_rules()
    findings = []
    for rule in rules.get("rule", []):
        if rule.get("per") == "address":
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
    return {name: t.get(lang, name) for name, t in load_rules().get("services", {}).items()}
