"""Whole-process time and peak memory of ``nhn-appliance probe`` with every target silent.

    python bench/bench_probe.py [--runs 5] [--timeout 2] [--help-runs 10] [--diagnose] [--json FILE]

Needs root and iproute2 (network namespaces); nft for the SYN accounting.

Measures, against the issue's floors:

- the full probe plan of the default site, every target silent: wall time of
  the whole ``nhn-appliance --rules COPY --site COPY probe --timeout T -o FILE``
  process, target at most T + 1 s;
- the peak memory (max RSS) of that process, target < 120 MB;
- ``nhn-appliance probe --help``, whole process, target < 0.25 s, and whether
  it imports scapy (``python -X importtime``; should not).

NETWORK SAFETY. The packaged catalogue and default site name real NHN
addresses and names. This script never runs the probe with them: it copies
``rules/*.toml`` and the default site into a temp dir and rewrites every IPv4
address, CIDR and range into 203.0.113.0/24 (then 198.51.100.0/25), every
IPv6 one into 2001:db8:100::/40 and every DNS name with a real top-level
domain to ``.test`` (``hjelp.nhn.no`` -> ``hjelp.nhn.test``); in the site it
points ``[dns] resolvers``, ``[probe] ntp_servers``, ``pac_url``, ``proxy``
and ``test_urls`` there too. Before anything runs it (1) greps the copies for
91.186. 83.118. 193.214. 91.102. 10.145. 185.84. and nhn.no, (2) checks every
address and name in the copies, and (3) builds the probe plan from them in this
process and checks every address and name of every check: documentation
ranges and ``.test`` only, or it aborts.

"Silent" without any real address: the probe runs (``ip netns exec``) in a
namespace whose only route is a default route over a veth pair into a second
namespace with IP forwarding off, which drops every packet it is not the
destination of and sends no ICMP error (a default route there too, so IPv6
drops in ip6_forward instead of answering "no route"). The site namespace
gets ``/etc/netns/NS/resolv.conf`` naming a documentation resolver, so the
system resolver (ntplib resolves the NTP server's name with getaddrinfo) is
silent too. Both namespaces carry a random tag and are deleted afterwards,
also on errors and Ctrl-C.

Peak memory is the ``ru_maxrss`` that ``os.wait4`` returns for the probe
process itself (``ip netns exec`` execs it, so the pid is the interpreter).

Evidence printed besides the figures: statuses and reasons per kind, the
checks the runner cut at its own limit (detail "no result within T s", no
events), the planned TCP targets that really got a SYN (an nftables set in
the blackhole namespace counts them), and the blackhole's packet counters
(it must send no ICMP error). ``--diagnose`` adds one run per check kind and
what-if runs through ``python -c`` with the product unchanged but asyncio's
thread pool enlarged, the site's concurrency raised, the NTP server given by
address, scapy imported up front, or dns's ICMP read made non-blocking.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

TARGET_SLACK = 1.0  # s over the per-check timeout
TARGET_RSS_MB = 120.0  # 10**6 bytes
TARGET_HELP = 0.25

# -- documentation ranges ------------------------------------------------------
DOC4 = [
    ipaddress.ip_network(n) for n in ("198.51.100.0/24", "203.0.113.0/24")
]  # not 192.0.2.0/24: the host uplink
DOC6 = ipaddress.ip_network("2001:db8::/32")
#: where catalogue addresses go (203.0.113.0/24 first; 198.51.100.128/25 is the bench's own)
POOL4 = [ipaddress.ip_network("203.0.113.0/24"), ipaddress.ip_network("198.51.100.0/25")]
POOL6 = ipaddress.ip_network("2001:db8:100::/40")
#: the site's own targets and the veth link (never 192.0.2.0/24: the host uplink lives there)
SITE_RESOLVER = "198.51.100.153"
SITE_NTP = "ntp.nhn.test"  # the rewrite of ntp.nhn.no: a name, as the default site has it
LINK4 = ("198.51.100.249", "198.51.100.250")  # (site, blackhole) /30
LINK6 = ("2001:db8:ffff::1", "2001:db8:ffff::2")  # /64
SYN_SETS = """\
table inet bench {
  set syn4 { type ipv4_addr . inet_service; flags dynamic; size 65535; }
  set syn6 { type ipv6_addr . inet_service; flags dynamic; size 65535; }
  chain pre { type filter hook prerouting priority -300; policy accept;
    meta nfproto ipv4 tcp flags & (syn | ack) == syn add @syn4 { ip daddr . tcp dport }
    meta nfproto ipv6 tcp flags & (syn | ack) == syn add @syn6 { ip6 daddr . tcp dport }
  }
}
"""
KEEP_MAX = 32  # a CIDR or range of up to 32 addresses keeps its size; larger ones become 16

#: what must never be left in a copy (the brief's list, plus the proxy's example answer)
FORBIDDEN = ("91.186.", "83.118.", "193.214.", "91.102.", "10.145.", "185.84.", "nhn.no")
REAL_TLDS = (
    "no",
    "com",
    "net",
    "org",
    "se",
    "dk",
    "eu",
    "io",
    "int",
    "gov",
    "edu",
    "info",
    "de",
    "uk",
    "fi",
    "nu",
    "cloud",
    "app",
)

IPV4_RE = re.compile(
    r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})"
    r"(?:/(\d{1,2})|\s*[-\u2013]\s*(\d{1,3}(?:\.\d{1,3}){3}))?(?![\d.])"
)
IPV6_RE = re.compile(
    r"(?<![0-9A-Fa-f:])([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})(?:/(\d{1,3}))?"
    r"(?![0-9A-Fa-f:])"
)
NAME_RE = re.compile(
    r"(?<![\w.-])((?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+)"
    r"(" + "|".join(REAL_TLDS) + r")(?![\w-])",
    re.IGNORECASE,
)


def _is_doc(value: str) -> bool:
    """A documentation address or network (IPv4 TEST-NETs, 2001:db8::/32)."""
    net = ipaddress.ip_network(value, strict=False)
    if net.version == 4:
        return any(net.subnet_of(d) for d in DOC4)
    return net.subnet_of(DOC6)


class Rewriter:
    """Maps every distinct address token of the catalogue into documentation ranges.

    Deterministic: tokens are collected in file order, then given aligned blocks
    largest first, ties by first appearance. A CIDR keeps its prefix length and a
    range its length when they have at most 32 addresses; larger ones (/17, /8,
    0.0.0.0/0, ::/0) become a /28 (IPv6: /124) or a 16-address range: only targets.
    """

    def __init__(self) -> None:
        self.order: list[tuple] = []  # ("4net"|"4range"|"6net", key) in first-seen order
        self.map: dict[tuple, str] = {}

    # -- collecting
    def _tokens(self, text: str):
        for m in IPV4_RE.finditer(text):
            addr, plen, last = m.groups()
            try:
                a = ipaddress.IPv4Address(addr)
                if last:
                    b = ipaddress.IPv4Address(last)
                    if int(b) < int(a):
                        continue
                    yield m, ("4range", (int(a), int(b)))
                else:
                    net = ipaddress.IPv4Network(f"{addr}/{plen or 32}", strict=False)
                    yield m, ("4net", (str(net), addr, int(plen or 32)))
            except ValueError:
                continue

    def _tokens6(self, text: str):
        for m in IPV6_RE.finditer(text):
            addr, plen = m.groups()
            if "::" not in addr and addr.count(":") != 7:
                continue
            try:
                net = ipaddress.IPv6Network(f"{addr}/{plen or 128}", strict=False)
            except ValueError:
                continue
            if net.subnet_of(DOC6):
                continue  # already documentation (the site's LAN prefix)
            yield m, ("6net", (str(net), addr, int(plen or 128)))

    def collect(self, text: str) -> None:
        for _, key in [*self._tokens(text), *self._tokens6(text)]:
            if key not in self.order:
                self.order.append(key)

    # -- allocating
    @staticmethod
    def _size(key: tuple) -> int:
        kind, v = key
        if kind == "4range":
            n = v[1] - v[0] + 1
            return 1 << (n - 1).bit_length() if n <= KEEP_MAX else 16
        if kind == "4net":
            n = 1 << (32 - v[2])
            return n if n <= KEEP_MAX else 16
        n = 1 << (128 - v[2])
        return n if n <= KEEP_MAX else 16

    def allocate(self) -> None:
        keys = sorted(self.order, key=lambda k: (-self._size(k), self.order.index(k)))
        pools4 = [[int(p.network_address), int(p.broadcast_address) + 1] for p in POOL4]
        next6 = int(POOL6.network_address)
        for key in keys:
            size = self._size(key)
            kind, v = key
            if kind == "6net":
                base = next6
                next6 += 1 << 16  # one /112 apart, readable
                plen = 128 - (size.bit_length() - 1)
                self.map[key] = (
                    str(ipaddress.IPv6Network(f"{ipaddress.IPv6Address(base)}/{plen}"))
                    if v[2] != 128
                    else str(ipaddress.IPv6Address(base + 1))
                )
                continue
            for pool in pools4:
                start = -(-pool[0] // size) * size  # aligned (the largest come first)
                if start + size <= pool[1]:
                    pool[0] = start + size
                    break
            else:
                raise SystemExit("bench_probe: documentation pool exhausted; abort")
            if kind == "4range":
                n = min(v[1] - v[0] + 1, size)
                self.map[key] = (
                    f"{ipaddress.IPv4Address(start)}-{ipaddress.IPv4Address(start + n - 1)}"
                )
            elif v[2] == 32:
                self.map[key] = str(ipaddress.IPv4Address(start))
            else:
                plen = 32 - (size.bit_length() - 1)
                self.map[key] = f"{ipaddress.IPv4Address(start)}/{plen}"

    # -- rewriting
    def rewrite(self, text: str) -> str:
        def sub4(m):
            for _mm, key in self._tokens(m.group(0)):
                return self.map.get(key, m.group(0))
            return m.group(0)

        def sub6(m):
            for _mm, key in self._tokens6(m.group(0)):
                return self.map.get(key, m.group(0))
            return m.group(0)

        text = IPV4_RE.sub(sub4, text)
        text = IPV6_RE.sub(sub6, text)
        return rename(text)

    def table(self) -> list[tuple[str, str]]:
        out = []
        for key in self.order:
            kind, v = key
            old = (
                f"{ipaddress.IPv4Address(v[0])}-{ipaddress.IPv4Address(v[1])}"
                if kind == "4range"
                else (v[1] if v[2] in (32, 128) else f"{v[1]}/{v[2]}")
            )
            out.append((old, self.map[key]))
        return out


def rename(text: str) -> str:
    """Every DNS name with a real top-level domain -> the same name under .test."""
    return NAME_RE.sub(lambda m: m.group(1) + "test", text)


# -- the copies ------------------------------------------------------------------
def make_copies(work: Path) -> dict:
    """Rewritten copies of the catalogue and the default site; returns their paths."""
    from nhn_appliance.policy.catalogue import default_rules_dir

    src_rules = default_rules_dir()
    src_site = C.REPO / "appliance.toml"
    rules = work / "rules"
    rules.mkdir()
    files = sorted(src_rules.glob("*.toml"))
    rw = Rewriter()
    texts = {f.name: f.read_text(encoding="utf-8") for f in files}
    site_text = src_site.read_text(encoding="utf-8")
    for text in [*texts.values(), site_text]:
        rw.collect(text)
    # the site's own LAN, hosts and resolver are not catalogue targets: keep the LAN
    # and hosts (private, the site's own), replace the resolver line explicitly below
    lan = tomllib.loads(site_text)
    keep = {
        *lan["lan"]["prefixes"],
        *(a for h in lan.get("host", []) for a in h["addresses"]),
        *lan["dns"]["resolvers"],
    }
    rw.order = [
        k
        for k in rw.order
        if not (k[0] in ("4net", "6net") and (k[1][1] in keep or k[1][0] in keep))
    ]
    rw.allocate()
    for name, text in texts.items():
        (rules / name).write_text(rw.rewrite(text), encoding="utf-8")
    # the site: resolvers to a documentation address, every name (ntp, PAC, proxy,
    # test URLs) to .test; the LAN (192.168.10.0/24, 2001:db8:10::/64) stays
    site = re.sub(r"(?m)^resolvers\s*=\s*\[[^\]]*\]", f'resolvers = ["{SITE_RESOLVER}"]', site_text)
    site = re.sub(r"(?m)^ntp_servers\s*=\s*\[[^\]]*\]", f'ntp_servers = ["{SITE_NTP}"]', site)
    site = rename(site)
    site_path = work / "appliance.toml"
    site_path.write_text(site, encoding="utf-8")
    return {"rules": rules, "site": site_path, "mapping": rw.table()}


def check_copies(paths: dict) -> dict:
    """Abort unless the copies name documentation addresses and .test names only."""
    problems = []
    files = [*sorted(paths["rules"].glob("*.toml")), paths["site"]]
    # 1. the brief's grep
    res = subprocess.run(
        [
            "grep",
            "-rnF",
            *sum((["-e", s] for s in FORBIDDEN), []),
            str(paths["rules"]),
            str(paths["site"]),
        ],
        capture_output=True,
        text=True,
    )
    if res.returncode != 1:
        problems.append(f"grep found real NHN addresses or names:\n{res.stdout}{res.stderr}")
    # 2. every address and name token in the copies
    for f in files:
        text = f.read_text(encoding="utf-8")
        if f == paths["site"]:
            site = tomllib.loads(text)
            allowed_private = {
                *site["lan"]["prefixes"],
                *(a for h in site.get("host", []) for a in h["addresses"]),
            }
        else:
            allowed_private = set()
        for m in IPV4_RE.finditer(text):
            addr, plen, last = m.groups()
            token = m.group(0)
            if token in allowed_private or addr in allowed_private:
                continue
            for a in (addr, last):
                try:
                    if a and not _is_doc(a):
                        problems.append(f"{f.name}: {token} is not a documentation address")
                except ValueError:
                    pass
        for m in IPV6_RE.finditer(text):
            addr = m.group(1)
            if "::" not in addr and addr.count(":") != 7:
                continue
            try:
                if not _is_doc(addr):
                    problems.append(f"{f.name}: {m.group(0)} is not a documentation address")
            except ValueError:
                pass
        for m in NAME_RE.finditer(text):
            problems.append(f"{f.name}: name {m.group(0)} is not under .test")
    site = tomllib.loads(paths["site"].read_text(encoding="utf-8"))
    probe = site.get("probe", {})
    hosts = [
        *site["dns"]["resolvers"],
        *probe.get("ntp_servers", []),
        _url_host(probe.get("pac_url", "")),
        probe.get("proxy", "").rpartition(":")[0],
        *(_url_host(u) for u in probe.get("test_urls", [])),
    ]
    for h in hosts:
        if h and not _safe_host(h):
            problems.append(f"site: {h} is neither a documentation address nor a .test name")
    if problems:
        raise SystemExit(
            "bench_probe: ABORT, the rewritten copies are not safe:\n  " + "\n  ".join(problems)
        )
    return {"files": len(files), "site_hosts": hosts}


def _url_host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or "" if url else ""


def _safe_host(value: str) -> bool:
    value = value.strip().strip("[]").rstrip(".")
    try:
        return _is_doc(value)
    except ValueError:
        pass
    return value.lower().endswith(".test")


def check_plan(paths: dict, timeout: float) -> dict:
    """Build the plan from the copies in this process; abort unless every target is safe."""
    from nhn_appliance.inputs import load_inputs
    from nhn_appliance.probes.plan import plan

    inputs = load_inputs(str(paths["site"]), str(paths["rules"]), str(paths["site"]) + ".pins.json")
    checks = plan(inputs.catalogue, inputs.site, inputs.policy(), inputs.pins)
    problems = []
    host_keys = {"address", "resolver", "name", "proxy", "server", "sni", "connect_to", "host"}
    url_keys = {"url", "pac_url"}

    def walk(check, key, value) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(check, k, v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(check, key, v)
        elif isinstance(value, str):
            if key in host_keys:
                host = value
                if key == "connect_to" or (key == "proxy" and value.count(":") == 1):
                    host = value.rpartition(":")[0] or value
                if not _safe_host(host):
                    problems.append(f"{check.id}: {key}={value!r}")
            elif key in url_keys or key == "test_urls":
                if not _safe_host(_url_host(value)):
                    problems.append(f"{check.id}: {key}={value!r}")
            for s in FORBIDDEN:
                if s in value:
                    problems.append(f"{check.id}: {key} contains {s!r}")
            for m in IPV4_RE.finditer(value):
                for a in (m.group(1), m.group(3)):
                    if a:
                        with contextlib.suppress(ValueError):
                            if not _is_doc(a):
                                problems.append(f"{check.id}: {key} names {a}")
            for m in NAME_RE.finditer(value):
                problems.append(f"{check.id}: {key} names {m.group(0)}")

    for check in checks:
        walk(check, "target", check.target)
        walk(check, "params", check.params)
    if problems:
        raise SystemExit(
            "bench_probe: ABORT, the plan names non-documentation targets:\n  "
            + "\n  ".join(problems[:50])
        )
    tcp = sorted(
        {
            (c.params["address"], int(c.params["port"]))
            for c in checks
            if c.kind in ("tcp", "tls", "syn")
            or (c.kind == "sip" and c.params.get("transport") == "tcp")
        }
    )
    return {
        "checks": len(checks),
        "kinds": dict(Counter(c.kind for c in checks)),
        "tcp_targets": tcp,
    }


# -- the silent network --------------------------------------------------------------
def _ip(ns: str | None, lines: list[str]) -> None:
    argv = ["ip", *(["-n", ns] if ns else []), "-batch", "-"]
    res = subprocess.run(
        argv, input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=30
    )
    if res.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed: {res.stderr.strip()}")


def _sysctl(ns: str, key: str, value) -> None:
    subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            ns,
            "sh",
            "-c",
            f"echo {value} > /proc/sys/{key.replace('.', '/')}",
        ],
        check=True,
        timeout=30,
    )


class Blackhole:
    """Two namespaces: ``site`` (default routes only, over a veth) and ``bh`` (forwarding off).

    Every packet the site sends that is not for bh's own link address reaches bh
    and is dropped there without an ICMP error. ``counters()`` shows what bh saw.
    """

    def __init__(self) -> None:
        tag = secrets.token_hex(3)
        self.tag = tag
        self.site, self.bh = f"nhnpb-{tag}-site", f"nhnpb-{tag}-bh"
        self.if_site, self.if_bh = f"pb{tag}s", f"pb{tag}b"
        self.etc = Path("/etc/netns") / self.site
        self._made_etc_root = False
        self.procs: list[subprocess.Popen] = []
        self.nft = False

    def __enter__(self) -> Blackhole:
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _build(self) -> None:
        for ns in (self.site, self.bh):
            subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True, timeout=30)
        for ns in (self.site, self.bh):
            _sysctl(ns, "net.ipv6.conf.all.accept_dad", 0)
            _sysctl(ns, "net.ipv6.conf.default.accept_dad", 0)
        _sysctl(self.bh, "net.ipv4.ip_forward", 0)
        _sysctl(self.bh, "net.ipv6.conf.all.forwarding", 0)
        # distinct ifindexes: the carrier comes up at once (see tests/netns.py)
        _ip(
            None,
            [
                f"link add {self.if_site} index 20 netns {self.site} type veth"
                f" peer name {self.if_bh} index 21 netns {self.bh}"
            ],
        )
        _ip(
            self.site,
            [
                "link set lo up",
                f"addr add {LINK4[0]}/30 dev {self.if_site}",
                f"addr add {LINK6[0]}/64 dev {self.if_site} nodad",
                f"link set {self.if_site} up",
            ],
        )
        _ip(
            self.bh,
            [
                "link set lo up",
                f"addr add {LINK4[1]}/30 dev {self.if_bh}",
                f"addr add {LINK6[1]}/64 dev {self.if_bh} nodad",
                f"link set {self.if_bh} up",
            ],
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            states = [
                json.loads(
                    subprocess.run(
                        ["ip", "-j", "-n", ns, "link", "show", ifn], capture_output=True, text=True
                    ).stdout
                    or "[{}]"
                )[0].get("operstate")
                for ns, ifn in ((self.site, self.if_site), (self.bh, self.if_bh))
            ]
            if states == ["UP", "UP"]:
                break
            time.sleep(0.01)
        _ip(self.site, [f"route add default via {LINK4[1]}", f"route add ::/0 via {LINK6[1]}"])
        # bh: a route for everything back over the veth, so that a packet finds a
        # route and is dropped for "forwarding off" (IPv4 ip_error, IPv6 ip6_forward)
        # instead of IPv6 answering "no route" with an ICMPv6 error
        _ip(self.bh, [f"route add default dev {self.if_bh}", f"route add ::/0 dev {self.if_bh}"])
        # count the distinct TCP targets that get a SYN (evidence of which checks sent one)
        self.nft = (
            shutil.which("nft") is not None
            and subprocess.run(
                ["ip", "netns", "exec", self.bh, "nft", "-f", "-"],
                input=SYN_SETS,
                text=True,
                capture_output=True,
            ).returncode
            == 0
        )
        # the system resolver inside the site namespace: a silent documentation address
        if not self.etc.parent.exists():
            self.etc.parent.mkdir()
            self._made_etc_root = True
        self.etc.mkdir()
        (self.etc / "resolv.conf").write_text(
            f"# nhn-appliance bench_probe, deleted afterwards\nnameserver {SITE_RESOLVER}\n"
        )

    def verify(self) -> dict:
        """The site's routes and the blackhole's sysctls, as they are now."""
        routes = []
        for fam in ("-4", "-6"):
            out = subprocess.run(
                ["ip", fam, "-j", "-n", self.site, "route", "show", "table", "all"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            for r in json.loads(out or "[]"):
                if (
                    r.get("table") == "local"
                    or r.get("dst", "").startswith("fe80")
                    or r.get("dst", "").startswith("ff00")
                    or r.get("type") in ("local", "broadcast", "multicast")
                ):
                    continue
                routes.append(
                    f"{r.get('dst')} {'via ' + r['gateway'] if 'gateway' in r else ''} "
                    f"dev {r.get('dev')}".replace("  ", " ")
                )
        links = json.loads(
            subprocess.run(
                ["ip", "-j", "-n", self.site, "link", "show"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        fwd = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                self.bh,
                "cat",
                "/proc/sys/net/ipv4/ip_forward",
                "/proc/sys/net/ipv6/conf/all/forwarding",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        info = {
            "site_routes": routes,
            "site_links": [x["ifname"] for x in links],
            "bh_ip_forward": fwd[0],
            "bh_ipv6_forwarding": fwd[1],
        }
        bad = [r for r in routes if self.if_site not in r]
        if bad or sorted(info["site_links"]) != sorted(["lo", self.if_site]) or fwd != ["0", "0"]:
            raise SystemExit(f"bench_probe: ABORT, the namespace is not sealed: {info}")
        return info

    def syn_targets(self, reset: bool = True) -> set[tuple[str, int]] | None:
        """(address, port) pairs that got a TCP SYN since the last reset; None without nft."""
        if not self.nft:
            return None
        seen = set()
        for name in ("syn4", "syn6"):
            out = subprocess.run(
                ["ip", "netns", "exec", self.bh, "nft", "-j", "list", "set", "inet", "bench", name],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            for obj in json.loads(out)["nftables"]:
                for e in obj.get("set", {}).get("elem", []):
                    e = e.get("elem", {}).get("val", e) if isinstance(e, dict) else e
                    addr, port = e["concat"]
                    seen.add((str(addr), int(port)))
            if reset:
                subprocess.run(
                    ["ip", "netns", "exec", self.bh, "nft", "flush", "set", "inet", "bench", name],
                    check=True,
                )
        return seen

    def counters(self) -> dict:
        """Packets bh received and sent on its veth (sent: ARP/ND replies only, no ICMP errors)."""
        out = subprocess.run(
            ["ip", "-j", "-s", "-n", self.bh, "link", "show", self.if_bh],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        st = json.loads(out)[0]["stats64"]
        snmp = subprocess.run(
            ["ip", "netns", "exec", self.bh, "cat", "/proc/net/snmp"],
            capture_output=True,
            text=True,
        ).stdout.splitlines()
        icmp_out = None
        for head, vals in zip(snmp[::2], snmp[1::2], strict=False):
            if head.startswith("Icmp:"):
                d = dict(zip(head.split()[1:], vals.split()[1:], strict=False))
                icmp_out = int(d.get("OutDestUnreachs", 0)) + int(d.get("OutTimeExcds", 0))
        snmp6 = subprocess.run(
            ["ip", "netns", "exec", self.bh, "cat", "/proc/net/snmp6"],
            capture_output=True,
            text=True,
        ).stdout.split()
        d6 = dict(zip(snmp6[::2], snmp6[1::2], strict=False))
        return {
            "rx_packets": st["rx"]["packets"],
            "tx_packets": st["tx"]["packets"],
            "icmp_errors_sent": icmp_out,
            "icmp6_errors_sent": int(d6.get("Icmp6OutDestUnreachs", 0))
            + int(d6.get("Icmp6OutTimeExcds", 0)),
        }

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                with contextlib.suppress(Exception):
                    proc.wait(5)
        errors = []
        for ns in (self.site, self.bh):
            if not os.path.exists(f"/run/netns/{ns}"):
                continue
            res = subprocess.run(
                ["ip", "netns", "del", ns], capture_output=True, text=True, timeout=30
            )
            if res.returncode:
                errors.append(f"{ns}: {res.stderr.strip()}")
        with contextlib.suppress(FileNotFoundError):
            (self.etc / "resolv.conf").unlink()
        with contextlib.suppress(FileNotFoundError, OSError):
            self.etc.rmdir()
        if self._made_etc_root:
            with contextlib.suppress(OSError):
                self.etc.parent.rmdir()  # only if empty: others may use /etc/netns
        if errors:
            print(f"warning: namespace teardown: {'; '.join(errors)}", file=sys.stderr)


# -- measuring -------------------------------------------------------------------------
def run_probe(bh: Blackhole, argv: list[str], out: Path, env: dict, cwd: Path) -> dict:
    """One whole process: wall time, exit code, max RSS (wait4) and the result document."""
    out.unlink(missing_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        ["ip", "netns", "exec", bh.site, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    bh.procs.append(proc)
    # read both pipes without blocking the child, then reap it with its rusage
    bufs = {"out": [], "err": []}
    readers = [
        threading.Thread(target=lambda s=s, k=k: bufs[k].append(s.read()))
        for s, k in ((proc.stdout, "out"), (proc.stderr, "err"))
    ]
    for r in readers:
        r.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    for r in readers:
        r.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    bh.procs.remove(proc)
    stdout, stderr = b"".join(bufs["out"]), b"".join(bufs["err"])
    doc = json.loads(out.read_text()) if out.exists() else None
    return {
        "wall": wall,
        "rc": proc.returncode,
        "maxrss_kb": usage.ru_maxrss,
        "user": usage.ru_utime,
        "sys": usage.ru_stime,
        "stdout": stdout.decode(errors="replace"),
        "stderr": stderr.decode(errors="replace"),
        "doc": doc,
    }


def summarize_doc(doc: dict) -> dict:
    results = doc["results"]
    # the runner's own wait_for fired: the prober had no result within timeout + grace
    # (a check still queued for a worker thread ends up here without having sent anything)
    cut = [r for r in results if r["detail"].startswith("no result within")]
    by = Counter((r["kind"], r["status"], r["reason"]) for r in results)
    slow = sorted(results, key=lambda r: -r["duration_s"])[:8]
    return {
        "checks": len(results),
        "runtime_s": doc["runtime_s"],
        "summary": doc["summary"],
        "by_kind_status_reason": [[k, s, r, n] for (k, s, r), n in sorted(by.items())],
        "slowest": [
            [r["kind"], r["target"], r["status"], r["reason"], r["duration_s"]] for r in slow
        ],
        "cut_by_runner": len(cut),
        "cut_kinds": dict(Counter(r["kind"] for r in cut)),
    }


def scapy_imports(py: str, args: list[str], env: dict, cwd: Path) -> dict:
    res = subprocess.run(
        [py, "-X", "importtime", "-m", "nhn_appliance.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    )
    lines = res.stderr.splitlines()
    return {
        "scapy_lines": sum("scapy" in ln for ln in lines),
        "modules": sum(ln.startswith("import time:") for ln in lines) - 1,
    }


def measure(runs: int, timeout: float, help_runs: int, warmup: int, diag: bool = False) -> dict:
    if os.geteuid() != 0 or not shutil.which("ip"):
        raise SystemExit("bench_probe needs root and iproute2 'ip' (network namespaces)")
    exe, py = C.entry_point(), sys.executable
    work = Path(tempfile.mkdtemp(prefix="nhn-bench-probe-"))
    cwd = work / "cwd"
    cwd.mkdir()
    env = C.env_as_is()
    env.pop("NHN_APPLIANCE_SITE", None)
    env.pop("NHN_APPLIANCE_RULES", None)
    res: dict = {
        "entry_point": exe,
        "timeout": timeout,
        "target_s": timeout + TARGET_SLACK,
        "load": C.load_note(),
        "runs": [],
    }
    try:
        # --help first: it needs no site and sends nothing
        res["help"] = C.time_process([exe, "probe", "--help"], runs=help_runs, env=env, cwd=cwd)
        res["help_bytecode"] = C.time_process(
            [exe, "probe", "--help"], runs=help_runs, env=C.env_bytecode(work / "pycache"), cwd=cwd
        )
        res["help_imports"] = scapy_imports(py, ["probe", "--help"], env, cwd)

        paths = make_copies(work)
        res["mapping"] = paths["mapping"]
        res["copies"] = check_copies(paths)
        res["plan"] = check_plan(paths, timeout)
        out = work / "probe.json"
        argv = [
            exe,
            "--rules",
            str(paths["rules"]),
            "--site",
            str(paths["site"]),
            "probe",
            "--timeout",
            f"{timeout:g}",
            "-o",
            str(out),
        ]
        res["argv"] = ["ip", "netns", "exec", "SITE", *argv]
        with Blackhole() as bh:
            res["netns"] = bh.verify()
            res["netns"]["names"] = [bh.site, bh.bh]
            for n in range(warmup + runs):
                one = run_probe(bh, argv, out, env, cwd)
                if one["doc"] is None:
                    raise RuntimeError(
                        f"probe wrote no document (exit {one['rc']}): {one['stderr'][-2000:]}"
                    )
                one["doc"] = summarize_doc(one["doc"])
                seen = bh.syn_targets()
                if seen is not None:
                    planned = {tuple(t) for t in res["plan"]["tcp_targets"]}
                    one["syn_sent"] = [len(planned & seen), len(planned), len(seen - planned)]
                one["warmup"] = n < warmup
                res["runs"].append(one)
                tag = "warm-up" if one["warmup"] else f"run {n - warmup + 1}/{runs}"
                print(
                    f"  {tag}: {one['wall']:.3f} s, exit {one['rc']}, max RSS "
                    f"{one['maxrss_kb'] / 1024:.1f} MiB, {one['doc']['checks']} checks, "
                    f"{one['doc']['cut_by_runner']} cut by the runner"
                    + (
                        f", SYN seen for {one['syn_sent'][0]} of {one['syn_sent'][1]} TCP targets"
                        if "syn_sent" in one
                        else ""
                    ),
                    file=sys.stderr,
                )
            res["blackhole"] = bh.counters()
            # one more run with -X importtime: does the probe run import scapy?
            imp = subprocess.run(
                [
                    "ip",
                    "netns",
                    "exec",
                    bh.site,
                    py,
                    "-X",
                    "importtime",
                    "-m",
                    "nhn_appliance.cli",
                    *argv[1:],
                ],
                capture_output=True,
                text=True,
                env=env,
                cwd=cwd,
            )
            lines = imp.stderr.splitlines()
            res["probe_imports"] = {
                "scapy_lines": sum("scapy" in ln for ln in lines),
                "top": _top_imports(lines),
            }
            if diag:
                res["diagnose"] = diagnose(
                    bh, paths, work, exe, py, env, cwd, timeout, sorted(res["plan"]["kinds"])
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    timed = [r for r in res["runs"] if not r["warmup"]]
    res["wall"] = C.summary([r["wall"] for r in timed])
    res["maxrss_mb"] = max(r["maxrss_kb"] for r in timed) * 1024 / 1e6
    return res


#: diagnostic overlay (--diagnose): the product unchanged, but asyncio's default thread pool
#: gets BENCH_WORKERS threads instead of min(32, cores + 4), and scapy may be imported first
OVERLAY = """\
import asyncio, concurrent.futures as cf, os
if os.environ.get("BENCH_PREIMPORT"):
    import scapy.layers.inet, scapy.layers.inet6, scapy.sendrecv
