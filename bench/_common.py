"""Shared helpers of the benchmark scripts: timing, environments, counting, output.

Nothing here sends a packet. ``nft_counts`` loads a ruleset into a throwaway,
empty network namespace (root and nft) and deletes it again; without them it
counts by parsing the text.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


# -- timing -----------------------------------------------------------------
def time_process(argv, runs=10, warmup=1, env=None, cwd=None, check=True) -> dict:
    """Whole-process wall times (``time.perf_counter`` around ``subprocess.run``)."""
    times = []
    for n in range(warmup + runs):
        t0 = time.perf_counter()
        proc = subprocess.run(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd
        )
        dt = time.perf_counter() - t0
        if check and proc.returncode != 0:
            err = proc.stderr.decode(errors="replace")[-2000:]
            raise RuntimeError(f"{' '.join(map(str, argv))} exited {proc.returncode}: {err}")
        if n >= warmup:
            times.append(dt)
    return summary(times)


def summary(times: list[float]) -> dict:
    med = statistics.median(times)
    return {"best": min(times), "median": med, "worst": max(times), "runs": len(times)} | {
        "all": times
    }


def fmt_times(t: dict | None) -> str:
    return f"{t['best']:.3f} / {t['median']:.3f} s" if t else "-"


def verdict(value: float | None, target: float, le: bool = False) -> str:
    if value is None:
        return "?"
    return "met" if (value <= target if le else value < target) else "MISSED"


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def importtime_lines(py: str, args: list[str], needle: str, env=None) -> int:
    """Lines of ``python -X importtime -m nhn_appliance.cli ARGS`` that name ``needle``."""
    res = subprocess.run(
        [py, "-X", "importtime", "-m", "nhn_appliance.cli", *args],
        capture_output=True,
        text=True,
        env=env,
    )
    return sum(needle in line for line in res.stderr.splitlines())


# -- environments -----------------------------------------------------------
def entry_point(name: str = "nhn-appliance") -> str:
    """The console script beside the interpreter, not a version-manager shim."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} is not installed (pip install -e .)")
    return found


def env_bytecode(cache_dir: Path) -> dict:
    """This environment with bytecode cached, as a normal (compiled) install has it;
    the cache goes to ``cache_dir`` (PYTHONPYCACHEPREFIX), never into the repository."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache_dir)
    return env


def envs(work: Path) -> dict[str, dict]:
    """*as-is* (this shell: here PYTHONDONTWRITEBYTECODE=1) and *bytecode*."""
    return {"as-is": dict(os.environ), "bytecode": env_bytecode(work / "pycache")}


# -- running and output -----------------------------------------------------
def exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so that namespaces and temp dirs are removed."""

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)


def write_json(path: str | None, res: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(res, indent=2, default=str) + "\n")


def print_table(rows: list[tuple], headers: tuple) -> None:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*headers))
    print(line.format(*("-" * w for w in widths)))
    for r in rows:
        print(line.format(*(str(c) for c in r)))


# -- network namespaces and nftables ---------------------------------------
def nft_counts(text: str) -> dict:
    """Chains, rules, named sets and their elements, rules per family of a ruleset,
    loaded into a throwaway namespace; without root, ip and nft only says so."""
    if os.geteuid() != 0 or not (shutil.which("ip") and shutil.which("nft")):
        return {"method": "nothing: counting needs root, ip and nft"}
    with tempfile.NamedTemporaryFile("w", suffix=".nft") as fh, scratch_netns() as ns:
        fh.write(text)
        fh.flush()
        run = ["ip", "netns", "exec", ns, "nft"]
        subprocess.run([*run, "-f", fh.name], check=True, capture_output=True)
        out = subprocess.run([*run, "-j", "list", "ruleset"], check=True, capture_output=True)
    objs = json.loads(out.stdout)["nftables"]
    rules = [json.dumps(o["rule"]["expr"]) for o in objs if "rule" in o]
    sets = [o["set"] for o in objs if "set" in o]
    return {
        "method": "netns (nft -j list ruleset)",
        "chains": sum("chain" in o for o in objs),
        "rules": len(rules),
        "sets": len(sets),
        "set_elements": sum(len(s.get("elem", [])) for s in sets),
        "rules_ipv4": sum('"ip"' in r or "ipv4" in r for r in rules),
        "rules_ipv6": sum('"ip6"' in r or "ipv6" in r for r in rules),
    }


@contextlib.contextmanager
def scratch_netns():
    """A fresh, empty network namespace (no links: nothing can leave it); always deleted."""
    ns = f"nhnbench-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
