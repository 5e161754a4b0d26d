"""Whole-process timings of the command line, and the size of the default ruleset.

    python bench/bench_cli.py [--runs 10] [--json FILE]

As a user sees them (fork + interpreter + imports + work), one warm-up and N
runs each, best / median: ``nhn-appliance --help`` and ``render --target
nftables`` (default site; targets < 0.25 s), ``render --target iptables``,
``render --all -o DIR`` with all six targets in one process (target < 0.3 s;
Aerleon 1.18.0 takes 0.61 s for six, bench/README.md), and for scale
``python -c pass`` and ``python -I -S -c pass``. Each in two
environments (``_common.envs``): *as-is* (this shell; here
PYTHONDONTWRITEBYTECODE=1, so the editable install compiles every module on
every start) and *bytecode* (cached, as a normal ``pip install`` has it).

The console script beside ``sys.executable`` is run, not a version-manager
shim in front of it; a shim, if there is one, gets its own row. The rendered
default ruleset is loaded into a throwaway namespace and counted from
``nft -j list ruleset``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

TARGET = 0.25
ALL_TARGETS = 0.3
SIX = '["nftables", "iptables", "cisco-ios", "junos", "routeros", "windows"]'
ROWS = (  # (case, label, target)
    ("help", "nhn-appliance --help", TARGET),
    ("render_nft", "nhn-appliance render -t nftables", TARGET),
    ("render_ipt", "nhn-appliance render -t iptables -o DIR", None),
    ("render_all", "nhn-appliance render --all -o DIR (six targets)", ALL_TARGETS),
    ("python_pass", "python -c pass (floor, with site)", None),
    ("python_bare", "python -I -S -c pass (bare interpreter)", None),
)


def _shim(exe: str) -> str | None:
    """A version-manager shim in front of the console script (pyenv's), if any."""
    root = os.environ.get("PYENV_ROOT")
    for c in (shutil.which("nhn-appliance"), root and f"{root}/shims/nhn-appliance"):
        if c and Path(c).is_file() and Path(c).resolve() != Path(exe).resolve():
            return c
    return None


def measure(runs: int = 10) -> dict:
    exe, py = C.entry_point(), sys.executable
    work = Path(tempfile.mkdtemp(prefix="nhn-bench-cli-"))
    cwd = work / "cwd"  # empty: no ./appliance.toml, so the packaged default site
    cwd.mkdir()
    for d in ("ipt", "all"):
        (work / d).mkdir()
    six = work / "six.toml"  # the default site with every target in [render]
    default = C.REPO / "appliance.toml"
    six.write_text(
        default.read_text().replace('targets = ["nftables", "iptables"]', f"targets = {SIX}")
    )
    render = [exe, "render", "--allow-unpinned"]  # a bench machine has no pins
    cases = {
        "help": [exe, "--help"],
        "render_nft": [*render, "--target", "nftables"],
        "render_ipt": [*render, "--target", "iptables", "-o", str(work / "ipt")],
        "render_all": [exe, "--site", str(six), *render[1:], "--all", "-o", str(work / "all")],
        "python_pass": [py, "-c", "pass"],
        "python_bare": [py, "-I", "-S", "-c", "pass"],
    }
    out: dict = {"entry_point": exe, "runs": runs, "load": C.load_note(), "times": {}}
    try:
        for env_name, env in C.envs(work).items():
            for case, argv in cases.items():
                key = f"{case}/{env_name}"
                out["times"][key] = C.time_process(argv, runs=runs, env=env, cwd=cwd)
        if shim := _shim(exe):
            out["shim"] = shim
            out["times"]["help/shim"] = C.time_process([shim, "--help"], max(3, runs // 2), cwd=cwd)
        argv = [*render, "--target", "nftables"]
        text = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=True).stdout
        out["default_nft_bytes"] = len(text.encode())
        out["default_nft"] = C.nft_counts(text)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def report(res: dict) -> None:
    t = res["times"]
    print(f"entry point: {res['entry_point']}   ({res['runs']} runs each, best / median)")
    print(res["load"])
    rows = [
        (label, C.fmt_times(t[f"{case}/as-is"]), C.fmt_times(t[f"{case}/bytecode"]))
        + (f"< {target:.2f} s" if target else "-",)
        for case, label, target in ROWS
    ]
    if "help/shim" in t:
        rows.append((f"--help via {res['shim']}", C.fmt_times(t["help/shim"]), "", "-"))
    C.print_table(rows, ("measure", "as-is env", "bytecode cached", "target"))
    n = res["default_nft"]
    print(f"\ndefault site, nftables ({res['default_nft_bytes']} bytes), counted by {n['method']}:")
    if "chains" in n:
        print(
            f"  chains {n['chains']}, rules {n['rules']}, sets {n['sets']}, set elements "
            f"{n['set_elements']}, rules matching IPv4 {n['rules_ipv4']} / IPv6 {n['rules_ipv6']}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    res = measure(args.runs)
    report(res)
    C.write_json(args.json, res)


if __name__ == "__main__":
    main()
