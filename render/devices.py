"""Helpers shared by the router targets (Cisco IOS, JunOS, RouterOS).

Interface names from ``-O`` options, ASCII-safe free text for CLIs, DSCP
names, and the QoS pieces grouped by class.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from nhn_appliance.errors import UsageError
from nhn_appliance.policy.model import Policy, PortRange
from nhn_appliance.policy.qos import Mark, compact_marks
from nhn_appliance.render.escape import comment

ANY_PORTS = PortRange(0, 65535)
_ASCII = str.maketrans({"æ": "ae", "ø": "o", "å": "aa", "Æ": "Ae", "Ø": "O", "Å": "Aa"})


def text(value: str, limit: int = 100) -> str:
    """Free text for a remark, description or comment line: escaped, and ASCII for the CLI."""
    return comment(comment(value, limit).translate(_ASCII), limit)


def dscp_name(value: int, zero: str = "default", other: Callable[[int], str] = str) -> str:
    """A DSCP value by its name (ef, afXY, csN; ``zero`` for 0), else ``other(value)``."""
    klass, drop = divmod(value, 8)
    if value in (0, 46):
        return zero if value == 0 else "ef"
    if drop == 0:
        return f"cs{klass}"
    if 1 <= klass <= 4 and drop in (2, 4, 6):
        return f"af{klass}{drop // 2}"
    return other(value)


def interface_map(
    policy: Policy,
    options: Mapping[str, str],
    valid: re.Pattern,
    example: str,
    target: str,
    one_lan: bool = False,
) -> dict[str, str]:
    """Site interface -> the device's name, from the site's ``[render.TARGET]``
    ``helsenett``, ``internett`` and ``lan`` (``-O`` on top).

    A router refuses the site's Linux names, so every name must be given; a
    missing one is an error naming the key. With ``one_lan``, a single LAN
    name stands for every LAN interface of the site (a bridge).
    """
    for key in options:
        if key not in ("lan", "helsenett", "internett"):
            raise UsageError(f"unknown option {key!r}: this target takes lan, helsenett, internett")
    needed = ["lan"] + [u.zone.value for u in policy.uplinks]
    missing = [k for k in needed if not options.get(k)]
    if missing:
        keys = ", ".join(missing)
        raise UsageError(
            f"{target} needs the device's interface names, which the site's Linux names are not: "
            f"give {keys} under [render.{target}] in the site file (or -O KEY=NAME), "
            f'e.g. {missing[0]} = "{example}"'
        )
    names: dict[str, str] = {}
    for key, value in options.items():
        given = [v.strip() for v in value.split(",")] if key == "lan" else [value.strip()]
        if not all(valid.fullmatch(v) for v in given):
            raise UsageError(
                f"{key} = {value!r} is not an interface name of {target} (e.g. {example})"
            )
        if key == "lan":
            if one_lan and len(given) == 1:  # e.g. one bridge for every LAN interface
                given = given * len(policy.lan_interfaces)
            if len(given) != len(policy.lan_interfaces):
                raise UsageError(
                    f"lan: the site has {len(policy.lan_interfaces)} LAN interface(s) "
                    f"({', '.join(policy.lan_interfaces)}); name as many, comma-separated"
                )
            names.update(zip(policy.lan_interfaces, given, strict=True))
            continue
        up = next((u for u in policy.uplinks if u.zone.value == key), None)
        if up is None:
            raise UsageError(f"{key}: the site has no {key} uplink")
        names[up.interface] = given[0]
    return names


def mark_pieces(policy: Policy) -> dict[str, dict[int, list[Mark]]]:
    """:func:`compact_marks` grouped by class name and family."""
    out: dict[str, dict[int, list[Mark]]] = {}
    for family in (4, 6):
        for m in compact_marks(policy, family):
            out.setdefault(m.qos.name, {}).setdefault(family, []).append(m)
    return out
