"""Whole-process timings of the command line, and the size of the default ruleset.

    python bench/bench_cli.py [--runs 10] [--json FILE]

Measures, as a user would see them (fork + interpreter + imports + work):

- ``nhn-appliance --help``                      target < 0.25 s
- ``nhn-appliance render --target nftables``    target < 0.25 s (default site)
- for scale: ``python -c pass`` and ``python -I -S -c pass`` (the floor)

each in two environments:

- *as-is*: this shell's environment. Here PYTHONDONTWRITEBYTECODE=1 is set, so
  an editable install compiles every nhn_appliance module from source on every
  start (no __pycache__ is ever written).
- *bytecode*: the same with bytecode cached (PYTHONPYCACHEPREFIX in a temp
  dir, so nothing is written into the repository), which is what a normal
  ``pip install`` (it compiles at install time) or a distro package gives.

The console script is run directly (the one beside ``sys.executable``), not
through a version-manager shim such as pyenv's, which adds its own start-up;
that overhead is reported on its own row.

Then the rendered default-site ruleset is loaded into a throwaway network
namespace and its chains, rules and set elements are counted from
``nft -j list ruleset`` (text parsing if that is not possible).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

TARGET_HELP = 0.25
TARGET_RENDER = 0.25


def _shim(exe: str) -> str | None:
    """A version-manager shim in front of the console script (pyenv's), if any."""
    candidates = [shutil.which("nhn-appliance")]
    if os.environ.get("PYENV_ROOT"):
        candidates.append(str(Path(os.environ["PYENV_ROOT"]) / "shims" / "nhn-appliance"))
    for c in candidates:
        if c and Path(c).is_file() and Path(c).resolve() != Path(exe).resolve():
            return c
    return None


def measure(runs: int = 10) -> dict:
    exe = C.entry_point()
    py = sys.executable
    work = Path(tempfile.mkdtemp(prefix="nhn-bench-cli-"))
    # an empty working directory: no ./appliance.toml, so the packaged default
    # site is used (identical to the repository's appliance.toml)
    cwd = work / "cwd"
    cwd.mkdir()
    envs = {"as-is": C.env_as_is(), "bytecode": C.env_bytecode(work / "pycache")}
    cases = {
        "help": [exe, "--help"],
        "render_nft": [exe, "render", "--target", "nftables"],
        "render_ipt": [exe, "render", "--target", "iptables"],
        "python_pass": [py, "-c", "pass"],
        "python_bare": [py, "-I", "-S", "-c", "pass"],
    }
    out: dict = {"entry_point": exe, "python": py, "runs": runs, "load": C.load_note(), "times": {}}
    try:
        for env_name, env in envs.items():
            # warm the bytecode cache (and the page cache) before timing
            for argv in cases.values():
                subprocess.run(
                    argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            for case, argv in cases.items():
                out["times"][f"{case}/{env_name}"] = C.time_process(
                    argv, runs=runs, env=env, cwd=cwd
                )
        shim = _shim(exe)
        if shim:
            out["shim"] = shim
            out["times"]["help/shim"] = C.time_process(
                [shim, "--help"], runs=max(3, runs // 2), env=envs["as-is"], cwd=cwd
            )
        text = subprocess.run(
            [exe, "render", "--target", "nftables"],
            cwd=cwd,
            env=envs["as-is"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        out["default_nft_bytes"] = len(text.encode())
        out["default_nft"] = C.nft_counts(text)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def report(res: dict) -> None:
    t = res["times"]
    print(f"entry point: {res['entry_point']}   ({res['runs']} runs each, best / median)")
    print(f"{res['load']}")
    rows = [
        (
            "nhn-appliance --help",
            C.fmt_times(t["help/as-is"]),
            C.fmt_times(t["help/bytecode"]),
            f"< {TARGET_HELP:.2f} s",
        ),
        (
            "nhn-appliance render -t nftables",
            C.fmt_times(t["render_nft/as-is"]),
            C.fmt_times(t["render_nft/bytecode"]),
            f"< {TARGET_RENDER:.2f} s",
        ),
        (
            "nhn-appliance render -t iptables",
            C.fmt_times(t["render_ipt/as-is"]),
            C.fmt_times(t["render_ipt/bytecode"]),
            "-",
        ),
        (
            "python -c pass (floor, with site)",
            C.fmt_times(t["python_pass/as-is"]),
            C.fmt_times(t["python_pass/bytecode"]),
            "-",
        ),
        (
            "python -I -S -c pass (bare interpreter)",
            C.fmt_times(t["python_bare/as-is"]),
            C.fmt_times(t["python_bare/bytecode"]),
            "-",
        ),
    ]
    if "help/shim" in t:
        rows.append((f"--help via {res['shim']}", C.fmt_times(t["help/shim"]), "", "-"))
    C.print_table(rows, ("measure", "as-is env", "bytecode cached", "target"))
    n = res["default_nft"]
    print()
    print(f"default site, nftables ({res['default_nft_bytes']} bytes), counted by {n['method']}:")
    print(
        f"  chains {n['chains']}, rules {n['rules']}, sets {n['sets']}, "
        f"set elements {n['set_elements']}"
        + (
            f", rules matching IPv4 {n['rules_ipv4']} / IPv6 {n['rules_ipv6']}"
            if "rules_ipv4" in n
            else ""
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    res = measure(args.runs)
    report(res)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
