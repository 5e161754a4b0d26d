"""The commands for the appliance's own kernel: apply, confirm, rollback,
status, drift and restore (the work is in apply*.py, state.py and drift.py).

Plain click commands that cli.py adds to its group; this module imports
nothing of cli.py at run time, so ``python -m nhn_appliance.cli`` finds them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from nhn_appliance.terminal import warn

if TYPE_CHECKING:
    from nhn_appliance.cli import Ctx

# -- apply, confirm, rollback, status, drift, restore -------------------------------
STATE_DIR = click.option(
    "--state-dir",
    metavar="DIR",
    envvar="NHN_APPLIANCE_STATE_DIR",
    default="/var/lib/nhn-appliance",
    show_default=True,
    help="Where apply keeps what is loaded, its history and its lock.",
)


def _state(path: str):
    from nhn_appliance.state import StateDir

    return StateDir(path)


@click.command()
@click.option(
    "--target",
    "-t",
    type=click.Choice(["nftables", "iptables"]),
    help="Default: the site's first [render] target that is nftables or iptables.",
)
@click.option(
    "--confirm-within",
    "window",
    type=click.FloatRange(1, 86400),
    default=120,
    show_default=True,
    metavar="SECONDS",
    help="Roll back unless 'nhn-appliance confirm' comes within this many seconds.",
)
@click.option("--dry-run", is_flag=True, help="Show what would change; load nothing.")
@click.option(
    "--verify",
    is_flag=True,
    help="After the load, check the site's resolver and the remote-support opening from "
    "here; roll back at once (exit 1) when a check fails.",
)
@click.option(
    "--verify-service",
    "verify_services",
    multiple=True,
    metavar="NAME",
    help="The service whose TCP openings --verify checks (repeatable; default: fjernhjelp).",
)
@click.option(
    "--allow-unpinned",
    is_flag=True,
    help="Apply even though names the site needs are not pinned (their openings left out).",
)
@STATE_DIR
@click.pass_obj
def apply(
    obj: Ctx,
    target: str | None,
    window: float,
    dry_run: bool,
    verify: bool,
    verify_services: tuple[str, ...],
    allow_unpinned: bool,
    state_dir: str,
) -> None:
    """Load the site's firewall into this kernel, with a rollback unless confirmed.

    Renders as 'render' does, has the kernel check it (nft -c,
    iptables-restore --test), prints what changes per service, saves the
    appliance's own table or chains it replaces, starts a rollback timer of
    its own (it survives the shell and the SSH session), then loads in one
    transaction. Unless 'nhn-appliance confirm' comes within the window, the
    saved state is loaded back. A second apply while one is pending is exit 2.
    Needs root. See docs/apply.md.

    \b
    Examples:
      nhn-appliance apply --dry-run
      nhn-appliance apply --confirm-within 300 --verify && nhn-appliance confirm
      nhn-appliance apply --target iptables --state-dir /var/lib/nhn-appliance
    """
    from nhn_appliance import apply as run
    from nhn_appliance.drift import choose_target

    inputs = obj.inputs()
    state = _state(state_dir)
    chosen = choose_target(inputs, state, target)
    check = None
    if verify:
        from nhn_appliance.apply_verify import run_verify, verify_plan

        checks = verify_plan(inputs, verify_services)
        check = lambda: run_verify(inputs, checks)  # noqa: E731
    warn(inputs.policy().warnings)
    code = run.apply(inputs, state, chosen, window, dry_run, check, allow_unpinned, click.echo)
    sys.exit(code)


@click.command()
@STATE_DIR
def confirm(state_dir: str) -> None:
    """Keep the pending ruleset: stop its rollback.

    Exit 1 when it is too late (the window ended; it was rolled back).

    \b
    Example:
      nhn-appliance confirm
    """
    from nhn_appliance import apply as run

    sys.exit(run.confirm(_state(state_dir), click.echo))


@click.command()
@click.option(
    "--to",
    "to",
    type=click.IntRange(1),
    metavar="N",
    help="Load entry N of the history (see status) instead of the state before the last apply.",
)
@STATE_DIR
def rollback(to: int | None, state_dir: str) -> None:
    """Restore the previous ruleset now (or history entry N).

    Without --to: the appliance's own table or chains as they were before the
    loaded ruleset was applied, pending or confirmed.

    \b
    Examples:
      nhn-appliance rollback
      nhn-appliance rollback --to 3
    """
    from nhn_appliance import apply as run

    sys.exit(run.rollback(_state(state_dir), to, click.echo))


@click.command()
@click.option(
    "--last",
    type=click.IntRange(0),
    default=5,
    show_default=True,
    metavar="N",
    help="How many applied rulesets of the history to list.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@STATE_DIR
def status(last: int, as_json: bool, state_dir: str) -> None:
    """What is loaded, confirmed or pending (seconds left), and the last applies.

    Exit 1 when a pending ruleset is past its deadline and no rollback timer
    is left to undo it.

    \b
    Example:
      nhn-appliance status --last 10
    """
    from nhn_appliance.apply_status import status as run

    sys.exit(run(_state(state_dir), last, as_json, click.echo))


@click.command()
@click.option(
    "--target",
    "-t",
    type=click.Choice(["nftables", "iptables"]),
    help="Default: the loaded ruleset's target, else the site's first Linux target.",
)
@click.option(
    "--allow-unpinned",
    is_flag=True,
    help="Compare with a rendering that leaves unpinned names' openings out.",
)
@STATE_DIR
@click.pass_obj
def drift(obj: Ctx, target: str | None, allow_unpinned: bool, state_dir: str) -> None:
    """Is the running firewall still what the appliance renders?

    Compares the kernel's appliance table (nft -j list table) or NHN-* chains
    (iptables-save) with what 'render' gives now. Exit 0 when they match,
    1 with the difference: rules added by hand, set elements missing, chains
    deleted or flushed, another ruleset loaded. Also warns when pins are older
    than the site's pin_max_age_days.

    \b
    Example:
      nhn-appliance drift || nhn-appliance apply --dry-run
    """
    from nhn_appliance.drift import drift as run

    inputs = obj.inputs()
    sys.exit(run(inputs, _state(state_dir), target, allow_unpinned, click.echo))


@click.command()
@STATE_DIR
def restore(state_dir: str) -> None:
    """Load the last confirmed ruleset (never a pending one): what the boot unit runs.

    \b
    Example:
      nhn-appliance restore     (nhn-appliance-restore.service, at boot)
    """
    from nhn_appliance import apply as run

    sys.exit(run.restore(_state(state_dir), click.echo))


COMMANDS = (
    apply,
    confirm,
    rollback,
    status,
    drift,
    restore,
)
