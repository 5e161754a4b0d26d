"""The report model: one plain, JSON-serialisable dict built from a result document.

Every format (text, json, nagios, prometheus, html) renders this dict and
nothing else. Texts are already in the chosen language (``nb`` bokmål, the
default, or ``en``). Secrets and captured payloads never reach it: the result
document is redacted first (:func:`redact`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nhn_appliance.errors import InputError
from nhn_appliance.probes.model import RESULTS_SCHEMA, Status, worst
from nhn_appliance.report import words
from nhn_appliance.report.age import age_seconds
from nhn_appliance.report.data import check_lang, labels, load_contacts
from nhn_appliance.report.privacy import redact

SCHEMA = "nhn-appliance/report/2"
#: the statuses in the order counts are listed (summary, text, JSON)
STATUSES = tuple(s.value for s in Status)
#: the counts of a report: the statuses, with "unverified" (skipped because it
#: cannot be verified from the site) apart from "skipped" (did not run)
COUNTS = (*STATUSES, "unverified")
#: a run is "incomplete" when it was interrupted, ran no check at all, or when
#: more than this share of the checks that could run did not run
INCOMPLETE_SHARE = 0.5


class ReportInputError(InputError):
    """A result document that cannot be reported on (exit 2)."""


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
    except UnicodeDecodeError:
        raise ReportInputError(file, "", "not a result document: not UTF-8 text") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ReportInputError(file, "", f"not JSON: {exc}") from None
    except RecursionError:
        raise ReportInputError(file, "", "not JSON this reads: nested too deeply") from None
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
        for key in ("evidence", "params"):  # the diagnosis reads into these
            if r.get(key) is not None and not isinstance(r[key], dict):
                raise ReportInputError(file, f"results[{i}].{key}", "not an object")
        if r.get("events") is not None and not isinstance(r["events"], list):
            raise ReportInputError(file, f"results[{i}].events", "not a list")
    _check_host(doc.get("host"), file)
    return doc


def _check_host(host: Any, file: str) -> None:
    """The host facts the formats list: an object whose lists are lists of text."""
    if host is None:
        return
    if not isinstance(host, dict):
        raise ReportInputError(file, "host", "not an object")
    for key, value in host.items():
        if isinstance(value, list | dict) and not all(isinstance(v, str) for v in value):
            raise ReportInputError(file, f"host.{key}", "not a list of text")
        if key in ("addresses", "gateways", "resolvers") and not isinstance(value, list):
            raise ReportInputError(file, f"host.{key}", "not a list")


# -- building ------------------------------------------------------------------------
def _count_key(r: dict[str, Any]) -> str:
    return "unverified" if words.is_unverified(r) else str(r["status"])


def _counts(results: list[dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(COUNTS, 0)
    for r in results:
        counts[_count_key(r)] += 1
    return counts


def _num(value: Any) -> float:
    """A duration for the report: a finite number of 0 or more (JSON has no Infinity)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value) if 0 <= value < float("inf") else 0.0


def completeness(results: list[dict[str, Any]], interrupted: bool) -> dict[str, Any]:
    """Whether the run says enough: not interrupted, and most checks that could run ran."""
    counts = _counts(results)
    could_run = len(results) - counts["unverified"]
    not_run = counts["skipped"]
    ran = could_run - not_run
    complete = (not interrupted and ran > 0 and not_run <= INCOMPLETE_SHARE * could_run) or (
        not interrupted and could_run == 0 and len(results) > 0
    )
    return {
        "complete": complete,
        "interrupted": interrupted,
        "total": len(results),
        "ran": ran,
        "not_run": not_run,
        "unverified": counts["unverified"],
        "max_share_not_run": INCOMPLETE_SHARE,
    }


