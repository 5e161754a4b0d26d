"""Compile and lint a generated catalogue of 10,000 and 20,000 endpoints (issue 11, D15).

    python bench/bench_lint.py [--sizes 10000,20000] [--rounds 3] [--runs 3] [--json FILE]

A seeded catalogue (one service, ``--sizes`` endpoints: a host or a /24 in
10.0.0.0/16 each, tcp or udp, a few common ports so that many overlap) and a
two-uplink site are written to a temp dir. In process: load, compile and
lint (``rounds`` times, best / median). Whole process: ``rules check`` and
``policy lint`` (one warm-up, ``runs`` runs). Targets: compile + lint under
1 s for 10,000 endpoints, under 2 s for 20,000. Nothing is sent anywhere:
the addresses are private and only written to files.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

TARGETS = {10000: 1.0, 20000: 2.0}
SITE = """[site]
name = "gross"
outbound = "blocked"
services = ["gen"]
[lan]
interfaces = ["lan0"]
prefixes = ["192.168.10.0/24"]
[uplinks.helsenett]
interface = "wan-hn"
[uplinks.internett]
interface = "wan-inet"
[dns]
resolvers = ["192.168.10.1"]
"""


def write_catalogue(rules: Path, n: int, seed: int = 11) -> Path:
    """``n`` endpoints in ``rules/gen.toml`` (+ the packaged qos.toml); the site file
    beside the folder. Returns the site file."""
    rng = random.Random(seed)
    rules.mkdir(parents=True)
    shutil.copy(C.REPO / "rules" / "qos.toml", rules / "qos.toml")
    lines = ["[service]", 'name = "gen"', 'source = "generated"', ""]
    for i in range(n):
        a = rng.randrange(2**16)
        addr = f"10.0.{a >> 8}.{a & 255}" if i % 7 else f"10.0.{a >> 8}.0/24"
        port = rng.choice((443, 80, 8080, 1720, 5060)) if i % 3 else rng.randrange(1024, 65535)
        lines += [
            "[[endpoint]]",
            f'id = "e{i}"',
            f'zone = "{("helsenett", "internett")[i % 2]}"',
            f'addresses = ["{addr}"]',
            f'protocol = "{"udp" if i % 5 == 0 else "tcp"}"',
            f"ports = [{port}]",
            'source = "generated"',
            "",
        ]
    (rules / "gen.toml").write_text("\n".join(lines))
    site = rules.parent / f"{rules.name}.toml"
    site.write_text(SITE)
    return site


def in_process(rules: Path, site_path: Path, rounds: int) -> dict:
    from nhn_appliance.policy.catalogue import _load_catalogue, load_catalogue
    from nhn_appliance.policy.compile import compile_policy
    from nhn_appliance.policy.lint import lint
    from nhn_appliance.policy.site import load_site

    load, comp, lnt, both = [], [], [], []
    findings = rules_n = 0
    for _ in range(rounds):
        _load_catalogue.cache_clear()  # each round loads the files again
        t0 = time.perf_counter()
        cat = load_catalogue(rules)
        site = load_site(site_path, str(site_path), cat)
        t1 = time.perf_counter()
        policy = compile_policy(cat, site, {})
        t2 = time.perf_counter()
        found = lint(policy)
        t3 = time.perf_counter()
        load.append(t1 - t0)
        comp.append(t2 - t1)
        lnt.append(t3 - t2)
        both.append(t3 - t1)
        findings, rules_n = len(found), len(policy.rules)
    return {
        "load": C.summary(load),
        "compile": C.summary(comp),
        "lint": C.summary(lnt),
        "compile+lint": C.summary(both),
        "rules": rules_n,
        "findings": findings,
    }


def measure(sizes: list[int], rounds: int, runs: int) -> dict:
    exe = C.entry_point()
    out: dict = {"load": C.load_note(), "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="nhnbench-lint-") as tmp:
        for n in sizes:
            rules = Path(tmp) / f"cat{n}"
            site = write_catalogue(rules, n)
            res = in_process(rules, site, rounds)
            base = [exe, "--rules", str(rules), "--site", str(site)]
            for cmd in (["rules", "check"], ["policy", "lint"]):
                res[" ".join(cmd)] = C.time_process(base + cmd, runs=runs)
            out["sizes"][n] = res
    return out


def report(res: dict) -> None:
    print(res["load"])
    rows = []
    for n, r in res["sizes"].items():
        target = TARGETS.get(n)
        head = f"{n:,} endpoints ({r['rules']:,} rules, {r['findings']:,} findings)"
        for what in ("load", "compile", "lint", "compile+lint"):
            goal = f"< {target:g} s" if target and what == "compile+lint" else "-"
            ok = C.verdict(r[what]["median"], target) if goal != "-" else ""
            rows.append((f"{head}: {what}, in process", C.fmt_times(r[what]), goal, ok))
        for cmd in ("rules check", "policy lint"):
            rows.append((f"{head}: {cmd}, whole process", C.fmt_times(r[cmd]), "-", ""))
    C.print_table(rows, ("measure", "best / median", "target", "verdict"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,20000")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    res = measure([int(s) for s in args.sizes.split(",")], args.rounds, args.runs)
    report(res)
    C.write_json(args.json, res)


if __name__ == "__main__":
    main()
