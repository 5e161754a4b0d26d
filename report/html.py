"""The HTML report: one self-contained page (inline CSS, no scripts, fonts or images).

``render(report)`` takes the report model (a dict already in the chosen
language) and returns the page. Python builds the view data here; the
template ``templates/report.html.j2`` owns markup and CSS. This module has its
own Jinja2 environment with HTML autoescaping on, so every interpolated value
is escaped (the shared ``render.templating`` environment is for device
configurations and does not escape HTML).

UI words come from ``report["labels"]``; a missing label falls back to the
one label table of the report's language (``report/labels.toml``), the same
words the text format uses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from nhn_appliance.probes.model import Status
from nhn_appliance.report import present, words
from nhn_appliance.report.data import LANGS, labels, load_contacts
from nhn_appliance.report.words import KIND_ORDER

TEMPLATES = Path(__file__).with_name("templates")

#: display order, worst first: the product's status order (probes.model.SEVERITY),
#: with "unverified" (a skipped check that could not be verified from the site)
#: just above "ok": it is no pass
STATUS_ORDER: tuple[str, ...] = tuple(
    name
    for status in sorted(Status, key=lambda s: s.severity, reverse=True)
    for name in (("unverified", status.value) if status is Status.OK else (status.value,))
)


_bytecode_cache: jinja2.BytecodeCache | None = None


def use_bytecode_cache(cache: jinja2.BytecodeCache | None) -> None:
    """Let the compiled page templates be cached where the caller chose (the command
    line picks a folder the user controls, as for render); the report never
    chooses a place to write."""
    global _bytecode_cache
    _bytecode_cache = cache
    environment.cache_clear()


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        bytecode_cache=_bytecode_cache,
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def labels_for(lang: str, given: Mapping[str, Any] | None) -> dict[str, str]:
    """The report's own labels over the one label table of ``lang`` (report/labels.toml)."""
    words = labels(lang)
    words.update({k: str(v) for k, v in (given or {}).items() if v is not None})
    return words


def cell_status(check: Mapping[str, Any]) -> str:
    """A check's status for display: a skipped, unverifiable check is "unverified"."""
    status = str(check.get("status", "error"))
    if check.get("unverified") or words.is_unverified(check):
        return "unverified"
    return status if status in STATUS_ORDER else "error"


def worst(statuses: list[str]) -> str:
    """The worst display status (the first in STATUS_ORDER); none at all is "skipped"."""
    return min(statuses, key=STATUS_ORDER.index) if statuses else "skipped"


def show_time(stamp: Any) -> str:
    """``2026-11-22T12:00:00.000Z`` -> ``2026-11-22 12:00:00 UTC``; anything else as given."""
    text = str(stamp or "")
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)?", text)
    if not m:
        return text
    zone = "UTC" if m.group(3) in ("Z", None) else m.group(3)
    return f"{m.group(1)} {m.group(2)} {zone}"


