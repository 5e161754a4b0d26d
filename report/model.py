"""The report model: one plain, JSON-serialisable dict built from a result document.

Every format (text, json, nagios, prometheus, html) renders this dict and
nothing else. Texts are already in the chosen language (``nb`` bokmål, the
default, or ``en``). Secrets and captured payloads never reach it: the result
document is redacted first (:func:`redact`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from nhn_appliance.errors import InputError
from nhn_appliance.probes.model import RESULTS_SCHEMA, Status, worst
from nhn_appliance.report.data import check_lang, labels, load_contacts

SCHEMA = "nhn-appliance/report/1"
#: the statuses in the order counts are listed (summary, text, JSON)
STATUSES = tuple(s.value for s in Status)


class ReportInputError(InputError):
    """A result document that cannot be reported on (exit 2)."""


# -- privacy ---------------------------------------------------------------------
REDACTED = "[redacted]"
OMITTED = "[omitted: payload]"
_SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|token|authori[sz]ation|credential|cookie|api[_-]?key"
    r"|^auth$|private[_-]?key",
    re.I,
)
#: evidence keys that hold captured payload bytes or text (beyond addresses, ports, timings)
PAYLOAD_KEYS = {
    "body",
    "payload",
    "raw",
    "data",
    "content",
    "head",
    "text",
    "response",
    "reply",
    "reply_head",
    "status_line",
    "headers",
    "attributes",
    "software",
    "server",
    "via",
    "sample",
    "banner",
    "html",
    "pac_text",
    "script",
}
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
_AUTH_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization\s*[:=]\s*)(?:(basic|bearer|digest|negotiate|ntlm)\s+)?"
    r"[^\s,;\"']+"
)
_KV_SECRET = re.compile(
    r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key)(\s*[=:]\s*)[^\s,;&\"']+"
)
#: "user:secret@host" in free text; not our check ids ("dns:NAME@RESOLVER") nor SIP/mail URIs
_BARE_USERINFO = re.compile(
    r"(?<![\w/])(?!(?:dns|sips?|sip-udp|sip-tcp|tel|mailto|tcp|syn|tls|stun|ntp|pac|proxy"
    r"|path|sniff|note):)([\w.%-]+):([^\s@/]+)@(?=[\w.-]+(?::\d+)?\b)"
)


def scrub(text: str) -> str:
    """Credentials out of one string: URL user:pass@, Authorization values, password=..."""
    if not text or not isinstance(text, str):
        return text
    text = _URL_USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
    text = _BARE_USERINFO.sub(REDACTED + "@", text)
    text = _AUTH_HEADER.sub(
        lambda m: m.group(1) + (m.group(2) + " " if m.group(2) else "") + REDACTED, text
    )
    return _KV_SECRET.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)


def redact(value: Any, in_evidence: bool = False) -> Any:
    """A deep copy with secrets redacted and, inside evidence, payload keys omitted."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = str(k)
            if _SECRET_KEY.search(key) and not isinstance(v, bool):
                out[key] = REDACTED
            elif in_evidence and key.lower() in PAYLOAD_KEYS:
                out[key] = OMITTED
            else:
                out[key] = redact(v, in_evidence or key in ("evidence", "fetch"))
        return out
    if isinstance(value, list):
        return [redact(v, in_evidence) for v in value]
    if isinstance(value, str):
        return scrub(value)
    return value


