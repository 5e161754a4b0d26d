"""What every rendering target must do, one parametrised test over the targets.

Per-target facts are data here: the options each target declares and one of
the limits it must admit, options it must refuse, and for the router
dialects read line by line (Cisco IOS, JunOS) the shapes of the only command
lines a hostile catalogue may produce. The goldens of every target are
compared once, in test_golden.py; what a target's output means is checked by
its independent reader in test_render_<target>.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import CLI_ENV, PINS, REPO
from render_cases import TARGET_OPTIONS, hostile_policy, options_for, policy

from nhn_appliance.errors import UsageError
from nhn_appliance.render import RENDERERS, get_renderer

# -- declared options and limits ----------------------------------------------------
#: the options a target declares, and a word of one limit it must admit
DECLARED = {
    "nftables": ({"routes"}, "nftables 0.9.5 and Linux 5.7"),
    "iptables": ({"routes"}, "iptables -C || -I"),
    "cisco-ios": ({"helsenett", "internett", "lan"}, "ip unreachables"),
    "junos": ({"helsenett", "internett", "lan", "form"}, "stateless"),
    "routeros": ({"helsenett", "internett", "lan"}, "FastTrack"),
    "windows": (
        {"winhttp-proxy", "builtin-allow", "dscp-without-domain", "rollback-minutes"},
        "drop and reject are both Block",
    ),
}


@pytest.mark.parametrize("target", sorted(DECLARED))
def test_renderer_declares_its_options_and_limits(target: str) -> None:
    renderer = get_renderer(target)
    options, limit = DECLARED[target]
    assert renderer.name == target
    assert set(renderer.options) == options
    assert any(limit in text for text in renderer.limits)


def test_every_target_with_options_has_default_site_options() -> None:
    assert set(TARGET_OPTIONS) == {t for t in RENDERERS if get_renderer(t).options}


# -- determinism, across processes ---------------------------------------------------
def _render_in_a_process(tmp_path: Path, target: str, seed: str, options: dict[str, str]) -> str:
    """The pinned default site rendered by the command line in a fresh interpreter,
    into a folder (a target may write several files); their texts in name order."""
    out = tmp_path / f"out-{seed}"
    out.mkdir(exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    argv = [sys.executable, "-m", "nhn_appliance.cli", "--site", str(REPO / "appliance.toml")]
    argv += ["--rules", str(REPO / "rules"), "--pins", str(PINS), "render", "-t", target]
    argv += ["--allow-unpinned", "-o", str(out)]
    for key, value in options.items():
        argv += ["-O", f"{key}={value}"]
    env = {k: v for k, v in os.environ.items() if k not in CLI_ENV} | {"PYTHONHASHSEED": seed}
    proc = subprocess.run(
        argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    texts = [f"== {p.name}\n{p.read_text()}" for p in sorted(out.iterdir())]
    assert texts and all(t.strip() for t in texts)
    return "".join(texts)


@pytest.mark.parametrize("target", sorted(RENDERERS))
def test_render_is_deterministic_across_processes(tmp_path: Path, target: str) -> None:
    """Two interpreters with different hash seeds (so different set and dict-of-set
    orders) must print the same text, without and with the target's options."""
    for options in [{}] + ([TARGET_OPTIONS[target]] if target in TARGET_OPTIONS else []):
        first = _render_in_a_process(tmp_path, target, "1", options)
        assert first == _render_in_a_process(tmp_path, target, "2", options), options


# -- options ---------------------------------------------------------------------------
BAD_OPTIONS = [
    ("nftables", {"routes": "maybe"}),
    ("nftables", {"lan": "eth0"}),
    ("iptables", {"routes": "yes; reboot"}),
    ("cisco-ios", {"helsenett": "Gi0/1\n ip access-group X in"}),
    ("cisco-ios", {"helsenett": "Gi0/1 out"}),
    ("cisco-ios", {"lan": "Gi0/0,Gi0/3"}),
    ("cisco-ios", {"internett": ""}),
    ("cisco-ios", {"helsenett": "Gi0/1;reload"}),
    ("junos", {"helsenett": "ge-0/0/1.0 family inet filter input x"}),
    ("junos", {"helsenett": "ge-0/0/1;commit"}),
    ("junos", {"lan": "ge-0/0/0.0,ge-0/0/3.0"}),
    ("junos", {"internett": ""}),
    ("junos", {"helsenett": 'ge-0/0/1"'}),
    ("routeros", {"lan": "bridge;/system reset"}),
    ("routeros", {"helsenett": 'ether1"'}),
    ("routeros", {"wan": "ether1"}),
    ("routeros", {"lan": ""}),
    ("windows", {"winhttp-proxy": "x; Remove-Item C:\\"}),
    ("windows", {"winhttp-proxy": "host:99999"}),
    ("windows", {"winhttp-proxy": "'a':80"}),
    ("windows", {"winhttp-proxy": "yes please"}),
    ("windows", {"winhttp-proxy": ""}),
    ("windows", {"builtin-allow": "remove"}),
    ("windows", {"rollback-minutes": "10; Remove-Item C:\\"}),
]


