"""JunOS: the configuration tree built from ``set``/``delete`` lines, and its filters.

ciscoconfparse2 reads JunOS brace configs but leaves ``set`` lines flat, so
the text is read here into the configuration tree JunOS builds from them (a
``set`` on an existing term keeps its place, ``delete`` removes a subtree).
The evaluator follows JunOS firewall-filter semantics: terms in order, every
``from`` condition must hold, any of its values; no terminating action means
accept; the end of a filter discards. JunOS tells ``reject`` from
``discard``. For QoS it follows the LAN unit's input filter (forwarding class
+ DSCP), the uplink's rewrite rule and its scheduler map.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import shlex

DSCP = (
    {"be": 0, "ef": 46, "nc1": 48, "nc2": 56}
    | {f"cs{i}": 8 * i for i in range(1, 8)}
    | {f"af{c}{d}": 8 * c + 2 * d for c in range(1, 5) for d in range(1, 4)}
)
PROTOCOLS = {"tcp": "tcp", "udp": "udp", "6": "tcp", "17": "udp"}


def code_point(token: str) -> int:
    """A DSCP code point: an alias (af41, ef, ...) or six bits."""
    return int(token, 2) if re.fullmatch(r"[01]{6}", token) else DSCP[token]


@functools.cache
def _prefix(text: str) -> tuple[int, int, int]:
    net = ipaddress.ip_network(text)
    return net.version, int(net.network_address), int(net.broadcast_address)


def one(node: dict) -> str:
    """The single value under a node (``queue-num 3`` -> "3")."""
    assert len(node) == 1, f"a single value expected, got {list(node)}"
    return next(iter(node))


class Junos:
    """The configuration tree JunOS would build from the set/delete lines.

    ``units`` names the logical interfaces the evaluator asks about:
    "helsenett", "internett", "lan", ... -> (interface, unit number).
    """

    def __init__(self, text: str, units: dict[str, tuple[str, str]]) -> None:
        self.units = units
        self.tree: dict = {}
        for line in text.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            verb, *path = shlex.split(line)
            if verb == "set":
                node = self.tree
                for word in path:
                    node = node.setdefault(word, {})
            elif verb == "delete":
                node = self.tree
                for word in path[:-1]:
                    node = node.get(word, {})
                node.pop(path[-1], None)
            else:
                raise AssertionError(f"not a set or delete line: {line!r}")

    def get(self, *path: str) -> dict:
        node = self.tree
        for word in path:
            node = node.get(word, {})
        return node

    @staticmethod
    def _in(values: dict, addr: int, family: int) -> bool:
        return any(
            version == family and lo <= addr <= hi for version, lo, hi in map(_prefix, values)
        )

    def _term_matches(
        self, cond: dict, family: int, proto: str, src: int, dst: int, port: int | None
    ) -> bool:
        for key, values in cond.items():
            if key in ("source-address", "destination-address"):
                ok = self._in(values, src if key.startswith("source") else dst, family)
            elif key in ("source-prefix-list", "destination-prefix-list"):
                addr = src if key.startswith("source") else dst
                ok = any(
                    self._in(self.get("policy-options", "prefix-list", n), addr, family)
                    for n in values
                )
            elif key in ("protocol", "next-header"):
                ok = proto in {PROTOCOLS[v] for v in values}
            elif key == "destination-port":
                ok = port is not None and any(
                    int(v.split("-")[0]) <= port <= int(v.split("-")[-1]) for v in values
                )
            else:
                raise AssertionError(f"unknown match condition {key}")
            if not ok:
                return False
        return True

    def run_filter(
        self, family: int, name: str, proto: str, src: int, dst: int, port: int | None
    ) -> tuple[str, dict]:
        fam = "inet" if family == 4 else "inet6"
        terms = self.get("firewall", "family", fam, "filter", name, "term")
        assert terms, f"filter {fam} {name} is missing"
        for term in terms.values():
            if self._term_matches(term.get("from", {}), family, proto, src, dst, port):
                then = term.get("then", {})
                final = [a for a in ("accept", "reject", "discard") if a in then]
                assert len(final) <= 1, then
                return (final[0] if final else "accept"), then
        return "discard", {}  # the end of every filter

    def unit_filter(self, which: str, family: int, direction: str) -> str | None:
        ifd, unit = self.units[which]
        node = self.get(
            "interfaces",
            ifd,
            "unit",
            unit,
            "family",
            "inet" if family == 4 else "inet6",
            "filter",
            direction,
        )
        return one(node) if node else None

    def egress(
        self, zone: str, family: int, proto: str, src: int, dst: int, port: int | None
    ) -> str:
        name = self.unit_filter(zone, family, "output")
        return self.run_filter(family, name, proto, src, dst, port)[0] if name else "accept"

    def marking(
        self, lan: str, family: int, proto: str, dst: int, port: int | None
    ) -> tuple[str | None, int | None]:
        """(forwarding class, DSCP) the LAN unit's input filter gives a packet."""
        name = self.unit_filter(lan, family, "input")
        if name is None:
            return None, None
        action, then = self.run_filter(family, name, proto, 0, dst, port)
        assert action == "accept", "the classifier filter must not drop anything"
        fc = one(then["forwarding-class"]) if "forwarding-class" in then else None
        mark = then.get("dscp" if family == 4 else "traffic-class")
        return fc, code_point(one(mark)) if mark else None

    def leaves_with(self, zone: str, family: int, fc: str | None, dscp: int | None) -> int | None:
        """The DSCP after the uplink unit's rewrite rule."""
        ifd, unit = self.units[zone]
        kind = "dscp" if family == 4 else "dscp-ipv6"
        rules = self.get("class-of-service", "interfaces", ifd, "unit", unit, "rewrite-rules", kind)
        if fc is None or not rules:
            return dscp
        entry = self.get(
            "class-of-service",
            "rewrite-rules",
            kind,
            one(rules),
            "forwarding-class",
            fc,
            "loss-priority",
            "low",
            "code-point",
        )
        return code_point(one(entry)) if entry else dscp

    def scheduler(self, zone: str, fc: str) -> dict:
        ifd, _ = self.units[zone]
        smap = one(self.get("class-of-service", "interfaces", ifd, "scheduler-map"))
        sched = one(
            self.get(
                "class-of-service", "scheduler-maps", smap, "forwarding-class", fc, "scheduler"
            )
        )
        return self.get("class-of-service", "schedulers", sched)
