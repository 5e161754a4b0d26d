"""Split the rules of one block into disjoint set elements, first rule wins.

nftables interval sets refuse overlapping elements, and a set lookup is what
keeps the ruleset at one lookup per family however many services a site has.
So each (interface, protocol) plane of a block is cut into elementary address
intervals; inside each, port ranges are handed to the first rule that covers
them. Adjacent pieces with the same owner are merged again. The same split
tells lint which rules are shadowed or overlap.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

from nhn_appliance.policy.model import ALL_PORTS, Proto, Rule


class Element(NamedTuple):
    interface: str
    first: int
    last: int
    proto: Proto
    plo: int
    phi: int
    rule: Rule


def _port_owners(boxes: list[tuple[int, int, int, int, Rule]]) -> tuple[tuple[int, int, Rule], ...]:
    """Disjoint port segments of the covering boxes, each owned by the first box."""
    taken: list[tuple[int, int]] = []
    segs: list[tuple[int, int, Rule]] = []
    for _, _, plo, phi, rule in boxes:
        free = [(plo, phi)]
        for tlo, thi in taken:
            nxt = []
            for lo, hi in free:
                if thi < lo or tlo > hi:
                    nxt.append((lo, hi))
                    continue
                if lo < tlo:
                    nxt.append((lo, tlo - 1))
                if hi > thi:
                    nxt.append((thi + 1, hi))
            free = nxt
            if not free:
                break
        for lo, hi in free:
            segs.append((lo, hi, rule))
            taken.append((lo, hi))
    segs.sort(key=lambda s: s[0])
    merged: list[tuple[int, int, Rule]] = []
    for lo, hi, rule in segs:
        if merged and merged[-1][2] is rule and merged[-1][1] + 1 == lo:
            merged[-1] = (merged[-1][0], hi, rule)
        else:
            merged.append((lo, hi, rule))
    return tuple(merged)


def disjoint(rules: Iterable[Rule], family: int, expand_any: bool = False) -> list[Element]:
    """Disjoint elements for the rules of one family, in a stable order.

    With ``expand_any``, a rule for every protocol also takes part in the tcp
    and udp planes (lint wants that; the nftables any-set does not).
    """
    planes: dict[tuple[str, Proto], list[tuple[int, int, int, int, Rule]]] = defaultdict(list)
    for r in rules:
        if r.family != family:
            continue
        protos = (
            (Proto.TCP, Proto.UDP, Proto.ANY)
            if (expand_any and r.proto == Proto.ANY)
            else (r.proto,)
        )
        for iface in r.interfaces:
            for proto in protos:
                for span in r.dst:
                    for p in r.ports or ALL_PORTS:
                        planes[(iface, proto)].append((span.first, span.last, p.lo, p.hi, r))
    out: list[Element] = []
    for iface, proto in sorted(planes):
        boxes = planes[(iface, proto)]
        cuts = sorted({b[0] for b in boxes} | {b[1] + 1 for b in boxes})
        # a sweep over the cuts: the boxes that start at a cut join the active
        # ones, those that ended before it leave; the active boxes, in rule
        # order, are exactly those covering the piece (linear, not cuts x boxes)
        starts: dict[int, list[int]] = defaultdict(list)
        ends: dict[int, list[int]] = defaultdict(list)
        for n, b in enumerate(boxes):
            starts[b[0]].append(n)
            ends[b[1] + 1].append(n)
        active: list[int] = []
        run_first = run_last = -1
        run_segs: tuple = ()
        pieces: list[tuple[int, int, tuple]] = []
        for i in range(len(cuts) - 1):
            lo, hi = cuts[i], cuts[i + 1] - 1
            for n in ends.get(lo, ()):
                del active[bisect_left(active, n)]
            for n in starts.get(lo, ()):
                insort(active, n)
            segs = _port_owners([boxes[n] for n in active]) if active else ()
            if segs and run_segs == segs and run_last + 1 == lo:
                run_last = hi
                continue
            if run_segs:
                pieces.append((run_first, run_last, run_segs))
            run_first, run_last, run_segs = lo, hi, segs
        if run_segs:
            pieces.append((run_first, run_last, run_segs))
        # a rule's port segment may now continue across address pieces: join it
        open_runs: dict[tuple[int, int, int], list[int]] = {}
        plane: list[list] = []
        for first, last, segs in pieces:
            for plo, phi, rule in segs:
                key = (plo, phi, id(rule))
                run = open_runs.get(key)
                if run is not None and plane[run[0]][1] + 1 == first:
                    plane[run[0]][1] = last
                    continue
                open_runs[key] = [len(plane)]
                plane.append([first, last, plo, phi, rule])
        plane.sort(key=lambda x: (x[2], x[0]) if proto == Proto.ANY else (x[0], x[2]))
        out.extend(Element(iface, f, la, proto, plo, phi, r) for f, la, plo, phi, r in plane)
    return out
