"""MikroTik RouterOS v7: a statement-by-statement interpreter of a script, and a device.

Written from MikroTik's documentation, not from the renderer:

- Filter [ROS-FILTER] (help.mikrotik.com, "Filter"): rules of a chain are walked top to bottom;
  ``accept``/``drop``/``reject`` end the walk, ``jump`` walks another chain and comes back at its
  end or at ``return``, ``passthrough``/``log``/``fasttrack-connection`` go on; a packet that
  matches no rule of a built-in chain is accepted. ``place-before`` inserts before an item.
- Mangle (help.mikrotik.com, "Mangle"): ``forward`` sees routed packets; ``change-dscp`` sets the
  DSCP; with ``passthrough=no`` the packet leaves the mangle chain at that rule.
- FastTrack (MikroTik manual "IP/Fasttrack"): ``fasttrack-connection`` marks the connection;
  its later packets "bypass firewall, connection tracking, simple queues, ...", so neither the
  filter nor mangle sees them: their DSCP is what the host set.
- Scripting: ``:if (cond) do={...}`` runs its block when cond is true; ``:error`` fails;
  ``[:len [find ...]]`` counts items; a failing command ends the script it is in. ``/import``
  runs a file as one script and stops at the first error; a terminal paste runs each top-level
  line (a whole ``{...}`` block being one) by itself and goes on after a failing one.
- Safe Mode: not modelled here (it undoes a session's changes when the session drops; the
  tests hold the script to a stronger promise, without it).

Enum values checked: filter/mangle actions, ``reject-with``, connection states, protocols.
``reject-with`` for IPv6 is the list of MikroTik's "Filter" page (IPv6 actions table:
icmp-no-route, icmp-admin-prohibited, icmp-not-neighbour, icmp-address-unreachable,
icmp-port-unreachable, tcp-reset, icmp-err-src-routing-header, icmp-headers-too-long), read
in a stored copy of that page; the IPv4 list (ICMP types and tcp-reset) is from memory of the
same page. Interface and interface-list names must exist, as RouterOS refuses an unknown one
("input does not match any value of interface").
"""

from __future__ import annotations

import copy
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from readers.routeros_packets import Packets

FILTER_ACTIONS = {
    "accept",
    "drop",
    "reject",
    "jump",
    "return",
    "passthrough",
    "log",
    "fasttrack-connection",
    "tarpit",
    "add-src-to-address-list",
    "add-dst-to-address-list",
}
MANGLE_ACTIONS = {
    "accept",
    "jump",
    "return",
    "passthrough",
    "log",
    "change-dscp",
    "mark-connection",
    "mark-packet",
    "mark-routing",
    "change-ttl",
    "fasttrack-connection",
    "clear-df",
    "change-mss",
}
REJECT_WITH = {
    4: {
        "icmp-admin-prohibited",
        "icmp-host-prohibited",
        "icmp-host-unreachable",
        "icmp-net-prohibited",
        "icmp-network-unreachable",
        "icmp-port-unreachable",
        "icmp-protocol-unreachable",
        "tcp-reset",
    },
    6: {
        "icmp-no-route",
        "icmp-admin-prohibited",
        "icmp-not-neighbour",
        "icmp-address-unreachable",
        "icmp-port-unreachable",
        "tcp-reset",
        "icmp-err-src-routing-header",
        "icmp-headers-too-long",
    },
}
STATES = {"established", "related", "new", "invalid", "untracked"}
PROTOCOLS = {"tcp", "udp", "icmp", "icmpv6", "gre", "ipsec-esp", "ipsec-ah", "ipv6-encap"}
RULE_KEYS = {
    "chain",
    "action",
    "comment",
    "jump-target",
    "reject-with",
    "new-dscp",
    "passthrough",
    "place-before",
    "connection-state",
    "connection-nat-state",
    "in-interface",
    "out-interface",
    "in-interface-list",
    "out-interface-list",
    "src-address-list",
    "dst-address-list",
    "src-address",
    "dst-address",
    "protocol",
    "dst-port",
    "hw-offload",
    "ipsec-policy",
    "disabled",
}
BUILTIN_LISTS = {"all", "none", "dynamic", "static"}
TABLES = [
    f"/{f} firewall {t}" for f in ("ip", "ipv6") for t in ("filter", "mangle", "address-list")
]
MENUS = [*TABLES, "/interface list", "/interface list member"]

