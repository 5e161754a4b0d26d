"""Shared helpers for the benchmark scripts: timing, environments, counting.

Nothing here sends a packet. ``nft_counts`` loads a ruleset into a throwaway
network namespace (needs root and nft), lists it as JSON and deletes the
namespace again; without them it counts by parsing the text instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
AERLEON_VENV = Path(os.environ.get("AERLEON_VENV", "/tmp/aerleon-venv"))
AERLEON_VERSION = "1.18.0"

#: the issue's figures for Aerleon 1.18.0 on this kind of machine
ISSUE_AERLEON = {
    "help": 0.42,
    "one_policy_six_targets": 0.79,
    "thousand_policies": 23.9,
    "nft_chains": 11,
    "nft_rules": 22,
}


# -- timing -----------------------------------------------------------------
def time_process(
    argv: list[str],
    runs: int = 10,
    warmup: int = 1,
    env: dict | None = None,
    cwd: str | Path | None = None,
    check: bool = True,
) -> dict:
    """Whole-process wall times (``time.perf_counter`` around ``subprocess.run``)."""
    times = []
    for n in range(warmup + runs):
        t0 = time.perf_counter()
        proc = subprocess.run(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd
        )
        dt = time.perf_counter() - t0
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(map(str, argv))} exited {proc.returncode}: "
                f"{proc.stderr.decode(errors='replace')[-2000:]}"
            )
        if n >= warmup:
            times.append(dt)
    return summary(times)


def summary(times: list[float]) -> dict:
    return {
        "best": min(times),
        "median": statistics.median(times),
        "worst": max(times),
        "runs": len(times),
        "all": times,
    }


def fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def fmt_times(t: dict | None) -> str:
    if not t:
        return "-"
    return f"{t['best']:.3f} / {t['median']:.3f} s"


def load_note() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return ""
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


# -- environments -----------------------------------------------------------
def entry_point(name: str = "nhn-appliance") -> str:
    """The console script itself, not a version-manager shim in front of it."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"{name} is not installed (pip install -e .)")
    return found


def env_as_is() -> dict:
    """This shell's environment (here: PYTHONDONTWRITEBYTECODE=1, so the
    editable sources are compiled from source on every start)."""
    return dict(os.environ)


def env_bytecode(cache_dir: Path) -> dict:
    """Bytecode cached as a normal (non-editable, compiled) install has it.

    The cache goes to ``cache_dir`` via PYTHONPYCACHEPREFIX, so nothing is
    written into the repository.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache_dir)
    return env


# -- counting an nftables ruleset ------------------------------------------
def _have_netns() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None and shutil.which("nft") is not None


def nft_counts(text: str) -> dict:
    """Chains, rules, named sets and their elements, anonymous-set elements.

    ``method`` says how: ``netns`` (loaded into a throwaway namespace, counted
    from ``nft -j list ruleset``) or ``text`` (parsed, if that is not possible).
    """
    if _have_netns():
        try:
            return _nft_counts_netns(text)
        except (subprocess.CalledProcessError, OSError) as exc:
            counts = _nft_counts_text(text)
            counts["method"] = f"text (netns failed: {exc})"
            return counts
    return _nft_counts_text(text)


def _walk_anon(node, acc: list[int]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "set" and isinstance(value, list):
                acc[0] += len(value)
            else:
                _walk_anon(value, acc)
    elif isinstance(node, list):
        for value in node:
            _walk_anon(value, acc)


def _nft_counts_netns(text: str) -> dict:
    ns = f"nhnbench-{os.getpid()}-{time.monotonic_ns() % 100000}"
    with tempfile.NamedTemporaryFile("w", suffix=".nft", delete=False) as fh:
        fh.write(text)
        path = fh.name
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(
            ["ip", "netns", "exec", ns, "nft", "-f", path], check=True, capture_output=True
        )
        out = subprocess.run(
            ["ip", "netns", "exec", ns, "nft", "-j", "list", "ruleset"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
        os.unlink(path)
    objs = json.loads(out)["nftables"]
    chains = [o["chain"] for o in objs if "chain" in o]
    rules = [o["rule"] for o in objs if "rule" in o]
    sets = [o["set"] for o in objs if "set" in o]
    anon = [0]
    _walk_anon([r["expr"] for r in rules], anon)
    families = sorted({r["family"] for r in rules})
    v4 = sum(1 for r in rules if '"ip"' in json.dumps(r["expr"]) or "ipv4" in json.dumps(r["expr"]))
    v6 = sum(
        1 for r in rules if '"ip6"' in json.dumps(r["expr"]) or "ipv6" in json.dumps(r["expr"])
    )
    return {
        "method": "netns (nft -j list ruleset)",
        "tables": sum(1 for o in objs if "table" in o),
        "chains": len(chains),
        "base_chains": sum(1 for c in chains if "hook" in c),
        "rules": len(rules),
        "sets": len(sets),
        "set_elements": sum(len(s.get("elem", [])) for s in sets),
        "anon_set_elements": anon[0],
        "families": families,
        "rules_ipv4": v4,
        "rules_ipv6": v6,
    }


def _nft_counts_text(text: str) -> dict:
    """Fallback: count from the text of an nft script (both tools' layouts)."""
    chains = rules = sets = elements = 0
    mode = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if re.match(r"^chain \S+ \{$", line):
            chains += 1
            mode = "chain"
            continue
        if re.match(r"^set \S+ \{$", line):
            sets += 1
            mode = "set"
            continue
        if line == "}" and mode in ("chain", "set"):
            mode = None
            continue
        if mode == "chain" and not re.match(r"^(type |comment )", line):
            rules += 1
        elif mode == "set" and not re.match(r"^(type|flags|counter|elements|\})", line):
            elements += 1
    return {
        "method": "text (parsed)",
        "chains": chains,
        "rules": rules,
        "sets": sets,
        "set_elements": elements,
    }


def print_table(rows: list[tuple], headers: tuple) -> None:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*headers))
    print(line.format(*("-" * w for w in widths)))
    for r in rows:
        print(line.format(*(str(c) for c in r)))
