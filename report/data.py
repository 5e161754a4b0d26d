"""The report's data files, read and checked like the catalogue.

- ``report/labels.toml``: the one table of UI words per language, used by
  every format; both languages must hold the same keys.
- ``rules/report/contacts.toml``: NHN's customer centre (e-mail, phones,
  hours), each fact with its source.

Errors name the file, the key path and what is allowed
(:class:`nhn_appliance.policy.schema.Node`). Reading files that ship with the
package is the only input here; nothing is written.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from nhn_appliance.errors import CatalogueError, InputError, UsageError
from nhn_appliance.policy.catalogue import cited_source
from nhn_appliance.policy.schema import Node, read_toml

#: the report languages: bokmål (the default) and English
LANGS = ("nb", "en")

LABEL_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
PHONE = re.compile(r"^\+?[0-9][0-9 ]*[0-9]$")


class LabelsError(InputError):
    """``report/labels.toml`` is wrong (a fault of the package, not of the user's input)."""


def rules_file(name: str) -> Path:
    """A file of ``rules/report/`` as installed (package data, editable or not)."""
    return Path(str(files("nhn_appliance.rules") / "report" / name))


def labels_file() -> Path:
    return Path(str(files("nhn_appliance.report") / "labels.toml"))


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise UsageError(f"unknown report language {lang!r} (allowed: {', '.join(LANGS)})")
    return lang


# -- labels ------------------------------------------------------------------------
def load_labels(path: str | Path | None = None) -> dict[str, dict[str, str]]:
    """Language -> label key -> word; the same keys in every language."""
    return _load_labels(str(path) if path else str(labels_file()))


@lru_cache(maxsize=4)
def _load_labels(file: str) -> dict[str, dict[str, str]]:
    root = Node(read_toml(Path(file), file, LabelsError), file, "", LabelsError)
    root.table(set(LANGS), required=LANGS)
    tables: dict[str, dict[str, str]] = {}
    for lang in LANGS:
        node = root.get(lang).table()
        words: dict[str, str] = {}
        for key, value in node.items():
            if not LABEL_KEY.match(key):
                raise value.fail(f"label key {key!r} is not valid", "a-z, 0-9 and '_'")
            words[key] = value.text()
            if not words[key].strip():
                raise value.fail("is empty")
        tables[lang] = words
    for lang in LANGS:
        for other in LANGS:
            for key in tables[other]:
                if key not in tables[lang]:
                    raise LabelsError(
                        file,
                        f"{lang}.{key}",
                        f"is missing: [{other}] has it, and every label needs every language",
                    )
    return tables


def labels(lang: str) -> dict[str, str]:
    """A copy of the label table of ``lang``."""
    return dict(load_labels()[check_lang(lang)])


# -- contacts -----------------------------------------------------------------------
def load_contacts(path: str | Path | None = None) -> dict[str, Any]:
    """NHN's customer centre as the report model carries it: email, phones, hours, source."""
    found = _load_contacts(str(path) if path else str(rules_file("contacts.toml")))
    return {**found, "phones": list(found["phones"])}


@lru_cache(maxsize=4)
def _load_contacts(file: str) -> dict[str, Any]:
    root = Node(read_toml(Path(file), file, CatalogueError), file, "", CatalogueError)
    root.table({"email", "phone", "hours"}, required=("email", "phone", "hours"))
    sources: list[str] = []

    def cite(node: Node) -> None:
        for part in cited_source(node).split(";"):
            if part.strip() and part.strip() not in sources:
                sources.append(part.strip())

    email = root.get("email").table({"address", "source"}, required=("address", "source"))
    address = email.get("address").text()
    if not EMAIL.match(address):
        raise email.get("address").fail(f"{address!r} is not an e-mail address", "name@domain")
    cite(email.get("source"))
    phones = []
    nodes = root.get("phone").list()
    if not nodes:
        raise root.get("phone").fail("needs at least one [[phone]]")
    for node in nodes:
        node.table({"number", "source"}, required=("number", "source"))
        number = node.get("number").text()
        if not PHONE.match(number):
            raise node.get("number").fail(
                f"{number!r} is not a phone number", "digits and spaces, optionally a leading +"
            )
        phones.append(number)
        cite(node.get("source"))
    hours = root.get("hours").table(
        {"text", "source", "note", "note_source"}, required=("text", "source")
    )
    text = hours.get("text").text()
    if not text.strip():
        raise hours.get("text").fail("is empty")
    cite(hours.get("source"))
    if hours.has("note"):
        hours.get("note").text()
        cite(hours.get("note_source"))
    return {"email": address, "phones": tuple(phones), "hours": text, "source": "; ".join(sources)}