@pytest.mark.parametrize(("target", "options"), BAD_OPTIONS)
def test_bad_options_are_refused(target: str, options: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        get_renderer(target).render(policy("default"), options)


@pytest.mark.parametrize(
    ("target", "case", "options"),
    [
        ("cisco-ios", "helsenett", {"internett": "Gi0/2", "helsenett": "Gi0/1", "lan": "Gi0/0"}),
        (
            "junos",
            "helsenett",
            {"lan": "ge-0/0/0.0", "helsenett": "ge-0/0/1.0", "internett": "ge-0/0/2.0"},
        ),
        ("routeros", "trick-open-hn", {"lan": "br", "helsenett": "e1", "internett": "e2"}),
    ],
)
def test_option_for_a_missing_uplink_is_refused(
    target: str, case: str, options: dict[str, str]
) -> None:
    with pytest.raises(UsageError, match="no internett uplink"):
        get_renderer(target).render(policy(case), options)


# -- a hostile catalogue gives only known command shapes ---------------------------------
@dataclass(frozen=True)
class Dialect:
    shapes: tuple[str, ...]  #: every line of the output fully matches one of these
    comment: str  #: lines of free text (a regex matched at the start)
    marker: str  #: the hostile rule is there, with its comment
    words: tuple[str, ...] = ("flush", "reboot", "configure", "evil")  #: never outside comments
    never: str = ""  #: characters that must not occur at all


IOS_SAFE = r"[A-Za-z0-9 .,:/_@()+=\-]*"
IOS_NAME = r"NHN-[A-Z0-9-]+"
IOS_ADDR = rf"(any|host [0-9a-f.:]+|object-group {IOS_NAME}|[0-9.]+ [0-9.]+|[0-9a-f:]+/\d+)"
IOS_PORTS = r"( eq \d+| range \d+ \d+)?"
IOS_LISTS = "ip access-list extended|ipv6 access-list|object-group network|object-group service"
JUNOS_NAME = r"nhn-[a-z0-9-]+"
JUNOS_WORD = r"[a-z0-9-]+"
JUNOS_PREFIX = r"[0-9a-f.:]+/\d+"
JUNOS_FILTER = rf"set firewall family (inet|inet6) filter {JUNOS_NAME} term {JUNOS_WORD} "
JUNOS_COS = "set class-of-service"
JUNOS_IFD = r"[A-Za-z0-9/:_-]+"
DIALECTS = {
    "cisco-ios": Dialect(
        shapes=(
            rf"!{IOS_SAFE}",
            "end",
            rf"zone security {IOS_NAME}",
            rf"no (ip access-list extended|ipv6 access-list|policy-map( type inspect)?"
            rf"|class-map( type inspect)? match-any) {IOS_NAME}",
            rf"(ip access-list extended|ipv6 access-list) {IOS_NAME}",
            rf" remark {IOS_SAFE}",
            rf" (permit|deny) (ip|ipv6|tcp|udp) {IOS_ADDR}( eq \d+)? {IOS_ADDR}" + IOS_PORTS,
            r" permit icmp any any (nd-n[as]|router-solicitation)",
            rf"class-map (type inspect )?match-any {IOS_NAME}",
            rf" match (access-group name {IOS_NAME}|dscp [a-z0-9]+)",
            rf"policy-map (type inspect )?{IOS_NAME}",
            rf" class (type inspect )?{IOS_NAME}",
            " class class-default",
            r"  (inspect|drop|set dscp [a-z0-9]+|priority( percent \d+)?|bandwidth percent \d+"
            rf"|shape average \d+|service-policy {IOS_NAME})",
            r"interface [A-Za-z0-9./:-]+",
            rf" (ip access-group|ipv6 traffic-filter) {IOS_NAME} in",
            rf" zone-member security {IOS_NAME}",
            r" max-reserved-bandwidth \d+",
            rf" (no )?service-policy (input|output|type inspect) {IOS_NAME}",
            rf"zone-pair security {IOS_NAME} source {IOS_NAME} destination {IOS_NAME}",
        ),
        comment=r"^(!| remark )",
        marker="ondsinnet/a",
    ),
    "junos": Dialect(
        shapes=(
            r"#[^\"'\\;{}#`$\[\]]*",
            "",
            rf"delete (interfaces {JUNOS_IFD} unit \d+ family (inet|inet6) filter"
            rf"|firewall family (inet|inet6) filter {JUNOS_NAME}"
            rf"|security policies from-zone {JUNOS_NAME} to-zone {JUNOS_NAME}"
            rf"|security zones security-zone {JUNOS_NAME}|security nat source rule-set {JUNOS_NAME}"
            rf"|security address-book nhn-appliance|applications application {JUNOS_NAME}"
            rf"|policy-options prefix-list {JUNOS_NAME})",
            r"delete class-of-service (classifiers|rewrite-rules) dscp(-ipv6)? nhn(-untrusted)?",
            r"delete class-of-service scheduler-maps nhn",
            rf"delete class-of-service schedulers {JUNOS_NAME}",
            rf"delete class-of-service interfaces {JUNOS_IFD} unit \d+ (classifiers|rewrite-rules)",
            rf"set policy-options prefix-list {JUNOS_NAME} {JUNOS_PREFIX}",
            rf"set security address-book nhn-appliance (address {JUNOS_NAME} {JUNOS_PREFIX}"
            rf"|address-set {JUNOS_NAME} address {JUNOS_NAME}|attach zone {JUNOS_NAME})",
            rf"set applications application {JUNOS_NAME} (protocol (tcp|udp)"
            r"|destination-port \d+(-\d+)?)",
            rf"set security zones security-zone {JUNOS_NAME} interfaces {JUNOS_IFD}\.\d+ "
            r"host-inbound-traffic (system-services|protocols) [a-z0-9]+",
            rf"set security policies from-zone {JUNOS_NAME} to-zone {JUNOS_NAME} policy "
            rf"{JUNOS_NAME} (match (source-address|destination-address|application) "
            rf"({JUNOS_NAME}|any)|then (permit|deny|reject|count))",
            rf"set security nat source rule-set nhn-internett ((from|to) zone {JUNOS_NAME}"
            rf"|rule nhn-interface (match source-address {JUNOS_PREFIX}"
            r"|then source-nat interface))",
            JUNOS_FILTER + rf"from ((source|destination)-prefix-list {JUNOS_NAME}"
            rf"|(source|destination)-address {JUNOS_PREFIX}|tcp-established"
            r"|(protocol|next-header) (tcp|udp|icmp|icmp6)|destination-port \d+(-\d+)?)",
            JUNOS_FILTER + rf"then (accept|reject tcp-reset|discard|forwarding-class {JUNOS_WORD}"
            rf"|(dscp|traffic-class) [a-z0-9]+|next term|count {JUNOS_WORD})",
            rf"set interfaces {JUNOS_IFD} unit \d+ family (inet|inet6) filter "
            rf"(input|output) {JUNOS_NAME}",
            rf"{JUNOS_COS} forwarding-classes class {JUNOS_WORD} queue-num \d",
            rf"{JUNOS_COS} classifiers dscp(-ipv6)? nhn(-untrusted)? forwarding-class {JUNOS_WORD} "
            r"loss-priority low code-points \[( [a-z0-9]+)+ \]",
            rf"{JUNOS_COS} rewrite-rules dscp(-ipv6)? nhn forwarding-class {JUNOS_WORD} "
            r"loss-priority low code-point [a-z0-9]+",
            rf"{JUNOS_COS} schedulers {JUNOS_NAME} "
            r"(transmit-rate (percent \d+( exact)?|remainder)|priority strict-high)",
            rf"{JUNOS_COS} scheduler-maps nhn forwarding-class {JUNOS_WORD} "
            rf"scheduler {JUNOS_NAME}",
            rf"{JUNOS_COS} interfaces {JUNOS_IFD} (scheduler-map nhn|shaping-rate \d+m|unit \d+ "
            r"(classifiers dscp(-ipv6)? nhn(-untrusted)?|rewrite-rules dscp(-ipv6)? nhn))",
        ),
        comment="#",
        marker="# ondsinnet/a",
        words=("flush", "reboot", "configure", "evil", "ondsinnet"),
        never='"\\',  # nothing is quoted, so nothing can end a string
    ),
}


@pytest.mark.parametrize("target", sorted(DIALECTS))
def test_hostile_catalogue_gives_only_known_command_shapes(target: str) -> None:
    dialect = DIALECTS[target]
    shapes = [re.compile(s) for s in dialect.shapes]
    text = (
        get_renderer(target).render(hostile_policy(), options_for(target, hostile_policy()))[0].text
    )
    assert dialect.marker in text  # the rule is there, with its comment
    assert not set(dialect.never) & set(text)
    for line in text.splitlines():
        assert any(s.fullmatch(line) for s in shapes), line
    bare = [line for line in text.splitlines() if not re.match(dialect.comment, line)]
    for word in dialect.words:
        assert not any(word in line for line in bare), word
