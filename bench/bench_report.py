"""`nhn-appliance report` on a 500-result document, each format: whole-process wall time.

Target: under 0.5 s per run. Prints a table (best and median of N runs).

    python bench/bench_report.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_report import big_doc  # noqa: E402  the same 500-result document the tests read

FORMATS = ("text", "json", "nagios", "prometheus", "html")
TARGET_S = 0.5


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        doc = Path(tmp) / "results.json"
        doc.write_text(json.dumps(big_doc(500)))
        print(f"{'format':<11} {'best s':>7} {'median s':>9}  target {TARGET_S} s")
        worst = 0.0
        for fmt in FORMATS:
            times, rc = [], 0
            for _ in range(args.runs):
                t0 = time.perf_counter()
                proc = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "nhn_appliance.cli",
                        "report",
                        str(doc),
                        "--format",
                        fmt,
                        "-o",
                        str(Path(tmp) / f"out.{fmt}"),
                    ],
                    capture_output=True,
                    text=True,
                )
                times.append(time.perf_counter() - t0)
                rc = proc.returncode
            ok = rc in (0, 1, 2) if fmt == "nagios" else rc == 0
            med = statistics.median(times)
            worst = max(worst, med) if ok else worst
            note = "" if ok else f"  exit {rc}: {proc.stderr.strip().splitlines()[-1:]}"
            print(
                f"{fmt:<11} {min(times):>7.3f} {med:>9.3f}  {'ok' if ok and med < TARGET_S else 'SLOW' if ok else 'n/a'}{note}"
            )
    return 0 if worst < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
