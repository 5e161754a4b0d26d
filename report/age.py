"""How old a result document is, and ``--max-age`` durations ("30m", "2h", "1d").

The age is measured from the run's end (its start when the end is missing)
to the moment the report is made, which the caller passes in (the command
line passes the clock; tests pass a fixed time), so this stays pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from nhn_appliance.errors import UsageError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
#: an age this far below zero is a clock fault, not rounding
FUTURE_SLACK_S = 60.0


def parse_duration(text: str, option: str = "--max-age") -> float:
    """``"30m"`` -> 1800.0; a bare number is seconds; a clear usage error otherwise."""
    m = _DURATION.match(str(text))
    if not m or float(m.group(1)) <= 0:
        raise UsageError(
            f"{option} {text!r} is not a duration "
            "(allowed: a positive number with s, m, h or d, e.g. 30m, 2h, 1d)"
        )
    return float(m.group(1)) * UNITS[m.group(2) or "s"]


def parse_time(stamp: Any) -> datetime | None:
    """An ISO 8601 time with a zone, else None (a time without a zone is read as UTC)."""
    if not isinstance(stamp, str) or not stamp.strip():
        return None
    try:
        when = datetime.fromisoformat(stamp.strip())
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def age_seconds(doc: Mapping[str, Any], now: datetime) -> float | None:
    """Seconds from the run's end (else start) to ``now``; None when neither is a time."""
    when = parse_time(doc.get("ended_at")) or parse_time(doc.get("started_at"))
    if when is None:
        return None
    return round((now - when).total_seconds(), 3)


def say_age(seconds: float | None, labels: Mapping[str, str]) -> str:
    """``2 t 5 min`` / ``3 d 4 h``: the two largest units, in the report's language."""
    if seconds is None:
        return labels["age_unknown"]
    if seconds < -FUTURE_SLACK_S:
        return labels["age_future"]
    left = max(0, int(seconds))
    parts: list[str] = []
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60), ("seconds", 1)):
        n, left = divmod(left, size)
        if n or (unit == "seconds" and not parts):
            parts.append(f"{n} {labels['age_' + unit]}")
        if len(parts) == 2:
            break
    return " ".join(parts)
