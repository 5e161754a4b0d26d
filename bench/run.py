"""Run the command-line, bulk and report benchmarks and print one summary table.

    python bench/run.py [--quick] [--sites 1000] [--json FILE]

``--quick`` uses fewer runs and rounds. The machine is shared and small (2
cores): a calibration loop is timed first so that a busy machine shows in the
output; compare best figures between runs, the medians show the noise. The
probe benchmark (``bench_probe.py``, root) and the lint-at-scale one
(``bench_lint.py``, about a minute) are not part of it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402
import bench_bulk  # noqa: E402
import bench_cli  # noqa: E402
import bench_report  # noqa: E402


def calibrate(runs: int = 5) -> dict:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sum(range(3_000_000))
        times.append(time.perf_counter() - t0)
    return C.summary(times)


def summary_rows(cli: dict, bulk: dict, rep: dict) -> list[tuple]:
    t, n, nft = cli["times"], bulk["sites"], cli["default_nft"]
    per_site = 3.0 if n == 1000 else None
    whole = [
        ("--help, whole process", "help", 0.25),
        ("render -t nftables, default site, whole process", "render_nft", 0.25),
        ("render --all -o DIR, six targets, whole process", "render_all", 0.3),
    ]
    timed = [(label, t[f"{k}/as-is"], t[f"{k}/bytecode"], target) for label, k, target in whole]
    timed += [
        (
            f"{n} sites -> nftables + iptables, in process, Site objects",
            bulk["objects"],
            None,
            per_site,
        ),
        (f"{n} sites, in process, loading each TOML + pins too", bulk["toml"], None, per_site),
    ]
    timed += [
        (
            f"report --format {f}, 500 results".replace("--format --compare", "--compare"),
            x,
            None,
            bench_report.TARGET_S,
        )
        for f, x in rep["times"].items()
    ]
    rows = [
        (
            label,
            C.fmt_times(ours),
            C.fmt_times(byte) if byte else "",
            f"< {target:g} s" if target else "-",
            C.verdict(ours["median"], target) if target else "",
        )
        for label, ours, byte, target in timed
    ]
    counts = [
        ("chains / rules", f"{nft['chains']} / {nft['rules']}"),
        ("named sets / elements", f"{nft['sets']} / {nft['set_elements']}"),
        (
            "rules matching IPv4 / IPv6",
            f"{nft.get('rules_ipv4', '-')} / {nft.get('rules_ipv6', '-')}",
        ),
    ]
    return rows + [(f"default ruleset: {what}", value, "", "-", "") for what, value in counts]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sites", type=int, default=1000)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    cal = calibrate()
    print(f"calibration (3M-iteration sum): {C.fmt_times(cal)}; {C.load_note()}\n")
    print("== command line ==")
    cli = bench_cli.measure(5 if args.quick else 10)
    bench_cli.report(cli)
    print("\n== bulk ==")
    bulk = bench_bulk.measure(args.sites, 3 if args.quick else 5, check=10)
    bench_bulk.report(bulk)
    print("\n== report ==")
    rep = bench_report.measure(3 if args.quick else 5)
    bench_report.report(rep)
    print("\n== summary (best / median; verdicts on the as-is median) ==")
    headers = ("measure", "ours (as-is)", "ours (bytecode)", "target", "verdict")
    C.print_table(summary_rows(cli, bulk, rep), headers)
    bulk.pop("profile", None)
    C.write_json(args.json, {"calibration": cal, "cli": cli, "bulk": bulk, "report": rep})


if __name__ == "__main__":
    main()
