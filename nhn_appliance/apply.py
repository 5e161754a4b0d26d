"""apply, confirm, rollback and restore: the appliance loads its own firewall,
JunOS ``commit confirmed`` style.

apply renders, has the kernel check the result, says what changes, saves the
appliance's own kernel state it replaces, arms the rollback timer
(:mod:`apply_timer`) and only then loads. Until ``confirm``, the timer
restores the saved state at the deadline. Every step that changes the kernel
or the state holds the state lock (:mod:`state`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from nhn_appliance import __version__, apply_timer
from nhn_appliance.apply_ipt import Iptables
from nhn_appliance.apply_kernel import Listing, change_words, diff
from nhn_appliance.apply_nft import Nftables
from nhn_appliance.errors import ApplianceError, UsageError
from nhn_appliance.inputs import Inputs
from nhn_appliance.state import CONFIRMED, NONE, PENDING, Current, Entry, StateDir

TARGETS = ("nftables", "iptables")
#: a pending entry this long past its deadline, with no live timer, is settled by
#: the next command that takes the lock (the timer would have done it)
OVERDUE_S = 5.0

Echo = Callable[[str], None]


class Finding(ApplianceError):
    """A refusal or failed check the user must act on (exit 1)."""

    exit_code = 1


class Backend(Protocol):
    target: str
    files: tuple[str, ...]

    def check(self, texts: dict[str, str]) -> None: ...
    def snapshot(self) -> dict: ...
    def live(self) -> Listing: ...
    def load(self, texts: dict[str, str]) -> None: ...
    def restore(self, snapshot: dict) -> None: ...
    def expected(self, texts: dict[str, str]) -> Listing: ...


def backend(target: str) -> Backend:
    if target == "nftables":
        return Nftables()
    if target == "iptables":
        return Iptables()
    raise UsageError(f"--target {target!r}: apply loads only {', '.join(TARGETS)}")


@dataclass
class Rendered:
    target: str
    texts: dict[str, str]  #: file name -> text, as loaded
    hash: str


def render_for(inputs: Inputs, target: str, allow_unpinned: bool) -> Rendered:
    """The site's ruleset for ``target`` as ``render`` gives it (same options, same
    refusal while names are unpinned and outbound is blocked)."""
    from nhn_appliance.render_cli import render_all, unpinned_refusal

    refusal = unpinned_refusal(inputs, allow_unpinned)
    if refusal:
        raise Finding(refusal)
    be = backend(target)
    arts = [a for _, a in render_all(inputs, [target], {})]
    if target == "nftables":
        texts = {be.files[0]: next(a.text for a in arts if a.name.endswith(".nft"))}
    else:
        texts = {
            name: next(a.text for a in arts if a.family == fam)
            for fam, name in ((4, be.files[0]), (6, be.files[1]))
        }
    digest = hashlib.sha256()
    for name, text in sorted(texts.items()):
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    return Rendered(target, texts, digest.hexdigest()[:16])


def pins_version(inputs: Inputs) -> str:
    if not inputs.pins:
        return "no pins"
    times = sorted(p.resolved_at for p in inputs.pins.values())
    return f"{inputs.pins_path} ({len(inputs.pins)} names, oldest {times[0]})"


def apply(
    inputs: Inputs,
    state: StateDir,
    target: str,
    window: float,
    dry_run: bool,
    verify: Callable[[], list[str]] | None,
    allow_unpinned: bool,
    echo: Echo,
) -> int:
    """Exit code: 0 loaded and pending (or dry run), 1 verify failed and rolled back."""
    be = backend(target)
    rendered = render_for(inputs, target, allow_unpinned)

    def show_changes() -> None:
        be.check(rendered.texts)  # a refused ruleset changes nothing
        changes = diff(be.live(), be.expected(rendered.texts))
        echo(f"apply {target} ruleset {rendered.hash} for site {inputs.site.name}:")
        for line in change_words(changes):
            echo(line)

    if dry_run:
        show_changes()
        echo("dry run: nothing loaded")
        return 0
    # everything that talks to the kernel under the lock: a second apply started at
    # the same moment waits for nothing and touches nothing (it exits 2 at the lock)
    with state.locked(who=f"apply {rendered.hash}"):
        show_changes()
        settle_overdue(state, echo)
        cur = state.current()
        if cur.status == PENDING:
            e = state.entry(cur.entry)
            raise UsageError(
                f"ruleset #{e.id} ({e.hash}, applied {when(e.applied_at)} from {e.site}) is "
                f"pending, {cur.seconds_left():.0f} s left: 'nhn-appliance confirm' or "
                "'nhn-appliance rollback' first"
            )
        if cur.entry and cur.target != target:
            raise UsageError(
                f"the loaded ruleset #{cur.entry} is {cur.target}; apply --target {cur.target}, "
                f"or take it out first (nhn-appliance rollback --to an entry of {target})"
            )
        entry = Entry(
            id=state.next_id(),
            target=target,
            hash=rendered.hash,
            applied_at=time.time(),
            site=inputs.site.name,
            site_file=str(inputs.site_path),
            catalogue=inputs.policy().catalogue_revision,
            pins=pins_version(inputs),
            software=f"nhn-appliance {__version__}",
            window_s=window,
            previous=cur.entry,
            files=list(rendered.texts),
        )
        deadline = time.time() + window
        pending = Current(entry.id, PENDING, target, deadline, 0, cur.last_confirmed, time.time())
        state.write_new_entry(entry, rendered.texts, {"before.json": be.snapshot()}, pending)
        pending.timer_pid = apply_timer.arm(state.path, entry.id, deadline)
        state.set_current(pending)
        try:
            be.load(rendered.texts)
        except ApplianceError:
            _settle(state, pending, entry, "the kernel refused the load", cur)
            raise
        _remember_loaded(state, entry.id, be)
        echo(
            f"loaded #{entry.id}: pending; run 'nhn-appliance confirm' within {window:g} s, "
            f"or it is rolled back at {when(deadline)}"
        )
        if verify is not None:
            failed = verify()
            if failed:
                roll_back_pending(state, pending, "verify failed: " + "; ".join(failed))
                for line in failed:
                    echo(f"verify FAIL {line}")
                echo(f"rolled back #{entry.id} at once: the checks after the load failed")
                return 1
            echo("verify: every check passed; the ruleset is still pending until confirm")
    return 0


def _remember_loaded(state: StateDir, entry: int, be: Backend) -> None:
    """The ruleset as the kernel listed it right after the load, for drift."""
    try:
        state._write({state.entry_dir(entry) / "loaded.json": be.live().as_dict()})
    except (ApplianceError, OSError):
        pass  # drift then loads the rendered ruleset into a scratch namespace instead


def _settle(state: StateDir, pending: Current, entry: Entry, why: str, before: Current) -> None:
    """A load that failed: the kernel kept its state, so the state goes back too."""
    entry.outcome, entry.outcome_at = f"not loaded: {why}", time.time()
    state.save_entry(entry)
    state.set_current(before)
    apply_timer.stop(pending.timer_pid, entry.id)


def roll_back_pending(state: StateDir, cur: Current, why: str, timer: bool = False) -> None:
    """Restore the kernel state the pending (or current) entry replaced; the caller
    holds the lock."""
    entry = state.entry(cur.entry)
    backend(entry.target).restore(state.blob(entry.id, "before.json") or {})
    entry.outcome, entry.outcome_at = f"rolled back: {why}", time.time()
    state.save_entry(entry)
    prev = entry.previous
    state.set_current(
        Current(prev, CONFIRMED if prev else NONE, entry.target if prev else "", 0, 0, prev)
    )
    if not timer:
        apply_timer.stop(cur.timer_pid, entry.id)


def settle_overdue(state: StateDir, echo: Echo) -> None:
    """A pending entry well past its deadline whose timer is gone (killed, or a
    crash before it was started): do what the timer would have done."""
    cur = state.current()
    overdue = cur.status == PENDING and time.time() > cur.deadline + OVERDUE_S
    if overdue and not apply_timer.is_timer(cur.timer_pid, cur.entry):
        roll_back_pending(state, cur, "not confirmed in time; its timer was gone")
        echo(f"rolled back #{cur.entry}: it was pending past its deadline without a timer")


def confirm(state: StateDir, echo: Echo) -> int:
    with state.locked(who="confirm"):
        cur = state.current()
        if cur.status != PENDING:
            last = state.entries()
            if last and state.entry(last[-1]).outcome.startswith("rolled back"):
                e = state.entry(last[-1])
                raise Finding(f"too late: #{e.id} was {e.outcome} at {when(e.outcome_at)}")
            raise UsageError(f"nothing to confirm: {_describe(state, cur)}")
        entry = state.entry(cur.entry)
        if time.time() > cur.deadline:
            roll_back_pending(state, cur, "confirm came after the deadline")
            raise Finding(
                f"too late: #{entry.id}'s window ended at {when(cur.deadline)}; rolled back now"
            )
        entry.outcome, entry.outcome_at = "confirmed", time.time()
        state.save_entry(entry)
        state.set_current(Current(entry.id, CONFIRMED, entry.target, 0, 0, entry.id, time.time()))
        apply_timer.stop(cur.timer_pid, entry.id)
    echo(f"confirmed #{entry.id} ({entry.target} {entry.hash}); the rollback timer is stopped")
    return 0


def rollback(state: StateDir, to: int | None, echo: Echo) -> int:
    with state.locked(who="rollback"):
        cur = state.current()
        if to is None:
            if not cur.entry:
                raise UsageError(f"nothing to roll back: {_describe(state, cur)}")
            roll_back_pending(state, cur, "by the rollback command")
            back = state.current()
            echo(
                f"rolled back #{cur.entry}: the kernel holds what it held before it"
                + (f" (#{back.entry})" if back.entry else "")
            )
            return 0
        entry = state.entry(to)
        if cur.entry and cur.target != entry.target:
            raise UsageError(f"#{to} is {entry.target}, the loaded #{cur.entry} {cur.target}")
        texts = state.files(to)
        be = backend(entry.target)
        be.check(texts)
        if cur.status == PENDING:
            pending = state.entry(cur.entry)
            pending.outcome, pending.outcome_at = f"rolled back: rollback --to {to}", time.time()
            state.save_entry(pending)
        be.load(texts)
        state.set_current(Current(to, CONFIRMED, entry.target, 0, 0, to, time.time()))
        apply_timer.stop(cur.timer_pid, cur.entry)
    echo(f"loaded #{to} ({entry.target} {entry.hash}, applied {when(entry.applied_at)})")
    return 0


def restore(state: StateDir, echo: Echo) -> int:
    """At boot: load the last confirmed ruleset, never a pending one."""
    with state.locked(wait=True, who="restore"):
        cur = state.current()
        if cur.status == PENDING:
            e = state.entry(cur.entry)
            e.outcome, e.outcome_at = "rolled back: not confirmed before a restart", time.time()
            state.save_entry(e)
        keep = cur.entry if cur.status == CONFIRMED else cur.last_confirmed
        if not keep:
            state.set_current(Current())
            echo(f"nothing confirmed to restore in {state.path}")
            return 0
        entry = state.entry(keep)
        backend(entry.target).load(state.files(keep))
        state.set_current(Current(keep, CONFIRMED, entry.target, 0, 0, keep, time.time()))
    echo(f"restored #{keep} ({entry.target} {entry.hash}, confirmed {when(entry.outcome_at)})")
    return 0


def when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


def _describe(state: StateDir, cur: Current) -> str:
    if not cur.entry:
        return f"no ruleset applied by nhn-appliance is loaded (state {state.path})"
    return f"#{cur.entry} is {cur.status}"
