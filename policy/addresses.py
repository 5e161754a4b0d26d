"""Parse, merge and print addresses and ports.

Parsing accepts what NHN's pages write: a host, a CIDR, or a range
``a.b.c.d-a.b.c.e`` (hyphen or the en dash U+2013 the pages use). Errors are
:class:`ValueError` with a message meant for the user; the loader adds the
file and key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from nhn_appliance.policy.model import PortRange, Span

DASHES = ("\u2013", "\u2014")  # en dash, em dash: as written on NHN's pages
ADDRESS_FORMS = (
    "a host (198.51.100.7), a CIDR (198.51.100.0/28) or a range (198.51.100.10-198.51.100.20), "
    "IPv4 or IPv6"
)
PORT_FORMS = 'a port 0-65535, a range such as "40000-49999", or a list of these'


def _normalize_dash(text: str) -> str:
    for dash in DASHES:
        text = text.replace(dash, "-")
    return text


def parse_address(text: str) -> Span:
    """Parse one address, CIDR or range into a :class:`Span`."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a string; write {ADDRESS_FORMS}")
    raw = _normalize_dash(text.strip())
    _no_zone(text, raw)
    if "-" in raw:
        left, _, right = raw.partition("-")
        try:
            a = ipaddress.ip_address(left.strip())
            b = ipaddress.ip_address(right.strip())
        except ValueError:
            raise ValueError(
                f"{text!r} is not a valid address range; write {ADDRESS_FORMS}"
            ) from None
        if a.version != b.version:
            raise ValueError(f"{text!r} mixes IPv4 and IPv6")
        if int(b) < int(a):
            raise ValueError(f"range {text!r} is written backwards; write {b}-{a}")
        return Span(a.version, int(a), int(b))
    if "/" in raw:
        try:
            net = ipaddress.ip_network(raw, strict=True)
        except ValueError as exc:
            if "host bits set" in str(exc):
                fixed = ipaddress.ip_network(raw, strict=False)
                raise ValueError(f"{text!r} has host bits set; did you mean {fixed}?") from None
            host, _, length = raw.partition("/")
            limit = 128 if ":" in host else 32
            if length.isdigit() and int(length) > limit:
                raise ValueError(
                    f"{text!r} has prefix length /{length}; IPv{4 if limit == 32 else 6} "
                    f"allows /0 to /{limit}"
                ) from None
            raise ValueError(f"{text!r} is not a valid address; write {ADDRESS_FORMS}") from None
        return Span(net.version, int(net.network_address), int(net.broadcast_address))
    try:
        addr = ipaddress.ip_address(raw)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid address; write {ADDRESS_FORMS}") from None
    return Span(addr.version, int(addr), int(addr))


def _no_zone(text: object, raw: str) -> None:
    """An IPv6 zone (``fe80::1%eth0``) means nothing in a firewall rule; Python
    would drop it silently, so it is refused."""
    if "%" in raw:
        raise ValueError(f"{text!r} has an IPv6 zone ('%...'), which a firewall rule cannot use")