# -- reading ------------------------------------------------------------------------
def read_results(path: str | Path) -> dict[str, Any]:
    """The result document at ``path``, checked; a clear ReportInputError otherwise."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportInputError(
            file, "", f"cannot read the result document: {exc.strerror or exc}"
        ) from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ReportInputError(file, "", f"not JSON: {exc}") from None
    return validate_results(doc, file)


def _version(schema: str) -> int | None:
    name, _, ver = schema.rpartition("/")
    if name == RESULTS_SCHEMA.rpartition("/")[0] and ver.isdigit():
        return int(ver)
    return None


def validate_results(doc: Any, file: str = "<document>") -> dict[str, Any]:
    supported = RESULTS_SCHEMA.rpartition("/")[2]
    if not isinstance(doc, dict):
        raise ReportInputError(
            file,
            "",
            "not a probe result document (a JSON object is expected)",
            f"schema {RESULTS_SCHEMA}",
        )
    schema = doc.get("schema")
    if schema != RESULTS_SCHEMA:
        ver = _version(schema) if isinstance(schema, str) else None
        if ver is not None:
            age = "an older" if ver < int(supported) else "a newer"
            msg = (
                f"schema {schema!r} is {age} version ({ver}) of the probe result document; "
                f"this nhn-appliance reads version {supported} only"
                + (
                    ": run the probe again with this version"
                    if ver < int(supported)
                    else ": upgrade nhn-appliance to report on it"
                )
            )
        else:
            msg = (
                f"schema {schema!r} is not a probe result document"
                if schema is not None
                else "no 'schema' key: not a probe result document"
            )
        raise ReportInputError(file, "schema", msg, RESULTS_SCHEMA)
    results = doc.get("results")
    if not isinstance(results, list):
        raise ReportInputError(file, "results", "missing or not a list")
    for i, r in enumerate(results):
        if not isinstance(r, dict):
            raise ReportInputError(file, f"results[{i}]", "not an object")
        for key in ("id", "kind", "target", "service", "status", "reason"):
            if not isinstance(r.get(key), str):
                raise ReportInputError(file, f"results[{i}].{key}", "missing or not text")
        if r["status"] not in STATUSES:
            raise ReportInputError(
                file, f"results[{i}].status", repr(r["status"]), ", ".join(STATUSES)
            )
    return doc


# -- building ------------------------------------------------------------------------
def _counts(results) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for r in results:
        counts[r["status"]] += 1
    return counts


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def build_report(results_doc: dict[str, Any], lang: str = "nb") -> dict[str, Any]:
    """The report dict of the contract (see docs/reports.md) for a validated result document."""
    from nhn_appliance.report.diagnose import diagnose, service_titles

    check_lang(lang)
    doc = redact(validate_results(results_doc))
    results = doc["results"]
    titles = service_titles(lang)
    by_service: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_service.setdefault(r["service"] or "-", []).append(r)
    services: list[dict[str, Any]] = []
    for name, items in by_service.items():
        services.append(
            {
                "service": name,
                "title": titles.get(name, name),
                "verdict": worst(r["status"] for r in items).value,
                "counts": _counts(items),
                "checks": [
                    {
                        "id": r["id"],
                        "kind": r["kind"],
                        "target": r["target"],
                        "status": r["status"],
                        "reason": r["reason"],
                        "detail": str(r.get("detail") or ""),
                        "duration_s": _num(r.get("duration_s")),
                    }
                    for r in items
                ],
            }
        )
    verdict = worst(s["verdict"] for s in services).value
    site = doc.get("site") if isinstance(doc.get("site"), dict) else {}
    software = doc.get("software") if isinstance(doc.get("software"), dict) else {}
    return {
        "schema": SCHEMA,
        "lang": lang,
        "software": {
            "name": str(software.get("name", "nhn-appliance")),
            "version": str(software.get("version", "")),
        },
        "site": {"name": str(site.get("name", "")), "file": str(site.get("file", ""))},
        "host": doc.get("host") if isinstance(doc.get("host"), dict) else {},
        "started_at": str(doc.get("started_at", "")),
        "ended_at": str(doc.get("ended_at", "")),
        "runtime_s": _num(doc.get("runtime_s")),
        "interrupted": bool(doc.get("interrupted", False)),
        "verdict": "ok" if verdict == "skipped" else verdict,
        "summary": _counts(results),
        "services": services,
        "findings": diagnose(results, lang),
        "unverified": [
            {
                "service": r["service"],
                "target": r["target"],
                "why": str(r.get("detail") or (r.get("evidence") or {}).get("why") or ""),
            }
            for r in results
            if r["reason"] == "not-verifiable"
        ],
        "evidence": [
            {
                "id": r["id"],
                "kind": r["kind"],
                "target": r["target"],
                "evidence": r.get("evidence") if isinstance(r.get("evidence"), dict) else {},
                "events": r.get("events") if isinstance(r.get("events"), list) else [],
            }
            for r in results
            if r.get("evidence") or r.get("events")
        ],
        "contacts": load_contacts(),
        "labels": labels(lang),
    }


def report_from_file(path: str | Path, lang: str = "nb") -> dict[str, Any]:
    """Read the result document at ``path`` and build its report (what the CLI calls);
    :func:`build_report` takes a document already parsed."""
    return build_report(read_results(path), check_lang(lang))
