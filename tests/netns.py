"""Linux network namespace harness for tests that need real packets.

Everything here is plain functions and classes (no pytest fixtures), so that
``conftest.py`` can wrap them with whatever scope it needs.

Safety rules built into this module:

* Only documentation addresses are used: 198.51.100.0/24, 203.0.113.0/24 and
  2001:db8::/32.  192.0.2.0/24 is NOT used: the host uplink lives there.
* Namespaces get no link to the root namespace and no default route towards
  the host, so nothing started inside them can reach a real network.
* Every wait loop is bounded by a deadline or a retry count.
* Namespace and interface names carry a random per-run tag, because both are
  machine-global and other test runs may be going on at the same time.

Requires root, iproute2 (``ip``), and for some helpers ``nft`` and ``dnsmasq``.
Import it as ``import netns`` (tests/ is on sys.path under pytest's default
import mode).  A fixture wrapping it looks like::

    @pytest.fixture(scope="session")
    def lab():
        if reason := netns.root_ok():
            pytest.skip(reason)
        with netns.RouterLab() as lab:
            yield lab

Never tear down from inside a ``netns()`` block (RouterLab.close() refuses).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import errno
import ipaddress
import json
import os
import secrets
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal

import dns.message
import dns.query
import dns.rdatatype

__all__ = [
    "DnsmasqServer",
    "RouterLab",
    "Verdict",
    "have",
    "in_netns",
    "netns",
    "nft",
    "popen_in",
    "probe_flow",
    "root_ok",
    "run_in",
    "stop",
    "sysctl",
]

# --------------------------------------------------------------------------
# Basics
# --------------------------------------------------------------------------

CLONE_NEWNET = 0x40000000  # from <sched.h>; os.setns only exists from 3.12
_libc = ctypes.CDLL(None, use_errno=True)

# Python 3.11 does not export these Linux constants (values from the
# kernel uapi headers: linux/in.h, linux/in6.h, linux/socket.h).
IP_RECVERR = 11
IPV6_RECVERR = 25
MSG_ERRQUEUE = getattr(socket, "MSG_ERRQUEUE", 0x2000)

IFNAMSIZ_MAX = 15  # kernel limit on interface name length (IFNAMSIZ - 1)


def have(cmd: str) -> bool:
    """True if ``cmd`` is on PATH (lets tests skip when a tool is missing)."""
    return shutil.which(cmd) is not None


def _run(
    argv: Sequence[str], *, input: str | None = None, timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Run a setup command and raise with its stderr if it fails.

    Setup errors should be loud and say what went wrong, not surface later
    as a confusing "timeout" verdict.
    """
    res = subprocess.run(list(argv), input=input, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(
            f"command failed ({res.returncode}): {' '.join(argv)}\n{res.stderr.strip()}"
        )
    return res


_root_reason: list[str | None] = []  # memo: the answer cannot change


def root_ok() -> str | None:
    """Return None if we can create namespaces, else a reason for skip().

    The check really adds (and removes) a namespace, because being root is
    not enough inside some containers (no CAP_SYS_ADMIN, read-only /run).
    """
    if _root_reason:
        return _root_reason[0]
    reason: str | None = None
    if os.geteuid() != 0:
        reason = "network namespace tests need root (euid 0)"
    elif not have("ip"):
        reason = "iproute2 'ip' command not found"
    else:
        probe = f"np{secrets.token_hex(3)}-probe"
        res = subprocess.run(
            ["ip", "netns", "add", probe], capture_output=True, text=True, timeout=10
        )
        if res.returncode != 0:
            reason = f"'ip netns add' failed: {res.stderr.strip()}"
        else:
            subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=10)
    _root_reason.append(reason)
    return reason


