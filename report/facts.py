"""Catalogue facts in report texts: placeholders filled from ``rules/*.toml``.

A remediation that names Join's addresses or CMA's ports takes them from the
catalogue, so a text cannot drift from what the firewall opens (the facts
audit found a text that left out 83.118.128.0/28). Placeholders:

- ``{addresses:SERVICE}``, ``{addresses:SERVICE@ZONE}``,
  ``{addresses:SERVICE/ENDPOINT}``: the accepted addresses, as a list in words;
- ``{ports:SERVICE/ENDPOINT:PROTO}``: that endpoint's ports of one protocol;
- ``{names:SERVICE/ENDPOINT}``: its DNS names;
- ``{clock.warn_s}``, ``{clock.fail_s}``, ``{pac.url}``, ``{proxy.address}``,
  ``{ntp.server}``: the site defaults NHN decides (``rules/site/defaults.toml``).

Also the reverse look-up the general findings need: which catalogue endpoint
(and so which zone, ports and source) an address and port belong to. Pure:
the packaged catalogue is read through :func:`load_catalogue`, nothing else.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any

from nhn_appliance.errors import CatalogueError
from nhn_appliance.policy.addresses import format_span
from nhn_appliance.policy.catalogue import load_catalogue
from nhn_appliance.policy.model import Action, Catalogue, Endpoint, Proto

PLACEHOLDER = re.compile(r"\{([a-z_]+)([:.])([^{}]+)\}")
AND = {"nb": "og", "en": "and"}


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The packaged catalogue, once per process (a report asks for it per check)."""
    return load_catalogue()


def words_list(items: list[str], lang: str) -> str:
    """ "a, b og c" / "a, b and c"."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {AND[lang]} {items[-1]}"


def _endpoints(cat: Catalogue, ref: str) -> list[Endpoint]:
    name, _, rest = ref.partition("/")
    ep_id, _, zone = rest.partition("@") if rest else ("", "", "")
    if not rest:
        name, _, zone = name.partition("@")
    service = cat.services.get(name)
    if service is None:
        raise KeyError(f"no service {name!r} in the catalogue")
    # a named endpoint may be a reject (the known-wrong payment host); else openings only
    eps = [
        e for e in service.endpoints if e.id == ep_id or (not ep_id and e.action == Action.ACCEPT)
    ]
    if zone:
        eps = [e for e in eps if zone in {z.value for z in e.zones}]
    if not eps:
        raise KeyError(f"no accepted endpoint matches {ref!r}")
    return eps


def _ports(ep: Endpoint, proto: str) -> str:
    for p, ranges in ep.flows:
        if p.value == proto:
            return ", ".join(f"{r.lo}" if r.lo == r.hi else f"{r.lo}-{r.hi}" for r in ranges)
    raise KeyError(f"endpoint {ep.id!r} has no {proto} ports")


def _default(cat: Catalogue, key: str) -> str:
    d = cat.defaults
    values: dict[str, Any] = {
        "clock.warn_s": f"{d.clock.warn_s:g}",
        "clock.fail_s": f"{d.clock.fail_s:g}",
        "pac.url": d.pac.value,
        "proxy.address": d.proxy.value,
        "ntp.server": next(iter(d.ntp_servers), ""),
    }
    if key not in values:
        raise KeyError(f"unknown fact {key!r} (known: {', '.join(values)})")
    return str(values[key])


def resolve(kind: str, sep: str, arg: str, lang: str, cat: Catalogue) -> str:
    """One placeholder's text; KeyError naming what is wrong."""
    if sep == ".":
        return _default(cat, f"{kind}.{arg}")
    if kind == "addresses":
        spans: list[str] = []
        for ep in _endpoints(cat, arg):
            spans += [format_span(a) for a in ep.addresses if format_span(a) not in spans]
        return words_list(spans, lang)
    if kind == "ports":
        ref, _, proto = arg.rpartition(":")
        return _ports(_endpoints(cat, ref)[0], proto)
    if kind == "names":
        return words_list([n for ep in _endpoints(cat, arg) for n in ep.names], lang)
    raise KeyError(f"unknown placeholder kind {kind!r} (known: addresses, ports, names)")


def fill(text: str, lang: str, where: str = "", cat: Catalogue | None = None) -> str:
    """``text`` with every catalogue placeholder filled in; a CatalogueError naming
    ``where`` (file and key) when one does not resolve."""
    if "{" not in text:
        return text
    cat = cat or catalogue()

    def one(m: re.Match[str]) -> str:
        try:
            return resolve(m.group(1), m.group(2), m.group(3), lang, cat)
        except KeyError as exc:
            raise CatalogueError(where or "<text>", "", f"{m.group(0)}: {exc.args[0]}") from None

    return PLACEHOLDER.sub(one, text)


# -- reverse look-up: an address and port back to the catalogue ---------------------
@lru_cache(maxsize=1024)
def _lookup(directory: str, address: str, port: int | None, proto: str) -> tuple[Any, ...] | None:
    cat = catalogue()
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    value, family = int(ip), ip.version
    for service in cat.services.values():
        for ep in service.endpoints:
            if ep.action != Action.ACCEPT:
                continue
            if not any(a.family == family and a.first <= value <= a.last for a in ep.addresses):
                continue
            for p, ranges in ep.flows:
                if p == Proto.ANY or (
                    (not proto or p.value == proto)
                    and (port is None or any(r.lo <= port <= r.hi for r in ranges))
                ):
                    ports = "" if p == Proto.ANY else _ports(ep, p.value)
                    spans = tuple(format_span(a) for a in ep.addresses)
                    zones = tuple(z.value for z in ep.zones)
                    return (service.name, ep.id, p.value, ports, spans, zones, ep.source)
    return None


def endpoint_of(address: str, port: int | None, proto: str = "") -> dict[str, Any] | None:
    """The catalogue endpoint (accepted) an address and port belong to:
    service, endpoint, proto, ports, addresses, zones, source; or None."""
    found = _lookup(catalogue().directory, address, port, proto)
    if found is None:
        return None
    keys = ("service", "endpoint", "proto", "ports", "addresses", "zones", "source")
    return dict(zip(keys, found, strict=True))