LEN = re.compile(r'\[:len \[(/[a-z0-9 -]+?) find where (name|comment)="([^"]*)"\]\] (=|>) 0')
CMD = re.compile(r"(/[a-z0-9 -]+?) (add|remove) (.*)")
PAIR = re.compile(
    r'([a-z][a-z0-9-]*)=("[^"]*"|\[:pick \[(/[a-z0-9 -]+?) find where dynamic=no\] 0\]|[^\s"\[]+)'
    r"(?: |$)"
)
FIND = re.compile(r'\[find where comment~"([^"]*)"(?: && !\(comment~"([^"]*)"\))?\]')


class RosError(Exception):
    """What RouterOS prints for a failing command (the statement, and a script, end here)."""


@dataclass
class Statement:
    index: int  #: place among the script's simple statements, for failure injection
    text: str


@dataclass
class TopLevel:
    """One top-level line of a paste: a command, or an :if with its (one- or multi-line) block."""

    head: Statement
    cond: list[str] = field(default_factory=list)
    body: list[Statement] = field(default_factory=list)
    is_if: bool = False


def parse(script: str) -> list[TopLevel]:
    out: list[TopLevel] = []
    n = 0
    block: TopLevel | None = None
    for raw in script.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if block is not None:
            if line == "}":
                out.append(block)
                block = None
                continue
            block.body.append(Statement(n, line))
            n += 1
            continue
        m = re.fullmatch(r":if \((.*)\) do=\{(.*)", line)
        if m:
            top = TopLevel(Statement(n, line), m.group(1).split(" && "), is_if=True)
            n += 1
            rest = m.group(2)
            if rest:
                assert rest.endswith("}"), line
                top.body.append(Statement(n, rest[:-1]))
                n += 1
                out.append(top)
            else:
                block = top
            continue
        out.append(TopLevel(Statement(n, line)))
        n += 1
    assert block is None, "unclosed block"
    return out


def count(script: str) -> int:
    return sum(1 + len(t.body) for t in parse(script))


