"""``drift``: is the running firewall still what the appliance renders?

Compares the kernel's live listing of the appliance's own table or chains
with the ruleset ``render`` gives now, as a kernel would hold it. When the
loaded entry (state directory) has the same hash as that rendering, its
listing taken right after the load stands for it; otherwise the rendered
ruleset is loaded into a scratch network namespace and listed there. Also
says when pins are older than the site's ``pin_max_age_days``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from nhn_appliance.apply import TARGETS, Echo, backend, render_for
from nhn_appliance.apply_kernel import Listing, drift_words
from nhn_appliance.inputs import Inputs
from nhn_appliance.policy.pins import pin_age_days
from nhn_appliance.state import PENDING, StateDir


def choose_target(inputs: Inputs, state: StateDir, target: str | None) -> str:
    """--target, else the loaded entry's, else the site's first Linux target."""
    if target:
        return target
    cur = state.current()
    if cur.target:
        return cur.target
    return next((t for t in inputs.site.targets if t in TARGETS), TARGETS[0])


def stale_pins(inputs: Inputs) -> list[str]:
    limit = inputs.site.pin_max_age_days
    now = datetime.now(UTC)
    return [
        f"{name} was pinned at {pin.resolved_at}, more than {limit} days ago "
        "(pin_max_age_days); run 'nhn-appliance resolve', then apply"
        for name, pin in sorted(inputs.pins.items())
        if pin_age_days(pin, now) > limit
    ]


def drift(
    inputs: Inputs, state: StateDir, target: str | None, allow_unpinned: bool, echo: Echo
) -> int:
    """Exit 0 when the kernel holds what render gives now, 1 with the difference."""
    chosen = choose_target(inputs, state, target)
    be = backend(chosen)
    rendered = render_for(inputs, chosen, allow_unpinned)
    cur = state.current()
    entry = state.entry(cur.entry) if cur.entry else None
    live = be.live()
    loaded = state.blob(entry.id, "loaded.json") if entry else None
    if entry is not None and entry.hash == rendered.hash and loaded:
        expected = Listing.from_dict(loaded)
    else:
        expected = be.expected(rendered.texts)
    lines = drift_words(expected, live)
    where = "table inet nhn_appliance" if chosen == "nftables" else "NHN-* chains"
    for line in stale_pins(inputs):
        echo(f"warning: {line}")
    if not lines:
        note = f" (#{entry.id}, {cur.status})" if entry else " (not applied by nhn-appliance)"
        pending = f", {cur.seconds_left():.0f} s left to confirm" if cur.status == PENDING else ""
        echo(f"no drift: the kernel's {where} is ruleset {rendered.hash}{note}{pending}")
        return 0
    echo(f"DRIFT: the kernel's {where} differs from what render gives now ({rendered.hash}):")
    if not live.sections:
        echo(f"  the kernel holds no {where} at all")
    elif entry is not None and loaded and not drift_words(Listing.from_dict(loaded), live):
        echo(
            f"  the kernel holds #{entry.id} ({entry.hash}) as it was applied; the site, "
            "catalogue or pins changed since: apply to update"
        )
    for line in lines:
        echo(f"  {line}")
    return 1
