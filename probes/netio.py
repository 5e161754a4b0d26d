"""Socket helpers shared by the probers: family-aware sockets, ICMP errors with type and code.

With IP_RECVERR / IPV6_RECVERR the kernel queues every ICMP error on the
socket's error queue with its type, code and the address that sent it. That
tells "a firewall rejected it" (ICMP administratively prohibited) from "no
such host" without raw sockets or root.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Any

from nhn_appliance.probes.reasons import Reason

IP_RECVERR = 11
IPV6_RECVERR = 25
MSG_ERRQUEUE = getattr(socket, "MSG_ERRQUEUE", 0x2000)
_EE = struct.Struct("=IBBBBII")  # struct sock_extended_err
ORIGIN_ICMP, ORIGIN_ICMP6 = 2, 3


@dataclass(frozen=True)
class IcmpError:
    errno: int
    icmp_type: int
    icmp_code: int
    offender: str
    family: int

    @property
    def reason(self) -> Reason:
        if self.family == 4 and self.icmp_type == 3:
            if self.icmp_code in (9, 10, 13):
                return Reason.ICMP_ADMIN_PROHIBITED
            if self.icmp_code == 3:
                return Reason.REFUSED  # port unreachable
            if self.icmp_code in (0, 6, 11):
                return Reason.NETWORK_UNREACHABLE
            return Reason.ICMP_HOST_UNREACHABLE
        if self.family == 6 and self.icmp_type == 1:
            if self.icmp_code in (1, 5, 6):
                return Reason.ICMP_ADMIN_PROHIBITED
            if self.icmp_code == 4:
                return Reason.REFUSED
            if self.icmp_code == 0:
                return Reason.NETWORK_UNREACHABLE
            return Reason.ICMP_HOST_UNREACHABLE
        if (self.family, self.icmp_type) in ((4, 11), (6, 3)):
            return Reason.TIMEOUT  # time exceeded on the way
        return Reason.ICMP_HOST_UNREACHABLE

    @property
    def why(self) -> str:
        return f"ICMP type {self.icmp_type} code {self.icmp_code} from {self.offender or '?'}"

    def as_dict(self) -> dict[str, Any]:
        return {"icmp_type": self.icmp_type, "icmp_code": self.icmp_code, "from": self.offender}


def family_of(address: str) -> int:
    return 6 if ":" in address else 4


def enable_recverr(sock: socket.socket, family: int) -> None:
    if family == 6:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
    else:
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)


def open_socket(address: str, udp: bool, blocking: bool = False) -> socket.socket:
    """A TCP or UDP socket of ``address``'s family with ICMP errors queued
    (type, code and sender: a firewall's reject told from "no such host")."""
    family = family_of(address)
    sock = socket.socket(
        socket.AF_INET6 if family == 6 else socket.AF_INET,
        socket.SOCK_DGRAM if udp else socket.SOCK_STREAM,
    )
    try:
        enable_recverr(sock, family)
        sock.setblocking(blocking)
    except OSError:
        sock.close()
        raise
    return sock


def read_icmp_error(sock: socket.socket) -> IcmpError | None:
    """One queued ICMP error, or None when the queue is empty."""
    timeout = sock.gettimeout()
    sock.setblocking(False)  # a socket with a time-out would wait for it first
    try:
        _, anc, _, _ = sock.recvmsg(512, 1024, MSG_ERRQUEUE | socket.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError, OSError):
        return None
    finally:
        sock.settimeout(timeout)
    for level, kind, data in anc:
        if (level, kind) not in (
            (socket.IPPROTO_IP, IP_RECVERR),
            (socket.IPPROTO_IPV6, IPV6_RECVERR),
        ):
            continue
        if len(data) < _EE.size:
            continue
        ee_errno, origin, icmp_type, icmp_code, _, _, _ = _EE.unpack_from(data)
        if origin not in (ORIGIN_ICMP, ORIGIN_ICMP6):
            continue
        family = 4 if origin == ORIGIN_ICMP else 6
        offender = ""
        raw = data[_EE.size :]
        try:
            if family == 4 and len(raw) >= 8:
                offender = socket.inet_ntop(socket.AF_INET, raw[4:8])
            elif family == 6 and len(raw) >= 24:
                offender = socket.inet_ntop(socket.AF_INET6, raw[8:24])
        except (OSError, ValueError):
            offender = ""
        return IcmpError(ee_errno, icmp_type, icmp_code, offender, family)
    return None
