"""What each kind of check is asked: one frozen dataclass per kind.

The plan builds these once; a prober receives its own type and reads
attributes, so a misspelt key is a type error, not a ``KeyError`` at run
time. ``KIND`` names the check kind (the prober) a parameter type belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class TcpParams:
    """A plain connect() to address:port."""

    KIND: ClassVar[str] = "tcp"
    address: str
    port: int


@dataclass(frozen=True)
class SynParams:
    """A raw SYN to address:port (root)."""

    KIND: ClassVar[str] = "syn"
    address: str
    port: int


@dataclass(frozen=True)
class DnsParams:
    """A and AAAA for ``name`` at ``resolver``; ``expect``: addresses one of which should come."""

    KIND: ClassVar[str] = "dns"
    name: str
    resolver: str
    port: int = 53
    expect: tuple[str, ...] = ()


@dataclass(frozen=True)
class NtpParams:
    """One NTP query; the clock limits and why they matter come from the catalogue."""

    KIND: ClassVar[str] = "ntp"
    address: str  #: an IP address or a name (looked up through the site's resolvers)
    warn_s: float
    fail_s: float
    why: str  #: why a wrong clock matters, with its source
    port: int = 123


@dataclass(frozen=True)
class StunParams:
    KIND: ClassVar[str] = "stun"
    address: str
    port: int = 3478


@dataclass(frozen=True)
class SipParams:
    KIND: ClassVar[str] = "sip"
    address: str
    port: int = 5060
    transport: str = "udp"  #: udp or tcp
    domain: str | None = None  #: the Request-URI's domain (default: the address)


@dataclass(frozen=True)
class TlsParams:
    KIND: ClassVar[str] = "tls"
    address: str
    port: int = 443
    sni: str | None = None
    cafile: str | None = None  #: trust these instead of the system's store


@dataclass(frozen=True)
class PacParams:
    KIND: ClassVar[str] = "pac"
    url: str
    test_urls: tuple[str, ...] = ()
    address: str | None = None  #: connect here instead of resolving the URL's host


@dataclass(frozen=True)
class ProxyParams:
    """A CONNECT to ``connect_to`` (host:port) through ``proxy`` (host[:port], or a URL
    with credentials)."""

    KIND: ClassVar[str] = "proxy"
    proxy: str
    connect_to: str
    port: int | None = None  #: when ``proxy`` names none (default 8080)
    address: str | None = None  #: the proxy's IP, skipping the lookup of its name
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class PathParams:
    KIND: ClassVar[str] = "path"
    address: str
    max_hops: int = 8
    zone: str = ""  #: the uplink zone the plan expects the traffic to leave by
    port: int | None = None  #: a TCP SYN to this port, else UDP to the traceroute ports


@dataclass(frozen=True)
class SniffParams:
    """A passive capture for traffic to known-good and known-wrong hosts."""

    KIND: ClassVar[str] = "sniff"
    good: tuple[str, ...]
    bad: tuple[str, ...]
    good_label: str  #: how the catalogue names the good hosts, for the fix sentence
    seconds: float = 10.0
    iface: str | None = None  #: every interface but lo when None


@dataclass(frozen=True)
class NoteParams:
    """Not probed: why it cannot be verified from the site."""

    KIND: ClassVar[str] = "note"
    why: str


Params = (
    TcpParams
    | SynParams
    | DnsParams
    | NtpParams
    | StunParams
    | SipParams
    | TlsParams
    | PacParams
    | ProxyParams
    | PathParams
    | SniffParams
    | NoteParams
)
