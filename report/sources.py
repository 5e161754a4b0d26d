"""Sources in words: "002:377-393" becomes NHN's document and section beside the line.

The names of NHN's documents and their sections are data
(``rules/report/sources.toml``); a citation is a ``;``-separated list of
parts, each ``NNN:lines`` (seed file and lines, "002:195, 451" allowed) or a
public reference (an RFC, a named NHN page), which is shown as it is.
Internal notes ("brief: ...") are never shown: they are dropped here, and the
tests hold the rule texts free of them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from nhn_appliance.errors import CatalogueError
from nhn_appliance.policy.schema import Node, read_toml
from nhn_appliance.report.data import LANGS, check_lang, rules_file

#: a seed reference: file number, then lines ("377-393", "195, 451", "85-86")
SEED_REF = re.compile(
    r"^\s*(\d{3}):\s*(\d+(?:\s*[-\u2013]\s*\d+)?(?:\s*,\s*\d+(?:\s*-\s*\d+)?)*)\s*$"
)
#: citation parts that are notes for the developers, not sources for a user
INTERNAL = re.compile(r"^\s*(brief\b|pins\b|rules/)", re.I)


def load_sources(path: str | Path | None = None) -> dict[str, Any]:
    """``{"NNN": {"nb": ..., "en": ..., "sections": [(first, last, {lang: words})]}}``."""
    return _load(str(path) if path else str(rules_file("sources.toml")))


@lru_cache(maxsize=4)
def _load(file: str) -> dict[str, Any]:
    root = Node(read_toml(Path(file), file, CatalogueError), file, "", CatalogueError)
    root.table({"document"}, required=("document",))
    docs: dict[str, Any] = {}
    for number, node in root.get("document").table().items():
        if not re.fullmatch(r"\d{3}", number):
            raise node.fail(f"{number!r} is not a seed file number", 'three digits, e.g. "002"')
        node.table({*LANGS, "section"}, required=LANGS)
        sections = []
        for sec in node.get("section").list():
            sec.table({"lines", *LANGS}, required=("lines", *LANGS))
            lines = sec.get("lines").list()
            if len(lines) != 2:
                raise sec.get("lines").fail("needs [first, last]")
            first, last = lines[0].integer(1, 100000), lines[1].integer(1, 100000)
            if first > last:
                raise sec.get("lines").fail(f"{first} is after {last}", "first <= last")
            sections.append((first, last, {lang: sec.get(lang).text() for lang in LANGS}))
        docs[number] = {**{lang: node.get(lang).text() for lang in LANGS}, "sections": sections}
    return docs


def _section(doc: dict[str, Any], line: int, lang: str) -> str:
    """The narrowest section holding ``line``, or ""."""
    best: tuple[int, str] | None = None
    for first, last, words in doc["sections"]:
        if first <= line <= last and (best is None or last - first < best[0]):
            best = (last - first, words[lang])
    return best[1] if best else ""


def in_words(source: str, lang: str = "nb") -> str:
    """A citation for a reader: each seed reference grouped under its document and
    section in words, the line references kept; public references as written;
    internal notes left out."""
    check_lang(lang)
    docs = load_sources()
    # document in words -> section in words -> line references; public references alone
    groups: dict[str, dict[str, list[str]]] = {}
    for part in source.split(";"):
        part = part.strip()
        if not part or INTERNAL.match(part):
            continue
        m = SEED_REF.match(part)
        if not m or m.group(1) not in docs:
            groups.setdefault(part, {})
            continue
        number, doc = m.group(1), docs[m.group(1)]
        for piece in m.group(2).split(","):
            piece = piece.strip().replace(" ", "")
            first = int(re.split(r"[-\u2013]", piece)[0])
            sections = groups.setdefault(doc[lang], {})
            sections.setdefault(_section(doc, first, lang), []).append(f"{number}:{piece}")
    quote = "«{}»" if lang == "nb" else '"{}"'
    out = []
    for doc_words, sections in groups.items():
        parts = [
            (f"{quote.format(sec)} " if sec else "") + f"({', '.join(refs)})"
            for sec, refs in sections.items()
        ]
        out.append(f"{doc_words}: {', '.join(parts)}" if parts else doc_words)
    return "; ".join(out)
