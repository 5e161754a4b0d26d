"""Windows PowerShell: an interpreter of the cmdlets a firewall script uses, on a model PC.

It knows Windows, not the renderer. It tokenises a script as PowerShell does
(single-quoted strings with doubled quotes, here-strings, ``-Param`` names,
comma arrays, pipelines, ``try``/``catch``, ``if``) and runs it statement by
statement against a model PC, written from Microsoft's documentation:

- Windows Firewall rule precedence ("Windows Firewall rule processing", and
  learn.microsoft.com .../windows/security/operating-system-security/network-security/
  windows-firewall/rules): an enabled Block rule that matches wins over any
  Allow rule, whatever the order; else a matching Allow rule allows; else the
  profile's default outbound action (NotConfigured = Allow for outbound).
- New-NetFirewallRule (NetSecurity module): -Name must be unique, -Direction
  defaults to Inbound, -RemotePort needs -Protocol TCP or UDP; Enabled defaults
  to True. Get-NetFirewallRule with a -Name/-Group filter that finds nothing is
  an error (ObjectNotFound). Remove/Enable/Disable-NetFirewallRule take rules
  from the pipeline. Set-NetFirewallProfile -DefaultOutboundAction
  Allow|Block|NotConfigured.
- WFP "ALE Re-authorization": a policy change re-authorises existing flows, so
  an established connection that the new policy blocks is torn down. The model
  re-checks every open connection after each statement that changes the firewall.
- New-NetQosPolicy (NetQos): unique -Name, -DSCPAction 0-63, destination prefix,
  protocol TCP/UDP/Both, one port or a Start/End range. Of several matching
  policies the most specific applies (Microsoft "Policy-based QoS": the
  longer prefix, then a port condition, then a protocol condition); two equally
  specific matching policies with different DSCP are reported, not guessed.
- $ErrorActionPreference = 'Stop' turns an error into a terminating one; in a
  try block control passes to its catch; ``throw`` alone rethrows.

A PC starts with Windows' own enabled outbound Allow rules and an established
remote-support connection (hjelp.nhn.no: 91.186.66.22 tcp 443 and 8041, 001:51,
002:88-89). ``fail_at=N`` makes the N-th executed statement throw.
"""

from __future__ import annotations

import copy
import datetime
import ipaddress
import re
from dataclasses import dataclass, field

Q = "'\u2018\u2019\u201a\u201b"  # PowerShell's single-quote characters
TOKEN = re.compile(
    rf"""\s*(?:
    (?P<str>[{Q}](?:[^{Q}]|[{Q}]{{2}})*[{Q}])
  | (?P<op>@\(|@\{{|[(){{}};,|=+&])
  | (?P<var>\$[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z_][A-Za-z0-9_]*)?)
  | (?P<param>-[A-Za-z][A-Za-z0-9]*(?::\$[a-z]+)?)
  | (?P<num>[0-9]+(?![A-Za-z]))
  | (?P<member>\.[A-Za-z][A-Za-z0-9]*)
  | (?P<word>[A-Za-z][A-Za-z0-9_.\-]*)
)""",
    re.X,
)
SWITCHES = {"force", "once"}
PROFILES = ("Domain", "Private", "Public")
TASK_NAME_RE = re.compile(r"[A-Za-z0-9 .\-]+")


class PSError(Exception):
    """A terminating error (or an injected failure)."""


def tokens(line: str) -> list[tuple[str, str]]:
    """(kind, text); a quoted string comes back unquoted. Anything unreadable fails."""
    out, pos, end = [], 0, len(line.rstrip())
    while pos < end:
        m = TOKEN.match(line, pos)
        if not m or m.end() == pos:
            raise SyntaxError(f"cannot read {line[pos:]!r}")
        kind = m.lastgroup
        text = m.group(kind)
        if kind == "str":
            text = re.sub(rf"[{Q}]([{Q}])", r"\1", text[1:-1])
        out.append((kind, text))
        pos = m.end()
    return out


# -- parsing: statements and blocks ----------------------------------------------
@dataclass
class Stmt:
    toks: list[tuple[str, str]]
    line: int


@dataclass
class Try:
    body: list
    catch: list


@dataclass
class If:
    cond: list[tuple[str, str]]
    body: list


