"""Run every speed benchmark and print one table: measure, ours, target, Aerleon.

    python bench/run.py [--quick] [--sites 1000] [--policies 1000] [--json FILE]

- ``bench_cli.py``     whole-process --help and render; default ruleset size
- ``bench_bulk.py``    1,000 generated sites -> nftables + iptables, one process
- ``bench_aerleon.py`` Aerleon 1.18.0 on the same access list and sites

``--quick`` uses fewer runs and 100 Aerleon policies (about a minute instead
of about four). The machine is shared and small (2 cores): a calibration loop
is timed first so that a slow, busy machine shows in the output; compare
the best figures between runs, the medians tell how noisy it was.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402
import bench_aerleon  # noqa: E402
import bench_bulk  # noqa: E402
import bench_cli  # noqa: E402


def calibrate(runs: int = 5) -> dict:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        s = 0
        for i in range(3_000_000):
            s += i
        times.append(time.perf_counter() - t0)
    return C.summary(times)


def verdict(value: float | None, target: float) -> str:
    if value is None:
        return "?"
    return "met" if value < target else "MISSED"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sites", type=int, default=1000)
    ap.add_argument(
        "--policies",
        type=int,
        default=None,
        help="Aerleon bulk N (default 1000, or 100 with --quick; 0 skips)",
    )
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    runs = 5 if args.quick else 10
    policies = args.policies if args.policies is not None else (100 if args.quick else 1000)

    cal = calibrate()
    print(f"calibration (3M-iteration Python loop): {C.fmt_times(cal)}; {C.load_note()}\n")
    print("== command line ==")
    cli = bench_cli.measure(runs)
    bench_cli.report(cli)
    print("\n== bulk ==")
    bulk = bench_bulk.measure(args.sites, 3 if args.quick else 5, check=10)
    bench_bulk.report(bulk)
    print("\n== Aerleon ==")
    aer = bench_aerleon.measure(policies, 5 if args.quick else 7)
    bench_aerleon.report(aer)

    t = cli["times"]
    issue = C.ISSUE_AERLEON
    ok = aer["aerleon_ok"]

    def aer_t(key: str, fallback: float | None) -> str:
        if ok and key in aer:
            return C.fmt_times(aer[key])
        return f"{fallback:.2f} s (issue)" if fallback is not None else "-"

    n_bulk = bulk["sites"]
    nft = cli["default_nft"]
    an = aer.get("aerleon_nft")
    aer_bulk = "-"
    if ok and "aerleon_bulk" in aer:
        aer_bulk = f"{C.fmt_times(aer['aerleon_bulk'])} ({aer['bulk_info']['policies']} policies)"
    elif not ok:
        aer_bulk = f"{issue['thousand_policies']:.1f} s (issue, 1,000)"
    rows = [
        (
            "--help, whole process",
            C.fmt_times(t["help/as-is"]),
            C.fmt_times(t["help/bytecode"]),
            "< 0.25 s",
            verdict(t["help/as-is"]["median"], 0.25),
            aer_t("help", issue["help"]),
        ),
        (
            "render -t nftables, default site, whole process",
            C.fmt_times(t["render_nft/as-is"]),
            C.fmt_times(t["render_nft/bytecode"]),
            "< 0.25 s",
            verdict(t["render_nft/as-is"]["median"], 0.25),
            "-",
        ),
        (
            "one policy -> every target, whole process(es)",
            C.fmt_times(aer["ours_one_site_all_targets"]) + " (2 targets, 2 procs)",
            "",
            "-",
            "",
            aer_t("one_policy_six_targets", issue["one_policy_six_targets"]) + " (6 targets)",
        ),
        (
            f"{n_bulk} sites -> nftables + iptables, in process (Site objects)",
            C.fmt_times(bulk["objects"]),
            "",
            "< 3 s" if n_bulk == 1000 else "-",
            verdict(bulk["objects"]["median"], 3.0) if n_bulk == 1000 else "",
            "-",
        ),
        (
            f"{n_bulk} sites, in process, loading each TOML + pins too",
            C.fmt_times(bulk["toml"]),
            "",
            "< 3 s" if n_bulk == 1000 else "-",
            verdict(bulk["toml"]["median"], 3.0) if n_bulk == 1000 else "",
            "-",
        ),
    ]
    if "ours_bulk" in aer:
        rows.append(
            (
                f"{aer['bulk_info']['policies']} sites -> nftables + iptables, "
                "whole process + files",
                C.fmt_times(aer["ours_bulk"]),
                "",
                "-",
                "",
                aer_bulk,
            )
        )
    rows += [
        (
            "default ruleset: chains / rules",
            f"{nft['chains']} / {nft['rules']}",
            "",
            "-",
            "",
            f"{an['chains']} / {an['rules']}"
            if an
            else f"{issue['nft_chains']} / {issue['nft_rules']} (issue)",
        ),
        (
            "default ruleset: named sets / set elements",
            f"{nft['sets']} / {nft['set_elements']}",
            "",
            "-",
            "",
            f"{an['sets']} / {an['set_elements']} (+{an.get('anon_set_elements', 0)} inline)"
            if an
            else "-",
        ),
        (
            "default ruleset: rules matching IPv4 / IPv6",
            f"{nft.get('rules_ipv4', '-')} / {nft.get('rules_ipv6', '-')}",
            "",
            "-",
            "",
            f"{an.get('rules_ipv4', '-')} / {an.get('rules_ipv6', '-')}"
            if an
            else "IPv4 only (issue)",
        ),
    ]
    print("\n== summary (best / median) ==")
    print(
        "ours: as-is = this environment (PYTHONDONTWRITEBYTECODE=1, editable install); "
        "bytecode = with cached bytecode. Target verdicts use the as-is median."
    )
    C.print_table(
        rows,
        (
            "measure",
            "ours (as-is)",
            "ours (bytecode)",
            "target",
            "verdict",
            f"Aerleon {C.AERLEON_VERSION}",
        ),
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "calibration": cal,
                    "cli": cli,
                    "bulk": {k: v for k, v in bulk.items() if k != "profile"},
                    "aerleon": aer,
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
