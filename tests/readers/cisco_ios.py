"""Cisco IOS: what a router makes of the text (the parts the cisco-ios target uses).

The configuration is parsed with ciscoconfparse2 (not the renderer) into
object groups, access lists, class-maps, policy-maps and interfaces; the
evaluator follows IOS semantics: first matching entry wins, implicit deny at
the end, object groups expanded, a missing list permits. An IOS ``deny``
cannot say whether it rejects or drops. For QoS it follows the LAN
interface's input policy-map (class-map -> access list -> ``set dscp``) and
the uplink's output policy-map (``match dscp`` -> priority / bandwidth).
"""

from __future__ import annotations

import ipaddress

from ciscoconfparse2 import CiscoConfParse

DSCP = (
    {"default": 0, "ef": 46}
    | {f"cs{i}": 8 * i for i in range(1, 8)}
    | {f"af{c}{d}": 8 * c + 2 * d for c in range(1, 5) for d in range(1, 4)}
)
PORT_OPS = ("eq", "range", "lt", "gt", "neq")


def _dscp(token: str) -> int:
    return int(token) if token.isdigit() else DSCP[token]


Ranges = list[tuple[int, int]]


def _ip(text: str) -> int:
    return int(ipaddress.ip_address(text))


def _net(text: str) -> Ranges:
    net = ipaddress.ip_network(text)
    return [(int(net.network_address), int(net.broadcast_address))]


class Ace:
    """One access-list entry, read into integer ranges once."""

    def __init__(self, tok: list[str], family: int, groups: dict[str, list[list[str]]]) -> None:
        self.text = " ".join(tok)
        self.permit = tok[0] == "permit"
        self.icmp = None
        self.protos: dict[str, Ranges | None] = {}  #: protocol -> destination ports (None: any)
        i = 1
        if tok[1] == "object-group":  # a service group: protocols and ports come from it
            for e in groups[tok[2]]:
                ports, _ = _ports(e, 1)
                for proto in ("tcp", "udp") if e[0] == "tcp-udp" else (e[0],):
                    self.protos[proto] = (self.protos.get(proto) or []) + (ports or [(0, 65535)])
            i, with_ports = 3, False
        else:
            self.protos[tok[1]] = None
            i, with_ports = 2, tok[1] in ("tcp", "udp")
        self.src, i = _addr(tok, i, family, groups)
        self.sport, i = _ports(tok, i) if with_ports else (None, i)
        self.dst, i = _addr(tok, i, family, groups)
        if with_ports:
            self.protos[tok[1]], i = _ports(tok, i)
        if tok[1] == "icmp" and i < len(tok):
            self.icmp, i = tok[i], i + 1  # an ICMP type (nd-na, nd-ns): never a tcp/udp flow
        assert i == len(tok), f"unread words in {self.text!r}"

    def matches(self, proto: str, src: int, dst: int, port: int | None) -> bool:
        if "ip" in self.protos or "ipv6" in self.protos:
            ports = None
        elif proto in self.protos:
            ports = self.protos[proto]
        else:
            return False
        if self.sport is not None:
            return False  # the flows carry no source port; such entries are not ours anyway
        return (
            any(lo <= src <= hi for lo, hi in self.src)
            and any(lo <= dst <= hi for lo, hi in self.dst)
            and (ports is None or (port is not None and any(lo <= port <= hi for lo, hi in ports)))
        )


def _addr(
    tok: list[str], i: int, family: int, groups: dict[str, list[list[str]]]
) -> tuple[Ranges, int]:
    if tok[i] == "any":
        return [(0, (1 << (32 if family == 4 else 128)) - 1)], i + 1
    if tok[i] == "host":
        return [(_ip(tok[i + 1]),) * 2], i + 2
    if tok[i] == "object-group":
        out: Ranges = []
        for e in groups[tok[i + 1]]:
            if e[0] == "host":
                out.append((_ip(e[1]),) * 2)
            elif e[0] == "range":
                out.append((_ip(e[1]), _ip(e[2])))
            elif e[0] == "any":
                out.append((0, (1 << 32) - 1))
            else:
                out += _net(f"{e[0]}/{e[1]}")  # a subnet with its netmask
        return out, i + 2
    if family == 6:
        return _net(tok[i]), i + 1
    base, wild = _ip(tok[i]), _ip(tok[i + 1])  # a wildcard mask; ours are contiguous
    assert wild & (wild + 1) == 0, f"non-contiguous wildcard {tok[i + 1]}"
    return [(base & ~wild, base | wild)], i + 2


