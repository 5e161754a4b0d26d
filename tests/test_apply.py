"""apply, confirm, rollback and restore against a real kernel, in namespaces.

Each test builds its own RouterLab (tests/netns.py) and runs the real command
line inside the router namespace (``ip netns exec NS python -m
nhn_appliance.cli``), so apply only ever changes that namespace's kernel. The
router first gets a configuration of its own (kernel_lab.existing_*), which
every apply and rollback must leave as it was. Windows are 2 s.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import netns as nn
import pytest
from kernel_lab import LAB_RULES, KernelLab, existing_iptables, existing_nftables, write_site

pytestmark = pytest.mark.kernel
TARGETS = ("nftables", "iptables")
WINDOW = 2.0
SMALL = '["dns", "fjernhjelp"]'  #: the services of the "previous" ruleset


class ApplyLab:
    def __init__(self, lab: nn.RouterLab, tmp: Path, rules: Path = LAB_RULES) -> None:
        self.lab, self.tmp, self.rules = lab, tmp, rules
        self.state = tmp / "state"
        self.site = write_site(lab, tmp / "site.toml")
        text = self.site.read_text()
        small = re.sub(r"(?m)^services = .*$", f"services = {SMALL}", text)
        self.small = tmp / "small.toml"
        self.small.write_text(small)

    @property
    def rtr(self) -> str:
        return self.lab.ns["rtr"]

    def argv(self, *args: str, site: Path | None = None, prefix: tuple[str, ...] = ()) -> list[str]:
        return [
            *prefix,
            "ip",
            "netns",
            "exec",
            self.rtr,
            sys.executable,
            "-m",
            "nhn_appliance.cli",
            "--rules",
            str(self.rules),
            "--site",
            str(site or self.site),
            *args,
            "--state-dir",
            str(self.state),
        ]

    def cli(self, *args: str, site: Path | None = None, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.argv(*args, site=site),
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(),
            **kw,
        )

    def cli_plain(self, *args: str) -> subprocess.CompletedProcess:
        """A command that takes no --state-dir (resolve, render)."""
        argv = self.argv(*args)[:-2]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=_env())

    def popen(self, *args: str, site: Path | None = None) -> subprocess.Popen:
        return subprocess.Popen(
            self.argv(*args, site=site),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**_env(), "PYTHONUNBUFFERED": "1"},
        )

    def kernel(self) -> str:
        """Everything the router's kernel holds: nft ruleset, iptables-save of both
        families (without the time-stamped comment lines)."""
        out = [nn.run_in(self.rtr, ["nft", "list", "ruleset"], check=True).stdout]
        for tool in ("iptables-save", "ip6tables-save"):
            text = nn.run_in(self.rtr, [tool], check=True).stdout
            out.append("\n".join(x for x in text.splitlines() if not x.startswith("#")))
        return "\n=====\n".join(out)

    def own(self, target: str) -> str:
        if target == "nftables":
            res = nn.run_in(self.rtr, ["nft", "list", "table", "inet", "nhn_appliance"])
            return res.stdout if res.returncode == 0 else ""
        text = nn.run_in(self.rtr, ["iptables-save"], check=True).stdout
        return "\n".join(x for x in text.splitlines() if "NHN-" in x)

    def status(self) -> dict:
        res = self.cli("status", "--json")
        assert res.returncode in (0, 1), res.stderr
        return json.loads(res.stdout)

    def wait_for(self, want: str, deadline: float) -> str:
        """Poll the kernel until it is ``want`` or the deadline passes (bounded)."""
        got = self.kernel()
        while got != want and time.monotonic() < deadline:
            time.sleep(0.05)
            got = self.kernel()
        return got


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NHN_APPLIANCE_")}


def router_config(al: ApplyLab, target: str) -> None:
    kl = KernelLab(al.lab, al.site, al.tmp, None)  # type: ignore[arg-type]
    (existing_nftables if target == "nftables" else existing_iptables)(kl)


@pytest.fixture
def alab(tmp_path: Path) -> Iterator[ApplyLab]:
    if reason := nn.lab_skip_reason("nft", "iptables-restore", "ip6tables-restore", "unshare"):
        pytest.skip(reason)
    with nn.RouterLab() as lab:
        yield ApplyLab(lab, tmp_path)
        stop_timers(ApplyLab(lab, tmp_path))


def stop_timers(al: ApplyLab) -> None:
    """A test that fails half-way may leave a timer sleeping; end it (our own pid)."""
    try:
        cur = json.loads((al.state / "current.json").read_text())
    except (OSError, ValueError):
        return
    pid = cur.get("timer_pid", 0)
    cmdline = Path(f"/proc/{pid}/cmdline")
    if pid and cmdline.exists() and b"nhn_appliance.apply_timer" in cmdline.read_bytes():
        os.kill(pid, signal.SIGTERM)


def _ok(res: subprocess.CompletedProcess, code: int = 0) -> subprocess.CompletedProcess:
    assert res.returncode == code, f"exit {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res


@pytest.mark.parametrize("target", TARGETS)
def test_confirmed_ruleset_stays_past_the_window(alab: ApplyLab, target: str) -> None:
    router_config(alab, target)
    res = _ok(alab.cli("apply", "-t", target, "--confirm-within", str(WINDOW)))
    assert "set element" in res.stdout or "rule" in res.stdout  # the change, in words
    assert "pending" in res.stdout
    loaded = alab.kernel()
    assert alab.own(target), "apply loaded nothing"
    _ok(alab.cli("confirm"))
    time.sleep(WINDOW + 1.0)
    assert alab.kernel() == loaded
    st = alab.status()
    assert st["current"]["status"] == "confirmed" and st["current"]["entry"] == 1
    assert st["loaded"]["target"] == target and st["loaded"]["outcome"] == "confirmed"
    assert _ok(alab.cli("drift")).stdout.startswith("no drift")


@pytest.mark.parametrize("target", TARGETS)
def test_unconfirmed_apply_is_rolled_back_identically(alab: ApplyLab, target: str) -> None:
    router_config(alab, target)
    _ok(alab.cli("apply", "-t", target, "--confirm-within", str(WINDOW), site=alab.small))
    _ok(alab.cli("confirm"))
    before = alab.kernel()
    _ok(alab.cli("apply", "-t", target, "--confirm-within", str(WINDOW)))
    returned = time.monotonic()
    assert alab.kernel() != before, "the second apply changed nothing"
    got = alab.wait_for(before, returned + WINDOW + 1.0)
    assert got == before, "the previous ruleset is not back within the window + 1 s"
    st = alab.status()
    assert st["current"]["entry"] == 1 and st["current"]["status"] == "confirmed"
    assert st["history"][-1]["outcome"].startswith("rolled back: not confirmed")
    # too late to confirm now: a finding, not a crash
    late = _ok(alab.cli("confirm"), 1)
    assert "too late" in late.stderr


@pytest.mark.parametrize("target", TARGETS)
def test_sigkill_after_the_load_still_rolls_back(alab: ApplyLab, target: str) -> None:
    router_config(alab, target)
    before = alab.kernel()
    proc = alab.popen("apply", "-t", target, "--confirm-within", str(WINDOW))
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    line = ""
    while not line.startswith("loaded #") and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
    assert line.startswith("loaded #"), proc.stderr.read() if proc.stderr else ""
    proc.send_signal(signal.SIGKILL)  # right after the load, before anything else
    killed = time.monotonic()
    proc.wait(timeout=10)
    proc.stdout.close()
    if proc.stderr:
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert alab.kernel() != before, "the load had not happened"
    got = alab.wait_for(before, killed + WINDOW + 1.0)
    assert got == before, "no rollback after apply was killed"


@pytest.mark.parametrize("target", TARGETS)
def test_two_concurrent_applies_one_wins(alab: ApplyLab, target: str) -> None:
    router_config(alab, target)
    procs = [alab.popen("apply", "-t", target, "--confirm-within", "30") for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], outs
    loser = outs[[p.returncode for p in procs].index(2)][1]
    assert "locked by another nhn-appliance command" in loser or "is pending" in loser, loser
    # a third, once the winner is pending: exit 2 naming the pending ruleset
    third = _ok(alab.cli("apply", "-t", target), 2)
    assert "#1" in third.stderr and "pending" in third.stderr
    _ok(alab.cli("rollback"))
    assert not alab.own(target)


def test_a_refused_ruleset_leaves_the_kernel_untouched(alab: ApplyLab) -> None:
    """Another program owns the table (nft table flag ``owner``): the kernel refuses
    the check, and nothing is loaded, saved as pending or armed."""
    holder = subprocess.Popen(
        ["ip", "netns", "exec", alab.rtr, "nft", "-i"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert holder.stdin is not None
        holder.stdin.write("add table inet nhn_appliance { flags owner; }\n")
        holder.stdin.flush()
        end = time.monotonic() + 5
        while not alab.own("nftables") and time.monotonic() < end:
            time.sleep(0.02)
        before = alab.kernel()
        res = _ok(alab.cli("apply", "-t", "nftables"), 2)
        assert "the kernel refused it" in res.stderr and "Operation not permitted" in res.stderr
        assert "Traceback" not in res.stderr
        assert alab.kernel() == before
        assert alab.status()["current"]["status"] == "none"
    finally:
        if holder.stdin:
            holder.stdin.close()
        holder.wait(timeout=10)


def test_no_privileges_and_no_tool_are_clear_errors(alab: ApplyLab) -> None:
    before = alab.kernel()
    no_cap = subprocess.run(
        ["setpriv", "--bounding-set=-net_admin", *alab.argv("apply")],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )
    assert no_cap.returncode == 2, no_cap.stderr
    assert "needs root (CAP_NET_ADMIN)" in no_cap.stderr
    argv = alab.argv("apply")
    at = argv.index(sys.executable)
    no_nft = subprocess.run(
        [*argv[:at], "env", "PATH=/var/empty", *argv[at:]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert no_nft.returncode == 2 and "nft is not installed" in no_nft.stderr, no_nft.stderr
    assert alab.kernel() == before


def test_a_full_disk_refuses_before_the_kernel_is_touched(alab: ApplyLab) -> None:
    before = alab.kernel()
    alab.state.mkdir()
    inner = " ".join(f"'{a}'" for a in alab.argv("apply"))
    script = (
        f"mount -t tmpfs -o size=512k tmpfs '{alab.state}' && "
        f"head -c 400k /dev/zero > '{alab.state}/filler' && exec {inner}"
    )
    res = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )
    assert res.returncode == 2, res.stdout + res.stderr
    assert "nothing was loaded" in res.stderr and "free" in res.stderr
    assert alab.kernel() == before


def test_rollback_to_an_entry_and_restore_at_boot(alab: ApplyLab) -> None:
    _ok(alab.cli("apply", "--confirm-within", "30", site=alab.small))
    _ok(alab.cli("confirm"))
    small = alab.kernel()
    _ok(alab.cli("apply", "--confirm-within", "30"))
    _ok(alab.cli("confirm"))
    full = alab.kernel()
    _ok(alab.cli("rollback", "--to", "1"))
    assert alab.kernel() == small
    assert _ok(alab.cli("drift", site=alab.small)).stdout.startswith("no drift")
    _ok(alab.cli("rollback", "--to", "2"))
    assert alab.kernel() == full
    # a pending apply, then a "reboot": the timer and the table are gone
    _ok(alab.cli("apply", "--confirm-within", "30", site=alab.small))
    stop_timers(alab)
    nn.run_in(alab.rtr, ["nft", "delete", "table", "inet", "nhn_appliance"], check=True)
    res = _ok(alab.cli("restore"))
    assert "restored #2" in res.stdout
    assert alab.kernel() == full  # the last confirmed ruleset, never the pending one
    st = alab.status()
    assert st["history"][-1]["outcome"] == "rolled back: not confirmed before a restart"
    text = _ok(alab.cli("status")).stdout
    assert "status: confirmed" in text and "#3" in text


def test_status_and_confirm_with_nothing_applied(alab: ApplyLab) -> None:
    res = _ok(alab.cli("status"))
    assert "nothing applied by nhn-appliance" in res.stdout
    assert "nothing to confirm" in _ok(alab.cli("confirm"), 2).stderr
    assert "nothing to roll back" in _ok(alab.cli("rollback"), 2).stderr
    dry = _ok(alab.cli("apply", "--dry-run"))
    assert "dry run: nothing loaded" in dry.stdout and "join:" in dry.stdout
    assert not alab.own("nftables")
