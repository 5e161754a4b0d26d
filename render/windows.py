"""Windows: PowerShell scripts for the Windows Firewall and policy-based QoS of the PCs themselves.

One script per use: ``site-pc.ps1`` for an ordinary PC on the LAN, and one
``<profile>.ps1`` per profile binding for the machines with an isolation list
(for example the remote-support provider's PC, ``fjernhjelp-leverandor``).
Each script is idempotent: it removes the rules of its one firewall group and
its QoS policies (``nhn-appliance-*``) first, then adds them anew.

Windows applies every Block rule before any Allow rule, whatever their order,
so a Block rule here covers only what the policy really blocks: an explicit
reject is cut down to where no opening (through any uplink) and not the LAN
itself lets the traffic out. A PC has no uplinks: a destination is allowed
when the policy allows it through any of them. Free text goes only into
``#`` comment lines; every string is single-quoted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from nhn_appliance.errors import UsageError
from nhn_appliance.policy.addresses import format_ip, format_span, merge_spans, span_cidrs
from nhn_appliance.policy.compile import rule_covers
from nhn_appliance.policy.model import ALL_PORTS, Action, Policy, Proto, Rule, Span
from nhn_appliance.policy.qos import marks
from nhn_appliance.render import Artifact
from nhn_appliance.render.templating import render_template

GROUP = "nhn-appliance"
#: HOST:PORT given with -O winhttp-proxy
PROXY_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})?:([0-9]{1,5})")
NAME_RE = re.compile(r"[a-z0-9][a-z0-9/-]{0,99}")
FW_PROTO = {"tcp": "TCP", "udp": "UDP", "any": "Any"}
QOS_PROTO = {Proto.TCP: "TCP", Proto.UDP: "UDP", Proto.ANY: "Both"}
ASCII = str.maketrans({"æ": "ae", "ø": "o", "å": "aa", "Æ": "Ae", "Ø": "O", "Å": "Aa"})
_QUOTES = "'\u2018\u2019\u201a\u201b"  # PowerShell ends a single-quoted string at any of these


def ps(value: object) -> str:
    """A PowerShell single-quoted string literal: no expansion, every quote character doubled."""
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ValueError("a PowerShell string here must be one line")
    return "'" + "".join(c * 2 if c in _QUOTES else c for c in text) + "'"


def _ascii(text: str) -> str:
    """Windows PowerShell 5.1 reads a script without BOM as ANSI: keep comments ASCII."""
    return str(text).translate(ASCII)


def _safe(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"{name!r} is not a safe name")
    return name


def _address(span: Span) -> str:
    """A Windows remote address: host, CIDR or range (a whole family as a range, not /0)."""
    top = (1 << (32 if span.family == 4 else 128)) - 1
    if (span.first, span.last) == (0, top):
        return f"{format_ip(span.family, 0)}-{format_ip(span.family, top)}"
    return format_span(span)


def _ports(ports) -> list[str]:
    """RemotePort values; none (every port) for the whole range."""
    if list(ports) == [(0, 65535)]:
        return []
    return [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ports]


@dataclass
class FwRule:
    name: str
    display: str
    action: str  #: Allow | Block
    protocol: str  #: TCP | UDP | Any
    addresses: list[str]
    ports: list[str]
    note: str  #: free text, for the comment line above


@dataclass
class QosPolicy:
    name: str
    prefix: str
    protocol: str  #: TCP | UDP | Both
    ports: tuple[int, int] | None
    dscp: int
    note: str


@dataclass
class Script:
    name: str
    title: str
    hosts: str
    block_outbound: bool
    rules: list[FwRule] = field(default_factory=list)
    qos: list[QosPolicy] = field(default_factory=list)
    proxy: str = ""  #: "" = none, "#" = commented out, else HOST:PORT


def _cuts(bounds: set[int], lo: int, hi: int) -> list[tuple[int, int]]:
    """[lo, hi] cut where a piece starts at one of the bounds."""
    points = sorted({lo} | {b for b in bounds if lo < b <= hi})
    return [(a, b - 1) for a, b in zip(points, points[1:] + [hi + 1], strict=True)]


def _merge(pieces: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(pieces):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return tuple(out)


def _accepted(
    policy: Policy,
    rules: list[Rule],
    default: Action,
    family: int,
    proto: str,
    addr: int,
    port: int | None,
) -> bool:
    """Whether the policy lets this flow out through any uplink (or it stays in the LAN)."""
    if any(p.family == family and p.first <= addr <= p.last for p in policy.lan_prefixes):
        return True  # within the LAN: the router passes it, and so does the script
    for up in policy.uplinks:
        first = next(
            (r for r in rules if rule_covers(r, up.interface, family, proto, addr, port)), None
        )
        if (first.action if first else default) == Action.ACCEPT:
            return True
    return False


PortsBlocked = tuple[tuple[int, int], ...]


def _blocks(
    policy: Policy, rules: list[Rule], default: Action
) -> list[tuple[Rule, str, list[Span], list[tuple[int, int]]]]:
    """(reject rule, protocol, spans, ports) where an explicit reject decides and nothing accepts.

    The reject's region is cut at every rule and LAN boundary into pieces that
    each rule covers wholly or not at all; a piece is blocked when the policy
    does not let it out. Other protocols of an every-protocol reject are kept
    only when TCP and UDP are blocked wholly too (one ``Any`` rule)."""
    out: list[tuple[Rule, str, list[Span], list[tuple[int, int]]]] = []
    unique = {
        (r.id, r.family, r.proto, r.dst, r.ports): r for r in rules if r.action != Action.ACCEPT
    }
    for rej in unique.values():  # one per zone in the policy; a PC has no uplinks
        fam = rej.family
        same = [r for r in rules if r.family == fam]
        bounds = {v for r in same for s in r.dst for v in (s.first, s.last + 1)}
        bounds |= {v for p in policy.lan_prefixes if p.family == fam for v in (p.first, p.last + 1)}
        protos = ("tcp", "udp", "other") if rej.proto == Proto.ANY else (rej.proto.value,)
        # per protocol: the blocked port ranges (TCP, UDP), or whether the rest is blocked
        groups: dict[tuple[PortsBlocked | bool, ...], list[Span]] = {}
        for span in rej.dst:
            for alo, ahi in _cuts(bounds, span.first, span.last):
                here = [r for r in same if any(s.first <= alo <= s.last for s in r.dst)]
                sig: list[PortsBlocked | bool] = []
                for proto in protos:
                    if proto == "other":
                        sig.append(not _accepted(policy, here, default, fam, "icmp", alo, None))
                        continue
                    pb = {
                        v
                        for r in here
                        if r.proto.value == proto
                        for p in r.ports
                        for v in (p.lo, p.hi + 1)
                    }
                    sig.append(
                        _merge(
                            [
                                (lo, hi)
                                for pr in (rej.ports or ALL_PORTS)
                                for lo, hi in _cuts(pb, pr.lo, pr.hi)
                                if not _accepted(policy, here, default, fam, proto, alo, lo)
                            ]
                        )
                    )
                groups.setdefault(tuple(sig), []).append(Span(fam, alo, ahi))
        for blocked, pieces in groups.items():
            spans = list(merge_spans(pieces))
            if rej.proto == Proto.ANY and blocked == (((0, 65535),), ((0, 65535),), True):
                out.append((rej, "any", spans, []))
                continue
            for proto, ports in zip(protos, blocked, strict=True):
                # other protocols (a bool): left to the default outbound action
                if not isinstance(ports, bool) and ports:
                    out.append((rej, proto, spans, list(ports)))
    return out


def _fw_rules(policy: Policy, scope: str, default: Action, key: str) -> list[FwRule]:
    rules = list(policy.scope_rules(scope))
    out = [
        FwRule(
            "",
            "within the LAN",
            "Allow",
            "Any",
            [_address(p) for p in policy.lan_prefixes],
            [],
            "within the LAN: the router passes traffic between LAN hosts",
        )
    ]
    allows: dict[tuple, tuple[Rule, list[Span]]] = {}
    for r in rules:
        if r.action == Action.ACCEPT:
            allows.setdefault((r.id, r.proto, r.ports), (r, []))[1].extend(r.dst)
    for (rid, proto, ports), (r, spans) in allows.items():
        out.append(
            FwRule(
                "",
                f"{_safe(rid)} ({proto.value})",
                "Allow",
                FW_PROTO[proto.value],
                [_address(s) for s in merge_spans(spans)],
                _ports(ports),
                f"{rid} {r.source}",
            )
        )
    for rej, proto, spans, ports in _blocks(policy, rules, default):
        out.append(
            FwRule(
                "",
                f"{_safe(rej.id)} ({proto}, {rej.action.value})",
                "Block",
                FW_PROTO[proto],
                [_address(s) for s in spans],
                _ports(ports),
                f"{rej.id} {rej.source}",
            )
        )
    for n, rule in enumerate(out, 1):
        rule.name = f"{GROUP}-{key}-{n:03d}"
        rule.display = f"{GROUP}: {rule.display}"
    return out


def _qos(policy: Policy) -> list[QosPolicy]:
    out: list[QosPolicy] = []
    for family in (4, 6):
        for m in marks(policy, family):
            if m.proto != Proto.ANY and m.rule.proto == Proto.ANY:
                continue  # the Both policy of the same rule marks these already
            ports = None if (m.plo, m.phi) == (0, 65535) else (m.plo, m.phi)
            for prefix in span_cidrs(Span(family, m.first, m.last)):
                out.append(
                    QosPolicy(
                        f"{GROUP}-q{len(out) + 1:03d}-{_safe(m.qos.name)}",
                        prefix,
                        QOS_PROTO[m.proto],
                        ports,
                        m.qos.dscp,
                        f"{m.qos.name} (DSCP {m.qos.dscp}): {m.rule.id}",
                    )
                )
    return out


class WindowsRenderer:
    name = "windows"
    description = (
        "PowerShell for Windows PCs: firewall rules and DSCP QoS policies, one script per use"
    )

    options: dict[str, str] = {
        "winhttp-proxy": "the system proxy (netsh winhttp) in the site PC script: yes "
        "(the endpoint the catalogue marks system_proxy), no, or HOST:PORT; "
        "default: the line, commented out",
    }
    limits: tuple[str, ...] = (
        "Windows applies Block rules before Allow rules whatever their order: a reject becomes "
        "a Block rule only where no opening applies (so verdicts match); "
        "where a reject for every protocol "
        "overlaps a TCP/UDP opening, other protocols there are left to the default outbound action",
        "a PC has no uplinks: a destination allowed through any uplink is allowed",
        "drop and reject are both Block",
        "other enabled Allow rules on the PC (Windows' Core Networking rules for DNS and DHCP, "
        "applications' rules) still let traffic out; rules outside the group are left alone",
        "a QoS policy takes one destination prefix and one port or range "
        "and marks only TCP and UDP: "
        "an address range becomes one policy per CIDR block (not capped)",
    )

    def render(self, policy: Policy, options: Mapping[str, str] | None = None) -> list[Artifact]:
        opts = dict(options or {})
        for key in opts:
            if key not in self.options:
                raise UsageError(f"windows takes options {', '.join(self.options)}; not {key!r}")
        proxy = self._proxy(opts.get("winhttp-proxy"), policy.system_proxy)
        qos = _qos(policy)
        scripts = [
            Script(
                "site-pc",
                f"a PC on the LAN of site {policy.site} (outbound {policy.outbound})",
                "every PC on the LAN that has no profile",
                policy.outbound != "open",
                _fw_rules(policy, "", policy.default_action, "pc"),
                qos,
                proxy,
            )
        ]
        for b in policy.profiles:
            hosts = f"{', '.join(b.host_names)} ({', '.join(format_span(h) for h in b.hosts)})"
            scripts.append(
                Script(
                    b.name,
                    f"profile {b.name} ({b.service}, {b.source}) at site {policy.site}",
                    hosts,
                    b.otherwise != Action.ACCEPT,
                    _fw_rules(policy, b.name, b.otherwise, _safe(b.name)),
                    qos,
                )
            )
        return [
            Artifact(
                f"{s.name}.ps1",
                render_template(
                    "windows.ps1.j2",
                    policy=policy,
                    s=s,
                    group=GROUP,
                    ps=ps,
                    ascii=_ascii,
                ),
            )
            for s in scripts
        ]

    @staticmethod
    def _proxy(value: str | None, catalogue_proxy: str) -> str:
        """The winhttp proxy line: the catalogue's system proxy (the endpoint
        marked system_proxy) unless the option names another; commented out by default."""
        if value is None:
            return "#" + catalogue_proxy if catalogue_proxy else ""
        if value == "no":
            return ""
        if value == "yes":
            if not catalogue_proxy:
                raise UsageError(
                    "-O winhttp-proxy=yes: the site's services name no system proxy "
                    "(system_proxy in the catalogue); write HOST:PORT"
                )
            return catalogue_proxy
        m = PROXY_RE.fullmatch(value)
        if not m or not 0 < int(m.group(2)) <= 65535:
            raise UsageError(f"-O winhttp-proxy={value!r}: write yes, no or HOST:PORT")
        return value


RENDERER = WindowsRenderer()
