"""The rollback timer: a process of its own that undoes an unconfirmed apply.

``arm`` starts it before the ruleset is loaded, so a crash between the two
leaves nothing unconfirmed in force. It is started through a short-lived
intermediate process that forks it and exits (a double fork): the timer is
in a session of its own, has no terminal, ignores SIGHUP, and its stdin and
stdout are /dev/null, so neither the shell that ran apply, nor a dropped SSH
session, nor a SIGKILL of apply takes it along. (logind does not kill root's
processes at logout: ``KillExcludeUsers=root`` is its default.) It inherits
the network namespace of apply, so it restores the kernel apply changed.

At the deadline it takes the state lock and rolls back unless the state says
the entry was confirmed (or rolled back already): the decision is the state
file's, so ``confirm`` needs the timer to be neither alive nor killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

MODULE = "nhn_appliance.apply_timer"
LOG = "timer.log"


def arm(state_dir: Path, entry: int, deadline: float) -> int:
    """Start the detached timer for ``entry``; its pid."""
    argv = [sys.executable, "-m", MODULE, "spawn", str(state_dir), str(entry), repr(deadline)]
    res = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        start_new_session=True,
    )
    if res.returncode != 0 or not res.stdout.strip().isdigit():
        from nhn_appliance.errors import UsageError

        raise UsageError(f"could not start the rollback timer: {res.stderr.strip()}")
    return int(res.stdout.strip())


def is_timer(pid: int, entry: int) -> bool:
    """True when ``pid`` is this entry's timer (not a process that reused its pid)."""
    if pid <= 0:
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return MODULE.encode() in argv and str(entry).encode() in argv


def stop(pid: int, entry: int) -> None:
    """End the timer of ``entry`` (after a confirm or a rollback); a timer that is
    already gone is fine: the state file tells it what to do anyway."""
    if is_timer(pid, entry):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def _detach(state_dir: str) -> None:
    """In the forked timer: no terminal, no signals from the session, output to the log."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    try:
        log = os.open(Path(state_dir) / LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        log = null
    os.dup2(log, 1)
    os.dup2(log, 2)


def wait_and_roll_back(state_dir: str, entry: int, deadline: float) -> int:
    from nhn_appliance.apply import roll_back_pending
    from nhn_appliance.errors import ApplianceError
    from nhn_appliance.state import PENDING, StateDir

    while (left := deadline - time.time()) > 0:  # bounded by the deadline
        time.sleep(min(left, 1.0))
    state = StateDir(state_dir)
    with state.locked(wait=True, who=f"rollback timer of #{entry}"):
        cur = state.current()
        if cur.entry != entry or cur.status != PENDING:
            return 0
        try:
            roll_back_pending(state, cur, "not confirmed within its window", timer=True)
        except ApplianceError as exc:
            print(f"{time.strftime('%FT%T')} rollback of #{entry} failed: {exc}", flush=True)
            return 2
    print(f"{time.strftime('%FT%T')} rolled back #{entry}: not confirmed in time", flush=True)
    return 0


def main(argv: list[str]) -> int:
    mode, state_dir, entry, deadline = argv[0], argv[1], int(argv[2]), float(argv[3])
    if mode == "spawn":
        pid = os.fork()
        if pid:  # the intermediate: report the timer's pid and go
            print(pid, flush=True)
            return 0
        _detach(state_dir)
    return wait_and_roll_back(state_dir, entry, deadline)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
