"""A JunOS device forwarding packets between units, from the configuration tree.

With security zones configured it is an SRX in flow mode, in the order of
Juniper's "Processing Overview" / KB16110 (summarised at majornetwork.net,
"Juniper SRX Traffic Processing"): per-packet filter of the ingress unit, then
for a packet of no session (first path) screens, route lookup, zone lookup,
policy lookup, source NAT, session set-up; a packet of a session (fast path, in
either direction) takes the session's NAT and passes; then the per-packet filter
of the egress unit and the shaper. Policies ("Security Policies Overview"):
from-zone/to-zone context, in order, first match; addresses from the address
book attached to the zone; ``then reject`` sends a TCP RST for TCP and ICMP port
unreachable for UDP (Juniper's ``reject`` statement reference); no match:
``default-policy``, deny-all unless set. A unit in no zone drops.

Without zones it is a router in packet mode: input filter of the ingress unit,
then (where the test says the device NATs) the source translated to the egress
unit's address, then the output filter of the egress unit. No state.
"""

from __future__ import annotations

from dataclasses import replace

from readers.junos import Config, Packet, one, prefix


class Device(Config):
    """``addresses``: unit -> {family: its own address} (for interface NAT); ``nat_units``:
    in packet mode, the units whose egress source address is translated (as a CPE would)."""

    def __init__(
        self, text: str, addresses: dict[str, dict[int, int]], nat_units: tuple[str, ...] = ()
    ) -> None:
        super().__init__(text)
        self.addresses = addresses
        self.nat_units = nat_units
        self.sessions: dict[tuple, tuple] = {}  #: wing key -> (translate to, session id)
        self.counters: list[str] = []

    @property
    def flow_mode(self) -> bool:
        return bool(self.get("security", "zones", "security-zone"))

    def zone_of(self, unit: str) -> str | None:
        for zone, node in self.get("security", "zones", "security-zone").items():
            if unit in node.get("interfaces", {}):
                return zone
        return None

    # -- the packet walk -----------------------------------------------------------------------
    def forward(self, p: Packet, ingress: str, egress: str) -> tuple[str, Packet]:
        """(verdict, the packet as it leaves): verdict accept, drop or reject."""
        p = replace(p)
        self.classify(ingress, p)
        verdict, counted = self.filter_unit(ingress, "input", p)
        self.counters += counted
        if verdict != "accept":
            return ("drop" if verdict == "discard" else "reject"), p
        if self.flow_mode:
            verdict = self._flow(p, ingress, egress)
        elif egress in self.nat_units and p.family == 4:  # the NAT in front (stateful itself)
            self.sessions[(p.proto, p.sport)] = (p.src,)
            p.src = self.addresses[egress][4]
        elif ingress in self.nat_units and p.dst == self.addresses[ingress].get(p.family):
            if (p.proto, p.dport) not in self.sessions:
                return "drop", p
            p.dst = self.sessions[(p.proto, p.dport)][0]
        if verdict != "accept":
            return verdict, p
        verdict, counted = self.filter_unit(egress, "output", p)
        self.counters += counted
        if verdict != "accept":
            return ("drop" if verdict == "discard" else "reject"), p
        self.rewrite(egress, p)
        return "accept", p

    def _flow(self, p: Packet, ingress: str, egress: str) -> str:
        key = (p.family, p.proto, p.src, p.sport, p.dst, p.dport)
        if key in self.sessions:  # fast path: the session's translation, no policy
            p.src, p.sport, p.dst, p.dport = self.sessions[key]
            return "accept"
        src_zone, dst_zone = self.zone_of(ingress), self.zone_of(egress)
        if src_zone is None or dst_zone is None:
            return "drop"
        then = self._policy(p, src_zone, dst_zone)
        if then != "permit":
            return "reject" if then == "reject" and p.proto in ("tcp", "udp") else "drop"
        before = (p.src, p.sport, p.dst, p.dport)
        if self._source_nat(p, src_zone, dst_zone):
            p.src = self.addresses[egress][p.family]
        # both wings: the reply comes back to the translated address and is translated back
        self.sessions[key] = (p.src, p.sport, p.dst, p.dport)
        reply = (p.family, p.proto, p.dst, p.dport, p.src, p.sport)
        self.sessions[reply] = (before[2], before[3], before[0], before[1])
        return "accept"

    def _policy(self, p: Packet, src_zone: str, dst_zone: str) -> str:
        policies = self.get(
            "security", "policies", "from-zone", src_zone, "to-zone", dst_zone, "policy"
        )
        for name, pol in policies.items():
            match = pol.get("match", {})
            assert {"source-address", "destination-address", "application"} <= set(match), name
            if (
                self._address(match["source-address"], src_zone, p.family, p.src)
                and self._address(match["destination-address"], dst_zone, p.family, p.dst)
                and self._application(match["application"], p)
            ):
                then = pol.get("then", {})
                action = [a for a in ("permit", "deny", "reject") if a in then]
                assert len(action) == 1, (name, then)
                if "count" in then:
                    self.counters.append(name)
                return action[0]
        default = self.get("security", "policies", "default-policy")
        return "permit" if "permit-all" in default else "deny"

    def _book(self, zone: str) -> dict:
        books = [
            b
            for b in self.get("security", "address-book").values()
            if zone in b.get("attach", {}).get("zone", {})
        ]
        assert len(books) <= 1, f"zone {zone} has several address books"
        return books[0] if books else {}

    def _address(self, names: dict, zone: str, family: int, addr: int) -> bool:
        if "any" in names:
            return True
        book = self._book(zone)
        out = False
        for name in names:
            members = (
                list(book.get("address-set", {}).get(name, {}).get("address", {}))
                if name in book.get("address-set", {})
                else [name]
            )
            for m in members:
                assert m in book.get("address", {}), f"address {m} not in zone {zone}'s book"
                v, lo, hi = prefix(one(book["address"][m]))
                out |= v == family and lo <= addr <= hi
        return out

    def _application(self, names: dict, p: Packet) -> bool:
        if "any" in names:
            return True
        apps = self.get("applications", "application")
        for name in names:
            assert name in apps, f"application {name} is missing"
            app = apps[name]
            lo, _, hi = one(app["destination-port"]).partition("-")
            if one(app["protocol"]) == p.proto and int(lo) <= p.dport <= int(hi or lo):
                return True
        return False

    def _source_nat(self, p: Packet, src_zone: str, dst_zone: str) -> bool:
        for rs in self.get("security", "nat", "source", "rule-set").values():
            if src_zone not in rs.get("from", {}).get("zone", {}):
                continue
            if dst_zone not in rs.get("to", {}).get("zone", {}):
                continue
            for rule in rs.get("rule", {}).values():
                spans = map(prefix, rule.get("match", {}).get("source-address", {}))
                if any(v == p.family and lo <= p.src <= hi for v, lo, hi in spans):
                    assert "interface" in rule["then"]["source-nat"], rule
                    return True
        return False