def parse_ip(text: str) -> Span:
    """Parse a single address (no CIDR, no range), as used for flows and hosts."""
    _no_zone(text, str(text))
    try:
        addr = ipaddress.ip_address(str(text).strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv4 or IPv6 address") from None
    return Span(addr.version, int(addr), int(addr))


def merge_spans(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Sort and merge overlapping or adjacent spans, per family."""
    out: list[Span] = []
    for s in sorted(spans):
        if out and out[-1].family == s.family and s.first <= out[-1].last + 1:
            prev = out[-1]
            if s.last > prev.last:
                out[-1] = Span(prev.family, prev.first, s.last)
        else:
            out.append(s)
    return tuple(out)


def subtract_spans(spans: Iterable[Span], holes: Iterable[Span]) -> tuple[Span, ...]:
    """``spans`` without the addresses of ``holes`` (per family), merged."""
    out = list(merge_spans(spans))
    for hole in merge_spans(holes):
        kept: list[Span] = []
        for s in out:
            if s.family != hole.family or s.last < hole.first or hole.last < s.first:
                kept.append(s)
                continue
            if s.first < hole.first:
                kept.append(Span(s.family, s.first, hole.first - 1))
            if hole.last < s.last:
                kept.append(Span(s.family, hole.last + 1, s.last))
        out = kept
    return tuple(out)


def span_contains(spans: Iterable[Span], family: int, value: int) -> bool:
    return any(s.family == family and s.first <= value <= s.last for s in spans)


def _ip(family: int, value: int) -> str:
    return str(ipaddress.IPv4Address(value) if family == 4 else ipaddress.IPv6Address(value))


def span_cidrs(span: Span) -> list[str]:
    """The span as the fewest CIDR blocks (a host prints without /32 or /128)."""
    return list(_span_cidrs(span))


@lru_cache(maxsize=16384)
def _span_cidrs(span: Span) -> tuple[str, ...]:
    """Cached: renderers print the same catalogue spans for every site and
    target, and ipaddress.summarize_address_range is slow."""
    maxlen = 32 if span.family == 4 else 128
    first = (
        ipaddress.ip_address(span.first) if span.family == 4 else ipaddress.IPv6Address(span.first)
    )
    last = ipaddress.ip_address(span.last) if span.family == 4 else ipaddress.IPv6Address(span.last)
    out = []
    for net in ipaddress.summarize_address_range(first, last):
        out.append(str(net.network_address) if net.prefixlen == maxlen else str(net))
    return tuple(out)


@lru_cache(maxsize=16384)
def format_span(span: Span) -> str:
    """One token: a host, a CIDR when the span is exactly one, else ``a-b``."""
    cidrs = span_cidrs(span)
    if len(cidrs) == 1:
        return cidrs[0]
    return f"{_ip(span.family, span.first)}-{_ip(span.family, span.last)}"


def format_ip(family: int, value: int) -> str:
    return _ip(family, value)


def parse_port(value: object) -> PortRange:
    """Parse one port or range: ``443``, ``"443"``, ``"40000-49999"``."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a port; write {PORT_FORMS}")
    if isinstance(value, int):
        lo = hi = value
    elif isinstance(value, str):
        raw = _normalize_dash(value.strip())
        left, sep, right = raw.partition("-")
        try:
            if not all(
                p.strip().isascii() and p.strip().isdigit() for p in (left, right)[: 1 + bool(sep)]
            ):
                raise ValueError  # int() would also take "4_43" and Arabic-Indic digits
            lo = int(left)
            hi = int(right) if sep else lo
        except ValueError:
            raise ValueError(f"{value!r} is not a port or port range; write {PORT_FORMS}") from None
    else:
        raise ValueError(f"{value!r} is not a port; write {PORT_FORMS}")
    for p in (lo, hi):
        if not 0 <= p <= 65535:
            raise ValueError(f"port {p} is out of range; ports are 0-65535")
    if hi < lo:
        raise ValueError(f"port range {value!r} is written backwards; write {hi}-{lo}")
    return PortRange(lo, hi)


def merge_ports(ports: Iterable[PortRange]) -> tuple[PortRange, ...]:
    """Sort and merge overlapping or adjacent port ranges."""
    out: list[PortRange] = []
    for p in sorted(ports):
        if out and p.lo <= out[-1].hi + 1:
            if p.hi > out[-1].hi:
                out[-1] = PortRange(out[-1].lo, p.hi)
        else:
            out.append(p)
    return tuple(out)


def format_ports(ports: Iterable[PortRange], sep: str = "-") -> str:
    return ",".join(str(p.lo) if p.lo == p.hi else f"{p.lo}{sep}{p.hi}" for p in ports)


def chunk_ports(ports: Iterable[PortRange], slots: int = 15) -> list[tuple[PortRange, ...]]:
    """Split a port list for targets that take at most ``slots`` ports per rule,
    a range counting two (iptables multiport, RouterOS dst-port)."""
    chunks: list[list[PortRange]] = [[]]
    used = 0
    for p in ports:
        cost = 1 if p.lo == p.hi else 2
        if used + cost > slots:
            chunks.append([])
            used = 0
        chunks[-1].append(p)
        used += cost
    return [tuple(c) for c in chunks if c]
