"""No NHN fact in product code: every address, host name, e-mail address and
phone number of the catalogue lives in rules/ (with its source), never in
Python or a template.

The facts are read from the data itself, so a fact added to the catalogue is
guarded at once. Comments, docstrings and ``--help`` texts (``help=``,
``epilog=``, ``EPILOG*``) may name them as examples.
"""

from __future__ import annotations

import ast
import ipaddress
import re
import tomllib
from pathlib import Path

import pytest
from conftest import REPO

PRODUCT = ("nhn_appliance", "policy", "probes", "render", "report")
RULES = REPO / "rules"
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ]{3,}[0-9]$")


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def _facts() -> set[str]:
    """Addresses, names, URLs, e-mail addresses and phone numbers in rules/."""
    facts: set[str] = set()
    for path in RULES.rglob("*.toml"):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for key, value in _walk(data):
            for text in _strings(value):
                facts |= _facts_in(key, text)
    return facts


def _walk(data: object, key: str = ""):
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _walk(v, k)
    elif isinstance(data, list) and any(isinstance(v, dict) for v in data):
        for v in data:
            yield from _walk(v, key)
    else:
        yield key, data


def _facts_in(key: str, text: str) -> set[str]:
    if key == "addresses":
        parts = [p for p in re.split(r"[-\u2013\u2014/]", text) if _is_address(p)]
        return ({text} if parts else set()) | set(parts)
    if key in ("names", "sni", "servers", "email") or key.endswith(("url", "address", "to")):
        host = re.sub(r"^[a-z]+://", "", text).split("/")[0]
        return {text, host, host.rsplit(":", 1)[0]} - {""}
    if key in ("phones", "phone") and PHONE_RE.match(text):
        return {text}
    return set()


def _is_address(text: str) -> bool:
    """A real address (not the unspecified 0.0.0.0 or ::, which every IP stack names)."""
    try:
        return not ipaddress.ip_address(text.strip()).is_unspecified
    except ValueError:
        return False


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _help_nodes(tree: ast.AST) -> set[int]:
    """String constants that are --help texts: help=/epilog= arguments and EPILOG* constants."""
    ids = set()
    for node in ast.walk(tree):
        roots: list[ast.AST] = []
        if isinstance(node, ast.keyword) and node.arg in ("help", "epilog"):
            roots.append(node.value)
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id.startswith("EPILOG") for t in node.targets
        ):
            roots.append(node.value)
        for root in roots:
            ids |= {id(n) for n in ast.walk(root) if isinstance(n, ast.Constant)}
    return ids


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """String constants of a Python file that are neither docstrings nor help texts."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    skip = _docstring_nodes(tree) | _help_nodes(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    ]


def _template_text(path: Path) -> list[tuple[int, str]]:
    """A template's lines without Jinja comments ({# ... #})."""
    text = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.S)
    return list(enumerate(text.splitlines(), 1))


def _hits(facts: set[str], lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    out = []
    for line, text in lines:
        for fact in facts:
            if re.search(rf"(?<![\w.]){re.escape(fact)}(?![\w])", text):
                out.append((line, fact))
    return out


def _product_files() -> list[Path]:
    files = [p for folder in PRODUCT for p in (REPO / folder).rglob("*") if p.is_file()]
    return sorted(p for p in files if p.suffix in (".py", ".j2"))


def test_the_facts_are_found_in_the_data() -> None:
    facts = _facts()
    # a few of each kind, so that a broken reader cannot pass by finding nothing
    for sample in (
        "91.186.66.22",
        "83.118.128.0",
        "hjelp.nhn.no",
        "ntp.nhn.no",
        "sikker.proxy.nhn.no",
    ):
        assert sample in facts


def test_no_catalogue_fact_in_product_code() -> None:
    facts = _facts()
    bad = []
    for path in _product_files():
        lines = _code_strings(path) if path.suffix == ".py" else _template_text(path)
        bad += [f"{path.relative_to(REPO)}:{line}: {fact}" for line, fact in _hits(facts, lines)]
    assert not bad, "NHN facts belong in rules/ (with their source):\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("code", "found"),
    [
        ('HOST = "hjelp.nhn.no"\n', True),
        ('def f():\n    """Ask hjelp.nhn.no."""\n', False),
        ('import click\n@click.option("--x", help="e.g. hjelp.nhn.no")\ndef f(x): pass\n', False),
        ('EPILOG_MAIN = "nhn-appliance explain tcp 91.186.66.22 8041"\n', False),
        ('x = "91.186.66.22"  # 91.186.66.22\n', True),
        ('x = "191.186.66.225"\n', False),
        ("x = 1  # hjelp.nhn.no\n", False),
        ('x = f"to {host}.hjelp.nhn.no.example"\n', False),
    ],
)
def test_the_scanner(tmp_path: Path, code: str, found: bool) -> None:
    path = tmp_path / "m.py"
    path.write_text(code)
    assert bool(_hits({"hjelp.nhn.no", "91.186.66.22"}, _code_strings(path))) is found
