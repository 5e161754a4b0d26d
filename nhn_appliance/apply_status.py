"""``status``: what the appliance has loaded, whether it is confirmed, the history."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from nhn_appliance import apply_timer
from nhn_appliance.apply import Echo, when
from nhn_appliance.state import PENDING, StateDir


def status(state: StateDir, last: int, as_json: bool, echo: Echo) -> int:
    """Exit 0, or 1 when a pending entry is past its deadline with no timer left
    (nothing will roll it back: run rollback)."""
    cur = state.current()
    ids = state.entries()
    history = [state.entry(i) for i in ids[-last:]] if last else []
    stuck = (
        cur.status == PENDING
        and cur.seconds_left() == 0
        and not apply_timer.is_timer(cur.timer_pid, cur.entry)
    )
    if as_json:
        doc: dict[str, Any] = {
            "state_dir": str(state.path),
            "current": asdict(cur),
            "seconds_left": round(cur.seconds_left(), 1) if cur.status == PENDING else None,
            "timer_alive": apply_timer.is_timer(cur.timer_pid, cur.entry),
            "loaded": asdict(state.entry(cur.entry)) if cur.entry else None,
            "history": [asdict(e) for e in history],
        }
        echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return 1 if stuck else 0
    if not cur.entry:
        echo(f"loaded: nothing applied by nhn-appliance (state {state.path})")
    else:
        e = state.entry(cur.entry)
        echo(f"loaded: #{e.id} {e.target} ruleset {e.hash}, applied {when(e.applied_at)}")
        echo(f"  site {e.site} ({e.site_file}), catalogue {e.catalogue or 'unknown'}")
        echo(f"  pins {e.pins}; by {e.software}")
        if cur.status == PENDING:
            left = cur.seconds_left()
            timer = (
                f"rollback timer pid {cur.timer_pid}"
                if apply_timer.is_timer(cur.timer_pid, cur.entry)
                else "NO rollback timer running"
            )
            echo(
                f"status: PENDING, {left:.0f} s left (rolled back at {when(cur.deadline)} "
                f"unless 'nhn-appliance confirm'); {timer}"
            )
            if stuck:
                echo(
                    "  past its deadline and nothing will roll it back: "
                    "run 'nhn-appliance rollback'"
                )
        else:
            echo(f"status: confirmed (since {when(cur.since)})")
    if history:
        echo(f"history (last {len(history)}):")
        for e in reversed(history):
            mark = "*" if e.id == cur.entry else " "
            echo(
                f" {mark}#{e.id:<4} {when(e.applied_at)}  {e.target:<8} {e.hash}  "
                f"{e.site}  {e.outcome}"
            )
    return 1 if stuck else 0