def _split(toks: list[tuple[str, str]], sep: str) -> list[list[tuple[str, str]]]:
    """Split at a top-level operator (outside parentheses and braces)."""
    parts, cur, depth = [], [], 0
    for t in toks:
        if t[0] == "op" and t[1] in ("(", "@(", "@{", "{"):
            depth += 1
        elif t[0] == "op" and t[1] in (")", "}"):
            depth -= 1
        if depth == 0 and t == ("op", sep):
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    parts.append(cur)
    return [p for p in parts if p]


def parse(text: str) -> list:
    lines = text.splitlines()
    stack: list[list] = [[]]
    tries: list[Try] = []
    i = 0
    while i < len(lines):
        raw, n = lines[i], i + 1
        i += 1
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line == "try {":
            tries.append(Try([], []))
            stack[-1].append(tries[-1])
            stack.append(tries[-1].body)
            continue
        if line == "} catch {":
            stack.pop()
            stack.append(tries[-1].catch)
            continue
        if line == "}":
            stack.pop()
            tries.pop()
            continue
        if line.endswith("@'"):  # a single-quoted here-string: verbatim up to '@
            body = []
            while lines[i] != "'@":
                body.append(lines[i])
                i += 1
            i += 1
            toks = tokens(line[:-2]) + [("str", "\n".join(body))]
        else:
            toks = tokens(line)
        if toks[0] == ("word", "if"):
            close = _matching(toks, 1)
            assert toks[close + 1] == ("op", "{") and toks[-1] == ("op", "}"), line
            body = [Stmt(p, n) for p in _split(toks[close + 2 : -1], ";")]
            stack[-1].append(If(toks[2:close], body))
            continue
        stack[-1].extend(Stmt(p, n) for p in _split(toks, ";"))
    assert len(stack) == 1, "unbalanced blocks"
    return stack[0]


def _matching(toks, start: int) -> int:
    depth = 0
    for j in range(start, len(toks)):
        if toks[j][0] == "op" and toks[j][1] in ("(", "@(", "@{", "{"):
            depth += 1
        elif toks[j][0] == "op" and toks[j][1] in (")", "}"):
            depth -= 1
            if depth == 0:
                return j
    raise SyntaxError("unbalanced")


# -- the model PC -----------------------------------------------------------------------
def _addr_in(entry: str, family: int, ip: int) -> bool:
    if entry.lower() == "any":
        return True
    if "-" in entry:
        a, b = (ipaddress.ip_address(x) for x in entry.split("-"))
        assert a.version == b.version and int(a) <= int(b), entry
        return a.version == family and int(a) <= ip <= int(b)
    net = ipaddress.ip_network(entry, strict=False)
    return net.version == family and int(net.network_address) <= ip <= int(net.broadcast_address)


def _port_in(entry: str, port: int) -> bool:
    lo, _, hi = entry.partition("-")
    assert 0 <= int(lo) <= int(hi or lo) <= 65535, entry
    return int(lo) <= port <= int(hi or lo)


@dataclass
class Conn:
    proto: str
    family: int
    ip: int
    port: int
    cut_at: int | None = None  #: the statement after which ALE re-authorisation tore it down


#: Windows' own enabled outbound Allow rules on a fresh PC (Core Networking, an app's rule)
BUILTIN_RULES = [
    ("CoreNet-DNS-Out-UDP", "UDP", "Any", "53"),
    ("CoreNet-DHCP-Out", "UDP", "Any", "67"),
    ("CoreNet-IPv6-NeighborDiscovery-Out", "Any", "Any", None),
    ("{5A3B1C2D-0000-4000-8000-000000000001}", "TCP", "Any", "443"),  # an application's rule
]
REMOTE_SUPPORT = [("tcp", 4, int(ipaddress.ip_address("91.186.66.22")), p) for p in (443, 8041)]


