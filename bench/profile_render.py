"""Where the time of one ``nhn-appliance render`` process goes, step by step.

    python bench/profile_render.py [--target nftables] [--runs 7]

Runs a fresh interpreter per sample (so imports are cold, as in the real
command) that does the render command's steps one at a time and reports each
step's time; prints the median per step over the runs, for the as-is
environment and with bytecode cached. Diagnostic only; no target here.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

CHILD = r"""
import time, sys, json
t = {}
t0 = time.perf_counter()
import click
t['import click'] = time.perf_counter() - t0; t0 = time.perf_counter()
import nhn_appliance.cli
t['import nhn_appliance.cli (rest)'] = time.perf_counter() - t0; t0 = time.perf_counter()
from nhn_appliance.inputs import load_inputs
t['import inputs (policy modules)'] = time.perf_counter() - t0; t0 = time.perf_counter()
inputs = load_inputs(None, None, None)
t['load catalogue + site (TOML)'] = time.perf_counter() - t0; t0 = time.perf_counter()
policy = inputs.policy()
t['compile policy'] = time.perf_counter() - t0; t0 = time.perf_counter()
import jinja2
t['import jinja2'] = time.perf_counter() - t0; t0 = time.perf_counter()
from nhn_appliance.render import get_renderer
r = get_renderer(sys.argv[1])
t['import renderer module'] = time.perf_counter() - t0; t0 = time.perf_counter()
from nhn_appliance.render.templating import environment
environment().get_template(sys.argv[1] + '.j2')
t['Jinja: compile template'] = time.perf_counter() - t0; t0 = time.perf_counter()
arts = r.render(policy)
t['render (template cached)'] = time.perf_counter() - t0; t0 = time.perf_counter()
print(json.dumps(t))
"""


def run(target: str, runs: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="nhn-bench-prof-"))
    cwd = work / "cwd"
    cwd.mkdir()
    out = {}
    try:
        for name, env in C.envs(work).items():
            samples: dict[str, list[float]] = {}
            for n in range(runs + 1):
                res = subprocess.run(
                    [sys.executable, "-c", CHILD, target],
                    env=env,
                    cwd=cwd,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                if n == 0:
                    continue  # warm-up (writes the bytecode cache)
                for k, v in json.loads(res.stdout).items():
                    samples.setdefault(k, []).append(v)
            out[name] = {k: statistics.median(v) for k, v in samples.items()}
            base = C.time_process([sys.executable, "-c", "pass"], runs=runs, env=env, cwd=cwd)
            out[name]["interpreter start-up (python -c pass)"] = base["median"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", default="nftables")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    res = run(args.target, args.runs)
    keys = list(res["as-is"])
    res = {env: {**steps, "sum": sum(steps.values())} for env, steps in res.items()}
    rows = [
        (k, *(f"{res[env][k] * 1000:.1f} ms" for env in ("as-is", "bytecode")))
        for k in [*keys[-1:], *keys[:-1], "sum"]
    ]
    print(
        f"render --target {args.target}: median of {args.runs} fresh processes per step; "
        f"{C.load_note()}"
    )
    C.print_table(rows, ("step", "as-is env", "bytecode cached"))


if __name__ == "__main__":
    main()
