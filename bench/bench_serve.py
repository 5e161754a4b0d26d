"""``nhn-appliance serve``: a soak of many probe cycles, and ``/metrics`` with a big history.

    python bench/bench_serve.py [--cycles 1000] [--interval 0.1] [--history-mb 1]
                                [--history-runs 10000] [--scrapes 200] [--json FILE]

Needs root, iproute2, nft and dnsmasq. The lab is tests/netns.py's probe lab
(RouterLab with a dnsmasq on the hn link, as tests/test_serve_lab.py) with
listeners on 203.0.113.20:443 and :8041 that accept and close; the catalogue
is tests/cases/probes/rules, the site tests/cases/probes/site.toml with the
service ``fjern`` (``--services``): documentation addresses and ``.test``
names only, nothing leaves the lab.

1. Soak: serve (``ip netns exec SITE python -m nhn_appliance.cli ... serve``)
   runs a probe cycle every ``--interval`` seconds until ``--cycles`` runs are
   kept, with ``[serve] history_max_mb`` small enough that the history is
   trimmed all along. Meanwhile this script scrapes ``/metrics`` and
   ``/healthz`` and reads serve's resident memory (VmRSS), threads and open
   file descriptors from /proc/PID. Targets: RSS grows by under 10 MB from the
   end of the warm-up to the end; threads and descriptors do not grow (the
   most seen in the last tenth of the samples is at most the most seen in
   the first tenth: a run's worker threads come and go); the history's
   pages (serve's ``history_bytes``) and its file stay within the bound.
2. ``/metrics`` with ``--history-runs`` runs in the history: the history is
   filled beforehand through ``nhn_appliance.history.History.add`` (the same
   call serve makes after each run; the soak's last result document and its
   diagnosis, re-dated a minute apart), then serve starts on it with an hour's
   interval, makes its one run and is scraped ``--scrapes`` times, each on a
   new connection. Target: every answer under 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

sys.path.insert(0, str(C.REPO / "tests"))
import netns  # noqa: E402  tests/netns.py: probe_lab, popen_in, netns

CASE = C.REPO / "tests" / "cases" / "probes"
PORT = 9736
TARGET_RSS_MB, TARGET_METRICS_MS = 10.0, 50.0
WARMUP = 50  #: runs before the memory baseline (imports, caches, the first trims)


#: the site's services (``--services``): fjern's two TCP checks answer in milliseconds;
#: navn adds a name look-up, and one of its checks waits out the 1 s check timeout
SERVICES = ["fjern"]


def accept_in(ns: str, addresses: list[tuple[str, int]]) -> None:
    """TCP listeners in ``ns`` that accept and close every connection (the probe lab's
    own never accept: after a backlog's worth of runs they would stop answering)."""

    def serve(sock: socket.socket) -> None:
        while True:
            conn, _ = sock.accept()
            conn.close()

    with netns.netns(ns):
        socks = [socket.create_server(a, backlog=64) for a in addresses]
    for sock in socks:  # daemon threads: they end with this script, the lab with its namespaces
        threading.Thread(target=serve, args=(sock,), daemon=True).start()


def site_file(lab: netns.RouterLab, work: Path, extra: str) -> Path:
    text = (CASE / "site.toml").read_text()
    services = ", ".join(f'"{s}"' for s in SERVICES)
    text = text.format(lan=lab.if_lan, hn=lab.if_hn, inet=lab.if_inet, services=services)
    path = work / "site.toml"
    path.write_text(text + extra)
    return path


def start_serve(lab: netns.RouterLab, work: Path, site: Path, state: Path, interval: str):
    argv = [sys.executable, "-m", "nhn_appliance.cli", "--rules", str(CASE / "rules")]
    argv += ["--site", str(site), "serve", "--state-dir", str(state)]
    argv += ["--interval", interval, "--listen", f"127.0.0.1:{PORT}"]
    return netns.popen_in(lab.ns["site"], argv, work / "serve.log")


def get(ns: str, path: str, timeout: float = 10.0) -> tuple[int, bytes, float]:
    """(status, body, seconds) of one GET on a new connection, timed inside the namespace."""
    with netns.netns(ns):
        began = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            took = time.perf_counter() - began
            conn.close()
            return resp.status, body, took
        except OSError:
            return 0, b"", time.perf_counter() - began


def runs_kept(ns: str) -> int:
    code, body, _ = get(ns, "/healthz")
    return int(json.loads(body)["runs"]) if code == 200 else -1


def wait_runs(ns: str, proc, n: int, limit_s: float) -> None:
    until = time.monotonic() + limit_s
    while runs_kept(ns) < n:
        if proc.poll() is not None:
            raise SystemExit(f"serve exited {proc.returncode}; see its log")
        if time.monotonic() > until:
            raise SystemExit(f"serve did not keep {n} runs within {limit_s:g} s")
        time.sleep(0.2)


def proc_sample(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "rss_kb": int(fields["VmRSS"].split()[0]),
        "threads": int(fields["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
    }


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(f"nhn_appliance_{name}{{") or line.startswith(f"nhn_appliance_{name} "):
            return float(line.split()[-1])
    raise KeyError(name)


def file_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())


def soak(lab: netns.RouterLab, work: Path, cycles: int, interval: float, max_mb: int) -> dict:
    ns, state = lab.ns["site"], work / "soak-state"
    db = state / "serve" / "history.sqlite3"
    site = site_file(lab, work, f"\n[serve]\nhistory_max_mb = {max_mb}\n")
    proc = start_serve(lab, work, site, state, f"{interval:g}s")
    samples: list[dict] = []
    began = time.monotonic()
    try:
        wait_runs(ns, proc, WARMUP, 120)
        base = proc_sample(proc.pid) | {"runs": runs_kept(ns)}
        while True:
            code, body, _ = get(ns, "/metrics")  # as Prometheus would, meanwhile
            text = body.decode()
            runs = int(metric(text, "runs_total")) if code == 200 else -1
            samples.append(
                proc_sample(proc.pid)
                | {
                    "runs": runs,
                    "history_bytes": int(metric(text, "history_bytes")),
                    "history_runs": int(metric(text, "history_runs")),
                    "file_bytes": file_bytes(db),
                }
            )
            if runs >= cycles:
                break
            if proc.poll() is not None or time.monotonic() - began > cycles * (interval + 2):
                raise SystemExit("serve stopped or fell far behind; see its log")
            time.sleep(0.5)
        wall = time.monotonic() - began
        last_doc = last_run(db)
    finally:
        rc = netns.stop(proc)
    import re

    took = [float(x) for x in re.findall(r"runtime_s=([0-9.]+)", (work / "serve.log").read_text())]
    tenth = max(1, len(samples) // 10)
    first, last = samples[:tenth], samples[-tenth:]
    return {
        "cycles": samples[-1]["runs"],
        "interval_s": interval,
        "wall_s": wall,
        "exit": rc,
        "baseline": base,
        "end": samples[-1],
        "samples": samples,
        "rss_growth_mb": (samples[-1]["rss_kb"] - base["rss_kb"]) * 1024 / 1e6,
        "rss_max_mb": max(s["rss_kb"] for s in samples) * 1024 / 1e6,
        "threads_first": (min(s["threads"] for s in first), max(s["threads"] for s in first)),
        "threads_last": (min(s["threads"] for s in last), max(s["threads"] for s in last)),
        "fds_first": (min(s["fds"] for s in first), max(s["fds"] for s in first)),
        "fds_last": (min(s["fds"] for s in last), max(s["fds"] for s in last)),
        "bound_bytes": max_mb << 20,
        "history_bytes_max": max(s["history_bytes"] for s in samples),
        "file_bytes_max": max(s["file_bytes"] for s in samples),
        "history_runs_end": samples[-1]["history_runs"],
        "last_doc": last_doc,
        "run_s": C.summary(took),
    }


def last_run(db: Path) -> dict:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return json.loads(con.execute("SELECT doc FROM runs ORDER BY id DESC").fetchone()[0])
    finally:
        con.close()


def fill_history(db: Path, doc: dict, n: int) -> float:
    """``n`` runs through the history's own API, a minute apart, ending now."""
    from nhn_appliance.history import History
    from nhn_appliance.probes.document import iso
    from nhn_appliance.report.model import build_report
    from nhn_appliance.serve_config import DEFAULT_MAX_AGE_S, DEFAULT_MAX_MB

    report = build_report(doc, "nb")
    history = History(db, DEFAULT_MAX_AGE_S, DEFAULT_MAX_MB << 20)
    now, began = time.time(), time.perf_counter()
    try:
        for i in range(n):
            at = now - (n - i) * 60.0
            doc |= {"started_at": iso(at), "ended_at": iso(at + doc.get("runtime_s", 0.1))}
            history.add(doc, report)
    finally:
        history.close()
    return time.perf_counter() - began


def big_history(lab: netns.RouterLab, work: Path, doc: dict, n: int, scrapes: int) -> dict:
    ns, state = lab.ns["site"], work / "big-state"
    db = state / "serve" / "history.sqlite3"
    fill_s = fill_history(db, doc, n)
    site = site_file(lab, work, "")
    proc = start_serve(lab, work, site, state, "1h")
    try:
        wait_runs(ns, proc, 1, 60)
        code, body, _ = get(ns, "/metrics")
        text = body.decode()
        held = int(metric(text, "history_runs"))
        times = []
        for _ in range(scrapes):
            code, body, took = get(ns, "/metrics")
            assert code == 200 and body, code
            times.append(took)
        page = [get(ns, "/")[2] for _ in range(5)]
        health = [get(ns, "/healthz")[2] for _ in range(20)]
    finally:
        rc = netns.stop(proc)
    return {
        "history_runs": held,
        "history_bytes": int(metric(text, "history_bytes")),
        "fill_s": fill_s,
        "metrics_bytes": len(body),
        "metrics": C.summary(times),
        "metrics_p95": sorted(times)[int(0.95 * (len(times) - 1))],
        "page": C.summary(page),
        "healthz": C.summary(health),
        "exit": rc,
    }


def report(res: dict) -> None:
    s, b = res["soak"], res["big"]
    ms = {k: b["metrics"][k] * 1000 for k in ("best", "median", "worst")}
    print(f"{res['load']}; services {', '.join(SERVICES)}\n")
    print(
        f"soak: {s['cycles']} probe cycles at --interval {s['interval_s']:g} s in "
        f"{s['wall_s']:.0f} s; {len(s['samples'])} samples of /proc/PID after a {WARMUP}-run "
        f"warm-up; serve exit {s['exit']} on SIGTERM; one run (runtime_s) "
        f"{C.fmt_times(s['run_s'])} (best / median), worst {s['run_s']['worst']:.3f} s"
    )
    base, end = s["baseline"], s["end"]
    tf, tl, ff, fl = s["threads_first"], s["threads_last"], s["fds_first"], s["fds_last"]
    mb = 1e6
    rows = [
        (
            f"RSS growth, run {base['runs']} to run {end['runs']}",
            f"{s['rss_growth_mb']:+.2f} MB ({base['rss_kb'] / 1024:.1f} -> "
            f"{end['rss_kb'] / 1024:.1f} MiB; max {s['rss_max_mb']:.1f} MB)",
            f"< {TARGET_RSS_MB:g} MB",
            C.verdict(s["rss_growth_mb"], TARGET_RSS_MB),
        ),
        (
            "threads (min-max, first / last tenth of samples)",
            f"{tf[0]}-{tf[1]} / {tl[0]}-{tl[1]}",
            "no growth",
            "met" if tl[1] <= tf[1] else "MISSED",
        ),
        (
            "open file descriptors (min-max, first / last tenth)",
            f"{ff[0]}-{ff[1]} / {fl[0]}-{fl[1]}",
            "no growth",
            "met" if fl[1] <= ff[1] else "MISSED",
        ),
        (
            "history pages (history_bytes), most seen",
            f"{s['history_bytes_max'] / mb:.2f} MB ({s['history_runs_end']} runs kept at the end)",
            f"<= {s['bound_bytes'] / mb:.2f} MB",
            C.verdict(s["history_bytes_max"], s["bound_bytes"], le=True),
        ),
        (
            "history file + WAL on disk, most seen",
            f"{s['file_bytes_max'] / mb:.2f} MB",
            f"<= {s['bound_bytes'] / mb:.2f} MB",
            C.verdict(s["file_bytes_max"], s["bound_bytes"], le=True),
        ),
        (
            f"/metrics, {b['history_runs']} runs in the history, {b['metrics']['runs']} scrapes",
            f"{ms['best']:.2f} / {ms['median']:.2f} ms (p95 {b['metrics_p95'] * 1000:.2f}, "
            f"max {ms['worst']:.2f})",
            f"< {TARGET_METRICS_MS:g} ms",
            C.verdict(ms["worst"], TARGET_METRICS_MS),
        ),
    ]
    C.print_table(rows, ("measure", "ours", "target", "verdict"))
    print(
        f"\nthe {b['history_runs']}-run history ({b['history_bytes'] / mb:.1f} MB of pages) was "
        f"filled through nhn_appliance.history.History.add in {b['fill_s']:.1f} s before serve "
        f"started (the soak's last document, re-dated), then serve made one run of its own; "
        f"/metrics is {b['metrics_bytes']} bytes; status page / {C.fmt_times(b['page'])}, "
        f"/healthz {C.fmt_times(b['healthz'])} (best / median); serve exit {b['exit']}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cycles", type=int, default=1000, help="probe cycles to soak (1000)")
    ap.add_argument("--interval", type=float, default=0.1, help="serve --interval in s (0.1)")
    ap.add_argument("--history-mb", type=int, default=1, help="[serve] history_max_mb (1)")
    ap.add_argument("--history-runs", type=int, default=10_000, help="runs for /metrics")
    ap.add_argument("--scrapes", type=int, default=200, help="timed /metrics requests (200)")
    ap.add_argument(
        "--services", default="fjern", help="the site's services (fjern; or fjern,navn)"
    )
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    SERVICES[:] = args.services.split(",")
    if reason := netns.lab_skip_reason("nft", "dnsmasq"):
        raise SystemExit(f"bench_serve needs the probe lab: {reason}")
    C.exit_on_sigterm()  # unwind, so that the lab's namespaces are deleted
    work = Path(tempfile.mkdtemp(prefix="nhnbench-serve-"))
    try:
        with netns.probe_lab(dns_records=["proxy.nhn.test,203.0.113.80"]) as lab:
            accept_in(lab.ns["hn"], [("203.0.113.20", 443), ("203.0.113.20", 8041)])
            soaked = soak(lab, work, args.cycles, args.interval, args.history_mb)
            doc = soaked.pop("last_doc")
            big = big_history(lab, work, doc, args.history_runs, args.scrapes)
        res = {"load": C.load_note(), "soak": soaked, "big": big}
    except BaseException:
        print(f"serve's log: {work / 'serve.log'} (kept)", file=sys.stderr)
        raise
    report(res)
    C.write_json(args.json, res)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
