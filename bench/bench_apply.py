"""Whole-process times of apply, confirm, rollback and drift for the default site.

    python bench/bench_apply.py [--runs 10] [--target nftables|iptables] [--json FILE]

Root only: everything runs inside a fresh, empty network namespace this
script makes and deletes (``_common.scratch_netns``: no links, so nothing can
leave it), with a temporary state directory; the machine's own firewall is
never touched. Each run: ``apply`` (render, check, change in words, save,
rollback timer armed, loaded: the process exits once the ruleset is loaded
and armed), ``drift`` (loaded entry: its listing stands for the rendering),
``drift`` against other inputs (the rendering is listed in a scratch
namespace), ``confirm``, then ``rollback``. Target: drift under 0.3 s.
``ip netns exec`` adds its own few milliseconds to every figure; the
``ip netns exec NS true`` row shows how many.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

DRIFT_TARGET = 0.3


def _timed(argv: list[str], ok: tuple[int, ...] = (0,)) -> float:
    t0 = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NHN_APPLIANCE_")}
    res = subprocess.run(argv, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    if res.returncode not in ok:
        raise RuntimeError(f"{' '.join(argv)} exited {res.returncode}: {res.stderr[-2000:]}")
    return dt


def measure(runs: int, target: str) -> dict:
    exe = C.entry_point()
    times: dict[str, list[float]] = {
        k: [] for k in ("apply", "drift", "drift_other", "confirm", "rollback", "netns_exec")
    }
    with tempfile.TemporaryDirectory(prefix="nhn-bench-apply-") as tmp, C.scratch_netns() as ns:
        state = Path(tmp) / "state"
        other = Path(tmp) / "other.toml"  # the default site with another LAN prefix
        site = C.REPO / "appliance.toml"
        other.write_text(site.read_text().replace("192.168.10.", "192.168.20."))

        def cmd(*args: str, site_file: Path = site) -> list[str]:
            return ["ip", "netns", "exec", ns, exe, "--site", str(site_file), *args]

        st = ["--state-dir", str(state)]
        for n in range(runs + 1):  # the first run warms up
            got = {
                "netns_exec": _timed(["ip", "netns", "exec", ns, "true"]),
                "apply": _timed(
                    cmd("apply", "-t", target, "--allow-unpinned", "--confirm-within", "600", *st)
                ),
                "drift": _timed(cmd("drift", "-t", target, "--allow-unpinned", *st)),
                "drift_other": _timed(
                    cmd("drift", "-t", target, "--allow-unpinned", *st, site_file=other), (1,)
                ),
                "confirm": _timed(cmd("confirm", *st)),
                "rollback": _timed(cmd("rollback", *st)),
            }
            if n:
                for k, v in got.items():
                    times[k].append(v)
    return {k: C.summary(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--target", choices=("nftables", "iptables"), default="nftables")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_apply needs root (it makes a network namespace to apply into)")
    C.exit_on_sigterm()
    res = measure(args.runs, args.target)
    print(f"default site, target {args.target}, {args.runs} runs; {C.load_note()}")
    rows = [
        ("apply (loaded and armed), whole process", C.fmt_times(res["apply"]), "-", "-"),
        ("confirm", C.fmt_times(res["confirm"]), "-", "-"),
        ("rollback", C.fmt_times(res["rollback"]), "-", "-"),
        (
            "drift, loaded entry, whole process",
            C.fmt_times(res["drift"]),
            f"< {DRIFT_TARGET} s",
            C.verdict(res["drift"]["best"], DRIFT_TARGET),
        ),
        ("drift, other inputs (scratch namespace)", C.fmt_times(res["drift_other"]), "-", "-"),
        ("ip netns exec NS true (in every figure)", C.fmt_times(res["netns_exec"]), "-", "-"),
    ]
    C.print_table(rows, ("measure (best / median)", "ours", "target", "verdict"))
    C.write_json(args.json, res)


if __name__ == "__main__":
    main()