if os.environ.get("BENCH_FIX_ICMP"):  # dns: read the error queue without the socket's timeout
    import nhn_appliance.probes.netio as _nio, nhn_appliance.probes.dns as _dns
    _read = _nio.read_icmp_error
    def _nonblocking(sock):
        t = sock.gettimeout()
        sock.setblocking(False)
        try:
            return _read(sock)
        finally:
            sock.settimeout(t)
    _dns.read_icmp_error = _nonblocking
n = int(os.environ.get("BENCH_WORKERS", "0"))
_orig = asyncio.BaseEventLoop.run_in_executor
def _rie(self, executor, func, *args):
    if n and executor is None and self._default_executor is None:
        pool = cf.ThreadPoolExecutor(max_workers=n, thread_name_prefix="asyncio")
        self.set_default_executor(pool)
    return _orig(self, executor, func, *args)
asyncio.BaseEventLoop.run_in_executor = _rie
from nhn_appliance.cli import main
main()
"""


def diagnose(
    bh: Blackhole,
    paths: dict,
    work: Path,
    exe: str,
    py: str,
    env: dict,
    cwd: Path,
    timeout: float,
    kinds: list[str],
) -> list[dict]:
    """Where the time goes: one run per kind, then what-ifs on an overlay (product unchanged)."""
    out = work / "diag.json"

    def site_variant(name: str, concurrency: int | None = None, ntp: str | None = None) -> Path:
        text = paths["site"].read_text(encoding="utf-8")
        if concurrency:
            text = re.sub(r"(?m)^concurrency\s*=\s*\d+", f"concurrency = {concurrency}", text)
        if ntp:
            text = re.sub(r"(?m)^ntp_servers\s*=\s*\[[^\]]*\]", f'ntp_servers = ["{ntp}"]', text)
        path = work / f"{name}.toml"
        path.write_text(text, encoding="utf-8")
        variant = {"rules": paths["rules"], "site": path}
        check_copies(variant)
        check_plan(variant, timeout)
        return path

    def args(site: Path, only: str | None = None) -> list[str]:
        return [
            "--rules",
            str(paths["rules"]),
            "--site",
            str(site),
            "probe",
            "--timeout",
            f"{timeout:g}",
            "-o",
            str(out),
            *(["--only", only] if only else []),
        ]

    many = 64
    conc = site_variant("conc64", concurrency=many)
    both = site_variant("conc64-ntpaddr", concurrency=many, ntp="198.51.100.123")
    cases: list[tuple[str, list[str], dict]] = [
        (f"--only {k}", [exe, *args(paths["site"], k)], {}) for k in kinds
    ]
    cases += [
        ("as is (all kinds)", [exe, *args(paths["site"])], {}),
        (
            f"overlay: thread pool {many}",
            [py, "-c", OVERLAY, *args(paths["site"])],
            {"BENCH_WORKERS": str(many)},
        ),
        (
            f"overlay: thread pool {many} + [probe] concurrency {many}",
            [py, "-c", OVERLAY, *args(conc)],
            {"BENCH_WORKERS": str(many)},
        ),
        (
            f"overlay: pool {many} + concurrency {many} + NTP server by address",
            [py, "-c", OVERLAY, *args(both)],
            {"BENCH_WORKERS": str(many)},
        ),
        (
            "  same, scapy imported before the run",
            [py, "-c", OVERLAY, *args(both)],
            {"BENCH_WORKERS": str(many), "BENCH_PREIMPORT": "1"},
        ),
        (
            "  same, and dns reads the ICMP error queue without blocking",
            [py, "-c", OVERLAY, *args(both)],
            {"BENCH_WORKERS": str(many), "BENCH_FIX_ICMP": "1"},
        ),
    ]
    rows = []
    for label, argv, extra in cases:
        one = run_probe(bh, argv, out, {**env, **extra}, cwd)
        bh.syn_targets()  # reset
        if one["doc"] is None:
            rows.append({"case": label, "wall": one["wall"], "error": one["stderr"][-300:]})
            continue
        d = summarize_doc(one["doc"])
        rows.append(
            {
                "case": label,
                "wall": one["wall"],
                "runtime_s": d["runtime_s"],
                "maxrss_kb": one["maxrss_kb"],
                "checks": d["checks"],
                "cut_by_runner": d["cut_by_runner"],
                "cut_kinds": d["cut_kinds"],
                "slowest": d["slowest"][:1],
            }
        )
        print(f"  diagnose: {label}: {one['wall']:.3f} s", file=sys.stderr)
    return rows


def _top_imports(lines: list[str], n: int = 8) -> list[tuple[str, float]]:
    """Top-level imports by cumulative time (ms) from ``-X importtime``."""
    out = []
    for ln in lines:
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)", ln)
        if m and len(m.group(3)) <= 1:
            out.append((m.group(4), int(m.group(2)) / 1000))
    return sorted(out, key=lambda x: -x[1])[:n]


def report(res: dict) -> None:
    w = res["wall"]
    timed = [r for r in res["runs"] if not r["warmup"]]
    doc = timed[-1]["doc"]
    target = res["target_s"]
    print(f"entry point: {res['entry_point']}")
    print(res["load"])
    print(f"probe: {' '.join(res['argv'])}")
    print(
        f"namespaces: {', '.join(res['netns']['names'])}; site routes: "
        f"{'; '.join(res['netns']['site_routes'])}; blackhole ip_forward "
        f"{res['netns']['bh_ip_forward']}, ipv6 forwarding {res['netns']['bh_ipv6_forwarding']}"
    )
    print()
    rss_mib = res["maxrss_mb"] * 1e6 / 2**20
    ok = lambda cond: "met" if cond else "MISSED"  # noqa: E731
    rows = [
        (
            f"probe, full plan ({doc['checks']} checks), all silent, --timeout {res['timeout']:g}",
            f"{w['best']:.3f} / {w['median']:.3f} s ({w['runs']} runs)",
            f"<= {target:g} s",
            ok(w["median"] <= target),
        ),
        (
            "  of which the run itself (document runtime_s, last run)",
            f"{doc['runtime_s']:.3f} s",
            "-",
            "",
        ),
        (
            "probe, peak memory (max RSS, worst run)",
            f"{res['maxrss_mb']:.1f} MB ({rss_mib:.1f} MiB)",
            f"< {TARGET_RSS_MB:g} MB",
            ok(res["maxrss_mb"] < TARGET_RSS_MB),
        ),
        (
            "probe --help, whole process (as-is env)",
            C.fmt_times(res["help"]),
            f"< {TARGET_HELP} s",
            ok(res["help"]["median"] < TARGET_HELP),
        ),
        (
            "probe --help, whole process (bytecode cached)",
            C.fmt_times(res["help_bytecode"]),
            f"< {TARGET_HELP} s",
            ok(res["help_bytecode"]["median"] < TARGET_HELP),
        ),
        (
            "probe --help: importtime lines naming scapy",
            str(res["help_imports"]["scapy_lines"]),
            "0",
            ok(res["help_imports"]["scapy_lines"] == 0),
        ),
        (
            "probe run: importtime lines naming scapy",
            str(res["probe_imports"]["scapy_lines"]),
            "-",
            "",
        ),
    ]
    C.print_table(rows, ("measure", "ours (best / median)", "target", "verdict"))
    print()
    print(
        "every timed run: "
        + ", ".join(
            f"{r['wall']:.3f} s (exit {r['rc']}, {r['maxrss_kb'] / 1024:.1f} MiB)" for r in timed
        )
    )
    cut = [r["doc"]["cut_by_runner"] for r in timed]
    print(
        "checks cut by the runner's own time limit "
        f"(detail 'no result within {res['timeout']:g} s', no events): {min(cut)}-{max(cut)} "
        f"per run, last run by kind {doc['cut_kinds']}"
    )
    if "syn_sent" in timed[-1]:
        syn = [r["syn_sent"] for r in timed]
        print(
            "planned TCP targets (tcp, tls, sip over tcp) that got a SYN in the blackhole: "
            + ", ".join(f"{a} of {b}" for a, b, _ in syn)
            + " (per run)"
        )
    print(
        f"plan built from the copies: {res['plan']['checks']} checks "
        + ", ".join(f"{k} {n}" for k, n in sorted(res["plan"]["kinds"].items()))
    )
    print(
        f"statuses (last run): {', '.join(f'{k} {v}' for k, v in sorted(doc['summary'].items()))}"
    )
    C.print_table(
        [tuple(x) for x in doc["by_kind_status_reason"]], ("kind", "status", "reason", "n")
    )
    print()
    print("slowest checks (last run):")
    C.print_table(
        [(k, t, s, r, f"{d:.3f} s") for k, t, s, r, d in doc["slowest"]],
        ("kind", "target", "status", "reason", "duration"),
    )
    b = res["blackhole"]
    print()
    print(
        f"blackhole namespace after all runs: received {b['rx_packets']} packets, sent "
        f"{b['tx_packets']} (ARP/ND replies), ICMP errors sent {b['icmp_errors_sent']}, "
        f"ICMPv6 errors sent {b['icmp6_errors_sent']}"
    )
    print(
        "top-level imports of one probe run (cumulative ms): "
        + ", ".join(f"{m} {t:.0f}" for m, t in res["probe_imports"]["top"])
    )
    if res.get("diagnose"):
        print()
        print(
            "diagnose (one run each; overlay = the product unchanged, run through python -c "
            "with asyncio's default thread pool enlarged):"
        )
        C.print_table(
            [
                (
                    r["case"],
                    f"{r['wall']:.3f} s",
                    f"{r.get('runtime_s', 0):.3f} s" if "runtime_s" in r else "-",
                    f"{r['maxrss_kb'] / 1024:.1f} MiB" if "maxrss_kb" in r else "-",
                    str(r.get("checks", "-")),
                    f"{r['cut_by_runner']} {r['cut_kinds']}"
                    if "cut_by_runner" in r
                    else r.get("error", ""),
                    " ".join(f"{x[0]} {x[1]} {x[4]:.2f} s" for x in r.get("slowest", [])),
                )
                for r in res["diagnose"]
            ],
            ("case", "wall", "runtime_s", "max RSS", "checks", "cut by runner", "slowest"),
        )
    print(
        "address rewrite (catalogue copy): " + "; ".join(f"{a} -> {b}" for a, b in res["mapping"])
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="timed full probe runs (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    ap.add_argument("--timeout", type=float, default=2.0, help="probe --timeout (default 2)")
    ap.add_argument("--help-runs", type=int, default=10)
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument(
        "--diagnose",
        action="store_true",
        help="then one run per check kind and what-if runs on an overlay (about 1 min)",
    )
    args = ap.parse_args()

    def on_term(signum, frame):  # SIGTERM: unwind so the namespaces are deleted
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    res = measure(args.runs, args.timeout, args.help_runs, args.warmup, args.diagnose)
    report(res)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
