"""Compile and render many generated sites to nftables AND iptables, in one process.

    python bench/bench_bulk.py [--sites 1000] [--rounds 3] [--check 20] [--profile] [--json FILE]

The real catalogue (rules/) is loaded once; ``sitegen.make_sites`` (seeded)
writes N varied ``appliance.toml`` files (+ pins) to a temp dir. Timed two
ways, best / median round: ``objects`` (sites loaded once, untimed; compile +
nftables + iptables for all) and ``toml`` (loading each site file and its pins
inside the loop too). Target: < 3 s for 1,000 sites. A sha256 over all output
shows that a speed-up changed no byte. ``--check N`` loads N sites' output with
``nft -c`` and ``iptables-restore --test`` into a throwaway namespace;
``--profile`` prints a cProfile of one objects round.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import os
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402
import sitegen  # noqa: E402

from nhn_appliance.policy.catalogue import load_catalogue  # noqa: E402
from nhn_appliance.policy.compile import compile_policy  # noqa: E402
from nhn_appliance.policy.pins import read_pins, state_path_for  # noqa: E402
from nhn_appliance.policy.site import load_site  # noqa: E402
from nhn_appliance.render import get_renderer  # noqa: E402

TARGET_1000 = 3.0
NOW = datetime(2024, 6, 20, tzinfo=UTC)  # pins are from 2024-06-11: fresh, no stale warning


def catalogue_facts(cat) -> tuple[list[str], list[str], list[str]]:
    names = sorted(
        {
            n
            for s in cat.services.values()
            for ep in list(s.endpoints) + [e for p in s.profiles for e in p.endpoints]
            for n in ep.names
        }
    )
    return sorted(cat.services), sorted(cat.profiles), names


def write_sites(sites: list[dict], directory: Path) -> list[Path]:
    paths = []
    for s in sites:
        path = directory / f"{s['name']}.toml"
        path.write_text(sitegen.site_toml(s), encoding="utf-8")
        if s["pins"]:
            state_path_for(path, False).write_text(sitegen.pins_json(s), encoding="utf-8")
        paths.append(path)
    return paths


def render_all(cat, sites, nft, ipt, digest=None) -> tuple[float, int, int]:
    """Compile + render every site; ``sites`` holds (Site, pins) or site file paths."""
    n_bytes = n_rules = 0
    t0 = time.perf_counter()
    for site in sites:
        if isinstance(site, Path):
            site = (load_site(site, site.name, cat), read_pins(state_path_for(site, False)))
        policy = compile_policy(cat, *site, now=NOW)
        for art in nft.render(policy) + ipt.render(policy):
            n_bytes += len(art.text)
            if digest:
                digest.update(art.name.encode() + b"\0" + art.text.encode() + b"\0")
        n_rules += len(policy.rules)
    return time.perf_counter() - t0, n_bytes, n_rules


def check_outputs(cat, loaded, paths, nft, ipt, count: int) -> dict:
    """Validate a sample of rendered files with the real tools in a throwaway netns."""
    if os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("ip"):
        return {"checked": 0, "note": "skipped: needs root, ip and nft"}
    rng = random.Random(7)
    picks = sorted(rng.sample(range(len(loaded)), min(count, len(loaded))))
    failures = []
    with tempfile.TemporaryDirectory(prefix="nhn-bench-chk-") as tmp, C.scratch_netns() as ns:
        for i in picks:
            site, pins = loaded[i]
            policy = compile_policy(cat, site, pins, now=NOW)
            for renderer in (nft, ipt):
                for art in renderer.render(policy):
                    f = Path(tmp) / f"{i}-{art.name}"
                    f.write_text(art.text)
                    if renderer is nft:
                        cmd = ["nft", "-c", "-f", str(f)]
                    else:
                        tool = "iptables-restore" if art.family == 4 else "ip6tables-restore"
                        cmd = [tool, "--test", str(f)]
                    r = subprocess.run(
                        ["ip", "netns", "exec", ns, *cmd], capture_output=True, text=True
                    )
                    if r.returncode != 0:
                        failures.append(f"{paths[i].name} {art.name}: {r.stderr.strip()[:300]}")
    return {"checked": len(picks), "failures": failures}


def measure(n_sites: int = 1000, rounds: int = 3, check: int = 0, profile: bool = False) -> dict:
    t0 = time.perf_counter()
    cat = load_catalogue()
    t_cat = time.perf_counter() - t0
    nft, ipt = get_renderer("nftables"), get_renderer("iptables")
    services, profiles, names = catalogue_facts(cat)
    sites = sitegen.make_sites(n_sites, services, profiles, names)
    work = Path(tempfile.mkdtemp(prefix="nhn-bench-bulk-"))
    out: dict = {"sites": n_sites, "rounds": rounds, "catalogue_load": t_cat, "load": C.load_note()}
    try:
        paths = write_sites(sites, work)
        t0 = time.perf_counter()
        loaded = [(load_site(p, p.name, cat), read_pins(state_path_for(p, False))) for p in paths]
        out["load_sites_once"] = time.perf_counter() - t0
        out["variety"] = {
            "helsenett_only": sum(1 for s, _ in loaded if len(s.uplinks) == 1),
            "outbound_blocked": sum(1 for s, _ in loaded if s.outbound == "blocked"),
            "with_hosts": sum(1 for s, _ in loaded if s.hosts),
            "with_ipv6_lan": sum(
                1 for s, _ in loaded if any(p.family == 6 for p in s.lan_prefixes)
            ),
            "with_pins": sum(1 for _, p in loaded if p),
            "mean_services": sum(len(s.services) for s, _ in loaded) / len(loaded),
        }
        digest = hashlib.sha256()
        # warm-up (Jinja compiles each template once per process) and the output hash
        _, out["output_bytes"], out["compiled_rules"] = render_all(cat, loaded, nft, ipt, digest)
        out["output_sha256"] = digest.hexdigest()
        obj_times, toml_times = [], []
        for _ in range(rounds):
            obj_times.append(render_all(cat, loaded, nft, ipt)[0])
            toml_times.append(render_all(cat, paths, nft, ipt)[0])
        out["objects"] = C.summary(obj_times)
        out["toml"] = C.summary(toml_times)
        if check:
            out["check"] = check_outputs(cat, loaded, paths, nft, ipt, check)
        if profile:
            pr = cProfile.Profile()
            pr.enable()
            render_all(cat, loaded, nft, ipt)
            pr.disable()
            buf = io.StringIO()
            pstats.Stats(pr, stream=buf).sort_stats("tottime").print_stats(20)
            out["profile"] = buf.getvalue()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def report(res: dict) -> None:
    n = res["sites"]
    print(
        f"{n} generated sites, nftables + iptables, one process; {res['rounds']} rounds "
        f"(best / median); {res['load']}"
    )
    v = res["variety"]
    print(
        f"  variety: {v['helsenett_only']} Helsenett-only, "
        f"{v['outbound_blocked']} outbound blocked, "
        f"{v['with_hosts']} with profiled hosts, {v['with_ipv6_lan']} with an IPv6 LAN, "
        f"{v['with_pins']} with pinned names, {v['mean_services']:.1f} services on average"
    )
    print(
        f"  catalogue loaded once: {res['catalogue_load'] * 1000:.1f} ms; "
        f"loading all {n} site files once (untimed for 'objects'): {res['load_sites_once']:.3f} s"
    )
    target = f"< {TARGET_1000:.1f} s" if n == 1000 else "-"
    rows = [
        (label, C.fmt_times(res[key]), f"{res[key]['median'] / n * 1000:.2f} ms", target)
        for key, label in (
            ("objects", "compile + render (Site objects)"),
            ("toml", "load TOML + pins + compile + render"),
        )
    ]
    C.print_table(rows, ("measure", "total", "per site (median)", "target"))
    print(
        f"  output: {res['output_bytes'] / 1e6:.1f} MB of rules text, "
        f"{res['compiled_rules']} compiled rules, "
        f"sha256 {res['output_sha256'][:16]}"
    )
    c = res.get("check", {"checked": 0, "note": "not asked for (--check N)"})
    failures = c.get("failures", [])
    verdict = f"{len(failures)} FAILED" if failures else "all valid"
    print(
        f"  check: {c['note']}"
        if not c["checked"]
        else f"  checked {c['checked']} sites "
        f"with nft -c and iptables-restore --test in a netns: {verdict}"
    )
    for f in failures[:10]:
        print(f"    {f}")
    if "profile" in res:
        print(res["profile"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sites", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--check",
        type=int,
        default=0,
        metavar="N",
        help="validate N rendered sites with nft -c / iptables-restore --test",
    )
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    res = measure(args.sites, args.rounds, args.check, args.profile)
    report(res)
    C.write_json(args.json, {k: v for k, v in res.items() if k != "profile"})


if __name__ == "__main__":
    main()
