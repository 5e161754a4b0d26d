"""Parsing, merging and printing of addresses and ports."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nhn_appliance.policy.addresses import (
    format_ports,
    format_span,
    merge_ports,
    merge_spans,
    parse_address,
    parse_ip,
    parse_port,
    span_cidrs,
    span_contains,
)
from nhn_appliance.policy.model import PortRange, Span


def v4(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def span(first: str, last: str | None = None) -> Span:
    a = ipaddress.ip_address(first)
    b = ipaddress.ip_address(last or first)
    return Span(a.version, int(a), int(b))


# -- parse_address ------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("91.186.66.22", span("91.186.66.22")),
        ("83.118.128.0/28", span("83.118.128.0", "83.118.128.15")),
        ("91.186.92.28-91.186.92.32", span("91.186.92.28", "91.186.92.32")),
        ("91.186.92.28 - 91.186.92.32", span("91.186.92.28", "91.186.92.32")),
        ("91.186.92.28\u201391.186.92.32", span("91.186.92.28", "91.186.92.32")),  # en dash
        ("91.186.92.28\u201491.186.92.32", span("91.186.92.28", "91.186.92.32")),  # em dash
        ("  10.0.0.0/8 ", span("10.0.0.0", "10.255.255.255")),
        ("0.0.0.0/0", span("0.0.0.0", "255.255.255.255")),
        ("2001:db8::/126", span("2001:db8::", "2001:db8::3")),
        ("2001:db8::1-2001:db8::5", span("2001:db8::1", "2001:db8::5")),
        ("::/0", Span(6, 0, 2**128 - 1)),
        ("10.0.0.5-10.0.0.5", span("10.0.0.5")),
    ],
)
def test_parse_address_accepts_the_forms_nhn_writes(text: str, expected: Span) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    ("text", "gist"),
    [
        ("83.118.128.0/33", "'83.118.128.0/33' has prefix length /33; IPv4 allows /0 to /32"),
        ("10.0.0.1/8", "host bits set; did you mean 10.0.0.0/8?"),
        ("2001:db8::1/32", "did you mean 2001:db8::/32?"),
        ("91.186.92.32-91.186.92.28", "written backwards; write 91.186.92.28-91.186.92.32"),
        ("10.0.0.1-2001:db8::1", "mixes IPv4 and IPv6"),
        ("10.0.0.1-10.0.0", "not a valid address range"),
        ("256.1.1.1", "not a valid address"),
        ("join.nhn.no", "not a valid address"),
        ("", "not a valid address"),
    ],
)
def test_parse_address_rejects_with_a_useful_message(text: str, gist: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_address(text)
    assert gist in str(info.value)


def test_parse_address_error_lists_the_allowed_forms() -> None:
    with pytest.raises(ValueError) as info:
        parse_address("83.118.128.0/abc")
    assert "a CIDR (198.51.100.0/28)" in str(info.value)


@pytest.mark.parametrize("value", [443, None, ["10.0.0.1"]])
def test_parse_address_rejects_non_strings(value: object) -> None:
    with pytest.raises(ValueError, match="is not a string"):
        parse_address(value)  # type: ignore[arg-type]


def test_parse_ip_takes_one_address_only() -> None:
    assert parse_ip("192.168.10.50") == span("192.168.10.50")
    assert parse_ip("2001:db8::1").family == 6
    for bad in ("192.168.10.0/24", "10.0.0.1-10.0.0.2", "x"):
        with pytest.raises(ValueError, match="is not an IPv4 or IPv6 address"):
            parse_ip(bad)


# -- ports ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (443, PortRange(443, 443)),
        ("443", PortRange(443, 443)),
        (0, PortRange(0, 0)),
        (65535, PortRange(65535, 65535)),
        ("40000-49999", PortRange(40000, 49999)),
        ("40000\u201349999", PortRange(40000, 49999)),  # en dash, as on NHN's pages
        (" 5060 - 5061 ", PortRange(5060, 5061)),
        ("0-65535", PortRange(0, 65535)),
    ],
)
def test_parse_port(value: object, expected: PortRange) -> None:
    assert parse_port(value) == expected


@pytest.mark.parametrize(
    ("value", "gist"),
    [
        (70000, "port 70000 is out of range"),
        ("70000", "port 70000 is out of range"),
        (-1, "port -1 is out of range"),
        ("40000-70000", "port 70000 is out of range"),
        ("49999-40000", "'49999-40000' is written backwards; write 40000-49999"),
        ("https", "is not a port or port range"),
        ("1-2-3", "is not a port or port range"),
        (True, "is not a port"),
        (44.3, "is not a port"),
        (None, "is not a port"),
    ],
)
def test_parse_port_rejects(value: object, gist: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_port(value)
    assert gist in str(info.value)


def test_merge_ports_joins_adjacent_and_overlapping() -> None:
    assert merge_ports([PortRange(50000, 54999), PortRange(40000, 49999)]) == (
        PortRange(40000, 54999),
    )
    assert merge_ports([PortRange(443, 443), PortRange(440, 445), PortRange(80, 80)]) == (
        PortRange(80, 80),
        PortRange(440, 445),
    )
    assert merge_ports([PortRange(5060, 5060), PortRange(5061, 5061)]) == (PortRange(5060, 5061),)
    assert merge_ports([PortRange(1, 1), PortRange(3, 3)]) == (PortRange(1, 1), PortRange(3, 3))
    assert merge_ports([PortRange(1, 100), PortRange(5, 6)]) == (PortRange(1, 100),)
    assert merge_ports([]) == ()


def test_format_ports() -> None:
    ports = (PortRange(80, 80), PortRange(443, 443), PortRange(5060, 5061))
    assert format_ports(ports) == "80,443,5060-5061"
    assert format_ports(ports, sep=":") == "80,443,5060:5061"
    assert format_ports(()) == ""


# -- spans ----------------------------------------------------------------------
def test_merge_spans_joins_adjacent_cidrs() -> None:
    merged = merge_spans([parse_address("10.1.1.0/24"), parse_address("10.1.0.0/24")])
    assert merged == (parse_address("10.1.0.0/23"),)


def test_merge_spans_joins_overlapping_ranges_and_keeps_gaps() -> None:
    merged = merge_spans(
        [
            parse_address("203.0.113.15-203.0.113.30"),
            parse_address("203.0.113.10-203.0.113.20"),
            parse_address("203.0.113.40"),
        ]
    )
    assert merged == (span("203.0.113.10", "203.0.113.30"), span("203.0.113.40"))


def test_merge_spans_keeps_a_contained_span_inside() -> None:
    assert merge_spans([parse_address("10.0.0.0/8"), parse_address("10.1.2.3")]) == (
        parse_address("10.0.0.0/8"),
    )


def test_merge_spans_never_merges_across_families() -> None:
    # 0.0.0.0/0 ends at 2**32-1 and ::/96 starts at 0: numerically adjacent, different families
    merged = merge_spans([parse_address("::/96"), parse_address("0.0.0.0/0")])
    assert {s.family for s in merged} == {4, 6}
    assert len(merged) == 2


def test_span_contains() -> None:
    spans = (parse_address("192.168.10.0/24"), parse_address("2001:db8::/64"))
    assert span_contains(spans, 4, v4("192.168.10.255"))
    assert not span_contains(spans, 4, v4("192.168.11.0"))
    assert not span_contains(spans, 6, v4("192.168.10.1"))  # same integer, other family


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("91.186.66.22", "91.186.66.22"),
        ("83.118.128.0/28", "83.118.128.0/28"),
        ("91.186.92.28-91.186.92.32", "91.186.92.28-91.186.92.32"),
        ("10.0.0.0-10.0.0.255", "10.0.0.0/24"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:db8::/64", "2001:db8::/64"),
        ("::/0", "::/0"),
    ],
)
def test_format_span_round_trips(text: str, printed: str) -> None:
    assert format_span(parse_address(text)) == printed
    assert parse_address(printed) == parse_address(text)


def test_span_cidrs_is_the_fewest_blocks() -> None:
    assert span_cidrs(parse_address("91.186.92.28-91.186.92.32")) == [
        "91.186.92.28/30",
        "91.186.92.32",
    ]


# -- properties ----------------------------------------------------------------------
ports_st = st.lists(
    st.tuples(st.integers(0, 300), st.integers(0, 40)).map(lambda t: PortRange(t[0], t[0] + t[1])),
    max_size=12,
)


@settings(max_examples=50, deadline=None)
@given(ports_st)
def test_merge_ports_keeps_exactly_the_same_ports(ports: list[PortRange]) -> None:
    merged = merge_ports(ports)
    covered = {p for r in ports for p in range(r.lo, r.hi + 1)}
    assert {p for r in merged for p in range(r.lo, r.hi + 1)} == covered
    # sorted, disjoint and not even adjacent: nothing left to merge
    for a, b in zip(merged, merged[1:], strict=False):
        assert a.hi + 1 < b.lo
    assert merge_ports(merged) == merged


spans_st = st.lists(
    st.tuples(st.sampled_from([4, 6]), st.integers(0, 300), st.integers(0, 40)).map(
        lambda t: Span(t[0], t[1], t[1] + t[2])
    ),
    max_size=12,
)


@settings(max_examples=50, deadline=None)
@given(spans_st)
def test_merge_spans_keeps_exactly_the_same_addresses(spans: list[Span]) -> None:
    merged = merge_spans(spans)
    covered = {(s.family, a) for s in spans for a in range(s.first, s.last + 1)}
    assert {(s.family, a) for s in merged for a in range(s.first, s.last + 1)} == covered
    for a, b in zip(merged, merged[1:], strict=False):
        assert a.family < b.family or a.last + 1 < b.first
    assert merge_spans(merged) == merged
