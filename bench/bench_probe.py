"""Whole-process time and peak memory of ``nhn-appliance probe`` with every target silent.

    python bench/bench_probe.py [--runs 5] [--timeout 2] [--help-runs 10] [--json FILE]

Needs root, iproute2 and nft. The lab is tests/netns.py's RouterLab; the
catalogue is tests/cases/lab/rules plus bench/probe/probekinds.toml (dns, tls
and stun targets the lab has none of), the site bench/probe/site.toml with the
lab's interface names filled in: documentation addresses and ``.test`` names
only. The router drops, before routing, every packet from the site that is not
for the router itself, so every target is silent (no RST, no ICMP error) and
nothing leaves the lab; an nftables set there records each (address, port)
that got a TCP SYN.

Measures, against the issue's floors: the full plan, whole process
(``ip netns exec SITE python -m nhn_appliance.cli ... probe --timeout T``),
at most T + 0.3 s (issue 11 part 9), and its longest check against T; its
peak memory (``ru_maxrss`` from ``os.wait4``; ``ip netns exec`` execs the
interpreter), under 120 MB; ``probe --help``, whole process,
under 0.25 s, importing no scapy module.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import string
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

sys.path.insert(0, str(C.REPO / "tests"))
import netns  # noqa: E402  tests/netns.py: RouterLab, run_in, popen_in

LAB_RULES = C.REPO / "tests" / "cases" / "lab" / "rules"
DATA = C.BENCH / "probe"
TARGET_SLACK, TARGET_RSS_MB, TARGET_HELP = 0.3, 120.0, 0.25
SILENT = """table inet bench {
  set syn4 { type ipv4_addr . inet_service; flags dynamic; size 65535; }
  set syn6 { type ipv6_addr . inet_service; flags dynamic; size 65535; }
  chain pre { type filter hook prerouting priority -300; policy accept;
    iifname != "$lan" accept
    ip daddr $lan4 accept
    ip6 daddr { $lan6, fe80::/10, ff00::/8 } accept
    tcp flags & (syn | ack) == syn meta nfproto ipv4 add @syn4 { ip daddr . tcp dport }
    tcp flags & (syn | ack) == syn meta nfproto ipv6 add @syn6 { ip6 daddr . tcp dport }
    counter drop
  }
}
"""


def silence(lab: netns.RouterLab) -> None:
    """Every packet from the site not for the router is dropped there, silently."""
    netns.nft(
        lab.ns["rtr"],
        string.Template(SILENT).substitute(lan=lab.if_lan, lan4=lab.LAN4, lan6=lab.LAN6),
    )


def syn_seen(lab: netns.RouterLab) -> set[str]:
    """``address:port`` of every TCP SYN the router dropped since the last call."""
    seen = set()
    for name in ("syn4", "syn6"):
        argv = ["nft", "-j", "list", "set", "inet", "bench", name]
        out = netns.run_in(lab.ns["rtr"], argv, check=True).stdout
        for obj in json.loads(out)["nftables"]:
            for e in obj.get("set", {}).get("elem", []):
                addr, port = (e["elem"]["val"] if "elem" in e else e)["concat"]
                seen.add(f"{addr}:{port}")
        netns.run_in(lab.ns["rtr"], ["nft", "flush", "set", "inet", "bench", name], check=True)
    return seen


def icmp_errors_sent(lab: netns.RouterLab) -> int:
    """Destination-unreachable and time-exceeded errors the router sent (IPv4 + IPv6)."""
    out = netns.run_in(lab.ns["rtr"], ["cat", "/proc/net/snmp", "/proc/net/snmp6"]).stdout
    lines = out.splitlines()
    heads = [ln.split() for ln in lines if ln.startswith("Icmp:")]
    v4 = dict(zip(heads[0][1:], map(int, heads[1][1:]), strict=True))
    v6 = dict(ln.split() for ln in lines if ln.startswith("Icmp6Out"))
    keys6 = ("Icmp6OutDestUnreachs", "Icmp6OutTimeExcds")
    return v4["OutDestUnreachs"] + v4["OutTimeExcds"] + sum(int(v6[k]) for k in keys6)


def run_probe(lab: netns.RouterLab, argv: list[str], out: Path, log: Path) -> dict:
    """One whole process in the site namespace: wall time, exit, max RSS, the document."""
    out.unlink(missing_ok=True)
    t0 = time.perf_counter()
    proc = lab.popen("site", argv, log)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if not out.exists():
        raise RuntimeError(f"probe wrote no document (exit {proc.returncode}): {log.read_text()}")
    doc = json.loads(out.read_text())
    results = doc["results"]
    return {
        "wall": wall,
        "rc": proc.returncode,
        "maxrss_kb": usage.ru_maxrss,
        "runtime_s": doc["runtime_s"],
        "kinds": dict(Counter(r["kind"] for r in results)),
        "statuses": dict(Counter(f"{r['kind']} {r['status']} {r['reason']}" for r in results)),
        # the runner's own limit fired: no result of the check's own within timeout + grace
        "cut": sum(r["detail"].startswith("no result within") for r in results),
        "longest": max(r["duration_s"] for r in results),  # the prober's own end, per check
        "tcp_targets": sorted({r["id"].split(":", 1)[1] for r in results if r["kind"] == "tcp"}),
    }


def measure(runs: int, timeout: float, help_runs: int) -> dict:
    if reason := netns.root_ok() or (None if netns.have("nft") else "nft is not installed"):
        raise SystemExit(f"bench_probe: {reason}")
    for key in ("NHN_APPLIANCE_SITE", "NHN_APPLIANCE_RULES"):
        os.environ.pop(key, None)
    exe, py = C.entry_point(), sys.executable
    work = Path(tempfile.mkdtemp(prefix="nhn-bench-probe-"))
    res: dict = {"timeout": timeout, "load": C.load_note(), "runs": []}
    try:
        help_argv = [exe, "probe", "--help"]
        res["help"] = C.time_process(help_argv, runs=help_runs, cwd=work)
        env = C.env_bytecode(work / "pycache")
        res["help_bytecode"] = C.time_process(help_argv, runs=help_runs, env=env, cwd=work)
        res["help_scapy_lines"] = C.importtime_lines(py, ["probe", "--help"], "scapy")
        rules = work / "rules"
        rules.mkdir()
        for f in [*LAB_RULES.glob("*.toml"), DATA / "probekinds.toml"]:
            shutil.copy(f, rules)
        out, log = work / "probe.json", work / "probe.log"
        with netns.RouterLab() as lab:
            site = work / "site.toml"
            template = string.Template((DATA / "site.toml").read_text())
            site.write_text(template.substitute(lan=lab.if_lan, hn=lab.if_hn, inet=lab.if_inet))
            silence(lab)
            argv = [py, "-m", "nhn_appliance.cli", "--rules", str(rules), "--site", str(site)]
            argv += ["probe", "--timeout", f"{timeout:g}", "-o", str(out)]
            res["argv"] = " ".join(["ip netns exec SITE", *argv])
            for n in range(1 + runs):  # the first run is a warm-up
                one = run_probe(lab, argv, out, log)
                seen = syn_seen(lab)
                one["syn"] = [len(seen & set(one.pop("tcp_targets"))), one["kinds"]["tcp"]]
                if n:
                    res["runs"].append(one)
                print(
                    f"  {'run ' + str(n) if n else 'warm-up'}: {one['wall']:.3f} s, exit "
                    f"{one['rc']}, max RSS {one['maxrss_kb'] / 1024:.1f} MiB, run "
                    f"{one['runtime_s']:.3f} s, longest check {one['longest']:.3f} s, "
                    f"{one['cut']} cut by the runner, SYN for {one['syn'][0]} of "
                    f"{one['syn'][1]} TCP targets",
                    file=sys.stderr,
                )
            res["icmp_errors_sent"] = icmp_errors_sent(lab)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res["wall"] = C.summary([r["wall"] for r in res["runs"]])
    res["maxrss_mb"] = max(r["maxrss_kb"] for r in res["runs"]) * 1024 / 1e6
    return res


def report(res: dict) -> None:
    w, last, target = res["wall"], res["runs"][-1], res["timeout"] + TARGET_SLACK
    mib = res["maxrss_mb"] * 1e6 / 2**20
    n_checks = sum(last["kinds"].values())
    print(f"probe: {res['argv']}\n{res['load']}\n")
    rows = [
        (
            f"full plan ({n_checks} checks), all silent, --timeout {res['timeout']:g}",
            C.fmt_times(w),
            f"<= {target:g} s",
            C.verdict(w["median"], target, le=True),
        ),
        ("  of which the run itself (runtime_s, last run)", f"{last['runtime_s']:.3f} s", "-", ""),
        (
            "  its longest check (duration_s, worst run)",
            f"{max(r['longest'] for r in res['runs']):.3f} s",
            f"<= {res['timeout']:g} s + grace",
            "",
        ),
        (
            "peak memory (max RSS, worst run)",
            f"{res['maxrss_mb']:.1f} MB ({mib:.1f} MiB)",
            f"< {TARGET_RSS_MB:g} MB",
            C.verdict(res["maxrss_mb"], TARGET_RSS_MB),
        ),
    ]
    for key, env in (("help", "as-is env"), ("help_bytecode", "bytecode cached")):
        t = res[key]
        verdict = C.verdict(t["median"], TARGET_HELP)
        rows.append((f"probe --help, whole process ({env})", C.fmt_times(t), "< 0.25 s", verdict))
    scapy = res["help_scapy_lines"]
    rows.append(("probe --help: importtime lines naming scapy", scapy, "0", C.verdict(scapy, 1)))
    C.print_table(rows, ("measure", "ours (best / median)", "target", "verdict"))
    print("\nevery timed run: " + ", ".join(f"{r['wall']:.3f} s" for r in res["runs"]))
    print(f"checks cut by the runner's own limit: {', '.join(str(r['cut']) for r in res['runs'])}")
    print(
        "planned TCP targets that got a SYN at the router: "
        + ", ".join(f"{a} of {b}" for a, b in (r["syn"] for r in res["runs"]))
        + f"; ICMP errors the router sent: {res['icmp_errors_sent']}"
    )
    print("checks by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(last["kinds"].items())))
    print("kind, status and reason (last run):")
    rows = sorted((*k.split(" ", 2), n) for k, n in last["statuses"].items())
    C.print_table(rows, ("kind", "status", "reason", "n"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="timed full probe runs (default 5)")
    ap.add_argument("--timeout", type=float, default=2.0, help="probe --timeout (default 2)")
    ap.add_argument("--help-runs", type=int, default=10)
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    C.exit_on_sigterm()  # unwind, so that RouterLab deletes its namespaces
    res = measure(args.runs, args.timeout, args.help_runs)
    report(res)
    C.write_json(args.json, res)


if __name__ == "__main__":
    main()
