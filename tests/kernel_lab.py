"""Shared set-up of the kernel tests: a RouterLab, the lab site and the flows.

The three kernel test modules (nftables, iptables, property) each build one
lab per module with the ``kernel_lab`` fixture defined here (import it into
the module; pytest uses fixtures imported into a test module). The lab is
tests/netns.py's RouterLab plus a third site address, 198.51.100.4, for the
lab's drop profile; the site file is tests/cases/lab/site.toml with the
random interface names of that lab filled in.

Rules are rendered with the real command line (``python -m
nhn_appliance.cli``) and loaded into the router namespace; flows are real
packets from the site namespace. The far namespaces accept every TCP
connection (a redirect to one listener), so a verdict maps to a policy action
without doubt: TCP "open" = accept, "refused" = reject (the router's TCP
reset: nothing else answers with one), "timeout" = drop; UDP "refused" (the
far kernel's port-unreachable) = accept, "admin-prohibited" = reject.

The router can first be given a configuration of its own (INPUT policy DROP
with SSH and replies accepted, an MSS clamp in mangle, masquerade on the
internet uplink), as iptables rules or as nftables tables, which loading the
rendered rules must leave exactly as it was (see ``existing_*`` below).

Only documentation addresses are used (198.51.100.0/24, 203.0.113.0/24,
2001:db8::/32), and packets never leave the lab's namespaces.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import secrets
import select
import socket
import string
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import netns as nn  # tests/ is on sys.path (pytest's default import mode)
import pytest
from conftest import CASES

from nhn_appliance.inputs import load_inputs
from nhn_appliance.policy.explain import Flow, Verdict, explain
from nhn_appliance.policy.model import Action, Policy, Zone

LAB_DIR = CASES / "lab"
LAB_RULES = LAB_DIR / "rules"
SITE_TEMPLATE = LAB_DIR / "site.toml"

#: the lab's third site address, bound to the "videoutstyr" (drop) profile
VIDEO_HOST4 = "198.51.100.4"
#: a drop can only ever end as "timeout", so its wait is short
DROP_TIMEOUT = 0.3
#: accepted and rejected flows answer at once; this only bounds a wrong answer
ANSWER_TIMEOUT = 1.0

#: per protocol: what the kernel's answer means (see the module docstring)
KERNEL_TO_ACTION: dict[str, dict[str, Action]] = {
    "tcp": {"open": Action.ACCEPT, "refused": Action.REJECT, "timeout": Action.DROP},
    "udp": {"refused": Action.ACCEPT, "admin-prohibited": Action.REJECT, "timeout": Action.DROP},
}
#: the port the far namespaces redirect every TCP connection to
FAR_PORT = 9

#: RouterLab's routes: which uplink (and so which zone) a destination leaves by
LAB_ZONES: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Zone], ...] = (
    (ipaddress.ip_network(nn.RouterLab.HN_NET4), Zone.HELSENETT),
    (ipaddress.ip_network(nn.RouterLab.HN_NET6), Zone.HELSENETT),
    (ipaddress.ip_network(nn.RouterLab.INET_NET4), Zone.INTERNETT),
    (ipaddress.ip_network(nn.RouterLab.INET_NET6), Zone.INTERNETT),
)


def lab_zone(dst: str) -> Zone:
    """The zone RouterLab's routing picks for ``dst`` (only lab ranges are valid)."""
    addr = ipaddress.ip_address(dst)
    for net, zone in LAB_ZONES:
        if addr.version == net.version and addr in net:
            return zone
    raise ValueError(f"{dst} is not routed by the lab (203.0.113.0/24, 2001:db8:a::/48, b::/48)")


def default_src(dst: str) -> str:
    return nn.RouterLab.SITE6 if ":" in dst else nn.RouterLab.SITE4


# --------------------------------------------------------------------------
# The flows every backend is held to
# --------------------------------------------------------------------------

ACCEPT, REJECT, DROP = Action.ACCEPT, Action.REJECT, Action.DROP
PROFILE4, PROFILE6 = nn.RouterLab.SITE4_ALT, nn.RouterLab.SITE6_ALT


