"""The closed vocabulary of reasons a probe result may carry.

Every result carries a :class:`Reason`; an error no rule knows becomes an
:class:`UnknownReason`, written ``unknown: <ExceptionName>: <first line>``
so nothing is hidden, but reports can still count by code. Both are
strings, so the result document holds exactly the code. Pure: the report
and the result model import this without any network module
(:mod:`failures` maps exceptions to it).
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """A reason code and what it means, for reports (``Reason.TIMEOUT.description``)."""

    description: str

    def __new__(cls, code: str, description: str) -> Reason:
        member = str.__new__(cls, code)
        member._value_ = code
        member.description = description
        return member

    @classmethod
    def of(cls, code: str) -> Reason:
        """The reason with this code; ValueError when there is none."""
        for member in cls:
            if member.value == code:
                return member
        raise ValueError(f"no reason {code!r}")

    OK = "ok", "worked as the site needs"
    OPEN = "open", "the port accepted a connection"
    ANSWERED = "answered", "the peer answered the request"
    REFUSED = (
        "refused",
        "the peer or a firewall refused the connection (TCP reset or ICMP port unreachable)",
    )
    TIMEOUT = "timeout", "no answer within the time limit (dropped by a firewall, or nothing there)"
    NO_ANSWER = "no-answer", "a UDP request got no reply; the port may be open or filtered"
    ICMP_ADMIN_PROHIBITED = (
        "icmp-admin-prohibited",
        "a firewall rejected the packet (ICMP administratively prohibited)",
    )
    ICMP_HOST_UNREACHABLE = "icmp-host-unreachable", "ICMP host unreachable"
    NETWORK_UNREACHABLE = "network-unreachable", "no route to that network from this host"
    NXDOMAIN = "nxdomain", "the name does not exist (NXDOMAIN)"
    SERVFAIL = "servfail", "the resolver failed (SERVFAIL)"
    DNS_REFUSED = "dns-refused", "the resolver refused the query (REFUSED)"
    NO_ADDRESS = "no-address", "the name exists but has no A or AAAA record"
    ANSWER_DIFFERS = "answer-differs", "the name resolved to other addresses than the catalogue's"
    TLS_ERROR = "tls-error", "the TLS handshake failed"
    TLS_CERT_INVALID = "tls-cert-invalid", "the TLS certificate did not verify"
    TLS_CERT_EXPIRING = (
        "tls-cert-expiring",
        "the TLS certificate verifies but expires within 14 days",
    )
    PROXY_STATUS_407 = "proxy-status-407", "the proxy asks for authentication (407)"
    PROXY_DENIED = "proxy-denied", "the proxy refused the CONNECT"
    PROXY_ERROR = "proxy-error", "the proxy could not reach the target"
    PAC_FETCH_FAILED = "pac-fetch-failed", "the PAC file could not be fetched"
    PAC_ERROR = "pac-error", "the PAC file failed to evaluate"
    PAC_TIMEOUT = "pac-timeout", "the PAC file ran too long"
    PAC_MEMORY = "pac-memory", "the PAC file used too much memory"
    BAD_REPLY = "bad-reply", "the peer answered something that is not the protocol"
    CLOCK_OFFSET = "clock-offset", "the clock is off compared with the NTP server"
    UNSYNCHRONISED = "unsynchronised", "the NTP server says it is not synchronised"
    NEEDS_ROOT = "needs-root", "this check needs root (raw sockets)"
    CANCELLED = "cancelled", "the run stopped before this check finished"
    DEADLINE = "deadline", "the run's global deadline passed"
    BAD_INPUT = "bad-input", "the check's input is not valid"
    NOT_VERIFIABLE = (
        "not-verifiable",
        "cannot be verified from the site without a cooperating endpoint",
    )
    TERMINAL_WRONG_HOST = (
        "terminal-wrong-host",
        "a payment terminal talks to a host the catalogue names as wrong for it",
    )
    NOTHING_SEEN = (
        "nothing-seen",
        "a passive capture saw no traffic to the hosts it watched for",
    )


class UnknownReason(str):
    """``unknown: ...``: a failure no rule knows, kept visible rather than hidden."""

    PREFIX = "unknown: "

    def __new__(cls, text: str) -> UnknownReason:
        if not text.startswith(cls.PREFIX):
            text = cls.PREFIX + text
        return str.__new__(cls, text[:200])

    @classmethod
    def of(cls, exc: BaseException) -> UnknownReason:
        first = str(exc).splitlines()[0] if str(exc) else ""
        return cls(f"{type(exc).__name__}: {first}")


#: what a result or an event may carry as its reason
AnyReason = Reason | UnknownReason

#: reason code -> what it means, for reports
REASONS: dict[str, str] = {r.value: r.description for r in Reason}


def is_known(reason: str) -> bool:
    return reason in REASONS or reason.startswith(UnknownReason.PREFIX)


_SAY = {
    Reason.REFUSED: "connection refused (TCP reset or port unreachable{sender})",
    Reason.TIMEOUT: "no answer (dropped, or nothing there)",
    Reason.ICMP_ADMIN_PROHIBITED: (
        "rejected by a firewall (ICMP administratively prohibited{sender})"
    ),
    Reason.NETWORK_UNREACHABLE: "no route to that network{sender}",
    Reason.ICMP_HOST_UNREACHABLE: "host unreachable{sender}",
}


def say(kind: str, target: str, reason: AnyReason, sender: str = "") -> str:
    """One sentence for a failed connection attempt (tcp connect, syn): ``sender`` is
    the address an ICMP error came from, when one did."""
    via = f" from {sender}" if sender else ""
    text = _SAY.get(reason) if isinstance(reason, Reason) else None
    return f"{kind} {target}: " + (text.format(sender=via) if text else f"{reason}{via}")