def _ns_ino(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def in_netns(name: str) -> bool:
    """True if the calling thread currently sits in namespace ``name``."""
    try:
        return _ns_ino("/proc/thread-self/ns/net") == _ns_ino(f"/run/netns/{name}")
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def netns(name: str) -> Iterator[None]:
    """Move the *calling thread* into namespace ``name`` for the block.

    Sockets created inside the block stay in that namespace after the block
    ends, so a thread can e.g. open a listener in a far namespace and serve
    it later.  Other threads of the process are not affected.
    """
    cur = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        new = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
    except BaseException:
        os.close(cur)
        raise
    try:
        if _libc.setns(new, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({name}): {os.strerror(err)}")
        try:
            yield
        finally:
            # Failing to get back would leave the test runner in the lab
            # namespace, where teardown would kill the runner itself.
            if _libc.setns(cur, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns back: {os.strerror(err)}")
    finally:
        os.close(new)
        os.close(cur)


def _maybe_netns(name: str | None) -> contextlib.AbstractContextManager[None]:
    return netns(name) if name else contextlib.nullcontext()


def sysctl(ns: str, key: str, value: str | int) -> None:
    """Set a network sysctl inside ``ns`` (``net.ipv4.ip_forward`` style).

    /proc/sys/net follows the namespace of the thread that opens the file,
    so this needs no ``sysctl`` binary and no extra process.
    """
    path = "/proc/sys/" + key.replace(".", "/")
    with netns(ns), open(path, "w", encoding="ascii") as f:
        f.write(f"{value}\n")


def run_in(ns: str, argv: Sequence[str], **kw) -> subprocess.CompletedProcess:
    """Run ``argv`` inside ``ns`` via ``ip netns exec``.

    Defaults: capture text output, 30 s timeout, no check (pass
    ``check=True`` to raise).  ``ip netns exec`` also bind-mounts
    /etc/netns/NS/resolv.conf over /etc/resolv.conf when that file exists.
    """
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 30)
    return subprocess.run(["ip", "netns", "exec", ns, *argv], **kw)


def nft(ns: str, ruleset: str) -> None:
    """Load an nftables ruleset (``nft -f -`` syntax) into namespace ``ns``.

    Rules vanish with the namespace; ``nft(ns, "flush ruleset")`` resets.
    """
    res = run_in(ns, ["nft", "-f", "-"], input=ruleset)
    if res.returncode != 0:
        raise RuntimeError(f"nft -f failed in {ns}: {res.stderr.strip()}")


def popen_in(
    ns: str, argv: Sequence[str], log_path: str | os.PathLike[str], timeout: float = 5.0
) -> subprocess.Popen:
    """Start a server inside ``ns`` with stdout+stderr going to ``log_path``.

    ``ip netns exec`` execs the command, so ``proc.pid`` is the server
    itself.  start_new_session keeps terminal signals (Ctrl-C) away from it,
    so the harness decides when it stops.  Returns only once the process
    sits in ``ns`` (or has exited): otherwise a teardown right after start
    would not see it in ``ip netns pids`` and would leave it running.
    """
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    target = _ns_ino(f"/run/netns/{ns}")
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if _ns_ino(f"/proc/{proc.pid}/ns/net") == target:
                return proc
        except OSError:
            pass  # between fork and exec, or just exited
        time.sleep(0.001)
    if proc.poll() is None:
        stop(proc)
        raise RuntimeError(f"{argv[0]} did not enter netns {ns}")
    return proc  # exited already; the caller reads the log


def stop(proc: subprocess.Popen, timeout: float = 5.0) -> int | None:
    """SIGTERM, wait, then SIGKILL; always reap so no zombie is left."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    return proc.returncode


# --------------------------------------------------------------------------
# Flow probes
# --------------------------------------------------------------------------

Verdict = Literal["open", "refused", "admin-prohibited", "timeout", "unreachable"]


def _classify(err: int) -> Verdict:
    """Map a socket errno to a verdict.

    ECONNREFUSED means the far host's kernel answered (TCP RST or ICMP
    port-unreachable), i.e. the router let the flow through.  An ICMP
    admin-prohibited reject shows up as EHOSTUNREACH (IPv4) or EACCES
    (IPv6).  Note that a plain ICMP host-unreachable also gives
    EHOSTUNREACH, so the lab must not produce those by accident.
    """
    if err == errno.ECONNREFUSED:
        return "refused"
    if err in (errno.EHOSTUNREACH, errno.EACCES):
        return "admin-prohibited"
    if err in (errno.ETIMEDOUT, errno.EAGAIN):
        return "timeout"
    return "unreachable"  # ENETUNREACH, EPERM (local output drop), ...


def _errqueue_errno(sock: socket.socket) -> int:
    """Read one queued ICMP error (IP_RECVERR) and return its errno, or 0."""
    try:
        _, anc, _, _ = sock.recvmsg(256, 512, MSG_ERRQUEUE | socket.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return 0
    for level, kind, data in anc:
        if (level, kind) in (
            (socket.IPPROTO_IP, IP_RECVERR),
            (socket.IPPROTO_IPV6, IPV6_RECVERR),
        ) and len(data) >= 4:
            # struct sock_extended_err starts with __u32 ee_errno
            return struct.unpack_from("=I", data)[0]
    return 0


def _set_recverr(sock: socket.socket, family: int) -> None:
    """Ask for every ICMP error, not just the "hard" ones.

    Also makes UDP report non-fatal errors such as ICMP net-unreachable
    (otherwise silently ignored, which would look like a drop).
    """
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
    else:
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)


def _probe_tcp(family: int, dst: str, port: int, src: str | None, timeout: float) -> Verdict:
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # IP(V6)_RECVERR: an ICMP error that arrives while connect() still
        # holds the socket lock is only recorded as a "soft" error (counter
        # TcpExtLockDroppedIcmps), and a plain connect() would only learn
        # about it from the SYN retransmitted after ~1 s.  Over veth this
        # happens every time for IPv6.  With RECVERR the kernel also queues
        # the error on the error queue, which poll() reports as POLLERR at
        # once, so IPv6 admin-prohibited is seen without the 1 s delay.
        _set_recverr(s, family)
        if src:
            s.bind((src, 0))
        s.setblocking(False)
        err = s.connect_ex((dst, port))
        if err not in (0, errno.EINPROGRESS):
            return _classify(err)
        poller = select.poll()
        poller.register(s, select.POLLOUT | select.POLLERR)
        deadline = time.monotonic() + timeout
        for _ in range(1000):  # bounded; each pass waits or returns
            left = deadline - time.monotonic()
            if left <= 0:
                break
            events = poller.poll(max(1, int(left * 1000)))
            if not events:
                break
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if not err:
                err = _errqueue_errno(s)
            if err:
                return _classify(err)
            if events[0][1] & select.POLLOUT:
                return "open"
            time.sleep(0.001)  # POLLERR without an error: don't spin hard
        return "timeout"


def _probe_udp(family: int, dst: str, port: int, src: str | None, timeout: float) -> Verdict:
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        _set_recverr(s, family)
        if src:
            s.bind((src, 0))
        s.settimeout(timeout)
        try:
            # A *connected* UDP socket gets ICMP errors reported on recv().
            s.connect((dst, port))
            s.send(b"nhn-appliance-probe")
            s.recv(512)
        except TimeoutError:
            return "timeout"
        except OSError as e:
            return _classify(e.errno or 0)
        return "open"


def probe_flow(
    ns: str | None, proto: str, dst: str, port: int, src: str | None = None, timeout: float = 1.0
) -> Verdict:
    """Send one TCP or UDP flow from ``ns`` and classify the kernel's answer.

    Returns one of:

    * ``"open"``: TCP connect succeeded, or a UDP reply came back.
    * ``"refused"``: ECONNREFUSED; the far host answered, so the flow
      passed every firewall on the way.
    * ``"admin-prohibited"``: an ICMP admin-prohibited reject (EHOSTUNREACH
      for IPv4, EACCES for IPv6).
    * ``"timeout"``: nothing came back within ``timeout`` (a drop).
    * ``"unreachable"``: ENETUNREACH and other errors (no route).

    The probe runs in the calling thread, switched into ``ns`` (None means
    "stay where you are").  ``src`` binds a source address, e.g. a second
    host address to test source-based rules.  IPv4 and IPv6 both work; IPv6
    TCP rejects are reported at once too (see ``_probe_tcp``), so no long
    timeout is needed for them.  Both TCP and UDP sockets use IP_RECVERR,
    so a UDP flow hitting ICMP net-unreachable also says "unreachable"
    instead of looking like a drop.
    """
    family = socket.AF_INET6 if ipaddress.ip_address(dst).version == 6 else socket.AF_INET
    if proto not in ("tcp", "udp"):
        raise ValueError(f"proto must be 'tcp' or 'udp', not {proto!r}")
    probe = _probe_tcp if proto == "tcp" else _probe_udp
    with _maybe_netns(ns):
        return probe(family, dst, port, src, timeout)


# --------------------------------------------------------------------------
# The router lab
# --------------------------------------------------------------------------

_live_labs: set[RouterLab] = set()
_live_lock = threading.Lock()


@atexit.register
def _cleanup_live_labs() -> None:
    """Last resort: remove namespaces of labs that were never closed."""
    for lab in list(_live_labs):
        with contextlib.suppress(Exception):
            lab.close()


class RouterLab:
    """Four namespaces: a site LAN, a router, and two far networks.

    ::

        site --(lan)-- rtr --(hn)---- hn    203.0.113.0/25,   2001:db8:a::/48
                           \\--(inet)-- inet  203.0.113.128/25, 2001:db8:b::/48

    The far namespaces own their WHOLE range through a ``local`` route on
    lo, so any address there answers a TCP SYN with RST and a UDP datagram
    with ICMP port-unreachable without any listener.  "refused" from site
    therefore means "the router forwarded it".  The router forwards v4 and
    v6 and starts with no firewall; load one with ``nft(lab.ns["rtr"], ...)``.

    Caveat: IPv4 ICMP errors that rtr itself sends for a *missing route*
    are rate limited by the host-global sysctls net.ipv4.route.error_cost
    and error_burst (about 1/s per source once a small burst is used up,
    and the bucket is shared with other ICMP sent to that source).  The
    lab leaves host-global settings alone, so do not rely on repeated IPv4
    "unreachable" answers from rtr.  nft rejects and IPv6 are not affected
    (the per-namespace ICMP rate limits are set to 0).

    Use as a context manager (or call ``start()`` and ``close()``).  The
    teardown kills every process left in the namespaces and deletes them,
    which also removes the veths and the nft rules.
    """

    # Addresses (documentation ranges only; never 192.0.2.0/24).
    SITE4 = "198.51.100.2"
    SITE4_ALT = "198.51.100.3"  # second host address, distinct source
    SITE6 = "2001:db8:1::2"
    SITE6_ALT = "2001:db8:1::3"
    LAN4 = "198.51.100.1"  # router LAN address = site gateway
    LAN6 = "2001:db8:1::1"
    LAN_NET4 = "198.51.100.0/25"
    LAN_NET6 = "2001:db8:1::/64"
    HN_LINK4 = ("198.51.100.129", "198.51.100.130")  # (rtr, hn) /30
    HN_LINK6 = ("2001:db8:ff:1::1", "2001:db8:ff:1::2")
    INET_LINK4 = ("198.51.100.133", "198.51.100.134")  # (rtr, inet) /30
    INET_LINK6 = ("2001:db8:ff:2::1", "2001:db8:ff:2::2")
    HN_NET4 = "203.0.113.0/25"
    HN_NET6 = "2001:db8:a::/48"
    INET_NET4 = "203.0.113.128/25"
    INET_NET6 = "2001:db8:b::/48"

    ROLES = ("site", "rtr", "hn", "inet")

    def __init__(self, tag: str | None = None) -> None:
        # "np" + 6 hex chars; the longest interface name is tag + "-inetp".
        self.tag = tag or f"np{secrets.token_hex(3)}"
        if not self.tag.isalnum() or len(self.tag) + 6 > IFNAMSIZ_MAX:
            raise ValueError(f"tag must be alphanumeric, <= 9 chars: {tag!r}")
        t = self.tag
        self.ns: dict[str, str] = {r: f"{t}-{r}" for r in self.ROLES}
        self.if_site = f"{t}-site"  # in site, towards rtr
        self.if_lan = f"{t}-lan"  # in rtr, towards site
        self.if_hn = f"{t}-hn"  # in rtr, towards hn
        self.if_hn_peer = f"{t}-hnp"  # in hn, towards rtr
        self.if_inet = f"{t}-inet"  # in rtr, towards inet
        self.if_inet_peer = f"{t}-inetp"  # in inet, towards rtr
        self.procs: list[subprocess.Popen] = []
        self._started = False

    # -- building ----------------------------------------------------------

    @staticmethod
    def _ip_batch(ns: str | None, lines: Sequence[str]) -> None:
        """Run several ``ip`` commands in one process (fast, and ``ip``
        names the failing line).  Family is taken from the addresses."""
        argv = ["ip", *(["-n", ns] if ns else []), "-batch", "-"]
        _run(argv, input="\n".join(lines) + "\n")

    def start(self) -> RouterLab:
        """Build the topology; on any error, tear down what was built."""
        if self._started:
            return self
        self._started = True
        with _live_lock:
            _live_labs.add(self)
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def _build(self) -> None:
        ns = self.ns
        # 1. Namespaces first, so close() always has something to delete.
        for name in ns.values():
            _run(["ip", "netns", "add", name])

        # 2. Sysctls before links exist.  ICMP errors are rate limited per
        #    destination by default (burst of ~6, then 1/s), which would
        #    turn fast repeated probes into false "timeout"s.
        for name in ns.values():
            sysctl(name, "net.ipv4.icmp_ratelimit", 0)
            sysctl(name, "net.ipv6.icmp.ratelimit", 0)
            # No DAD at all, so link-local addresses are usable at once:
            # the router sources neighbour solicitations for *forwarded*
            # packets from its link-local address and sends none while
            # that is still tentative (first forwarded IPv6 flow ~1 s).
            sysctl(name, "net.ipv6.conf.default.accept_dad", 0)
            sysctl(name, "net.ipv6.conf.all.accept_dad", 0)
        sysctl(ns["rtr"], "net.ipv4.ip_forward", 1)
        sysctl(ns["rtr"], "net.ipv6.conf.all.forwarding", 1)
        for role in ("hn", "inet"):
            # Lets a test listen on any address of the far range (IPv6
            # AnyIP, unlike IPv4, does not make bind() accept them).
            sysctl(ns[role], "net.ipv6.ip_nonlocal_bind", 1)

        # 3. veth pairs, each end created directly in its namespace.
        #    Explicit, distinct ifindexes matter: ifindexes are per
        #    namespace, so both ends of a pair would otherwise often get
        #    index 2.  The kernel's linkwatch treats a carrier change as
        #    urgent only if ifindex != iflink (the peer's index); otherwise
        #    it is batched up to 1 s, and until then the link is not UP
        #    and its qdisc drops packets.  This made setup take ~1 s.
        self._ip_batch(
            None,
            [
                f"link add {self.if_site} index 10 netns {ns['site']} type veth"
                f" peer name {self.if_lan} index 11 netns {ns['rtr']}",
                f"link add {self.if_hn} index 12 netns {ns['rtr']} type veth"
                f" peer name {self.if_hn_peer} index 13 netns {ns['hn']}",
                f"link add {self.if_inet} index 14 netns {ns['rtr']} type veth"
                f" peer name {self.if_inet_peer} index 15 netns {ns['inet']}",
            ],
        )

        # 4. Addresses and links up.  lo must be up or even 127.0.0.1 is
        #    unreachable; "nodad" makes IPv6 addresses usable at once
        #    (otherwise bind() fails with EADDRNOTAVAIL for ~1 s).
        hn4, inet4 = self.HN_LINK4, self.INET_LINK4
        hn6, inet6 = self.HN_LINK6, self.INET_LINK6
        self._ip_batch(
            ns["site"],
            [
                "link set lo up",
                f"addr add {self.SITE4}/25 dev {self.if_site}",
                f"addr add {self.SITE4_ALT}/25 dev {self.if_site}",
                f"addr add {self.SITE6}/64 dev {self.if_site} nodad",
                # preferred_lft 0 (deprecated): still usable with bind(), but
                # never picked as the default source, which is otherwise the
                # newest address, i.e. this one.
                f"addr add {self.SITE6_ALT}/64 dev {self.if_site} nodad preferred_lft 0",
                f"link set {self.if_site} up",
            ],
        )
        self._ip_batch(
            ns["rtr"],
            [
                "link set lo up",
                f"addr add {self.LAN4}/25 dev {self.if_lan}",
                f"addr add {self.LAN6}/64 dev {self.if_lan} nodad",
                f"addr add {hn4[0]}/30 dev {self.if_hn}",
                f"addr add {hn6[0]}/64 dev {self.if_hn} nodad",
                f"addr add {inet4[0]}/30 dev {self.if_inet}",
                f"addr add {inet6[0]}/64 dev {self.if_inet} nodad",
                f"link set {self.if_lan} up",
                f"link set {self.if_hn} up",
                f"link set {self.if_inet} up",
            ],
        )
        for role, ifname, link4, link6 in (
            ("hn", self.if_hn_peer, hn4, hn6),
            ("inet", self.if_inet_peer, inet4, inet6),
        ):
            self._ip_batch(
                ns[role],
                [
                    "link set lo up",
                    f"addr add {link4[1]}/30 dev {ifname}",
                    f"addr add {link6[1]}/64 dev {ifname} nodad",
                    f"link set {ifname} up",
                ],
            )

        # 5. Wait for carrier on every veth end.  An IPv6 packet sent
        #    earlier loses its neighbour solicitation and costs ~1 s.
        self.wait_up()

        # 6. Routes (after the links are up, so gateways are on-link).
        #    "::/0" rather than "default", so batch mode sees the family.
        self._ip_batch(
            ns["site"],
            [
                f"route add default via {self.LAN4}",
                f"route add ::/0 via {self.LAN6}",
            ],
        )
        self._ip_batch(
            ns["rtr"],
            [
                f"route add {self.HN_NET4} via {hn4[1]}",
                f"route add {self.HN_NET6} via {hn6[1]}",
                f"route add {self.INET_NET4} via {inet4[1]}",
                f"route add {self.INET_NET6} via {inet6[1]}",
            ],
        )
        for role, link4, link6, net4, net6 in (
            ("hn", hn4, hn6, self.HN_NET4, self.HN_NET6),
            ("inet", inet4, inet6, self.INET_NET4, self.INET_NET6),
        ):
            self._ip_batch(
                ns[role],
                [
                    # AnyIP: the whole range is local, no addresses needed.
                    f"route add local {net4} dev lo",
                    f"route add local {net6} dev lo",
                    # Return routes only; there is no default route anywhere
                    # except site -> rtr, which stays inside the lab.
                    f"route add {self.LAN_NET4} via {link4[0]}",
                    f"route add {self.LAN_NET6} via {link6[0]}",
                ],
            )

    def veth_ends(self) -> dict[str, list[str]]:
        """Namespace name -> veth interface names in it."""
        ns = self.ns
        return {
            ns["site"]: [self.if_site],
            ns["rtr"]: [self.if_lan, self.if_hn, self.if_inet],
            ns["hn"]: [self.if_hn_peer],
            ns["inet"]: [self.if_inet_peer],
        }

    def wait_up(self, timeout: float = 3.0) -> None:
        """Poll until every veth end reports operstate UP (bounded)."""
        pending = self.veth_ends()
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                out = _run(["ip", "-j", "-n", name, "link", "show"]).stdout
                up = {link["ifname"] for link in json.loads(out) if link.get("operstate") == "UP"}
                pending[name] = [i for i in pending[name] if i not in up]
                if not pending[name]:
                    del pending[name]
            if pending:
                time.sleep(0.005)
        if pending:
            raise RuntimeError(f"veth ends not UP after {timeout}s: {pending}")

    # -- processes ---------------------------------------------------------

    def popen(
        self, role: str, argv: Sequence[str], log_path: str | os.PathLike[str]
    ) -> subprocess.Popen:
        """popen_in() in namespace ``role``; stopped again by close()."""
        proc = popen_in(self.ns[role], argv, log_path)
        self.procs.append(proc)
        return proc

    # -- teardown ----------------------------------------------------------

    @staticmethod
    def _ns_pids(name: str) -> list[int]:
        res = subprocess.run(
            ["ip", "netns", "pids", name], capture_output=True, text=True, timeout=10
        )
        return [int(p) for p in res.stdout.split() if p.isdigit()]

    @classmethod
    def _kill_ns_pids(cls, name: str) -> None:
        """SIGTERM everything in ``name``, wait up to 1 s, then SIGKILL."""
        me = os.getpid()
        for sig, grace in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 1.0)):
            pids = [p for p in cls._ns_pids(name) if p != me]
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                # Zombies have no netns link, so they drop out of the list;
                # we do not reap them here, because a Popen owner would then
                # see returncode 0 instead of the signal.
                if not [p for p in cls._ns_pids(name) if p != me]:
                    return
                time.sleep(0.01)

    def close(self) -> None:
        """Stop processes and delete all namespaces.  Idempotent.

        Refuses to run from inside a lab namespace: ``ip netns pids`` would
        then list the test runner itself.
        """
        for name in self.ns.values():
            if in_netns(name):
                raise RuntimeError(f"RouterLab.close() called from inside netns {name}")
        for proc in self.procs:
            with contextlib.suppress(Exception):
                stop(proc)
        self.procs.clear()
        errors = []
        for name in self.ns.values():
            if not os.path.exists(f"/run/netns/{name}"):
                continue
            self._kill_ns_pids(name)
            res = subprocess.run(
                ["ip", "netns", "del", name], capture_output=True, text=True, timeout=10
            )
            if res.returncode != 0:
                errors.append(f"{name}: {res.stderr.strip()}")
        with _live_lock:
            _live_labs.discard(self)
        if errors:
            raise RuntimeError("netns teardown failed: " + "; ".join(errors))

    def __enter__(self) -> RouterLab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------
# dnsmasq
# --------------------------------------------------------------------------


class DnsmasqServer:
    """A throw-away authoritative-ish DNS server inside a namespace.

    ``host_records`` and ``addresses`` are the values of dnsmasq's
    ``--host-record`` and ``--address`` options, e.g.
    ``["host1.test,203.0.113.10,2001:db8:a::10"]`` and
    ``["/hjelp.test/203.0.113.22"]``.  With ``nxdomain_rest`` (default),
    every other name is NXDOMAIN (``--address=/#/``) and nothing is ever
    forwarded upstream (``--no-resolv``).

    Pid file and log go to ``workdir`` (a fresh temp dir, removed on stop,
    unless one is given).
    """

    def __init__(
        self,
        ns: str,
        listen: str,
        *,
        host_records: Sequence[str] = (),
        addresses: Sequence[str] = (),
        extra_args: Sequence[str] = (),
        port: int = 53,
        nxdomain_rest: bool = True,
        workdir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.ns, self.listen, self.port = ns, listen, port
        self.host_records = list(host_records)
        self.addresses = list(addresses)
        self.extra_args = list(extra_args)
        self.nxdomain_rest = nxdomain_rest
        self._own_dir = workdir is None
        self.workdir = Path(workdir) if workdir else None
        self.proc: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path | None:
        return self.workdir / "dnsmasq.log" if self.workdir else None

    def log(self) -> str:
        """The dnsmasq log so far (queries are logged), for diagnostics."""
        try:
            return self.log_path.read_text(errors="replace")
        except (AttributeError, FileNotFoundError):
            return ""

    def argv(self) -> list[str]:
        """The dnsmasq command line (needs ``workdir`` for the pid file)."""
        if self.workdir is None:
            raise RuntimeError("workdir not set; call start()")
        argv = [
            "dnsmasq",
            "-k",  # foreground, SIGTERM exits 0
            "--conf-file=/dev/null",  # ignore /etc/dnsmasq.conf{,.d}
            f"--pid-file={self.workdir / 'dnsmasq.pid'}",
            f"--listen-address={self.listen}",
            "--bind-interfaces",
            f"--port={self.port}",
            "--no-resolv",
            "--no-hosts",  # never forward, no /etc/hosts
            "--log-queries",
            "--log-facility=-",
        ]
        argv += [f"--host-record={r}" for r in self.host_records]
        argv += [f"--address={a}" for a in self.addresses]
        if self.nxdomain_rest:
            argv.append("--address=/#/")
        return argv + self.extra_args

    def start(self, retries: int = 100) -> DnsmasqServer:
        """Start dnsmasq and wait until it answers a real DNS query.

        The first query can arrive before dnsmasq has bound its socket, and
        dnspython then raises dns.exception.Timeout (not OSError), so every
        exception counts as "not yet".  At most ``retries`` x 0.05 s.
        """
        if self._own_dir:
            self.workdir = Path(tempfile.mkdtemp(prefix="nhn-dnsmasq-"))
        self.proc = popen_in(self.ns, self.argv(), self.workdir / "dnsmasq.log")
        q = dns.message.make_query("readiness.probe.invalid.", "A")
        for _ in range(retries):
            if self.proc.poll() is not None:
                break
            try:
                with netns(self.ns):
                    dns.query.udp(q, self.listen, port=self.port, timeout=0.05)
                return self
            except Exception:  # noqa: BLE001 - see docstring
                time.sleep(0.01)
        log = self.log()
        self.stop()
        raise RuntimeError(f"dnsmasq in {self.ns} not ready:\n{log}")

    def query(
        self,
        name: str,
        rdtype: str = "A",
        *,
        ns: str | None = None,
        tcp: bool = False,
        timeout: float = 1.0,
    ) -> dns.message.Message:
        """Ask the server from ``ns`` (default: its own namespace)."""
        q = dns.message.make_query(name, dns.rdatatype.from_text(rdtype))
        send = dns.query.tcp if tcp else dns.query.udp
        with netns(ns or self.ns):
            return send(q, self.listen, port=self.port, timeout=timeout)

    def stop(self) -> None:
        """Stop dnsmasq and remove our temp dir (idempotent)."""
        if self.proc is not None:
            stop(self.proc)
            self.proc = None
        if self._own_dir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> DnsmasqServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- the probe tests' lab ----------------------------------------------------


def lab_skip_reason(*tools: str) -> str | None:
    """Why a lab cannot run here (not root, a tool not installed), or None."""
    return root_ok() or next((f"{t} is not installed" for t in tools if not have(t)), None)


@contextlib.contextmanager
def probe_lab(
    *,
    nft_rules: Mapping[str, str] | None = None,
    listen: Sequence[tuple[str, int]] = (),
    dns_records: Sequence[str] | None = None,
) -> Iterator[RouterLab]:
    """A RouterLab for the probe tests: ``nft_rules`` loaded per role ("rtr", "hn"),
    TCP listeners in hn on ``listen`` (address, port), and, with ``dns_records``
    (dnsmasq host records), a dnsmasq on hn's end of the hn link
    (:data:`RouterLab.HN_LINK4`, the resolver the probe sites name)."""
    with RouterLab() as lab:
        for role, ruleset in (nft_rules or {}).items():
            nft(lab.ns[role], ruleset)
        listeners: list[socket.socket] = []
        server = None
        try:
            with netns(lab.ns["hn"]):
                for address, port in listen:
                    family = socket.AF_INET6 if ":" in address else socket.AF_INET
                    listeners.append(
                        socket.create_server((address, port), family=family, backlog=16)
                    )
            if dns_records is not None:
                resolver = RouterLab.HN_LINK4[1]
                server = DnsmasqServer(lab.ns["hn"], resolver, host_records=dns_records).start()
            yield lab
        finally:
            if server is not None:
                server.stop()
            for s in listeners:
                s.close()