@dataclass(frozen=True)
class Case:
    """One flow from the site and the verdict the lab catalogue gives it.

    ``rule`` optionally names the rule explain must attribute the flow to
    (where two services overlap, the first one in the site's order).
    """

    proto: str
    dst: str
    port: int
    expect: Action
    src: str | None = None
    rule: str | None = None

    @property
    def source(self) -> str:
        return self.src or default_src(self.dst)

    @property
    def id(self) -> str:
        src = f"-from-{self.src}" if self.src else ""
        return f"{self.proto}-{self.dst}-p{self.port}{src}-{self.expect.value}"

    @property
    def timeout(self) -> float:
        return DROP_TIMEOUT if self.expect == Action.DROP else ANSWER_TIMEOUT


C = Case  # short, for the table below

# Expectations are written out from the lab catalogue (tests/cases/lab/rules),
# not derived from explain, so explain is held to them as much as the kernel.
FLOWS: tuple[Case, ...] = (
    # Join range 203.0.113.28-.32 (helsenett): both ends, just outside.
    C("tcp", "203.0.113.28", 443, ACCEPT, rule="join/helsenett-signalering"),
    C("tcp", "203.0.113.32", 5061, ACCEPT),
    C("tcp", "203.0.113.27", 443, REJECT),
    C("tcp", "203.0.113.33", 443, REJECT),
    C("tcp", "203.0.113.29", 80, ACCEPT),
    # tcp vs udp on the same port
    C("tcp", "203.0.113.30", 1720, ACCEPT),
    C("udp", "203.0.113.30", 1720, REJECT),
    C("udp", "203.0.113.30", 1719, ACCEPT),
    C("tcp", "203.0.113.30", 1719, REJECT),
    C("udp", "203.0.113.31", 5060, ACCEPT),
    C("tcp", "203.0.113.31", 5060, ACCEPT),
    C("udp", "203.0.113.31", 5061, REJECT),
    # media port edges: tcp 40000-49999, udp 40000-54999
    C("tcp", "203.0.113.30", 39999, REJECT),
    C("tcp", "203.0.113.30", 40000, ACCEPT, rule="join/helsenett-media"),
    C("tcp", "203.0.113.30", 49999, ACCEPT),
    C("tcp", "203.0.113.30", 50000, REJECT),
    C("udp", "203.0.113.30", 39999, REJECT),
    C("udp", "203.0.113.30", 40000, ACCEPT),
    C("udp", "203.0.113.30", 49999, ACCEPT),
    C("udp", "203.0.113.30", 50000, ACCEPT),
    C("udp", "203.0.113.28", 54999, ACCEPT),
    C("udp", "203.0.113.32", 55000, REJECT),
    # remote support shares 203.0.113.30 and tcp 443 with Join (Join is first)
    C("tcp", "203.0.113.30", 8041, ACCEPT, rule="fjernhjelp/helsenett"),
    C("tcp", "203.0.113.30", 443, ACCEPT, rule="join/helsenett-signalering"),
    C("tcp", "203.0.113.29", 8041, REJECT),
    C("udp", "203.0.113.30", 8041, REJECT),
    # the "zone uncertain" /28 at 203.0.113.64 (both zones, routed via hn)
    C("tcp", "203.0.113.64", 443, ACCEPT, rule="join/usikker-sone-signalering"),
    C("tcp", "203.0.113.79", 5061, ACCEPT),
    C("tcp", "203.0.113.63", 443, REJECT),
    C("tcp", "203.0.113.80", 443, REJECT),
    C("udp", "203.0.113.79", 54999, ACCEPT),
    C("udp", "203.0.113.64", 55000, REJECT),
    # internet: /27 at 203.0.113.160 and the range .228-.234
    C("tcp", "203.0.113.160", 443, ACCEPT, rule="join/internett-signalering"),
    C("tcp", "203.0.113.191", 1720, ACCEPT),
    C("tcp", "203.0.113.159", 443, REJECT),
    C("tcp", "203.0.113.192", 443, REJECT),
    C("udp", "203.0.113.228", 50000, ACCEPT, rule="join/internett-media"),
    C("udp", "203.0.113.234", 40000, ACCEPT),
    C("udp", "203.0.113.227", 50000, REJECT),
    C("udp", "203.0.113.235", 50000, REJECT),
    C("tcp", "203.0.113.222", 8041, ACCEPT, rule="fjernhjelp/internett"),
    C("tcp", "203.0.113.222", 8040, REJECT),
    C("udp", "203.0.113.222", 8041, REJECT),
    # every protocol to a /28, and to one host
    C("udp", "203.0.113.96", 9, ACCEPT, rule="videokonferanse/helsenett"),
    C("tcp", "203.0.113.111", 65535, ACCEPT),
    C("tcp", "203.0.113.95", 9, REJECT),
    C("udp", "203.0.113.112", 9, REJECT),
    C("tcp", "203.0.113.120", 12345, ACCEPT, rule="betalingsterminal/betalingsaksess"),
    # the known-wrong host: rejected by its own rule, not the default
    C("tcp", "203.0.113.121", 443, REJECT, rule="betalingsterminal/secure-access-feil"),
    C("udp", "203.0.113.121", 5060, REJECT, rule="betalingsterminal/secure-access-feil"),
    # a reject with ports over .120-.123: the accept-any host .120 still wins
    C("tcp", "203.0.113.120", 9100, ACCEPT, rule="betalingsterminal/betalingsaksess"),
    C("tcp", "203.0.113.122", 9100, REJECT, rule="betalingsterminal/gammel-port"),
    C("tcp", "203.0.113.121", 9100, REJECT, rule="betalingsterminal/secure-access-feil"),
    C("udp", "203.0.113.122", 9100, REJECT),
    # a port list longer than one iptables multiport match (15 slots)
    C("tcp", "203.0.113.40", 21, ACCEPT, rule="portliste/mange-porter"),
    C("tcp", "203.0.113.40", 22, REJECT),
    C("tcp", "203.0.113.40", 5001, ACCEPT),
    C("tcp", "203.0.113.40", 5002, REJECT),
    C("tcp", "203.0.113.40", 6000, ACCEPT),
    C("tcp", "203.0.113.40", 7000, ACCEPT),
    C("tcp", "203.0.113.40", 6999, REJECT),
    C("udp", "203.0.113.40", 7000, REJECT),
    # the site's resolvers (site_addresses = "resolvers")
    C("udp", "203.0.113.53", 53, ACCEPT, rule="dns/resolvere"),
    C("tcp", "203.0.113.53", 53, ACCEPT),
    C("udp", "203.0.113.53", 54, REJECT),
    C("udp", "203.0.113.54", 53, REJECT),
    # IPv6
    C("tcp", "2001:db8:a::90", 8041, ACCEPT, rule="fjernhjelp/helsenett"),
    C("tcp", "2001:db8:a::91", 8041, REJECT),
    C("tcp", "2001:db8:b::22", 443, ACCEPT, rule="fjernhjelp/internett"),
    C("udp", "2001:db8:b:185::1", 50000, ACCEPT, rule="join/internett-media"),
    C("udp", "2001:db8:b:185:ffff:ffff:ffff:ffff", 54999, ACCEPT),
    C("udp", "2001:db8:b:186::", 50000, REJECT),
    C("udp", "2001:db8:b:184:ffff:ffff:ffff:ffff", 50000, REJECT),
    C("udp", "2001:db8:a::53", 53, ACCEPT, rule="dns/resolvere"),
    # outbound blocked: the site's default
    C("tcp", "203.0.113.200", 22, REJECT),
    C("udp", "203.0.113.5", 123, REJECT),
    C("tcp", "2001:db8:b::99", 22, REJECT),
    # every protocol to an IPv6 /64
    C("tcp", "2001:db8:a:96::1", 443, ACCEPT, rule="videokonferanse/helsenett"),
    C("udp", "2001:db8:a:96:ffff:ffff:ffff:ffff", 9, ACCEPT),
    C("udp", "2001:db8:a:97::", 9, REJECT),
    # the support machine's profile: DNS anywhere, the support host, no more
    C("udp", "203.0.113.200", 53, ACCEPT, src=PROFILE4, rule="fjernhjelp/dns"),
    C("tcp", "203.0.113.5", 53, ACCEPT, src=PROFILE4),
    C("tcp", "203.0.113.222", 8041, ACCEPT, src=PROFILE4, rule="fjernhjelp/hjelp-internett"),
    C("tcp", "203.0.113.30", 443, REJECT, src=PROFILE4),
    C("tcp", "203.0.113.222", 80, REJECT, src=PROFILE4),
    C("udp", "203.0.113.200", 54, REJECT, src=PROFILE4),
    C("udp", "203.0.113.112", 9, ACCEPT, src=PROFILE4, rule="fjernhjelp/lokale-adresser"),
    C("tcp", "203.0.113.119", 65535, ACCEPT, src=PROFILE4),
    C("tcp", "203.0.113.120", 22, REJECT, src=PROFILE4),
    C("tcp", "203.0.113.240", 22, ACCEPT, src=PROFILE4, rule="fjernhjelp/lokale-adresser"),
    C("udp", "203.0.113.255", 1, ACCEPT, src=PROFILE4),
    C("tcp", "203.0.113.239", 22, REJECT, src=PROFILE4),
    C("tcp", "203.0.113.240", 22, REJECT),
    C("udp", "2001:db8:b::1", 53, ACCEPT, src=PROFILE6),
    C("tcp", "2001:db8:b::22", 443, ACCEPT, src=PROFILE6),
    C("tcp", "2001:db8:a::90", 8041, REJECT, src=PROFILE6),
    # the video equipment's profile drops everything but its /28
    C("tcp", "203.0.113.100", 443, ACCEPT, src=VIDEO_HOST4),
    C("tcp", "203.0.113.30", 443, DROP, src=VIDEO_HOST4),
    C("udp", "203.0.113.200", 53, DROP, src=VIDEO_HOST4),
)


