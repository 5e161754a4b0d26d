"""Windows PowerShell: command lines as PowerShell tokenizes them, and the PC they set up.

The reader knows the Windows Firewall and policy-based QoS, not the renderer:
it tokenizes each command line as PowerShell does (single-quoted strings with
doubled quotes, comma arrays, ``-Param`` names), then evaluates an outbound
flow the way Windows does: any matching Block rule blocks, else any matching
Allow rule allows, else the profile's default outbound action (Allow unless
the script sets Block). QoS: the DSCP of the matching ``New-NetQosPolicy``.
"""

from __future__ import annotations

import ipaddress
import re

Q = "'\u2018\u2019\u201a\u201b"  # PowerShell's single-quote characters
TOKEN = re.compile(
    rf"\s*(?:(?P<q>[{Q}](?:[^{Q}\r\n]|[{Q}]{{2}})*[{Q}])|(?P<sep>[,|])|(?P<word>[^\s,|{Q}]+))"
)


def tokens(line: str) -> list[tuple[str, str]]:
    """(kind, text) pairs; a quoted string comes back unquoted. Fails on anything else."""
    out, pos = [], 0
    while pos < len(line.rstrip()):
        m = TOKEN.match(line, pos)
        assert m and m.end() > pos, f"cannot read {line[pos:]!r}"
        kind = m.lastgroup
        text = m.group(kind)
        if kind == "q":
            text = re.sub(rf"[{Q}]([{Q}])", r"\1", text[1:-1])
        out.append((kind, text))
        pos = m.end()
    return out


def command(line: str) -> tuple[str, dict[str, list[str] | bool], list[str]]:
    """A command line: its name, -Param values (a comma list, or True for a switch; positional
    arguments under "_"), and the words of the pipeline after it."""
    toks = tokens(line)
    assert toks[0][0] == "word"
    params: dict[str, list[str] | bool] = {}
    i = 1
    while i < len(toks):
        kind, text = toks[i]
        if (kind, text) == ("sep", "|"):
            return toks[0][1], params, [t for k, t in toks[i + 1 :]]
        key = "_"
        if kind == "word" and text.startswith("-"):
            key, i = text[1:], i + 1
        values: list[str] = []
        while (
            i < len(toks)
            and not (toks[i][0] == "word" and toks[i][1].startswith("-"))
            and toks[i][1] != "|"
        ):
            assert toks[i][0] in ("q", "word"), line
            values.append(toks[i][1])
            i += 1
            if i < len(toks) and toks[i] == ("sep", ","):
                i += 1
            elif key != "_":
                break
        assert key not in params, line
        params[key] = values or True
    return toks[0][1], params, []


def _addr_in(entry: str, family: int, ip: int) -> bool:
    if entry.lower() == "any":
        return True
    if "-" in entry:
        a, b = (ipaddress.ip_address(x) for x in entry.split("-"))
        return a.version == family and int(a) <= ip <= int(b)
    net = ipaddress.ip_network(entry, strict=False)
    return net.version == family and int(net.network_address) <= ip <= int(net.broadcast_address)


def _port_in(entry: str, port: int) -> bool:
    lo, _, hi = entry.partition("-")
    return int(lo) <= port <= int(hi or lo)


class WindowsHost:
    """A PC after running one script: its outbound firewall and QoS policies."""

    def __init__(self, text: str) -> None:
        self.default_block = False
        self.rules: list[dict] = []
        self.qos: list[dict] = []
        for line in text.splitlines():
            if line.split(" ", 1)[0] not in (
                "Set-NetFirewallProfile",
                "New-NetFirewallRule",
                "New-NetQosPolicy",
            ):
                continue  # comments, the removal of earlier items, the proxy, messages
            name, params, _ = command(line)
            if name == "Set-NetFirewallProfile" and params.get("DefaultOutboundAction") == [
                "Block"
            ]:
                self.default_block = True
            elif name == "New-NetFirewallRule":
                self.rules.append(params)
            elif name == "New-NetQosPolicy":
                self.qos.append(params)

    @staticmethod
    def _fw_match(r: dict, proto: str, family: int, ip: int, port: int) -> bool:
        if r.get("Direction") != ["Outbound"] or r.get("Enabled", ["True"]) != ["True"]:
            return False
        if r.get("Protocol", ["Any"])[0].lower() not in (
            "any",
            proto,
            {"tcp": "6", "udp": "17"}[proto],
        ):
            return False
        if not any(_addr_in(a, family, ip) for a in r.get("RemoteAddress", ["Any"])):
            return False
        return "RemotePort" not in r or any(_port_in(p, port) for p in r["RemotePort"])

    def allows(self, proto: str, family: int, ip: int, port: int) -> bool:
        hits = [r["Action"][0] for r in self.rules if self._fw_match(r, proto, family, ip, port)]
        if "Block" in hits:  # Block rules win over Allow rules, whatever the order
            return False
        return "Allow" in hits or not self.default_block

    def dscp(self, proto: str, family: int, ip: int, port: int) -> set[int]:
        out = set()
        for q in self.qos:
            if not _addr_in(q["IPDstPrefixMatchCondition"][0], family, ip):
                continue
            if q.get("IPProtocolMatchCondition", ["Both"])[0].lower() not in ("both", proto):
                continue
            if "IPDstPortMatchCondition" in q and int(q["IPDstPortMatchCondition"][0]) != port:
                continue
            if "IPDstPortStartMatchCondition" in q and not (
                int(q["IPDstPortStartMatchCondition"][0])
                <= port
                <= int(q["IPDstPortEndMatchCondition"][0])
            ):
                continue
            out.add(int(q["DSCPAction"][0]))
        return out
