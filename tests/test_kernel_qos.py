"""QoS marking in a real kernel: a packet of each class leaves with its DSCP.

The rendered nftables or iptables files are loaded into the lab router as
their headers say; the site sends one packet per flow with a DSCP preset
(CS1, or EF, which a host could set to claim the priority queue), and a raw
packet socket on the far side of the uplink veth reads the DSCP that
arrived. Classified flows must carry their class's DSCP (the same class
explain reports); unclassified flows must leave with DSCP 0 (the trust
boundary), or keep their preset on a site with ``[qos] keep_host_marking``.

Documented behaviour relied on: nft(8) "ip dscp set" / "ip6 dscp set" in the
forward hook; iptables-extensions(8) DSCP "--set-dscp", a non-terminating
target, so the last matching rule sets the value.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
import time
from pathlib import Path

import netns
import pytest
from conftest import CASES
from kernel_lab import header_commands

from nhn_appliance.inputs import load_inputs
from nhn_appliance.policy.explain import Flow, explain
from nhn_appliance.render import get_renderer

pytestmark = pytest.mark.kernel

CASE = CASES / "qos"
PRESET = 8  # CS1, what the client sets itself
EF = 46  # a host claiming the priority queue
ETH_P_ALL = 0x0003

# (proto, dst, port, the uplink it leaves by, DSCP the host sets, expected DSCP;
#  None: the flow is unclassified, so 0, or the preset where host marking is kept)
FLOWS = [
    ("tcp", "203.0.113.10", 5060, "hn", PRESET, 46),  # sanntid: first rule wins the overlap
    ("tcp", "203.0.113.11", 5060, "hn", PRESET, 24),  # signalering (outside sanntid's host)
    ("tcp", "203.0.113.10", 443, "hn", EF, 24),  # signalering, a host's EF replaced
    ("udp", "203.0.113.10", 3478, "hn", PRESET, 24),  # signalering, udp
    ("tcp", "203.0.113.10", 3478, "hn", PRESET, None),  # tcp on a udp-only port: no class
    ("udp", "203.0.113.10", 40000, "hn", PRESET, 34),  # interaktiv-video, range start
    ("udp", "203.0.113.10", 49999, "hn", PRESET, 34),  # range end
    ("udp", "203.0.113.10", 50000, "hn", EF, None),  # just past the range, EF from the host
    ("udp", "203.0.113.70", 9, "hn", PRESET, 26),  # any-protocol rule, udp
    ("tcp", "203.0.113.79", 22, "hn", PRESET, 26),  # any-protocol rule, last address
    ("tcp", "203.0.113.80", 22, "hn", PRESET, None),  # just past the /28
    ("udp", "203.0.113.200", 50500, "inet", PRESET, 34),  # internet uplink
    ("udp", "203.0.113.201", 50500, "inet", EF, None),
    ("tcp", "2001:db8:a::10", 443, "hn", PRESET, 26),  # IPv6
    ("tcp", "2001:db8:a::11", 443, "hn", EF, None),
]
KEEP = "\n[qos]\nkeep_host_marking = true\n"


def _lab_site(lab, tmp: Path, keep: bool) -> Path:
    text = (CASE / "site.toml").read_text().format(lan=lab.if_lan, hn=lab.if_hn, inet=lab.if_inet)
    path = tmp / "site.toml"
    path.write_text(text + (KEEP if keep else ""))
    return path


@pytest.fixture(
    scope="module",
    params=[("nftables", False), ("iptables", False), ("nftables", True), ("iptables", True)],
    ids=["nftables", "iptables", "nftables-keep", "iptables-keep"],
)
def router(request, tmp_path_factory):
    backend, keep = request.param
    tool = "nft" if backend == "nftables" else "iptables-restore"
    reason = netns.root_ok() or (None if netns.have(tool) else f"{tool} is not installed")
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp(backend)
    with netns.RouterLab() as lab:
        inputs = load_inputs(
            str(_lab_site(lab, tmp, keep)),
            str(CASE / "rules"),
            str(tmp / "none.pins.json"),
            pins_must_exist=False,
        )
        policy = inputs.policy()
        assert policy.keep_host_marking == keep
        arts = get_renderer(backend).render(policy)
        for art in arts:
            (tmp / art.name).write_text(art.text)
        # load exactly as the header of the (first) file says
        script = header_commands(arts[0].text)
        proc = netns.run_in(lab.ns["rtr"], ["sh", "-c", script], cwd=tmp)
        assert proc.returncode == 0, proc.stderr
        yield lab, policy


def _sniffer(lab, role: str) -> socket.socket:
    """A raw packet socket on the far end of an uplink veth (made inside that namespace)."""
    iface = lab.if_hn_peer if role == "hn" else lab.if_inet_peer
    with netns.netns(lab.ns[role]):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        sock.bind((iface, 0))
    sock.settimeout(0.2)
    return sock


def _send(lab, proto: str, dst: str, port: int, preset: int) -> None:
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with netns.netns(lab.ns["site"]):
        sock = socket.socket(family, kind)
    try:
        if family == socket.AF_INET:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, preset << 2)
        else:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, preset << 2)
        if proto == "tcp":
            sock.setblocking(False)
            err = sock.connect_ex((dst, port))
            assert err in (0, errno.EINPROGRESS), errno.errorcode.get(err, err)
            time.sleep(0.05)  # the SYN is on the wire
        else:
            sock.sendto(b"nhn-qos-test", (dst, port))
    finally:
        sock.close()


def _dscp_seen(
    sock: socket.socket, proto: str, dst: str, port: int, limit: float = 1.0
) -> int | None:
    """DSCP of the first frame to (dst, port, proto), or None within ``limit`` seconds."""
    want = ipaddress.ip_address(dst).packed
    number = 6 if proto == "tcp" else 17
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            frame = sock.recv(2048)
        except TimeoutError:
            continue
        ethertype = struct.unpack("!H", frame[12:14])[0]
        if ethertype == 0x0800:
            ihl = (frame[14] & 0x0F) * 4
            tos, nxt, daddr, l4 = frame[15], frame[23], frame[30:34], 14 + ihl
        elif ethertype == 0x86DD:
            tos = ((frame[14] & 0x0F) << 4) | (frame[15] >> 4)
            nxt, daddr, l4 = frame[20], frame[38:54], 54
        else:
            continue
        if (
            nxt == number
            and daddr == want
            and struct.unpack("!H", frame[l4 + 2 : l4 + 4])[0] == port
        ):
            return tos >> 2
    return None


@pytest.mark.parametrize(
    "proto,dst,port,role,preset,dscp", FLOWS, ids=[f"{p}-{d}-{n}" for p, d, n, *_ in FLOWS]
)
def test_packet_leaves_with_its_class_dscp(router, proto, dst, port, role, preset, dscp) -> None:
    lab, policy = router
    verdict = explain(policy, Flow.parse(proto, dst, port))
    # the class explain reports is the one the kernel must mark
    assert verdict.verdict.value == "accept"
    assert verdict.dscp == dscp
    if dscp is None:  # no class: the trust boundary, unless the site keeps host markings
        dscp = preset if policy.keep_host_marking else 0
    sniffer = _sniffer(lab, role)
    try:
        _send(lab, proto, dst, port, preset)
        assert _dscp_seen(sniffer, proto, dst, port) == dscp
    finally:
        sniffer.close()