# --------------------------------------------------------------------------
# The lab
# --------------------------------------------------------------------------


def skip_reason(*tools: str) -> str | None:
    """Why the kernel tests cannot run here, or None."""
    if reason := nn.root_ok():
        return reason
    for tool in tools:
        if not nn.have(tool):
            return f"{tool} is not installed"
    return None


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a fresh interpreter; fail loudly."""
    # NHN_APPLIANCE_SITE/_RULES would silently replace the defaults under test
    env = {k: v for k, v in os.environ.items() if not k.startswith("NHN_APPLIANCE_")}
    res = subprocess.run(
        [sys.executable, "-m", "nhn_appliance.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if res.returncode != 0:
        raise AssertionError(
            f"nhn-appliance {' '.join(args)} exited {res.returncode}:\n{res.stderr}"
        )
    return res


@dataclass
class KernelLab:
    lab: nn.RouterLab
    site: Path
    workdir: Path
    policy: Policy
    #: the kernel's ICMP bucket is host-wide here: stay well under 1000 errors/s
    paced: bool = False
    far: FarListener | None = None
    #: what a test saw before it loaded the rendered rules (the router's own configuration)
    before: Any = None

    @property
    def rtr(self) -> str:
        return self.lab.ns["rtr"]

    def render(self, target: str) -> list[Path]:
        """Render the lab site with the CLI; returns the files written."""
        # the names the headers' load commands use
        out = self.workdir / ("nhn-appliance.nft" if target == "nftables" else "rules.v4")
        cli(
            "--rules",
            str(LAB_RULES),
            "--site",
            str(self.site),
            "render",
            "-t",
            target,
            "-o",
            str(out),
        )
        files = [out] + ([out.with_name("rules.v6")] if target == "iptables" else [])
        for f in files:
            assert f.is_file(), f"render -t {target} did not write {f}"
        return files

    def run_rtr(self, argv: list[str]) -> str:
        res = nn.run_in(self.rtr, argv)
        if res.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} failed in the router namespace:\n{res.stderr}")
        return res.stdout

    def kernel(self, case: Case) -> Action | str:
        """Send the flow; the action the kernel took, or the raw verdict if none fits."""
        if self.paced:
            time.sleep(0.004)
        got = nn.probe_flow(
            self.lab.ns["site"],
            case.proto,
            case.dst,
            case.port,
            src=case.source,
            timeout=case.timeout,
        )
        return KERNEL_TO_ACTION[case.proto].get(got, got)

    def explain(self, case: Case) -> Verdict:
        flow = Flow.parse(case.proto, case.dst, case.port, case.source, lab_zone(case.dst).value)
        return explain(self.policy, flow)

    def check(self, case: Case) -> None:
        """Kernel and explain both give the catalogue's verdict for ``case``."""
        kernel = self.kernel(case)
        said = self.explain(case)
        rule = said.rule.id if said.rule else None
        assert (kernel, said.verdict) == (case.expect, case.expect), (
            f"{case.id}: expected {case.expect}, kernel gave {kernel}, "
            f"explain gave {said.verdict} ({said.reason})"
        )
        if case.rule is not None:
            assert rule == case.rule, f"{case.id}: explain attributes it to {rule}, not {case.rule}"