def _ports(tok: list[str], i: int) -> tuple[Ranges | None, int]:
    if i >= len(tok) or tok[i] not in PORT_OPS:
        return None, i
    op = tok[i]
    if op == "range":
        return [(int(tok[i + 1]), int(tok[i + 2]))], i + 3
    j = i + 1
    values = []
    while j < len(tok) and tok[j].isdigit():
        values.append(int(tok[j]))
        j += 1
    v = values[0]
    return {
        "eq": [(p, p) for p in values],
        "lt": [(0, v - 1)],
        "gt": [(v + 1, 65535)],
        "neq": [(0, v - 1), (v + 1, 65535)],
    }[op], j


class Ios:
    """What an IOS router would make of the text (the parts this target uses)."""

    def __init__(self, text: str) -> None:
        parse = CiscoConfParse(text.splitlines(), syntax="ios")
        body = lambda o: [c.text.strip() for c in o.children]  # noqa: E731
        groups = {
            o.text.split()[2]: [
                line.split() for line in body(o) if not line.startswith("description")
            ]
            for o in parse.find_objects(r"^object-group (network|service) ")
        }
        self.acls: dict[str, tuple[int, list[Ace]]] = {}
        for o in parse.find_objects(r"^(ip access-list extended|ipv6 access-list) "):
            family = 6 if o.text.startswith("ipv6") else 4
            aces = [line.split() for line in body(o) if not line.startswith("remark")]
            aces = [a[2:] if a[0] == "sequence" else a for a in aces]
            self.acls[o.text.split()[-1]] = (family, [Ace(a, family, groups) for a in aces])
        self.class_maps = {
            o.text.split()[-1]: (o.text.split()[1], body(o))
            for o in parse.find_objects(r"^class-map ")
        }
        self.policy_maps = {
            o.text.split()[1]: [
                (c.text.split()[1], [g.text.split() for g in c.children]) for c in o.children
            ]
            for o in parse.find_objects(r"^policy-map ")
        }
        self.interfaces = {
            o.text.split(None, 1)[1]: body(o) for o in parse.find_objects(r"^interface ")
        }

    def acl_permits(
        self, name: str, family: int, proto: str, src: int, dst: int, port: int | None
    ) -> bool:
        acl_family, aces = self.acls[name]
        if acl_family != family:
            return False  # an IPv4 list never sees IPv6 packets, and the reverse
        for ace in aces:
            if ace.matches(proto, src, dst, port):
                return ace.permit
        return False  # the implicit deny (IPv6's implicit ND permits do not concern tcp/udp)

    def egress_permits(
        self, interface: str, family: int, proto: str, src: int, dst: int, port: int | None
    ) -> bool:
        word = "ip access-group" if family == 4 else "ipv6 traffic-filter"
        names = [
            line.split()[-2]
            for line in self.interfaces.get(interface, [])
            if line.startswith(word) and line.endswith(" out")
        ]
        assert len(names) <= 1
        return not names or self.acl_permits(names[0], family, proto, src, dst, port)

    def _class_matches(
        self, name: str, family: int, proto: str, dst: int, port: int | None, dscp: int | None
    ) -> bool:
        kind, matches = self.class_maps[name]
        hits = []
        for m in matches:
            tok = m.split()
            if tok[:3] == ["match", "access-group", "name"]:
                hits.append(self.acl_permits(tok[3], family, proto, 0, dst, port))
            elif tok[:2] == ["match", "dscp"]:
                hits.append(dscp is not None and dscp in [_dscp(t) for t in tok[2:]])
            else:
                raise AssertionError(f"unknown match {m!r}")
        return any(hits) if kind == "match-any" else all(hits)

    def service_policy(self, interface: str, direction: str) -> list:
        names = [
            line.split()[-1]
            for line in self.interfaces.get(interface, [])
            if line.startswith(f"service-policy {direction} ")
        ]
        return self.policy_maps[names[0]] if names else []

    def marked_dscp(
        self, lan: str, family: int, proto: str, dst: int, port: int | None
    ) -> int | None:
        for cls, actions in self.service_policy(lan, "input"):
            if cls != "class-default" and self._class_matches(cls, family, proto, dst, port, None):
                sets = [a for a in actions if a[:2] == ["set", "dscp"]]
                return _dscp(sets[0][2]) if sets else None
        return None

    def queue(self, uplink: str, dscp: int) -> tuple[str, int] | None:
        for cls, actions in self.service_policy(uplink, "output"):
            if cls != "class-default" and self._class_matches(cls, 4, "", 0, None, dscp):
                a = actions[0]
                return (a[0], int(a[2])) if a[0] in ("priority", "bandwidth") else None
        return None
