"""Windows: PowerShell scripts for the Windows Firewall and policy-based QoS of the PCs themselves.

One script per use: ``site-pc.ps1`` for an ordinary PC on the LAN, and one
``<profile>.ps1`` per profile binding, run on that profile's host itself (the
remote-support provider's PC, the video room).

Windows re-authorises every open connection when its firewall policy changes
(ALE re-authorisation), so the order of the script is the safety: this run's
rules are added first, then the previous run's are disabled, then the default
outbound action becomes Block, last; an error undoes the run, and a scheduled
task undoes it unless the technician confirms (see the template's header).
Windows applies every Block rule before any Allow rule, so Block rules cover
only what the policy really blocks (policy.regions decides where).

This module maps the policy to view data; the template spells every statement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from nhn_appliance.errors import UsageError
from nhn_appliance.policy.addresses import format_ip, format_span, merge_spans, span_cidrs
from nhn_appliance.policy.model import Action, Policy, Proto, Rule, Span
from nhn_appliance.policy.qos import marks
from nhn_appliance.policy.regions import blocked_regions
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
BUILTIN = ("keep", "disable", "list")


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
        return "-".join((format_ip(span.family, 0), format_ip(span.family, top)))
    return format_span(span)


def _ports(ports) -> list[str]:
    """RemotePort values; none (every port) for the whole range."""
    if [tuple(p) for p in ports] == [(0, 65535)]:
        return []
    return [str(lo) if lo == hi else "-".join((str(lo), str(hi))) for lo, hi in ports]


@dataclass
class FwRule:
    number: int  #: appended to the run's name prefix by the script, as NNN
    purpose: str  #: the DisplayName after "nhn-appliance: "
    action: str  #: Allow | Block
    protocol: str  #: TCP | UDP | Any
    addresses: list[str]
    ports: list[str]
    note: str  #: free text, for the comment line above


@dataclass
class QosPolicy:
    number: int
    klass: str
    prefix: str
    protocol: str  #: TCP | UDP | Both
    port: int | None  #: one destination port
    port_range: tuple[int, int] | None  #: or a range of them
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


@dataclass
class Options:
    builtin: str  #: keep | disable | list
    nla: bool  #: set "Do not use NLA" so DSCP applies outside a domain
    minutes: int  #: until the rollback task undoes an unconfirmed run


def _fw_rules(policy: Policy, scope: str, default: Action) -> list[FwRule]:
    rules = [r for r in policy.rules if r.profile == scope]
    out = [
        FwRule(
            0,
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
                0,
                "".join((_safe(rid), " (", proto.value, ")")),
                "Allow",
                FW_PROTO[proto.value],
                [_address(s) for s in merge_spans(spans)],
                _ports(ports),
                " ".join((rid, r.source)),
            )
        )
    for reg in blocked_regions(policy, scope, default):
        out.append(
            FwRule(
                0,
                "".join((_safe(reg.rule.id), " (", reg.proto, ", ", reg.rule.action.value, ")")),
                "Block",
                FW_PROTO[reg.proto],
                [_address(s) for s in reg.spans],
                _ports(reg.ports),
                " ".join((reg.rule.id, reg.rule.source)),
            )
        )
    if not any(p.family == 6 for p in policy.lan_prefixes):
        out.append(
            FwRule(
                0,
                "no IPv6 (the LAN has no IPv6 prefix)",
                "Block",
                "Any",
                [_address(Span(6, 0, (1 << 128) - 1))],
                [],
                "the site's LAN is IPv4 only: every IPv6 destination is blocked",
            )
        )
    for n, rule in enumerate(out, 1):
        rule.number = n
    return out


def _qos(policy: Policy) -> list[QosPolicy]:
    out: list[QosPolicy] = []
    for family in (4, 6):
        for m in marks(policy, family):
            if m.proto != Proto.ANY and m.rule.proto == Proto.ANY:
                continue  # the Both policy of the same rule marks these already
            whole = (m.plo, m.phi) == (0, 65535)
            for prefix in span_cidrs(Span(family, m.first, m.last)):
                out.append(
                    QosPolicy(
                        len(out) + 1,
                        _safe(m.qos.name),
                        prefix,
                        QOS_PROTO[m.proto],
                        m.plo if m.plo == m.phi else None,
                        None if whole or m.plo == m.phi else (m.plo, m.phi),
                        m.qos.dscp,
                        "".join((m.qos.name, " (DSCP ", str(m.qos.dscp), "): ", m.rule.id)),
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
        "builtin-allow": "Windows' own enabled outbound Allow rules (Core Networking DNS, DHCP, "
        "apps' rules), which let traffic out past the policy: keep, disable (the rollback "
        "re-enables them), or list them at the end; default: list",
        "dscp-without-domain": "yes: set the registry value 'Do not use NLA' that DSCP policies "
        "need on a PC outside a domain; default: no (the line, commented out)",
        "rollback-minutes": "minutes until the scheduled task undoes a run that was not "
        "confirmed (1-1440); default: 10",
    }
    limits: tuple[str, ...] = (
        "Windows applies Block rules before Allow rules whatever their order: a reject becomes "
        "a Block rule only where no opening applies (so verdicts match); "
        "where a reject for every protocol "
        "overlaps a TCP/UDP opening, other protocols there are left to the default outbound action",
        "a PC has no uplinks: a destination allowed through any uplink is allowed",
        "drop and reject are both Block: Windows sends no TCP reset or ICMP for an outbound Block",
        "Windows' own enabled Allow rules (Core Networking DNS and DHCP, applications' rules) "
        "still let traffic out unless -O builtin-allow=disable",
        "a QoS policy takes one destination prefix and one port or range "
        "and marks only TCP and UDP: "
        "an address range becomes one policy per CIDR block (not capped); unclassified "
        "traffic is re-marked to DSCP 0 by a catch-all policy that relies on Windows choosing "
        "the most specific matching policy",
        "the rollback task restores the firewall, not the QoS policies or the winhttp proxy",
    )

    def render(self, policy: Policy, options: Mapping[str, str] | None = None) -> list[Artifact]:
        opts = dict(options or {})
        for key in opts:
            if key not in self.options:
                raise UsageError(
                    "windows takes options {}; not {!r}".format(", ".join(self.options), key)
                )
        proxy = self._proxy(opts.get("winhttp-proxy"), policy.system_proxy)
        choice = self._options(opts)
        qos = _qos(policy)
        scripts = [
            Script(
                "site-pc",
                f"a PC on the LAN of site {policy.site} (outbound {policy.outbound})",
                "every PC on the LAN that has no profile",
                policy.outbound != "open",
                _fw_rules(policy, "", policy.default_action),
                qos,
                proxy,
            )
        ]
        for b in policy.profiles:
            hosts = "{} ({})".format(", ".join(b.host_names), ", ".join(map(format_span, b.hosts)))
            scripts.append(
                Script(
                    b.name,
                    f"profile {b.name} ({b.service}, {b.source}) at site {policy.site}",
                    hosts,
                    b.otherwise != Action.ACCEPT,
                    _fw_rules(policy, b.name, b.otherwise),
                    qos,
                )
            )
        return [
            Artifact(
                s.name + ".ps1",
                render_template(
                    "windows.ps1.j2",
                    policy=policy,
                    s=s,
                    o=choice,
                    group=GROUP,
                    ps=ps,
                    ascii=_ascii,
                ),
            )
            for s in scripts
        ]

    @staticmethod
    def _options(opts: dict[str, str]) -> Options:
        builtin = opts.get("builtin-allow", "list")
        if builtin not in BUILTIN:
            raise UsageError(f"-O builtin-allow={builtin!r}: write keep, disable or list")
        nla = opts.get("dscp-without-domain", "no")
        if nla not in ("yes", "no"):
            raise UsageError(f"-O dscp-without-domain={nla!r}: write yes or no")
        minutes = opts.get("rollback-minutes", "10")
        if not minutes.isdigit() or not 1 <= int(minutes) <= 1440:
            raise UsageError(f"-O rollback-minutes={minutes!r}: write a number of minutes, 1-1440")
        return Options(builtin, nla == "yes", int(minutes))

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