def write_site(lab: nn.RouterLab, path: Path) -> Path:
    """The lab site file with this lab's interface names filled in."""
    text = string.Template(SITE_TEMPLATE.read_text(encoding="utf-8")).substitute(
        lan=lab.if_lan, hn=lab.if_hn, inet=lab.if_inet
    )
    path.write_text(text, encoding="utf-8")
    return path


def lift_icmp_limit(lab: nn.RouterLab) -> bool:
    """Lift the ICMP error rate limit in the namespaces that answer flows.

    RouterLab turns off the per-destination limit, but every namespace also
    has a token bucket for all ICMP errors (net.ipv4.icmp_msgs_per_sec and
    _burst, 1000/s and 50, shared by IPv6). Flows sent back to back outrun it,
    and a reject or port-unreachable that is not sent looks like a drop. The
    bucket is per namespace only since Linux 6.12; False if it is not here.
    """
    try:
        for role in ("rtr", "hn", "inet"):
            nn.sysctl(lab.ns[role], "net.ipv4.icmp_msgs_per_sec", 1_000_000)
            nn.sysctl(lab.ns[role], "net.ipv4.icmp_msgs_burst", 1_000_000)
    except OSError:
        return False
    return True


@contextlib.contextmanager
def open_lab(workdir: Path) -> Iterator[KernelLab]:
    """A started RouterLab with the lab site written for it; always torn down."""
    with nn.RouterLab() as lab:
        paced = not lift_icmp_limit(lab)
        # the third site address for the drop profile (same /25 as the others)
        nn.run_in(
            lab.ns["site"],
            ["ip", "addr", "add", f"{VIDEO_HOST4}/25", "dev", lab.if_site],
            check=True,
        )
        site = write_site(lab, workdir / "site.toml")
        policy = load_inputs(
            str(site), str(LAB_RULES), str(workdir / "pins.json"), pins_must_exist=False
        ).policy()
        with FarListener(lab) as far:
            yield KernelLab(lab, site, workdir, policy, paced, far)