class Device(Packets):
    """A RouterOS device's configuration: interfaces and the menus a script may change."""

    def __init__(self, interfaces: set[str]) -> None:
        self.interfaces = set(interfaces)
        self.menus: dict[str, list[dict[str, str]]] = {m: [] for m in MENUS}
        self.ids = 0

    def copy(self) -> Device:
        return copy.deepcopy(self)

    # -- running a script ------------------------------------------------------------
    def run(
        self,
        script: str,
        mode: str = "import",
        fail_at: int | None = None,
        boundary: Callable[[Device], None] | None = None,
    ) -> list[str]:
        """Run the script as ``/import`` (stops at the first error) or as a terminal paste
        (each top-level statement alone); ``fail_at`` makes that statement fail. The errors."""
        errors: list[str] = []
        for top in parse(script):
            try:
                self._top(top, fail_at, boundary)
            except RosError as e:
                errors.append(str(e))
                if mode == "import":
                    break
            if boundary:
                boundary(self)
        return errors

    def _top(self, top: TopLevel, fail_at: int | None, boundary) -> None:
        if top.head.index == fail_at:
            raise RosError(f"injected failure: {top.head.text}")
        if not top.is_if:
            self.command(top.head.text)
            return
        if not all(self._cond(c) for c in top.cond):
            return
        for st in top.body:
            if st.index == fail_at:
                raise RosError(f"injected failure: {st.text}")
            self.command(st.text)
            if boundary:
                boundary(self)

    def _cond(self, text: str) -> bool:
        m = LEN.fullmatch(text[1:-1] if text.startswith("(") else text)
        assert m, f"unknown condition {text!r}"
        menu, key, value, op = m.groups()
        if menu == "/interface":
            n = int(value in self.interfaces) if key == "name" else 0
        else:
            n = sum(1 for i in self.menus[menu] if i.get(key) == value)
        return n == 0 if op == "=" else n > 0

    def command(self, text: str) -> None:
        if text.startswith(":error "):
            raise RosError(text[7:].strip('"'))
        m = CMD.fullmatch(text)
        assert m, f"unknown command {text!r}"
        menu, verb, rest = m.groups()
        assert menu in self.menus, f"unknown menu {menu}"
        if verb == "remove":
            f = FIND.fullmatch(rest)
            assert f, rest
            keep, drop = f.group(2), f.group(1)
            self.menus[menu] = [
                i
                for i in self.menus[menu]
                if not (
                    re.search(drop, i.get("comment", ""))
                    and not (keep and re.search(keep, i.get("comment", "")))
                )
            ]
            return
        item: dict[str, str] = {}
        place = None
        while rest:
            p = PAIR.match(rest)
            if not p:
                raise AssertionError(f"not key=value: {rest!r}")
            key, value = p.group(1), p.group(2)
            assert key not in item, f"{key} twice"
            if key == "place-before":
                assert p.group(3) == menu, "place-before must name an item of its own menu"
                statics = [i for i in self.menus[menu] if not i.get("dynamic")]
                if not statics:
                    raise RosError("no such item (place-before on an empty list)")
                place = statics[0][".id"]
            else:
                item[key] = value.strip('"')
            rest = rest[p.end() :]
        self._validate(menu, item)
        self.ids += 1
        item[".id"] = f"*{self.ids:X}"
        items = self.menus[menu]
        at = next(n for n, i in enumerate(items) if i[".id"] == place) if place else len(items)
        items.insert(at, item)

    def _validate(self, menu: str, item: dict[str, str]) -> None:
        lists = {i["name"] for i in self.menus["/interface list"]} | BUILTIN_LISTS
        if menu == "/interface list":
            if item["name"] in lists:
                raise RosError("failure: entry already exists")
            return
        if menu == "/interface list member":
            if item["list"] not in lists:
                raise RosError("input does not match any value of list")
            if item["interface"] not in self.interfaces:
                raise RosError("input does not match any value of interface")
            return
        family = 6 if menu.startswith("/ipv6") else 4
        if menu.endswith("address-list"):
            ipaddress.ip_network(item["address"].split("-")[0], strict=False)
            return
        unknown = set(item) - RULE_KEYS
        assert not unknown, f"keys RouterOS does not have here: {unknown}"
        action = item.get("action", "accept")
        if action not in (FILTER_ACTIONS if menu.endswith("filter") else MANGLE_ACTIONS):
            raise RosError(f"input does not match any value of action: {action}")
        if (action == "jump") != ("jump-target" in item):
            raise RosError("jump needs jump-target")
        if "reject-with" in item and item["reject-with"] not in REJECT_WITH[family]:
            raise RosError(f"input does not match any value of reject-with: {item['reject-with']}")
        if item.get("reject-with") == "tcp-reset" and item.get("protocol") != "tcp":
            raise RosError("tcp-reset needs protocol=tcp")
        if "connection-state" in item:
            assert set(item["connection-state"].lstrip("!").split(",")) <= STATES
        if "protocol" in item and item["protocol"] not in PROTOCOLS:
            raise RosError("input does not match any value of protocol")
        if "dst-port" in item and item.get("protocol") not in ("tcp", "udp"):
            raise RosError("dst-port needs protocol tcp or udp")
        if "new-dscp" in item:
            assert 0 <= int(item["new-dscp"]) <= 63
        for key in ("in-interface", "out-interface"):
            if key in item and item[key].lstrip("!") not in self.interfaces:
                raise RosError("input does not match any value of interface")
        for key in ("in-interface-list", "out-interface-list"):
            if key in item and item[key].lstrip("!") not in lists:
                raise RosError("input does not match any value of interface-list")
