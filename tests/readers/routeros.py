"""MikroTik RouterOS: the script's command lines, and the forward chain and mangle.

The reader knows RouterOS, not the renderer: it reads the script's command
lines (menu paths, ``add key=value ...``), builds address lists and interface
lists, and walks ``forward`` the way RouterOS does (first match in chain
order, ``jump``/``return``, built-in chains accept at their end), then
``postrouting`` mangle (every matching ``change-dscp`` applies in order; the
last one wins unless ``passthrough=no`` stops the walk).
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict

PAIR = re.compile(r'([a-z][a-z0-9-]*)=("[^"\\$\[\]?\n]*"|[A-Za-z0-9_.,:/!-]+)(?: |$)')
REMOVAL = re.compile(
    r"(/(?:ip|ipv6) firewall (?:filter|mangle|address-list)|/interface list(?: member)?) "
    r'remove \[find where comment~"\^nhn-appliance:"\]'
)
MENU = re.compile(r"/[a-z0-9]+(?: [a-z0-9-]+)*")


def read_script(text: str) -> tuple[dict[str, list[dict[str, str]]], list[str]]:
    """menu path -> its ``add`` items (key -> value), and the menus the script clears first."""
    menus: dict[str, list[dict[str, str]]] = defaultdict(list)
    removals: list[str] = []
    menu = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if m := REMOVAL.fullmatch(line):
            assert not menus, "removal after an add"
            removals.append(m.group(1))
        elif MENU.fullmatch(line):
            menu = line
        else:
            assert line.startswith("add ") and menu, line
            rest, item = line[4:], {}
            while rest:
                m = PAIR.match(rest)
                assert m, f"not key=value: {rest!r}"
                assert m.group(1) not in item, line
                item[m.group(1)] = m.group(2).strip('"')
                rest = rest[m.end() :]
            menus[menu].append(item)
    return menus, removals


def _in(entry: str, ip: int, family: int) -> bool:
    if "-" in entry:
        a, b = (ipaddress.ip_address(x) for x in entry.split("-"))
        return a.version == family and int(a) <= ip <= int(b)
    net = ipaddress.ip_network(entry, strict=True)
    return net.version == family and int(net.network_address) <= ip <= int(net.broadcast_address)


def _ports(value: str, port: int) -> bool:
    for part in value.split(","):
        lo, _, hi = part.partition("-")
        if int(lo) <= port <= int(hi or lo):
            return True
    return False


class Router:
    """One family's filter and mangle of a RouterOS script, evaluated packet by packet."""

    def __init__(self, menus: dict, family: int) -> None:
        pre = "/ip" if family == 4 else "/ipv6"
        self.family = family
        self.lists: dict[str, list[str]] = defaultdict(list)
        for e in menus[f"{pre} firewall address-list"]:
            self.lists[e["list"]].append(e["address"])
        self.iflists: dict[str, set[str]] = defaultdict(set)
        for e in menus["/interface list member"]:
            self.iflists[e["list"]].add(e["interface"])
        self.filter = menus[f"{pre} firewall filter"]
        self.mangle = menus[f"{pre} firewall mangle"]

    def _test(self, key: str, value: str, pkt: dict) -> bool:
        if key == "connection-state":
            return pkt["state"] in value.split(",")
        if key in ("in-interface-list", "out-interface-list"):
            return pkt[key.split("-")[0]] in self.iflists[value]
        if key in ("in-interface", "out-interface"):
            return pkt[key.split("-")[0]] == value
        if key in ("src-address-list", "dst-address-list"):
            return any(_in(a, pkt[key[:3]], self.family) for a in self.lists[value])
        if key == "dst-address":
            return _in(value, pkt["dst"], self.family)
        if key == "protocol":
            return pkt["proto"] == value
        if key == "dst-port":
            return pkt["proto"] in ("tcp", "udp") and _ports(value, pkt["port"])
        raise AssertionError(f"the reader does not know {key}=")

    def _match(self, rule: dict[str, str], pkt: dict) -> bool:
        for key, raw in rule.items():
            if key in (
                "chain",
                "action",
                "comment",
                "jump-target",
                "reject-with",
                "new-dscp",
                "passthrough",
            ):
                continue
            if self._test(key, raw.lstrip("!"), pkt) == raw.startswith("!"):
                return False
        return True

    def _chain(self, chain: str, pkt: dict, depth: int = 0) -> str | None:
        assert depth < 16, "jump loop"
        for rule in (r for r in self.filter if r["chain"] == chain):
            if not self._match(rule, pkt):
                continue
            action = rule["action"]
            if action in ("accept", "drop", "reject"):
                return action
            if action == "jump":
                result = self._chain(rule["jump-target"], pkt, depth + 1)
                if result:
                    return result
            elif action == "return":
                return None
            else:
                raise AssertionError(f"unexpected action {action}")
        return None

    def verdict(self, pkt: dict) -> str:
        return self._chain("forward", pkt) or "accept"  # built-in chains accept at their end

    def dscp(self, pkt: dict) -> int | None:
        dscp = None
        for rule in (r for r in self.mangle if r["chain"] == "postrouting"):
            if self._match(rule, pkt) and rule["action"] == "change-dscp":
                dscp = int(rule["new-dscp"])
                if rule.get("passthrough") == "no":
                    break
        return dscp