@pytest.fixture(scope="module")
def kernel_lab(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KernelLab]:
    """One lab per test module; the module sets ``KERNEL_TOOLS`` it needs."""
    tools = getattr(request.module, "KERNEL_TOOLS", ())
    if reason := skip_reason(*tools):
        pytest.skip(reason)
    with open_lab(tmp_path_factory.mktemp("kernel-lab")) as kl:
        yield kl


@contextlib.contextmanager
def scratch_netns() -> Iterator[str]:
    """A fresh, empty namespace (no links) for syntax checks; always deleted."""
    name = f"nk{secrets.token_hex(3)}-chk"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, timeout=10)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


# --------------------------------------------------------------------------
# nftables counters
# --------------------------------------------------------------------------


def _nft_text(value: object) -> str:
    """One part of an element's key as nft writes it in its text syntax."""
    if isinstance(value, dict) and "range" in value:
        lo, hi = value["range"]
        return f"{lo}-{hi}"
    if isinstance(value, dict) and "prefix" in value:
        return f"{value['prefix']['addr']}/{value['prefix']['len']}"
    return str(value)


@dataclass(frozen=True)
class NftElement:
    key: tuple[str, ...]  #: e.g. ("np1234ab-hn", "203.0.113.28-203.0.113.32", "udp", "5060")
    comment: str
    packets: int