@dataclass
class WindowsPC:
    rules: dict[str, dict] = field(default_factory=dict)
    default: dict[str, str] = field(
        default_factory=lambda: dict.fromkeys(PROFILES, "NotConfigured")
    )
    qos: dict[str, dict] = field(default_factory=dict)
    tasks: dict[str, dict] = field(default_factory=dict)
    files: dict[str, object] = field(default_factory=dict)
    registry: dict[tuple[str, str], str] = field(default_factory=dict)
    conns: list[Conn] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    clock: int = 0
    steps: int = 0  #: statements executed so far (over every run)
    try_end: int = 0  #: the step that ended the last try block run without error

    @classmethod
    def fresh(cls) -> WindowsPC:
        pc = cls()
        for name, proto, addr, port in BUILTIN_RULES:
            pc.rules[name] = {
                "Name": name,
                "DisplayName": name,
                "Group": "@FirewallAPI.dll,-25000",
                "Direction": "Outbound",
                "Action": "Allow",
                "Protocol": proto,
                "RemoteAddress": [addr],
                "RemotePort": [port] if port else [],
                "Enabled": "True",
            }
        pc.conns = [Conn(*c) for c in REMOTE_SUPPORT]
        return pc

    # the firewall's verdict and the QoS marking
    def _match(self, r: dict, proto: str, family: int, ip: int, port: int) -> bool:
        if r["Direction"] != "Outbound" or r["Enabled"] != "True":
            return False
        if r["Protocol"].lower() not in ("any", proto, {"tcp": "6", "udp": "17"}[proto]):
            return False
        if not any(_addr_in(a, family, ip) for a in r["RemoteAddress"]):
            return False
        return not r["RemotePort"] or any(_port_in(p, port) for p in r["RemotePort"])

    def allows(self, proto: str, family: int, ip: int, port: int, profile: str = "Private") -> bool:
        hits = {r["Action"] for r in self.rules.values() if self._match(r, proto, family, ip, port)}
        if "Block" in hits:  # Block rules win over Allow rules, whatever the order
            return False
        return "Allow" in hits or self.default[profile] != "Block"

    def dscp(self, proto: str, family: int, ip: int, port: int) -> set[int]:
        """The DSCP of the most specific matching policy (empty: none; several: a tie)."""
        best: dict[tuple, set[int]] = {}
        for q in self.qos.values():
            net = ipaddress.ip_network(q["IPDstPrefixMatchCondition"], strict=False)
            if net.version != family or not (
                int(net.network_address) <= ip <= int(net.broadcast_address)
            ):
                continue
            qp = q.get("IPProtocolMatchCondition", "Both").lower()
            if qp not in ("both", proto):
                continue
            lo, hi = q.get("ports", (0, 65535))
            if not lo <= port <= hi:
                continue
            key = (net.prefixlen, (lo, hi) != (0, 65535), -(hi - lo), qp != "both")
            best.setdefault(key, set()).add(int(q["DSCPAction"]))
        return best[max(best)] if best else set()

    def reauthorise(self) -> None:
        for c in self.conns:
            if c.cut_at is None and not all(
                self.allows(c.proto, c.family, c.ip, c.port, p) for p in PROFILES
            ):
                c.cut_at = self.steps


