"""Cisco IOS: a model router that takes configuration statements one at a time.

Written from Cisco's documentation, not from the renderer:

- NAT order of operation (Cisco tech note 6209, "NAT Order of Operation"; Cisco Press
  ch. 12 table 12-1): inside -> outside is *input access list, routing, NAT
  inside-to-outside, output access list, inspection*. So the LAN interface's inbound
  list sees the real source, and the firewall on the uplink sees the translated one:
  this model applies PAT on the internet uplink before the zone-pair's class-maps.
- Zone-Based Policy Firewall (IOS XE configuration guide "Zone-Based Policy Firewalls",
  sec-zone-pol-fw.html; design guide 98628): traffic between interfaces of the same
  zone passes; between a zone member and a non-member it is dropped; between two
  zones it needs a zone-pair, and "if a policy is not configured between a pair of
  zones, traffic is dropped by default"; classes are tried in order, ``inspect``
  passes and keeps a session whose return traffic passes, ``drop`` drops, and
  ``class-default`` drops unless told otherwise. Traffic to the router (self zone)
  is not modelled.
- Access lists ("IP Access List Overview"): first matching entry wins, implicit deny;
  an ``ip access-group`` naming a list that does not exist permits everything; a new
  ``ip access-group`` in the same direction replaces the old.
- MQC (Cisco "Comparing the bandwidth and priority Commands", doc 10100; "Understanding
  max-reserved-bandwidth", doc 10466): ``bandwidth percent`` and ``priority percent``
  together may reserve at most ``max-reserved-bandwidth`` (75 % unless set); a
  ``shape average`` parent with a child ``service-policy`` queues below the line rate.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

DSCP = (
    {"default": 0, "ef": 46}
    | {f"cs{i}": 8 * i for i in range(1, 8)}
    | {f"af{c}{d}": 8 * c + 2 * d for c in range(1, 5) for d in range(1, 4)}
)
PAT_ADDRESS = int(ipaddress.ip_address("203.0.113.1"))  #: the internet uplink's address
SPORT = 40000  #: the LAN host's ephemeral port
Ranges = list[tuple[int, int]]


def _ip(text: str) -> int:
    return int(ipaddress.ip_address(text))


class Ace:
    """One access-list entry: [permit|deny] proto src [eq P] dst [eq P|range A B] [icmp type]."""

    def __init__(self, tok: list[str], family: int) -> None:
        self.text = " ".join(tok)
        self.permit = tok[0] == "permit"
        self.proto = tok[1]
        top = (1 << (32 if family == 4 else 128)) - 1
        i = 2
        self.src, i = self._addr(tok, i, family, top)
        self.sport, i = self._ports(tok, i)
        self.dst, i = self._addr(tok, i, family, top)
        self.dport, i = self._ports(tok, i)
        self.icmp = tok[i] if self.proto == "icmp" and i < len(tok) else None
        i += self.icmp is not None
        assert i == len(tok), f"unread words in {self.text!r}"

    @staticmethod
    def _addr(tok: list[str], i: int, family: int, top: int) -> tuple[tuple[int, int], int]:
        if tok[i] == "any":
            return (0, top), i + 1
        if tok[i] == "host":
            return (_ip(tok[i + 1]),) * 2, i + 2
        if family == 6:
            net = ipaddress.ip_network(tok[i])
            return (int(net.network_address), int(net.broadcast_address)), i + 1
        base, wild = _ip(tok[i]), _ip(tok[i + 1])
        assert wild & (wild + 1) == 0, f"non-contiguous wildcard {tok[i + 1]}"
        assert base & wild == 0, f"host bits set in {tok[i]} {tok[i + 1]}"
        return (base, base | wild), i + 2

    @staticmethod
    def _ports(tok: list[str], i: int) -> tuple[tuple[int, int] | None, int]:
        if i < len(tok) and tok[i] == "eq":
            return (int(tok[i + 1]),) * 2, i + 2
        if i < len(tok) and tok[i] == "range":
            assert int(tok[i + 1]) <= int(tok[i + 2])
            return (int(tok[i + 1]), int(tok[i + 2])), i + 3
        return None, i

    def matches(self, p: Packet) -> bool:
        if self.proto not in ("ip", "ipv6") and self.proto != p.proto:
            return False
        if self.icmp is not None:
            return False  # neighbour discovery and the like: never a tcp/udp flow
        inside = lambda r, v: r is None or (v is not None and r[0] <= v <= r[1])  # noqa: E731
        return (
            self.src[0] <= p.src <= self.src[1]
            and self.dst[0] <= p.dst <= self.dst[1]
            and inside(self.sport, p.sport)
            and inside(self.dport, p.dport)
        )


@dataclass(frozen=True)
class Packet:
    family: int
    proto: str
    src: int
    dst: int
    dport: int | None
    sport: int | None = SPORT
    dscp: int = 0


@dataclass
class Interface:
    acl_in: dict[int, str] = field(default_factory=dict)  #: family -> list name
    zone: str | None = None
    policy: dict[str, str] = field(default_factory=dict)  #: input/output -> policy-map
    reserved: int = 75


@dataclass
class Router:
    """The configuration as IOS holds it, changed one statement at a time."""

    acls: dict[str, tuple[int, list[Ace]]] = field(default_factory=dict)
    class_maps: dict[str, tuple[str, list[list[str]]]] = field(default_factory=dict)
    policy_maps: dict[str, list[tuple[str, list[list[str]]]]] = field(default_factory=dict)
    interfaces: dict[str, Interface] = field(default_factory=dict)
    zones: set[str] = field(default_factory=set)
    zone_pairs: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)
    nat_outside: str = ""  #: the interface whose traffic is PAT'd (the internet uplink)
    #: connected routes (interface addresses are the site's, not in our text): name -> ranges
    connected: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)
    sessions: set[tuple] = field(default_factory=set)
    _ctx: tuple = ()

    # -- configuration ---------------------------------------------------------------------
    def paste(self, text: str, after=None) -> None:
        """Apply every line; ``after(router, line)`` runs after each statement."""
        for line in text.splitlines():
            self.apply(line)
            if after is not None:
                after(self, line)

    def apply(self, line: str) -> None:
        if not line.strip() or line.lstrip().startswith("!") or line == "end":
            return
        tok = line.split()
        if line.startswith("  "):  # policy-map class actions
            kind, name, cls = self._ctx
            self.policy_maps[name][-1][1].append(tok)
        elif line.startswith(" "):
            self._sub(tok)
        else:
            self._global(tok)

    def _global(self, tok: list[str]) -> None:
        if tok[0] == "no":
            self._remove(tok[1:])
            self._ctx = ("none", "", "")
        elif tok[:3] == ["ip", "access-list", "extended"] or tok[:2] == ["ipv6", "access-list"]:
            family = 4 if tok[0] == "ip" else 6
            self.acls.setdefault(tok[-1], (family, []))  # IOS appends to an existing list
            self._ctx = ("acl", tok[-1], "")
        elif tok[0] == "class-map":
            self.class_maps.setdefault(tok[-1], (tok[-2], []))  # likewise
            self._ctx = ("class-map", tok[-1], "")
        elif tok[0] == "policy-map":
            self.policy_maps.setdefault(tok[-1], [])
            self._ctx = ("policy-map", tok[-1], "")
        elif tok[0] == "interface":
            self.interfaces.setdefault(tok[1], Interface())
            self._ctx = ("interface", tok[1], "")
        elif tok[:2] == ["zone", "security"]:
            self.zones.add(tok[2])
            self._ctx = ("zone", tok[2], "")
        elif tok[:2] == ["zone-pair", "security"]:
            assert tok[4] in self.zones and tok[6] in self.zones, "zone-pair before its zones"
            old = self.zone_pairs.get(tok[2])
            self.zone_pairs[tok[2]] = (tok[4], tok[6], old[2] if old else None)
            self._ctx = ("zone-pair", tok[2], "")
        else:
            raise AssertionError(f"statement this model does not know: {' '.join(tok)}")

    def _remove(self, tok: list[str]) -> None:
        name = tok[-1]
        if tok[0] in ("ip", "ipv6"):
            self.acls.pop(name, None)
        elif tok[0] == "class-map":
            self.class_maps.pop(name, None)
        elif tok[0] == "policy-map":
            users = [i for i in self.interfaces.values() if name in i.policy.values()]
            users += [z for z in self.zone_pairs.values() if z[2] == name]
            parents = [p for p, cs in self.policy_maps.items() for _, a in cs if name in a]
            assert not users and not parents, f"IOS refuses to remove {name}: in use"
            self.policy_maps.pop(name, None)
        else:
            raise AssertionError(f"removal this model does not know: {' '.join(tok)}")

    def _sub(self, tok: list[str]) -> None:
        kind, name, _ = self._ctx
        if kind == "acl":
            if tok[0] != "remark":
                self.acls[name][1].append(Ace(tok, self.acls[name][0]))
        elif kind == "class-map":
            self.class_maps[name][1].append(tok)
        elif kind == "policy-map":
            cls = tok[-1]
            self.policy_maps[name].append((cls, []))
            self._ctx = (kind, name, cls)
        elif kind == "interface":
            self._interface(self.interfaces[name], tok)
        elif kind == "zone-pair":
            src, dst, old = self.zone_pairs[name]
            if tok[0] == "no":
                self.zone_pairs[name] = (src, dst, None if old == tok[-1] else old)
            else:
                assert old is None, "IOS: the zone-pair already has a policy"
                assert tok[-1] in self.policy_maps, f"no policy-map {tok[-1]}"
                self.zone_pairs[name] = (src, dst, tok[-1])
        else:
            raise AssertionError(f"line outside a block: {' '.join(tok)}")

    def _interface(self, i: Interface, tok: list[str]) -> None:
        if tok[:2] in (["ip", "access-group"], ["ipv6", "traffic-filter"]):
            assert tok[-1] == "in"
            i.acl_in[4 if tok[0] == "ip" else 6] = tok[2]  # replaces the old one
        elif tok[:2] == ["zone-member", "security"]:
            assert tok[2] in self.zones and i.zone in (None, tok[2]), "one zone per interface"
            i.zone = tok[2]
        elif tok[0] == "max-reserved-bandwidth":
            i.reserved = int(tok[1])
        elif tok[:2] == ["no", "service-policy"]:
            if i.policy.get(tok[2]) == tok[3]:
                del i.policy[tok[2]]
        elif tok[0] == "service-policy":
            assert tok[1] not in i.policy, "IOS: a policy is already attached in this direction"
            assert tok[2] in self.policy_maps, f"no policy-map {tok[2]}"
            self._admit(i, tok[2])
            i.policy[tok[1]] = tok[2]
        else:
            raise AssertionError(f"interface statement this model does not know: {tok}")

    def _admit(self, i: Interface, name: str) -> None:
        """IOS refuses a queueing policy whose shares exceed max-reserved-bandwidth."""
        for _, actions in self.policy_maps[name]:
            for a in actions:
                if a[0] == "service-policy":
                    self._admit(i, a[1])
        total = sum(
            int(a[2]) for _, acts in self.policy_maps[name] for a in acts if a[1:2] == ["percent"]
        )
        assert total <= i.reserved, f"{name}: {total} % reserved, {i.reserved} % allowed"

    # -- forwarding ------------------------------------------------------------------------
    def acl_permits(self, name: str | None, p: Packet) -> bool:
        if name is None or name not in self.acls:
            return True  # no list, or a list that does not exist: everything passes
        family, aces = self.acls[name]
        if family != p.family:
            return False
        for ace in aces:
            if ace.matches(p):
                return ace.permit
        return False

    def _class_matches(self, name: str, p: Packet) -> bool:
        if name not in self.class_maps:
            return False
        kind, matches = self.class_maps[name]
        hits = []
        for tok in matches:
            if tok[:3] == ["match", "access-group", "name"]:
                family = self.acls.get(tok[3], (0, []))[0]
                hits.append(family == p.family and self.acl_permits(tok[3], p))
            elif tok[:2] == ["match", "dscp"]:
                hits.append(p.dscp in [DSCP[t] if t in DSCP else int(t) for t in tok[2:]])
            else:
                raise AssertionError(f"unknown match {tok}")
        return any(hits) if kind == "match-any" else all(hits)

    def forward(self, p: Packet, lan: str, uplink: str) -> Packet | None:
        """LAN -> uplink: the packet as it leaves (translated, marked), or None if dropped."""
        i = self.interfaces.get(lan, Interface())
        if not self.acl_permits(i.acl_in.get(p.family), p):
            return None
        p = Packet(p.family, p.proto, p.src, p.dst, p.dport, p.sport, self._mark(i, p))
        # routing: a connected prefix wins over the uplink the flow asks for
        uplink = next(
            (n for n, nets in self.connected.items() for f, lo, hi in nets
             if f == p.family and lo <= p.dst <= hi),
            uplink,
        )  # fmt: skip
        if uplink == self.nat_outside and p.family == 4:
            p = Packet(4, p.proto, PAT_ADDRESS, p.dst, p.dport, p.sport, p.dscp)
        action = self._zbf(i.zone, self.interfaces.get(uplink, Interface()).zone, p)
        if action == "inspect":
            self.sessions.add((p.family, p.proto, p.dst, p.dport, p.src, p.sport))
        return p if action in ("inspect", "pass") else None

    def inbound(self, p: Packet, uplink: str, lan: str) -> bool:
        """Uplink -> LAN: passes only as the reply of a session, or by a zone-pair."""
        if (p.family, p.proto, p.src, p.sport, p.dst, p.dport) in self.sessions:
            return True
        up = self.interfaces.get(uplink, Interface()).zone
        return self._zbf(up, self.interfaces.get(lan, Interface()).zone, p) == "pass"

    def _zbf(self, src: str | None, dst: str | None, p: Packet) -> str:
        if src is None and dst is None or src == dst:
            return "pass"
        if src is None or dst is None:
            return "drop"
        pair = next((z for z in self.zone_pairs.values() if z[:2] == (src, dst)), None)
        if pair is None or pair[2] is None:
            return "drop"
        for cls, actions in self.policy_maps[pair[2]]:
            if cls == "class-default" or self._class_matches(cls, p):
                return actions[0][0] if actions else "drop"
        return "drop"  # class-default drops when it is not written

    def _mark(self, i: Interface, p: Packet) -> int:
        for cls, actions in self.policy_maps.get(i.policy.get("input", ""), []):
            if cls == "class-default" or self._class_matches(cls, p):
                sets = [a for a in actions if a[:2] == ["set", "dscp"]]
                return DSCP[sets[0][2]] if sets else p.dscp
        return p.dscp  # no marking policy: the host's own DSCP stays

    def queue(self, uplink: str, dscp: int) -> tuple[str, int, int] | None:
        """(priority|bandwidth, percent, shaper bit/s) for a DSCP leaving by the uplink."""
        name, rate = self.interfaces[uplink].policy.get("output"), 0
        for cls, actions in self.policy_maps.get(name or "", []):
            child = [a[1] for a in actions if a[0] == "service-policy"]
            shape = [int(a[2]) for a in actions if a[:2] == ["shape", "average"]]
            if cls == "class-default" and child:
                name, rate = child[0], shape[0] if shape else 0
        p = Packet(4, "tcp", 0, 0, 0, dscp=dscp)
        for cls, actions in self.policy_maps.get(name or "", []):
            if cls != "class-default" and self._class_matches(cls, p):
                a = actions[0]
                return (a[0], int(a[2]) if len(a) > 2 else 0, rate)
        return None