def _matrix(
    services: list[Mapping[str, Any]], words_of: Mapping[str, str]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns are what was checked in a technician's words (two prober kinds that check
    the same thing share a column), in :data:`words.KIND_ORDER`."""
    kinds = sorted(
        {str(c.get("kind")) for svc in services for c in svc.get("checks", [])},
        key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER else len(KIND_ORDER), k),
    )
    columns: list[str] = []
    for kind in kinds:
        if words.kind_words(kind, words_of) not in columns:
            columns.append(words.kind_words(kind, words_of))
    rows = []
    for svc in services:
        cells = []
        for col in columns:
            mine = [
                cell_status(c)
                for c in svc.get("checks", [])
                if words.kind_words(str(c.get("kind")), words_of) == col
            ]
            cells.append(
                {
                    "what": col,
                    "status": worst(mine) if mine else None,
                    "n": len(mine),
                    "n_ok": sum(1 for s in mine if s == "ok"),
                }
            )
        rows.append(
            {
                "service": svc.get("service", ""),
                "title": svc.get("title") or svc.get("service", ""),
                "verdict": svc.get("verdict", "error"),
                "cells": cells,
            }
        )
    return columns, rows


def _checks(svc: Mapping[str, Any], words_of: Mapping[str, str]) -> list[dict[str, Any]]:
    rows = [
        {
            **{k: c.get(k, "") for k in ("id", "kind", "target", "detail")},
            "what": c.get("what") or words.kind_words(str(c.get("kind")), words_of),
            "reason": c.get("reason_text")
            or words.reason_words(str(c.get("reason") or ""), words_of),
            "status": cell_status(c),
            "duration_s": c.get("duration_s", ""),
        }
        for c in svc.get("checks", [])
    ]
    return sorted(rows, key=lambda r: STATUS_ORDER.index(r["status"]))


def _anchor(fid: Any) -> str:
    return "finding-" + re.sub(r"[^a-z0-9-]", "-", str(fid).lower())


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def _tel(number: str) -> str:
    return "tel:" + re.sub(r"[^0-9+]", "", number)


def view(report: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the template reads, with defaults for parts a report may leave out."""
    lang = str(report.get("lang")) if report.get("lang") in LANGS else LANGS[0]
    services = list(report.get("services", []))
    words_of = labels_for(lang, report.get("labels"))
    kinds, rows = _matrix(services, words_of)
    full = {**report, "labels": words_of}
    contacts = dict(report.get("contacts") or load_contacts())
    email = str(contacts.get("email") or "")
    host = dict(report.get("host") or {})
    titles = {str(s.get("service", "")): s.get("title") or s.get("service", "") for s in services}
    return {
        "lang": lang,
        "L": words_of,
        "notes": present.notes(full),
        "age": present.age_text(full),
        "generated": show_time(report.get("generated_at")),
        "stale": bool(report.get("stale")),
        "verdict": str(report.get("verdict", "error")),
        "summary": {  # worst first
            s: int((report.get("summary") or {}).get(s, 0) or 0)
            for s in STATUS_ORDER
            if s in (report.get("summary") or {}) or s != "unverified"
        },
        "software": {"name": "nhn-appliance", "version": "", **(report.get("software") or {})},
        "site": {"name": "", "file": "", **(report.get("site") or {})},
        "host": {
            "hostname": host.get("hostname", ""),
            **{k: list(host.get(k) or []) for k in ("addresses", "gateways", "resolvers")},
        },
        "started": show_time(report.get("started_at")),
        "ended": show_time(report.get("ended_at")),
        "runtime_s": report.get("runtime_s", ""),
        "interrupted": bool(report.get("interrupted")),
        "kinds": kinds,
        "matrix": rows,
        "services": [
            {
                "service": r["service"],
                "title": r["title"],
                "verdict": r["verdict"],
                "checks": _checks(s, words_of),
            }
            for r, s in zip(rows, services, strict=True)
        ],
        "findings": [
            {
                "id": f.get("id", ""),
                "anchor": _anchor(f.get("id", "")),
                "role": f.get("role") if f.get("role") in ("cause", "consequence") else "",
                "because_of": [
                    {"anchor": _anchor(i), "title": title}
                    for i, title in zip(
                        f.get("because_of") or [], present.causes_of(f, full), strict=True
                    )
                ],
                "explains": present.explained_by(f, full),
                "service": f.get("service", ""),
                "service_title": titles.get(str(f.get("service", "")), f.get("service", "")),
                "severity": f.get("severity", "info"),
                "title": f.get("title", ""),
                "explanation": f.get("explanation", ""),
                "remediation": f.get("remediation", ""),
                "source": f.get("source", ""),
                "checks": list(f.get("checks") or []),
            }
            for f in present.ordered(full)
        ],
        "unverified": [
            {
                **{k: u.get(k, "") for k in ("service", "target", "why")},
                "title": titles.get(str(u.get("service", "")), u.get("service", "")),
            }
            for u in report.get("unverified", [])
        ],
        "evidence": [
            {
                "id": e.get("id", ""),
                "kind": words.kind_words(str(e.get("kind", "")), words_of),
                "target": e.get("target", ""),
                "evidence": _pretty(e.get("evidence", {})),
                "events": [_pretty(ev) for ev in e.get("events") or []],
            }
            for e in report.get("evidence", [])
        ],
        "contacts": {
            "email": email,
            "mailto": "mailto:" + quote(email, safe="@.+-_"),
            "phones": [{"text": p, "tel": _tel(str(p))} for p in contacts.get("phones") or []],
            "hours": contacts.get("hours", ""),
            "source": contacts.get("source", ""),
        },
    }


def render(report: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    return environment().get_template("report.html.j2").render(**view(report))