# -- the interpreter ---------------------------------------------------------------------
class Interpreter:
    def __init__(self, pc: WindowsPC, fail_at: int | None = None, root: str = "") -> None:
        self.pc = pc
        self.fail_at = fail_at
        self.vars: dict[str, object] = {
            "ErrorActionPreference": "Continue",
            "PSScriptRoot": root,
            "false": False,
            "true": True,
        }

    def run(self, text: str) -> None:
        self.block(parse(text))

    def block(self, nodes: list) -> None:
        for node in nodes:
            if isinstance(node, Try):
                try:
                    self.block(node.body)
                    self.pc.try_end = self.pc.steps
                except PSError as err:
                    self.vars["_"] = err
                    self.block(node.catch)
            elif isinstance(node, If):
                if _truthy(self.pipeline(node.cond)):
                    self.block(node.body)
            else:
                self.statement(node)

    def statement(self, st: Stmt) -> None:
        self.pc.steps += 1
        toks = st.toks
        if self.pc.steps == self.fail_at:  # the statement throws: a terminating error
            self.pc.reauthorise()
            raise PSError(f"injected failure at line {st.line}")
        try:
            if toks[0] == ("word", "throw"):
                raise PSError(self.expr(toks[1:]) if len(toks) > 1 else self.vars.get("_"))
            if toks[0][0] == "var" and len(toks) > 1 and toks[1] == ("op", "="):
                self.vars[toks[0][1][1:]] = self.pipeline(toks[2:])
            elif toks[0] == ("op", "&"):
                path = self.expr(toks[1:])
                assert isinstance(path, str)
                inner = Interpreter(self.pc, None, path.rsplit("\\", 1)[0])
                inner.run(str(self.pc.files[path]))
            else:
                self.pipeline(toks)
        except PSError:
            if toks[0] == ("word", "throw") or self.vars["ErrorActionPreference"] == "Stop":
                raise
            self.pc.console.append(f"error (continued) at line {st.line}")
        finally:
            self.pc.reauthorise()

    # expressions
    def pipeline(self, toks) -> object:
        stages = _split(toks, "|")
        if not stages:
            return []  # @()
        first = stages[0]
        data = (
            self.command(first, None)
            if first[0][0] == "word" and not first[0][1][0].isdigit()
            else self.expr(first)
        )
        for st in stages[1:]:
            data = self.command(st, _items(data))
        return data

    def expr(self, toks) -> object:
        parts = _split(toks, "+")
        if len(parts) > 1:
            values = [self.expr(p) for p in parts]
            assert all(isinstance(v, str) for v in values), values
            return "".join(values)  # type: ignore[arg-type]
        items = _split(toks, ",")
        if len(items) > 1:
            return [self.primary(p) for p in items]
        return self.primary(toks)

    def primary(self, toks) -> object:
        kind, text = toks[0]
        if kind in ("op",) and text in ("(", "@("):
            close = _matching(toks, 0)
            value = self.pipeline(toks[1:close])
            if text == "@(":
                value = _items(value)
            return self.members(value, toks[close + 1 :])
        if (kind, text) == ("op", "@{"):
            close = _matching(toks, 0)
            out = {}
            for pair in _split(toks[1:close], ";"):
                assert pair[0][0] == "word" and pair[1] == ("op", "="), pair
                out[pair[0][1]] = self.pipeline(pair[2:])
            assert close == len(toks) - 1
            return out
        if kind == "var":
            name = text[1:]
            if name.startswith("env:"):
                value: object = {"env:ProgramData": "C:\\ProgramData"}[name]
            else:
                assert name in self.vars, f"undefined variable ${name}"
                value = self.vars[name]
            return self.members(value, toks[1:])
        assert len(toks) == 1, toks
        if kind == "num":
            return int(text)
        return text  # a string or a bare word

    def members(self, value: object, rest) -> object:
        i = 0
        while i < len(rest):
            kind, text = rest[i]
            assert kind == "member", rest
            name = text[1:]
            if i + 1 < len(rest) and rest[i + 1] == ("op", "("):
                close = i + 1 + _matching(rest[i + 1 :], 0)
                args = [self.expr(a) for a in _split(rest[i + 2 : close], ",")]
                assert name == "AddMinutes" and isinstance(value, datetime.datetime), name
                value = value + datetime.timedelta(minutes=int(args[0]))  # type: ignore[arg-type]
                i = close + 1
                continue
            assert isinstance(value, dict), (value, name)
            value = value[name]
            i += 1
        return value

    def command(self, toks, piped: list | None) -> object:
        name = toks[0][1]
        params: dict[str, object] = {}
        positional: list[object] = []
        i = 1
        while i < len(toks):
            kind, text = toks[i]
            if kind == "param":
                key, _, inline = text[1:].partition(":")
                if inline:
                    params[key] = self.vars[inline[1:]]
                    i += 1
                elif key.lower() in SWITCHES:
                    params[key] = True
                    i += 1
                else:
                    j = i + 1
                    while j < len(toks) and toks[j][0] != "param":
                        j = _operand_end(toks, j)
                        if j < len(toks) and toks[j] == ("op", ","):
                            j += 1
                            continue
                        break
                    assert key not in params, f"{key} given twice"
                    params[key] = self.expr(toks[i + 1 : j])
                    i = j
            else:
                j = _operand_end(toks, i)
                positional.append(self.expr(toks[i:j]))
                i = j
        handler = getattr(self, "c_" + name.replace("-", "_"), None)
        assert handler, f"unknown command {name}"
        silent = params.pop("ErrorAction", None) == "SilentlyContinue"
        try:
            return handler(params, positional, piped)
        except PSError:
            if silent:
                return []
            raise

    # cmdlets: the NetSecurity firewall
    def _find_rules(self, p: dict) -> list[dict]:
        out = list(self.pc.rules.values())
        for key in ("Name", "Group", "Direction", "Action", "Enabled"):
            if key in p:
                want = {str(v).lower() for v in _items(p[key])}
                out = [r for r in out if str(r[key]).lower() in want]
        if not out and ({"Name", "Group"} & set(p)):
            raise PSError("No MSFT_NetFirewallRule objects found")
        return out

    def c_Get_NetFirewallRule(self, p, pos, piped):
        return [r for r in self._find_rules(p)]

    def c_New_NetFirewallRule(self, p, pos, piped):
        name = p["Name"]
        assert isinstance(name, str)
        if name in self.pc.rules:
            raise PSError(f"a rule named {name} already exists")
        proto = str(p.get("Protocol", "Any"))
        ports = [str(x) for x in _items(p.get("RemotePort", []))]
        if ports and proto.upper() not in ("TCP", "UDP"):
            raise PSError("RemotePort needs Protocol TCP or UDP")
        assert p.get("Action") in ("Allow", "Block"), p
        addresses = [str(a) for a in _items(p.get("RemoteAddress", ["Any"]))]
        for a in addresses:
            _addr_in(a, 4, 0)  # parses or fails
        for x in ports:
            _port_in(x, 0)
        rule = {
            "Name": name,
            "DisplayName": p.get("DisplayName", name),
            "Group": p.get("Group", ""),
            "Direction": p.get("Direction", "Inbound"),
            "Action": p["Action"],
            "Protocol": proto,
            "RemoteAddress": addresses,
            "RemotePort": ports,
            "Enabled": "True",
        }
        self.pc.rules[name] = rule
        return [rule]

    def _each(self, piped, fn) -> list:
        for r in list(piped or []):
            fn(r)
        return []

    def c_Remove_NetFirewallRule(self, p, pos, piped):
        return self._each(piped, lambda r: self.pc.rules.pop(r["Name"]))

    def c_Disable_NetFirewallRule(self, p, pos, piped):
        return self._each(piped, lambda r: r.__setitem__("Enabled", "False"))

    def c_Enable_NetFirewallRule(self, p, pos, piped):
        return self._each(piped, lambda r: r.__setitem__("Enabled", "True"))

    def c_Get_NetFirewallProfile(self, p, pos, piped):
        names = [str(x) for x in _items(p.get("Name", p.get("Profile", list(PROFILES))))]
        out = [{"Name": n, "DefaultOutboundAction": self.pc.default[n]} for n in names]
        return out[0] if len(out) == 1 else out

    def c_Set_NetFirewallProfile(self, p, pos, piped):
        value = p["DefaultOutboundAction"]
        assert value in ("Allow", "Block", "NotConfigured"), value
        for n in _items(p["Profile"]):
            assert n in PROFILES, n
            self.pc.default[str(n)] = str(value)
        return []

    # NetQos
    def c_New_NetQosPolicy(self, p, pos, piped):
        name = p["Name"]
        assert isinstance(name, str)
        if name in self.pc.qos:
            raise PSError(f"a QoS policy named {name} already exists")
        assert 0 <= int(p["DSCPAction"]) <= 63  # type: ignore[call-overload]
        ipaddress.ip_network(p["IPDstPrefixMatchCondition"])  # a prefix, or an error
        pol = dict(p)
        if "IPDstPortMatchCondition" in p:
            pol["ports"] = (p["IPDstPortMatchCondition"],) * 2
        elif "IPDstPortStartMatchCondition" in p:
            pol["ports"] = (p["IPDstPortStartMatchCondition"], p["IPDstPortEndMatchCondition"])
        if "ports" in pol:
            assert str(p.get("IPProtocolMatchCondition")) in ("TCP", "UDP", "Both"), p
        self.pc.qos[name] = pol
        return [pol]

    def c_Get_NetQosPolicy(self, p, pos, piped):
        return list(self.pc.qos.values())

    def c_Remove_NetQosPolicy(self, p, pos, piped):
        return self._each(piped, lambda q: self.pc.qos.pop(q["Name"]))

    # ScheduledTasks
    def c_Get_ScheduledTask(self, p, pos, piped):
        if p["TaskName"] not in self.pc.tasks:
            raise PSError("no such task")
        return [self.pc.tasks[p["TaskName"]]]  # type: ignore[index]

    def c_New_ScheduledTaskAction(self, p, pos, piped):
        return {"kind": "action", **p}

    def c_New_ScheduledTaskTrigger(self, p, pos, piped):
        assert p.get("Once") is True and isinstance(p["At"], datetime.datetime)
        return {"kind": "trigger", **p}

    def c_New_ScheduledTaskPrincipal(self, p, pos, piped):
        return {"kind": "principal", **p}

    def c_Register_ScheduledTask(self, p, pos, piped):
        name = str(p["TaskName"])
        assert TASK_NAME_RE.fullmatch(name)
        if name in self.pc.tasks:
            raise PSError("task exists")
        self.pc.tasks[name] = dict(p)
        return [self.pc.tasks[name]]

    def c_Unregister_ScheduledTask(self, p, pos, piped):
        if self.pc.tasks.pop(str(p["TaskName"]), None) is None:
            raise PSError("no such task")
        return []

    # files, registry, output
    def c_Join_Path(self, p, pos, piped):
        return "\\".join(str(x) for x in pos)

    def c_Get_Date(self, p, pos, piped):
        self.pc.clock += 1
        now = datetime.datetime(2024, 1, 1) + datetime.timedelta(seconds=self.pc.clock)
        return now.strftime("%Y%m%d%H%M%S") if p.get("Format") == "yyyyMMddHHmmss" else now

    def c_New_Item(self, p, pos, piped):
        self.pc.files.setdefault(str(p["Path"]) + "\\", "dir")
        return []

    def c_Export_Clixml(self, p, pos, piped):
        assert piped is not None and len(piped) == 1
        self.pc.files[str(p["Path"])] = copy.deepcopy(piped[0])
        return []

    def c_Import_Clixml(self, p, pos, piped):
        return copy.deepcopy(self.pc.files[str(p["Path"])])

    def c_Set_Content(self, p, pos, piped):
        self.pc.files[str(p["Path"])] = p["Value"]
        return []

    def c_Set_ItemProperty(self, p, pos, piped):
        self.pc.registry[(str(p["Path"]), str(p["Name"]))] = str(p["Value"])
        return []

    def c_Select_Object(self, p, pos, piped):
        return [r[str(p["ExpandProperty"])] for r in piped or []]

    def c_Where_Object(self, p, pos, piped):
        (prop,) = pos
        ((op, value),) = p.items()
        out = []
        for r in piped or []:
            have = str(r.get(prop, "") or "").lower()
            if op == "eq":
                ok = have == str(value).lower()
            elif op == "ne":
                ok = have != str(value).lower()
            elif op in ("like", "notlike"):
                pat = re.escape(str(value).lower()).replace(r"\*", ".*")
                ok = bool(re.fullmatch(pat, have)) == (op == "like")
            elif op == "in":
                ok = have in {str(v).lower() for v in _items(value)}
            else:
                raise AssertionError(op)
            if ok:
                out.append(r)
        return out

    def c_Out_Null(self, p, pos, piped):
        return []

    def c_Format_Table(self, p, pos, piped):
        self.pc.console += [str(r["Name"]) for r in piped or []]
        return []

    def c_Write_Host(self, p, pos, piped):
        self.pc.console.append(" ".join(str(x) for x in pos))
        return []

    def c_netsh(self, p, pos, piped):
        self.pc.console.append("netsh " + " ".join(str(x) for x in pos))
        return []


