"""The pure layers stay pure: policy/, render/ and report/ take inputs and give
text. They open no socket, run no subprocess, import nothing of the command
line's edge and write no file (docs/design.md, "Pure core, effects at the
edges"). The report reads result documents and imports nothing of the probes
but their plain result vocabulary (probes/model.py).

Read from the source with ``ast``, so a lazy import inside a function counts
as much as one at the top.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

PURE = ("policy", "render", "report")

#: modules whose import alone means network, processes or the edge
FORBIDDEN = (
    "socket",
    "ssl",
    "subprocess",
    "asyncio",
    "http",
    "urllib.request",
    "tempfile",
    "shutil",
    "click",
    "scapy",
    "dns",  # dnspython: name resolution is the probes' job
    "nhn_appliance.cli",
    "nhn_appliance.probe_cli",
    "nhn_appliance.outputs",
    "nhn_appliance.inputs",
    "nhn_appliance.hostinfo",
)
#: calls that write or change files, by attribute or function name
WRITES = {
    "write_text",
    "write_bytes",
    "mkdir",
    "makedirs",
    "unlink",
    "rename",
    "replace",
    "rmtree",
    "touch",
    "chmod",
    "remove",
}
#: the only module of probes/ that the report may import
REPORT_MAY_IMPORT_FROM_PROBES = {"nhn_appliance.probes.model"}


def _files(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN)


def _writes(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in WRITES and not _is_str_replace(node):
            found.append((node.lineno, name))
        if name == "open" and _open_mode(node) not in ("r", "rb", "rt", ""):
            found.append((node.lineno, f"open(mode={_open_mode(node)!r})"))
    return found


def _is_str_replace(call: ast.Call) -> bool:
    """Not a file operation: ``text.replace(a, b)`` (a string method),
    ``dataclasses.replace(obj, k=v)`` and ``datetime.replace(tzinfo=...)``.
    ``os.replace(a, b)`` and ``path.replace(target)`` are file operations."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name != "replace":
        return False
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "os"
    ):
        return False
    return not (isinstance(func, ast.Attribute) and len(call.args) == 1 and not call.keywords)


def _open_mode(call: ast.Call) -> str:
    mode = call.args[1] if len(call.args) > 1 else None
    for kw in call.keywords:
        if kw.arg == "mode":
            mode = kw.value
    return mode.value if isinstance(mode, ast.Constant) and isinstance(mode.value, str) else ""


@pytest.mark.parametrize("folder", PURE)
def test_pure_layers_import_no_effects(folder: str) -> None:
    bad = []
    for path in _files(folder):
        for line, module in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if _forbidden(module):
                bad.append(f"{path.relative_to(REPO)}:{line}: imports {module}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("folder", PURE)
def test_pure_layers_write_no_files(folder: str) -> None:
    bad = []
    for path in _files(folder):
        for line, call in _writes(ast.parse(path.read_text(encoding="utf-8"))):
            bad.append(f"{path.relative_to(REPO)}:{line}: {call}(...)")
    assert not bad, "\n".join(bad)


def test_report_imports_only_the_result_vocabulary_of_probes() -> None:
    bad = []
    for path in _files("report"):
        for line, module in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if not module.startswith("nhn_appliance.probes"):
                continue
            if module in REPORT_MAY_IMPORT_FROM_PROBES or any(
                module.startswith(m + ".") for m in REPORT_MAY_IMPORT_FROM_PROBES
            ):
                continue
            bad.append(f"{path.relative_to(REPO)}:{line}: imports {module}")
    assert not bad, "\n".join(bad)


def test_policy_imports_no_other_layer() -> None:
    """policy/ is the bottom: it knows nothing of render, probes or report."""
    bad = []
    for path in _files("policy"):
        for line, module in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if module.split(".")[:2] == ["nhn_appliance", "render"] or module.startswith(
                ("nhn_appliance.probes", "nhn_appliance.report")
            ):
                bad.append(f"{path.relative_to(REPO)}:{line}: imports {module}")
    assert not bad, "\n".join(bad)


def test_the_checks_can_fail() -> None:
    """The scanners see what they look for (a scanner that finds nothing is no guard)."""
    code = ast.parse(
        "import subprocess\n"
        "from nhn_appliance.outputs import write_text\n"
        "def f(p):\n"
        "    import socket\n"
        "    p.write_text('x')\n"
        "    open(p, 'w')\n"
        "    'a'.replace('a', 'b')\n"
        "    replace(obj, x=1)\n"
        "    p.replace(q)\n"
        "    os.replace(a, b)\n"
    )
    modules = [m for _, m in _imports(code) if _forbidden(m)]
    assert modules == [
        "subprocess",
        "nhn_appliance.outputs",
        "nhn_appliance.outputs.write_text",
        "socket",
    ]
    assert [c for _, c in _writes(code)] == [
        "write_text",
        "open(mode='w')",
        "replace",
        "replace",
    ]


@pytest.mark.parametrize(
    "module",
    [
        "nhn_appliance.policy.compile",
        "nhn_appliance.policy.explain",
        "nhn_appliance.render.nftables",
        "nhn_appliance.render.windows",
        "nhn_appliance.report.model",
        "nhn_appliance.report.html",
        "nhn_appliance.probes.model",
    ],
)
def test_importing_a_pure_module_loads_no_network_or_process_module(module: str) -> None:
    """What the AST cannot see: an import two modules away. Checked in a fresh
    interpreter, so nothing this test process imported counts."""
    code = (
        f"import sys, {module}\n"
        "names = ('socket', 'ssl', 'subprocess', 'asyncio', 'click')\n"
        "bad = [m for m in names if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "", f"{module} loads {out.stdout.strip()}"