def nft_set_elements(kl: KernelLab, name: str) -> list[NftElement]:
    """The elements of an nftables set in the router, with their counters."""
    out = kl.run_rtr(["nft", "-j", "list", "set", "inet", "nhn_appliance", name])
    sets = [item["set"] for item in json.loads(out)["nftables"] if "set" in item]
    assert len(sets) == 1, f"nft printed {len(sets)} sets named {name}"
    elements = []
    for item in sets[0].get("elem", []):
        body = item["elem"]
        val = body["val"]
        parts = val["concat"] if isinstance(val, dict) and "concat" in val else [val]
        elements.append(
            NftElement(
                tuple(_nft_text(p) for p in parts),
                body.get("comment", ""),
                body.get("counter", {}).get("packets", 0),
            )
        )
    return elements


# --------------------------------------------------------------------------
# The far side accepts every TCP connection
# --------------------------------------------------------------------------


class FarListener:
    """In hn and inet: every TCP SYN is redirected to one listener, which accepts
    and closes, and remembers each peer address (so a test sees source NAT)."""

    def __init__(self, lab: nn.RouterLab) -> None:
        self.lab = lab
        self.socks: list[socket.socket] = []
        self.peers: list[tuple[str, str]] = []  #: (role, peer address), in order
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FarListener:
        ruleset = (
            "table inet far {\n chain pre {\n  type nat hook prerouting priority dstnat;\n"
            f"  meta l4proto tcp redirect to :{FAR_PORT}\n }}\n}}\n"
        )
        for role in ("hn", "inet"):
            nn.nft(self.lab.ns[role], ruleset)
            with nn.netns(self.lab.ns[role]):
                for family, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
                    sock = socket.socket(family, socket.SOCK_STREAM)
                    if family == socket.AF_INET6:
                        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sock.bind((addr, FAR_PORT))
                    sock.listen(512)
                    sock.setblocking(False)
                    self.socks.append(sock)
        self._roles = {id(s): ("hn", "hn", "inet", "inet")[i] for i, s in enumerate(self.socks)}
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():  # bounded by __exit__
            ready, _, _ = select.select(self.socks, [], [], 0.1)
            for sock in ready:
                with contextlib.suppress(BlockingIOError, ConnectionAbortedError):
                    conn, peer = sock.accept()
                    conn.close()
                    self.peers.append((self._roles[id(sock)], peer[0]))

    def peers_after(self, seen: int, count: int, timeout: float = 2.0) -> list[tuple[str, str]]:
        """The ``count`` peers accepted after the first ``seen``; the client's connect()
        returns once the kernel has the handshake, before this thread accepts."""
        deadline = time.monotonic() + timeout
        while len(self.peers) < seen + count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.peers[seen:]

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in self.socks:
            sock.close()


# --------------------------------------------------------------------------
# What the router had before: it must stay exactly as it was
# --------------------------------------------------------------------------