def _operand_end(toks, i: int) -> int:
    """The end of one operand: a value, a parenthesised pipeline, then members and calls."""
    j = i + _matching(toks[i:], 0) + 1 if toks[i] in (("op", "("), ("op", "@(")) else i + 1
    while j < len(toks) and toks[j][0] == "member":
        j += 1
        if j < len(toks) and toks[j] == ("op", "("):
            j += _matching(toks[j:], 0) + 1
    return j


def _items(value: object) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _truthy(value: object) -> bool:
    return bool(_items(value))


def run_script(text: str, pc: WindowsPC | None = None, fail_at: int | None = None) -> WindowsPC:
    """Run a script on a PC (a fresh one by default); a terminating error propagates."""
    pc = pc or WindowsPC.fresh()
    Interpreter(pc, fail_at).run(text)
    return pc


def run_task(pc: WindowsPC, name: str) -> None:
    """What the Task Scheduler does when a task's trigger fires: run its action."""
    task = pc.tasks[name]
    action = task["Action"]
    assert isinstance(action, dict)
    argument = str(action["Argument"]).split()
    assert argument[-2] == "-File"
    path = str(action["WorkingDirectory"]) + "\\" + argument[-1]
    Interpreter(pc, None, str(action["WorkingDirectory"])).run(str(pc.files[path]))
