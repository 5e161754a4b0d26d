"""``nhn-appliance report`` on a 500-result document, each format, and ``report --compare``
of two such documents, each format: whole-process wall time.

    python bench/bench_report.py [--runs 5] [--json FILE]

The document is tests/test_report.py's ``big_doc(500)``, the one the tests
read; the "after" document of the comparison is the same with every tenth
check's status turned (ok <-> fail). Target: under 0.3 s per run (median).
Best / median of N runs after one warm-up; ``nagios`` exits 0-3 by design,
the others must exit 0.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

sys.path.insert(0, str(C.REPO / "tests"))
from test_report import big_doc  # noqa: E402

FORMATS = ("text", "json", "nagios", "prometheus", "html")
TARGET_S = 0.3


def after_doc(doc: dict) -> dict:
    """The "after" run: every tenth check turned (ok -> fail, anything else -> ok)."""
    after = json.loads(json.dumps(doc))
    for r in after["results"][::10]:
        r.update(status="fail", reason="timeout") if r["status"] == "ok" else r.update(
            status="ok", reason="open"
        )
    return after


def measure(runs: int = 5) -> dict:
    res: dict = {"load": C.load_note(), "times": {}}
    with tempfile.TemporaryDirectory() as tmp:
        doc, after = Path(tmp) / "results.json", Path(tmp) / "after.json"
        doc.write_text(json.dumps(big_doc(500)))
        after.write_text(json.dumps(after_doc(big_doc(500))))
        for compare in (False, True):
            for fmt in FORMATS:
                argv = [sys.executable, "-m", "nhn_appliance.cli", "report"]
                argv += ["--compare", str(doc), str(after)] if compare else [str(doc)]
                argv += ["--format", fmt, "-o", str(Path(tmp) / f"out.{fmt}")]
                rc = subprocess.run(argv, capture_output=True, text=True)
                if rc.returncode not in ((0, 1, 2, 3) if fmt == "nagios" else (0,)):
                    raise RuntimeError(f"{argv[3:]} exited {rc.returncode}: {rc.stderr}")
                key = f"--compare {fmt}" if compare else fmt
                res["times"][key] = C.time_process(argv, runs=runs, check=False)
    return res


def report(res: dict) -> None:
    print(f"report on 500 results (and --compare of two), whole process; {res['load']}")
    rows = [
        (fmt, C.fmt_times(t), f"< {TARGET_S} s", C.verdict(t["median"], TARGET_S))
        for fmt, t in res["times"].items()
    ]
    C.print_table(rows, ("format", "best / median", "target", "verdict"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    res = measure(args.runs)
    report(res)
    C.write_json(args.json, res)
    return 0 if all(t["median"] < TARGET_S for t in res["times"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
