"""The closed vocabulary of reasons, and the mapping from exceptions to it.

Every result carries one of :data:`REASONS`; an error no rule knows becomes
``unknown: <ExceptionName>: <first line>`` so nothing is hidden, but reports
can still count by code.
"""

from __future__ import annotations

import errno
import socket
import ssl

#: reason code -> what it means, for reports
REASONS: dict[str, str] = {
    "ok": "worked as the site needs",
    "open": "the port accepted a connection",
    "answered": "the peer answered the request",
    "refused": "the peer or a firewall refused the connection (TCP reset or ICMP port unreachable)",
    "timeout": "no answer within the time limit (dropped by a firewall, or nothing there)",
    "no-answer": "a UDP request got no reply; the port may be open or filtered",
    "icmp-admin-prohibited": "a firewall rejected the packet (ICMP administratively prohibited)",
    "icmp-host-unreachable": "ICMP host unreachable",
    "network-unreachable": "no route to that network from this host",
    "nxdomain": "the name does not exist (NXDOMAIN)",
    "servfail": "the resolver failed (SERVFAIL)",
    "dns-refused": "the resolver refused the query (REFUSED)",
    "no-address": "the name exists but has no A or AAAA record",
    "answer-differs": "the name resolved to other addresses than the catalogue's",
    "tls-error": "the TLS handshake failed",
    "tls-cert-invalid": "the TLS certificate did not verify",
    "tls-cert-expiring": "the TLS certificate verifies but expires within 14 days",
    "proxy-status-407": "the proxy asks for authentication (407)",
    "proxy-denied": "the proxy refused the CONNECT",
    "proxy-error": "the proxy could not reach the target",
    "pac-fetch-failed": "the PAC file could not be fetched",
    "pac-error": "the PAC file failed to evaluate",
    "pac-timeout": "the PAC file ran too long",
    "pac-memory": "the PAC file used too much memory",
    "bad-reply": "the peer answered something that is not the protocol",
    "clock-offset": "the clock is off compared with the NTP server",
    "unsynchronised": "the NTP server says it is not synchronised",
    "needs-root": "this check needs root (raw sockets)",
    "cancelled": "the run stopped before this check finished",
    "deadline": "the run's global deadline passed",
    "bad-input": "the check's input is not valid",
    "not-verifiable": "cannot be verified from the site without a cooperating endpoint",
    "terminal-wrong-host": "a payment terminal talks to the wrong host ('secure access' "
    "91.102.24.142) instead of betalingsaksess 193.214.20.211",
    "nothing-seen": "a passive capture saw no traffic to the hosts it watched for",
}

_ERRNO = {
    errno.ECONNREFUSED: "refused",
    errno.ECONNRESET: "refused",
    errno.ETIMEDOUT: "timeout",
    errno.EHOSTUNREACH: "icmp-host-unreachable",
    errno.EACCES: "icmp-admin-prohibited",  # IPv6 admin-prohibited arrives as EACCES
    errno.EPERM: "icmp-admin-prohibited",
    errno.ENETUNREACH: "network-unreachable",
}


def classify(exc: BaseException) -> str:
    """A reason code for an exception raised by socket, ssl or the DNS library."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "tls-cert-invalid"
    if isinstance(exc, ssl.SSLError):
        return "tls-error"
    if isinstance(exc, OSError) and exc.errno in _ERRNO:
        return _ERRNO[exc.errno]
    name = type(exc).__name__
    if name in ("Timeout", "LifetimeTimeout"):  # dnspython
        return "timeout"
    if name == "NXDOMAIN":
        return "nxdomain"
    if name == "NTPException":  # ntplib's "no response received"
        return "timeout"
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"unknown: {name}: {first}"[:200]


def is_known(reason: str) -> bool:
    return reason in REASONS or reason.startswith("unknown: ")
