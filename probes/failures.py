"""Map exceptions raised by socket, ssl, dnspython and ntplib to the closed
vocabulary of :mod:`reasons`."""

from __future__ import annotations

import errno
import socket
import ssl
import sys

from nhn_appliance.probes.reasons import AnyReason, Reason, UnknownReason

_ERRNO = {
    errno.ECONNREFUSED: Reason.REFUSED,
    errno.ECONNRESET: Reason.REFUSED,
    errno.ETIMEDOUT: Reason.TIMEOUT,
    errno.EHOSTUNREACH: Reason.ICMP_HOST_UNREACHABLE,
    errno.EACCES: Reason.ICMP_ADMIN_PROHIBITED,  # IPv6 admin-prohibited arrives as EACCES
    errno.EPERM: Reason.ICMP_ADMIN_PROHIBITED,
    errno.ENETUNREACH: Reason.NETWORK_UNREACHABLE,
}


def classify(exc: BaseException) -> AnyReason:
    """A reason for an exception raised by socket, ssl, dnspython or ntplib."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return Reason.TIMEOUT
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Reason.TLS_CERT_INVALID
    if isinstance(exc, ssl.SSLError):
        return Reason.TLS_ERROR
    if isinstance(exc, OSError) and exc.errno in _ERRNO:
        return _ERRNO[exc.errno]
    # A library's exception can only exist once the library is imported: look
    # only then, so classifying a socket error never imports dnspython.
    if "dns.exception" in sys.modules:
        import dns.exception
        import dns.resolver

        if isinstance(exc, dns.exception.Timeout):  # LifetimeTimeout too
            return Reason.TIMEOUT
        if isinstance(exc, dns.resolver.NXDOMAIN):
            return Reason.NXDOMAIN
    if "ntplib" in sys.modules:
        import ntplib

        if isinstance(exc, ntplib.NTPException):  # "no response received"
            return Reason.TIMEOUT
    return UnknownReason.of(exc)
