"""JunOS: the configuration tree built from ``set``/``delete`` lines, and its stateless filters.

Every line is checked against tests/readers/junos_schema.py (the statements as
Juniper's references give them) before it reaches the tree; ``[ a b ]`` gives
several values. ``set`` appends in order (a term or policy keeps its place),
``delete`` removes a subtree. Firewall filters follow Juniper's "How Standard
Firewall Filters Evaluate Packets" and "Firewall Filter Terminating /
Nonterminating Actions": terms in order; all ``from`` conditions must hold (any
of a condition's values); a term without a terminating action accepts, unless it
says ``next term``, which applies its other actions and goes on; the end of a
filter discards. ``reject tcp-reset`` answers TCP with a RST and anything else
with ICMP administratively prohibited. ``tcp-established`` matches TCP with ACK
or RST set. Class of service follows Juniper's CoS packet flow: the behaviour-
aggregate classifier of the ingress unit, then the multifield classifier (the
input filter) may override class and DSCP, then the egress unit's rewrite rule
writes its class's code point; a class the rule does not name gets an undefined
value on some platforms ("Troubleshooting an Unexpected Rewrite Value"), so it
is an error here.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import shlex
from dataclasses import dataclass

from readers.junos_schema import check

DSCP = (
    {"be": 0, "ef": 46}
    | {f"cs{i}": 8 * i for i in range(1, 8)}
    | {f"af{c}{d}": 8 * c + 2 * d for c in range(1, 5) for d in range(1, 4)}
)
TERMINATING = ("accept", "discard", "reject")


def code_point(token: str) -> int:
    """A DSCP code point: an alias (af41, ef, ...) or six bits."""
    return int(token, 2) if re.fullmatch(r"[01]{6}", token) else DSCP[token]


@functools.cache
def prefix(text: str) -> tuple[int, int, int]:
    net = ipaddress.ip_network(text)
    return net.version, int(net.network_address), int(net.broadcast_address)


def one(node: dict) -> str:
    """The single value under a node (``queue-num 3`` -> "3")."""
    assert len(node) == 1, f"a single value expected, got {list(node)}"
    return next(iter(node))


@dataclass
class Packet:
    family: int
    src: int
    dst: int
    proto: str  #: tcp, udp, icmp
    sport: int = 0
    dport: int = 0
    flags: str = "S"  #: TCP flags: S (a new connection), SA, A, R
    dscp: int = 0
    fc: str = ""  #: the forwarding class the device gave it


class Config:
    """The configuration tree JunOS builds from the lines."""

    def __init__(self, text: str) -> None:
        self.tree: dict = {}
        for line in text.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            verb, *path = shlex.split(line)
            values = []
            if "[" in path:  # set ... code-points [ a b c ]
                at = path.index("[")
                assert path[-1] == "]", line
                path, values = path[:at], path[at + 1 : -1]
            for full in [path + [v] for v in values] or [path]:
                if verb == "set":
                    check(full, whole=True)
                    node = self.tree
                    for word in full:
                        node = node.setdefault(word, {})
                elif verb == "delete":
                    check(full, whole=False)
                    node = self.tree
                    for word in full[:-1]:
                        node = node.get(word, {})
                    node.pop(full[-1], None)
                else:
                    raise AssertionError(f"not a set or delete line: {line!r}")

    def get(self, *path: str) -> dict:
        node = self.tree
        for word in path:
            node = node.get(word, {})
        return node

    # -- stateless filters ---------------------------------------------------------------------
    def _in(self, values: dict, addr: int, family: int) -> bool:
        return any(v == family and lo <= addr <= hi for v, lo, hi in map(prefix, values))

    def _matches(self, cond: dict, p: Packet) -> bool:
        for key, values in cond.items():
            if key in ("source-address", "destination-address"):
                ok = self._in(values, p.src if key[0] == "s" else p.dst, p.family)
            elif key in ("source-prefix-list", "destination-prefix-list"):
                addr = p.src if key[0] == "s" else p.dst
                lists = self.get("policy-options", "prefix-list")
                assert all(n in lists for n in values), f"prefix list {list(values)} is missing"
                ok = any(self._in(lists[n], addr, p.family) for n in values)
            elif key in ("protocol", "next-header"):
                ok = p.proto in {"icmp" if v == "icmp6" else v for v in values}
            elif key == "destination-port":
                ok = p.proto in ("tcp", "udp") and any(
                    int(v.split("-")[0]) <= p.dport <= int(v.split("-")[-1]) for v in values
                )
            elif key == "tcp-established":
                ok = p.proto == "tcp" and ("A" in p.flags or "R" in p.flags)
            else:
                raise AssertionError(f"unknown match condition {key}")
            if not ok:
                return False
        return True

    def run_filter(self, family: int, name: str, p: Packet) -> tuple[str, list[str]]:
        """(verdict, counters) of one filter for the packet, whose class and DSCP the
        filter's actions may change. Verdicts: accept, discard, reject."""
        fam = "inet" if family == 4 else "inet6"
        terms = self.get("firewall", "family", fam, "filter", name, "term")
        assert terms, f"filter {fam} {name} is missing"
        counted = []
        for tname, term in terms.items():
            if not self._matches(term.get("from", {}), p):
                continue
            then = term.get("then", {})
            final = [a for a in TERMINATING if a in then]
            assert len(final) <= 1 and not (final and "next" in then), (tname, then)
            assert "next" not in then or term.get("from"), f"{tname}: next term needs a match"
            if "forwarding-class" in then:
                p.fc = one(then["forwarding-class"])
            for key in ("dscp", "traffic-class"):
                if key in then:
                    assert key == ("dscp" if family == 4 else "traffic-class"), (tname, key)
                    p.dscp = code_point(one(then[key]))
            counted += list(then.get("count", {}))
            if "next" in then:
                continue
            return (final[0] if final else "accept"), counted
        return "discard", counted  # the end of every filter

    def unit_filter(self, unit: str, family: int, direction: str) -> str | None:
        ifd, num = unit.rsplit(".", 1)
        fam = "inet" if family == 4 else "inet6"
        node = self.get("interfaces", ifd, "unit", num, "family", fam, "filter", direction)
        return one(node) if node else None

    def filter_unit(self, unit: str, direction: str, p: Packet) -> tuple[str, list[str]]:
        name = self.unit_filter(unit, p.family, direction)
        return self.run_filter(p.family, name, p) if name else ("accept", [])

    # -- class of service ----------------------------------------------------------------------
    def classify(self, unit: str, p: Packet) -> None:
        """The ingress unit's behaviour-aggregate classifier: the class of the host's marking."""
        ifd, num = unit.rsplit(".", 1)
        kind = "dscp" if p.family == 4 else "dscp-ipv6"
        name = self.get("class-of-service", "interfaces", ifd, "unit", num, "classifiers", kind)
        p.fc = "best-effort"  # an unlisted code point: best-effort (the default table's mostly)
        if name:
            table = self.get("class-of-service", "classifiers", kind, one(name), "forwarding-class")
            assert table, f"classifier {one(name)} is missing"
            for fc, node in table.items():
                points = node.get("loss-priority", {}).get("low", {}).get("code-points", {})
                if p.dscp in {code_point(c) for c in points}:
                    p.fc = fc

    def rewrite(self, unit: str, p: Packet) -> None:
        """The egress unit's rewrite rule writes the class's code point."""
        ifd, num = unit.rsplit(".", 1)
        kind = "dscp" if p.family == 4 else "dscp-ipv6"
        name = self.get("class-of-service", "interfaces", ifd, "unit", num, "rewrite-rules", kind)
        if not name:
            return
        rule = self.get("class-of-service", "rewrite-rules", kind, one(name), "forwarding-class")
        entry = rule.get(p.fc, {}).get("loss-priority", {}).get("low", {}).get("code-point")
        assert entry, f"rewrite rule {one(name)} has no entry for class {p.fc}: undefined DSCP"
        p.dscp = code_point(one(entry))

    def scheduler(self, unit: str, fc: str) -> dict:
        ifd = unit.rsplit(".", 1)[0]
        smap = one(self.get("class-of-service", "interfaces", ifd, "scheduler-map"))
        assert fc in self.get("class-of-service", "forwarding-classes", "class"), fc
        entry = self.get("class-of-service", "scheduler-maps", smap, "forwarding-class", fc)
        sched = self.get("class-of-service", "schedulers", one(entry["scheduler"]))
        if "strict-high" in sched.get("priority", {}):  # uncapped, it starves every other queue
            rate = sched.get("transmit-rate", {}).get("percent", {})
            assert rate and "exact" in rate[one(rate)], f"strict-high queue of {fc} is uncapped"
        return sched
