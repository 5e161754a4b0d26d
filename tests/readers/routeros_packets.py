"""How a RouterOS device walks a packet through firewall filter and mangle ``forward``.

The packet half of tests/readers/routeros.py (which cites the documentation): chains top
to bottom, ``jump``/``return``, ``accept``/``drop``/``reject`` end the walk, a built-in
chain accepts what no rule ended [ROS-FILTER]; ``change-dscp`` with ``passthrough=no`` ends
the mangle walk; a fast-tracked connection's later packets skip filter and mangle
(MikroTik, FastTrack). There is no NAT and no IPsec in this model.
"""

from __future__ import annotations

import ipaddress


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


class Packets:
    """Mixed into the device: needs ``interfaces`` and ``menus``."""

    interfaces: set[str]
    menus: dict[str, list[dict[str, str]]]

    def _members(self, name: str) -> set[str]:
        if name == "all":
            return set(self.interfaces)
        return {m["interface"] for m in self.menus["/interface list member"] if m["list"] == name}

    def _test(self, key: str, value: str, pkt: dict, pre: str) -> bool:
        if key == "connection-state":
            return pkt["state"] in value.split(",")
        if key == "connection-nat-state":
            return False  # no NAT in this model: the connection has no NAT state
        if key == "ipsec-policy":
            return False  # no IPsec here
        if key in ("in-interface-list", "out-interface-list"):
            return pkt[key.split("-")[0]] in self._members(value)
        if key in ("in-interface", "out-interface"):
            return pkt[key.split("-")[0]] == value
        if key in ("src-address-list", "dst-address-list"):
            entries = self.menus[f"{pre} firewall address-list"]
            return any(
                e["list"] == value and _in(e["address"], pkt[key[:3]], pkt["family"])
                for e in entries
            )
        if key in ("src-address", "dst-address"):
            return _in(value, pkt[key[:3]], pkt["family"])
        if key == "protocol":
            return pkt["proto"] == value
        if key == "dst-port":
            return pkt["proto"] in ("tcp", "udp") and _ports(value, pkt["port"])
        raise AssertionError(f"the interpreter does not know {key}=")

    def _match(self, rule: dict[str, str], pkt: dict, pre: str) -> bool:
        for key, raw in rule.items():
            if key in (
                "chain",
                "action",
                "comment",
                "jump-target",
                "reject-with",
                "new-dscp",
                "passthrough",
                ".id",
                "hw-offload",
            ):
                continue
            if self._test(key, raw.lstrip("!"), pkt, pre) == raw.startswith("!"):
                return False
        return True

    def _walk(self, menu: str, chain: str, pkt: dict, depth: int = 0):
        """(action, rule) that ended the walk, or None at the end of the chain."""
        assert depth < 16, "jump loop"
        pre = menu.split(" firewall")[0]
        for rule in [r for r in self.menus[menu] if r["chain"] == chain]:
            if rule.get("disabled") == "yes" or not self._match(rule, pkt, pre):
                continue
            action = rule.get("action", "accept")
            if action == "jump":
                end = self._walk(menu, rule["jump-target"], pkt, depth + 1)
                if end is not None:
                    return end
            elif action == "return":
                return None
            elif action == "fasttrack-connection":
                pkt["fasttrack"] = True
            elif action == "change-dscp":
                pkt["dscp"] = int(rule["new-dscp"])
                if rule.get("passthrough", "yes") == "no":
                    return ("stop", rule)
            elif action in ("accept", "drop", "reject"):
                return (action, rule)
        return None

    def forward(self, pkt: dict) -> tuple[str, str | None]:
        """The filter's verdict on one packet in ``forward``, and reject-with when rejected."""
        pre = "/ip" if pkt["family"] == 4 else "/ipv6"
        end = self._walk(f"{pre} firewall filter", "forward", pkt)
        if end is None:
            return "accept", None  # a built-in chain accepts what no rule ended
        action, rule = end
        return action, rule.get("reject-with") if action == "reject" else None

    def connection(self, pkt: dict) -> tuple[str, str | None, int]:
        """A new connection's first packet, then a later one: the verdict, reject-with, and
        the DSCP the later packets leave with (FastTrack skips mangle for them)."""
        pre = "/ip" if pkt["family"] == 4 else "/ipv6"
        first = dict(pkt, state="new")
        verdict, how = self.forward(first)
        if verdict != "accept":
            return verdict, how, pkt["dscp"]
        later = dict(pkt, state="established")
        assert self.forward(later)[0] == "accept", "replies of an accepted connection pass"
        if later.get("fasttrack"):  # its later packets take the fast path
            return verdict, how, pkt["dscp"]
        self._walk(f"{pre} firewall mangle", "forward", later)
        return verdict, how, later["dscp"]