def overall_verdict(results: list[dict[str, Any]], complete: bool, stale: bool) -> str:
    """fail beats everything (a failure seen is real even in a partial run); then an
    incomplete run is "incomplete", never ok; an old document is at least a warning."""
    found = worst(r["status"] for r in results).value
    verdict = "ok" if found == "skipped" else found
    if verdict != "fail" and not complete:
        return "incomplete"
    if stale and verdict == "ok":
        return "warn"
    return verdict


def _check(r: dict[str, Any], gateways: set[str], lb: dict[str, str]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "kind": r["kind"],
        "what": words.kind_words(r["kind"], lb),
        "target": r["target"],
        "status": r["status"],
        "unverified": words.is_unverified(r),
        "reason": r["reason"],
        "reason_text": words.reason_words(r["reason"], lb) if r["reason"] else "",
        "detail": words.detail(r, gateways, lb),
        "sender": words.sender(r),
        "duration_s": _num(r.get("duration_s")),
    }


def _findings(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Diagnosis findings with their place: causes first (the order diagnose gives)."""
    out = []
    for f in found:
        role = f.get("role") if f.get("role") in ("cause", "consequence") else "finding"
        out.append({**f, "role": role, "because_of": [str(x) for x in f.get("because_of") or []]})
    return out


def build_report(
    results_doc: dict[str, Any],
    lang: str = "nb",
    *,
    now: datetime | None = None,
    max_age_s: float | None = None,
) -> dict[str, Any]:
    """The report dict of the contract (see docs/reports.md) for a validated result document.

    ``now`` is when the report is made (the age is measured to it; default: the
    clock); ``max_age_s`` makes a document older than that a warning."""
    from nhn_appliance.report.diagnose import diagnose, service_titles

    check_lang(lang)
    now = now or datetime.now(UTC)
    doc = redact(validate_results(results_doc))
    results = doc["results"]
    lb = labels(lang)
    titles = service_titles(lang)
    site = doc.get("site") if isinstance(doc.get("site"), dict) else {}
    software = doc.get("software") if isinstance(doc.get("software"), dict) else {}
    host = doc.get("host") if isinstance(doc.get("host"), dict) else {}
    gateways = words.gateway_addresses(host)
    by_service: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_service.setdefault(r["service"] or "-", []).append(r)
    services = [
        {
            "service": name,
            "title": titles.get(name, name),
            "verdict": worst(r["status"] for r in items).value,
            "counts": _counts(items),
            "checks": [_check(r, gateways, lb) for r in items],
        }
        for name, items in by_service.items()
    ]
    interrupted = bool(doc.get("interrupted", False))
    whole = completeness(results, interrupted)
    age = age_seconds(doc, now)
    stale = max_age_s is not None and (age is None or age > max_age_s)
    return {
        "schema": SCHEMA,
        "lang": lang,
        "software": {
            "name": str(software.get("name", "nhn-appliance")),
            "version": str(software.get("version", "")),
        },
        "site": {"name": str(site.get("name", "")), "file": str(site.get("file", ""))},
        "host": host,
        "started_at": str(doc.get("started_at", "")),
        "ended_at": str(doc.get("ended_at", "")),
        "runtime_s": _num(doc.get("runtime_s")),
        "generated_at": now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "age_s": age,
        "max_age_s": max_age_s,
        "stale": stale,
        "interrupted": interrupted,
        "completeness": whole,
        "verdict": overall_verdict(results, whole["complete"], stale),
        "summary": _counts(results),
        "services": services,
        "findings": _findings(diagnose(results, lang, host=host)),
        "unverified": [
            {
                "service": r["service"],
                "target": r["target"],
                "why": lb["why_not_verifiable"],
            }
            for r in results
            if words.is_unverified(r)
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
        "labels": lb,
    }


def report_from_file(
    path: str | Path,
    lang: str = "nb",
    *,
    now: datetime | None = None,
    max_age_s: float | None = None,
) -> dict[str, Any]:
    """Read the result document at ``path`` and build its report (what the CLI calls);
    :func:`build_report` takes a document already parsed."""
    return build_report(read_results(path), check_lang(lang), now=now, max_age_s=max_age_s)
