"""The pinned-names state file that ``nhn-appliance resolve`` writes beside the site.

Compile never resolves a name itself: a name's rules use the addresses pinned
here, or are left out with a warning. The file is JSON so that it can be
written atomically and read by other tools.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from nhn_appliance.errors import StateError
from nhn_appliance.policy.addresses import parse_ip
from nhn_appliance.policy.model import Pin, Span

SCHEMA = "nhn-appliance/pins/1"


def state_path_for(site_path: Path, packaged: bool) -> Path:
    """``site.toml`` pins to ``site.pins.json`` beside it; the packaged default to the cwd."""
    if packaged:
        return Path("appliance.pins.json")
    return site_path.with_name(site_path.stem + ".pins.json")


def read_pins(path: Path) -> dict[str, Pin]:
    """Read pins; a missing file is simply no pins."""
    display = str(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StateError(display, "", f"cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise StateError(
            display, "", "is not UTF-8 text; run 'nhn-appliance resolve' again"
        ) from None
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise StateError(display, f"line {exc.lineno}", f"not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise StateError(display, "", "not valid JSON: nested too deeply") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise StateError(
            display, "schema", f"expected {SCHEMA!r}; run 'nhn-appliance resolve' again"
        )
    names = doc.get("names")
    if not isinstance(names, dict):
        raise StateError(display, "names", "expected an object of pinned names")
    pins = {}
    for name, entry in names.items():
        key = f"names.{name}"
        try:
            addresses = tuple(entry["addresses"])
            for a in addresses:
                parse_ip(a)
            ttl = entry["ttl"]
            if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
                raise ValueError(f"ttl {ttl!r} is not a whole number of seconds, 0 or more")
            pins[name] = Pin(
                name=name,
                addresses=addresses,
                ttl=ttl,
                resolved_at=str(entry["resolved_at"]),
                resolver=str(entry.get("resolver", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(
                display, key, f"malformed pin ({exc}); run 'nhn-appliance resolve' again"
            ) from None
    return pins


def refusal(address: str, lan: Iterable[Span] = ()) -> str:
    """Why ``address`` may not be a pin ('' when it may): no NHN name points at
    this host, the whole network, a group, a link or the site's own LAN, and an
    answer that does is spoofed or misconfigured. Such a pin would put an
    attacker's choice into the firewall's accept rules (review D3)."""
    ip = ipaddress.ip_address(str(address).strip())  # as read_pins parses it
    classes = (
        (ip.is_unspecified or (ip.version == 4 and int(ip) >> 24 == 0), "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_multicast, "multicast"),
        (ip.is_link_local, "link-local"),
        (ip.version == 4 and ip.is_reserved, "reserved or broadcast"),
        # IPv4-mapped and the other IPv6 reserved blocks (::/8 ...) are no
        # unicast destination either
        (ip.version == 6 and ip.is_reserved, "reserved"),
    )
    for hit, what in classes:
        if hit:
            return what
    value = int(ip)
    if any(s.family == ip.version and s.first <= value <= s.last for s in lan):
        return "inside the site's LAN prefixes"
    return ""


def dumps_pins(site: str, pins: dict[str, Pin], written_at: str) -> str:
    """The state file's text (``pins/1``); the command line writes it atomically."""
    doc = {
        "schema": SCHEMA,
        "site": site,
        "written_at": written_at,
        "names": {
            name: {
                "addresses": list(p.addresses),
                "ttl": p.ttl,
                "resolved_at": p.resolved_at,
                "resolver": p.resolver,
            }
            for name, p in sorted(pins.items())
        },
    }
    return json.dumps(doc, indent=2) + "\n"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pin_age_days(pin: Pin, now: datetime | None = None) -> float:
    try:
        at = datetime.strptime(pin.resolved_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return float("inf")
    return ((now or datetime.now(UTC)) - at).total_seconds() / 86400