def existing_iptables(kl: KernelLab) -> None:
    """A router's own configuration as iptables rules: INPUT policy DROP with
    replies, ICMPv6 and SSH accepted, a leftover allow-all from the LAN in
    FORWARD, the PPPoE-style MSS clamp in mangle FORWARD and POSTROUTING, and
    masquerade on the internet uplink."""
    lan, inet = kl.lab.if_lan, kl.lab.if_inet
    for tool in ("iptables", "ip6tables"):
        icmp = "icmp" if tool == "iptables" else "ipv6-icmp"
        for argv in (
            ["-P", "INPUT", "DROP"],
            ["-A", "INPUT", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"],
            ["-A", "INPUT", "-p", icmp, "-j", "ACCEPT"],
            ["-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT"],
            ["-A", "FORWARD", "-i", lan, "-j", "ACCEPT"],
            ["-t", "mangle", "-A", "FORWARD", *MSS_CLAMP],
            ["-t", "mangle", "-A", "POSTROUTING", "-o", inet, *MSS_CLAMP],
        ):
            kl.run_rtr([tool, *argv])
    kl.run_rtr(["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", inet, "-j", "MASQUERADE"])


MSS_CLAMP = ("-p", "tcp", "--tcp-flags", "SYN,RST", "SYN", "-j", "TCPMSS", "--clamp-mss-to-pmtu")


def existing_nftables(kl: KernelLab) -> None:
    """The same configuration as nftables tables of its own, plus one
    iptables-nft rule (an MSS clamp in mangle POSTROUTING)."""
    inet = kl.lab.if_inet
    nn.nft(
        kl.rtr,
        "table inet router {\n"
        " chain input { type filter hook input priority filter; policy drop;\n"
        "  ct state established,related accept\n"
        "  meta l4proto { icmp, ipv6-icmp } accept\n"
        '  tcp dport 22 accept comment "ssh"\n }\n'
        " chain clamp { type filter hook forward priority mangle;\n"
        "  tcp flags syn tcp option maxseg size set rt mtu\n }\n"
        "}\n"
        "table ip nat {\n"
        " chain postrouting { type nat hook postrouting priority srcnat;\n"
        f'  oifname "{inet}" masquerade\n }}\n'
        "}\n",
    )
    kl.run_rtr(["iptables", "-t", "mangle", "-A", "POSTROUTING", "-o", inet, *MSS_CLAMP])


def _without_counters(text: str) -> list[str]:
    return [
        re.sub(r"\[\d+:\d+\]", "[0:0]", line)
        for line in text.splitlines()
        if not line.startswith("#")
    ]


def iptables_state(kl: KernelLab) -> dict[str, list[str]]:
    """iptables-save and ip6tables-save of every table, counters zeroed."""
    return {tool: _without_counters(kl.run_rtr([tool])) for tool in IPT_SAVE}


IPT_SAVE = ("iptables-save", "ip6tables-save")
OWN_LINE = re.compile(r"^(:NHN-|-A NHN-|-A FORWARD -j NHN-(FWD|QOS)$)")


def others(state: dict[str, list[str]]) -> dict[str, list[str]]:
    """What is not this policy's: its chains, rules and the two hook jumps taken out."""
    return {tool: [x for x in lines if not OWN_LINE.match(x)] for tool, lines in state.items()}


def own(state: dict[str, list[str]]) -> dict[str, list[str]]:
    return {tool: [x for x in lines if OWN_LINE.match(x)] for tool, lines in state.items()}


def header_commands(text: str) -> str:
    """The shell lines under the header's "How to load" line, as a script."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# How to load"))
    body = []
    for line in lines[start + 1 :]:
        if not line.startswith("#   "):
            break
        body.append(line[4:])
    assert body, "the header names no load commands"
    return "set -e\n" + "\n".join(body) + "\n"


def load_as_header_says(kl: KernelLab, files: list[Path]) -> None:
    """Run the load commands the rendered header gives, in the files' folder."""
    script = header_commands(files[0].read_text(encoding="utf-8"))
    res = nn.run_in(kl.rtr, ["sh", "-c", script], cwd=files[0].parent)
    assert res.returncode == 0, f"the header's load commands failed:\n{script}\n{res.stderr}"


def nft_others(kl: KernelLab) -> list[dict]:
    """``nft -j list ruleset`` without the nhn_appliance table (counters zeroed)."""
    items = json.loads(kl.run_rtr(["nft", "-j", "list", "ruleset"]))["nftables"]
    out = []
    for item in items:
        body = next(iter(item.values()))
        if isinstance(body, dict) and TABLE_NAME in (body.get("table"), body.get("name")):
            if body.get("family") == "inet":
                continue
        out.append(json.loads(re.sub(r'"(packets|bytes)": \d+', r'"\1": 0', json.dumps(item))))
    return out


TABLE_NAME = "nhn_appliance"
