"""Deadlines that hold (issue 11 part 9): with every target silent, each check of the
full plan ends by its own timeout with its own evidence, never at the runner's limit.

The plan is the probe benchmark's (bench/probe/: tests/cases/lab/rules plus one
service with dns, tls and stun targets; every kind the default site plans, names
for NTP, PAC and proxy). The lab's router drops, before routing, every packet from
the site that is not for itself: no answer, no ICMP error, nothing leaves the lab.
The real ``probe`` command runs in the site namespace. Whole-process time against
the target is bench/bench_probe.py's figure, not asserted here; what is asserted is
that no check outlives its deadline by as much as the runner's grace.
"""

from __future__ import annotations

import json
import shutil
import string
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import netns
import pytest

from nhn_appliance.probes.context import ProbeContext
from nhn_appliance.probes.runner import GRACE

REPO = Path(__file__).resolve().parent.parent
LAB_RULES = REPO / "tests" / "cases" / "lab" / "rules"
BENCH = REPO / "bench" / "probe"
TIMEOUT = 1.0
SILENT = """table inet silent {
  chain pre { type filter hook prerouting priority -300; policy accept;
    iifname != "$lan" accept
    ip daddr $lan4 accept
    ip6 daddr { $lan6, fe80::/10, ff00::/8 } accept
    counter drop
  }
}
"""
#: evidence each kind must carry when its target is silent (besides its events)
EVIDENCE = {
    "tcp": {"address", "port"},
    "sip": {"address", "port", "transport"},
    "stun": {"address", "port", "transmissions"},
    "tls": {"address", "port", "sni"},
    "dns": {"resolver", "name"},
    "path": {"address", "sent", "hops"},
    "sniff": {"iface", "seconds", "packets"},
    "ntp": {"server"},
    "pac": {"fetch"},
    "proxy": {"proxy", "connect_to"},
}
pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def silent_run(tmp_path_factory):
    """(document, exit code) of one silent full-plan run."""
    if reason := netns.lab_skip_reason("nft"):
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("deadline")
    rules = tmp / "rules"
    rules.mkdir()
    for f in [*LAB_RULES.glob("*.toml"), BENCH / "probekinds.toml"]:
        shutil.copy(f, rules)
    with netns.RouterLab() as lab:
        site = tmp / "site.toml"
        template = string.Template((BENCH / "site.toml").read_text())
        site.write_text(template.substitute(lan=lab.if_lan, hn=lab.if_hn, inet=lab.if_inet))
        netns.nft(
            lab.ns["rtr"],
            string.Template(SILENT).substitute(lan=lab.if_lan, lan4=lab.LAN4, lan6=lab.LAN6),
        )
        out = tmp / "probe.json"
        argv = [sys.executable, "-m", "nhn_appliance.cli", "--rules", str(rules)]
        argv += ["--site", str(site), "probe", "--timeout", f"{TIMEOUT:g}", "-o", str(out)]
        proc = netns.run_in(lab.ns["site"], argv, timeout=30)
    assert out.exists(), proc.stderr
    return json.loads(out.read_text()), proc.returncode


def test_every_kind_is_planned(silent_run):
    doc, code = silent_run
    kinds = {r["kind"] for r in doc["results"]}
    assert set(EVIDENCE) <= kinds, f"the plan lacks {set(EVIDENCE) - kinds}"
    assert code == 1  # silent targets are findings


def test_each_check_ends_by_its_own_timeout(silent_run):
    doc, _ = silent_run
    late = [
        (r["id"], r["duration_s"])
        for r in doc["results"]
        if r["duration_s"] > TIMEOUT + GRACE / 2  # the runner's limit is at + GRACE
    ]
    assert not late, f"checks past their deadline: {late}"
    # the whole run: one timeout (every check starts with the run), not timeout + grace
    assert doc["runtime_s"] < TIMEOUT + GRACE, doc["runtime_s"]


def test_no_check_is_cut_by_the_runner(silent_run):
    doc, _ = silent_run
    cut = [
        r["id"]
        for r in doc["results"]
        if r["detail"].startswith("no result within") or r["reason"] in ("deadline", "cancelled")
    ]
    assert not cut, f"ended by the runner, without evidence of their own: {cut}"


def test_each_check_has_its_own_evidence(silent_run):
    doc, _ = silent_run
    for r in doc["results"]:
        want = EVIDENCE.get(r["kind"])
        if want is None:
            continue
        assert want <= set(r["evidence"]), (r["id"], sorted(r["evidence"]))
        assert r["status"] in ("fail", "ok", "skipped"), (r["id"], r["status"], r["detail"])
        if r["kind"] in ("tcp", "sip", "stun", "tls", "dns", "path"):
            assert r["events"], f"{r['id']}: no events"
    tcp = [r for r in doc["results"] if r["kind"] == "tcp"]
    assert tcp and all(r["reason"] == "timeout" for r in tcp)
    # the last connect event is at the check's own time-out (set from the run's start)
    assert all(TIMEOUT - 0.1 <= r["events"][-1]["t"] <= TIMEOUT + 0.05 for r in tcp)


def test_context_deadline():
    now = time.monotonic()
    ctx = ProbeContext(timeout=2.0, deadline=now + 0.5)
    assert 0.4 < ctx.left() <= 0.5
    assert 0.4 < ctx.remaining().timeout <= 0.5  # what names.resolver_for is given
    assert ProbeContext(timeout=2.0, deadline=now - 1).left() == 0.0
    assert ProbeContext(timeout=2.0).left() == 2.0  # no deadline: the whole timeout


EXIT = """
import time
from concurrent.futures import ThreadPoolExecutor
from nhn_appliance.probes.workers import WorkerPool

pool = {pool}
pool.submit(time.sleep, 3)  # a worker stuck past the run's end
time.sleep(0.1)
pool.shutdown(wait=False, cancel_futures=True)
"""


@pytest.mark.parametrize(
    ("pool", "at_least", "at_most"),
    [("WorkerPool(4, start=4)", 0.0, 1.5), ("ThreadPoolExecutor(4)", 2.9, 10.0)],
    ids=["worker-pool", "stdlib-control"],
)
def test_exit_does_not_wait_for_a_stuck_worker(pool, at_least, at_most):
    """The run's pool lets the process end; the stdlib pool (control) joins the thread."""
    code = textwrap.dedent(EXIT.format(pool=pool))
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=20)
    took = time.monotonic() - t0
    assert at_least <= took <= at_most, f"{pool}: the process took {took:.2f} s"
