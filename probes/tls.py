"""TLS: does the handshake with the right SNI succeed, and what certificate comes back?

A verified handshake is ok (warn when the certificate expires within
:data:`WARN_DAYS`). One that fails verification is "tls-cert-invalid"; the
probe then connects once more without verifying, so the report shows the
certificate that was actually presented (a TLS-inspecting firewall's, say).
"""

from __future__ import annotations

import asyncio
import calendar
import importlib
import ipaddress
import os
import ssl
import time
from datetime import UTC, datetime
from typing import Any

from nhn_appliance.probes.context import ProbeContext, in_thread
from nhn_appliance.probes.failures import classify
from nhn_appliance.probes.model import Check, Event, Result, Status
from nhn_appliance.probes.netio import open_socket, read_icmp_error
from nhn_appliance.probes.params import TlsParams
from nhn_appliance.probes.reasons import AnyReason, Reason

WARN_DAYS = 14
_SHORT = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "localityName": "L",
    "stateOrProvinceName": "ST",
}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _expiry(epoch: float) -> dict[str, Any]:
    return {"not_after": _iso(epoch), "days_left": round((epoch - time.time()) / 86400, 2)}


def describe_dict(cert: dict[str, Any]) -> dict[str, Any]:
    """Evidence from ``getpeercert()`` (only filled in for a verified certificate)."""

    def name(rdns: Any) -> list[tuple[str, str]]:
        return [(_SHORT.get(k, k), v) for rdn in rdns for k, v in rdn]

    subject = name(cert.get("subject", ()))
    return {
        "subject_cn": next((v for k, v in subject if k == "CN"), None),
        "subject": ", ".join(f"{k}={v}" for k, v in subject),
        "issuer": ", ".join(f"{k}={v}" for k, v in name(cert.get("issuer", ()))),
        "san": [v for k, v in cert.get("subjectAltName", ()) if k in ("DNS", "IP Address")],
        **_expiry(ssl.cert_time_to_seconds(cert["notAfter"])),
    }


def describe_der(der: bytes) -> dict[str, Any]:
    """Evidence from the DER certificate, decoded with ``cryptography`` when it is installed."""
    out: dict[str, Any] = {"der_bytes": len(der)}
    try:  # optional, and without type information here: imported by name
        importlib.import_module("cryptography")  # (a blocked parent fails here too)
        x509: Any = importlib.import_module("cryptography.x509")
    except ImportError:
        return out | {"decoded": False}
    try:
        cert = x509.load_der_x509_certificate(der)
        cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        try:
            san_ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            san = [str(v) for v in san_ext.get_values_for_type(x509.DNSName)]
            san += [str(v) for v in san_ext.get_values_for_type(x509.IPAddress)]
        except x509.ExtensionNotFound:
            san = []
        after = getattr(cert, "not_valid_after_utc", None)  # cryptography >= 42
        after = after or cert.not_valid_after.replace(tzinfo=UTC)
    except ValueError as exc:
        return out | {"decoded": False, "decode_error": str(exc)}

    def name(n: Any) -> str:  # in certificate order, like describe_dict
        return ", ".join(f"{a.rfc4514_attribute_name}={a.value}" for rdn in n.rdns for a in rdn)

    return out | {
        "decoded": True,
        "subject_cn": str(cn[0].value) if cn else None,
        "subject": name(cert.subject),
        "issuer": name(cert.issuer),
        "san": san,
        **_expiry(calendar.timegm(after.utctimetuple())),
    }


def _handshake_reason(exc: BaseException) -> Reason:
    """After the TCP connect, a reset is a failed handshake too, not a refused connection."""
    if isinstance(exc, TimeoutError):
        return Reason.TIMEOUT
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Reason.TLS_CERT_INVALID
    return Reason.TLS_ERROR


class _ConnectError(Exception):
    """The TCP connection failed; ``reason`` is classified, with the ICMP error if one came."""

    def __init__(self, reason: AnyReason, why: str, icmp: dict[str, Any]) -> None:
        super().__init__(why)
        self.reason, self.why, self.icmp = reason, why, icmp


async def _handshake(
    ip: str,
    port: int,
    sni: str | None,
    context: ssl.SSLContext,
    deadline: float,
    events: list[Event],
    t0: float,
) -> dict[str, Any]:
    """Connect and handshake; the session facts. Raises _ConnectError, ssl.SSLError, OSError
    or TimeoutError."""

    def ev(op: str, failure: AnyReason | None = None, detail: str = "") -> None:
        events.append(Event(op, time.monotonic() - t0, ip, "tcp", failure, 0, detail))

    sock = open_socket(ip, udp=False)  # tells a firewall's ICMP reject from "no such host"
    try:
        connect = asyncio.get_running_loop().sock_connect(sock, (ip, port))
        await asyncio.wait_for(connect, max(deadline - time.monotonic(), 0))
        reader, writer = await asyncio.open_connection(sock=sock)
    except (OSError, TimeoutError) as exc:
        icmp = read_icmp_error(sock)
        sock.close()
        reason = icmp.reason if icmp else classify(exc)
        if icmp:
            why = icmp.why
        else:
            why = os.strerror(exc.errno) if exc.errno else str(exc) or "no answer in time"
        ev("connect", reason, why)
        raise _ConnectError(reason, why, icmp.as_dict() if icmp else {}) from exc
    ev("connect")
    try:
        left = max(deadline - time.monotonic(), 0.001)
        # wait_for fires first (TimeoutError -> "timeout"); start_tls's own limit is a backstop
        await asyncio.wait_for(
            writer.start_tls(context, server_hostname=sni, ssl_handshake_timeout=left + 1), left
        )
        tls = writer.get_extra_info("ssl_object")
        cipher = tls.cipher()
        ev("handshake", None, f"{tls.version()} {cipher[0] if cipher else ''}")
        return {
            "tls_version": tls.version(),
            "cipher": cipher[0] if cipher else None,
            "peercert": tls.getpeercert(),
            "der": tls.getpeercert(binary_form=True),
        }
    except (OSError, TimeoutError) as exc:
        ev("handshake", _handshake_reason(exc), getattr(exc, "verify_message", None) or str(exc))
        raise
    finally:
        writer.transport.abort()  # no close_notify wait: the probe must end within its timeout
        await asyncio.sleep(0)


def _context(cafile: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


async def run(check: Check[TlsParams], ctx: ProbeContext) -> Result:
    """One TLS check; network failures become results, never exceptions."""
    p = check.params
    try:
        ip = str(ipaddress.ip_address(p.address))
        port = p.port
        if not 0 < port < 65536:
            raise ValueError(f"port {port} out of range")
        sni = p.sni or None
        # reading the trust store takes tens of ms: in a worker, not on the event loop
        context = await in_thread(ctx, _context, p.cafile or None)
    except (ValueError, OSError) as exc:
        return Result.of(check, Status.ERROR, Reason.BAD_INPUT, f"bad tls params: {exc}")
    if sni is None:
        context.check_hostname = False  # nothing to match against; the chain is still verified
    events: list[Event] = []
    result = await _check(check, ip, port, sni, context, ctx.left(), events)
    result.events = events
    return result


async def _check(
    check: Check[TlsParams],
    ip: str,
    port: int,
    sni: str | None,
    context: ssl.SSLContext,
    timeout: float,
    events: list[Event],
) -> Result:
    t0 = time.monotonic()
    ev: dict[str, Any] = {"address": ip, "port": port, "sni": sni}
    what = f"TLS to {ip}:{port} (SNI {sni})"
    try:
        info = await _handshake(ip, port, sni, context, t0 + timeout, events, t0)
    except ssl.SSLCertVerificationError as exc:
        ev |= {
            "verified": False,
            "verify_error": exc.verify_message or str(exc),
            "verify_code": exc.verify_code,
        }
        # Once more without verifying, to record what was presented.
        unverified = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no trust store to load
        unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE
        try:
            again = await _handshake(ip, port, sni, unverified, t0 + timeout, events, t0)
        except _ConnectError as exc2:
            ev["presented_error"] = f"{exc2.reason}: {exc2.why}"
        except (OSError, TimeoutError) as exc2:
            ev["presented_error"] = f"{classify(exc2)}: {exc2}"
        else:
            ev |= {
                "tls_version": again["tls_version"],
                "cipher": again["cipher"],
                "presented": describe_der(again["der"]),
            }
        detail = f"{what}: the certificate did not verify: {ev['verify_error']}"
        return Result.of(check, Status.FAIL, Reason.TLS_CERT_INVALID, detail, **ev)
    except _ConnectError as exc:
        detail = f"{what}: connect: {exc.reason} ({exc.why})"
        return Result.of(check, Status.FAIL, exc.reason, detail, **ev, **exc.icmp)
    except (OSError, TimeoutError) as exc:  # after the TCP connect: the handshake itself failed
        reason = _handshake_reason(exc)
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, ConnectionError):
            why += " (the connection was cut during the handshake: a filtering firewall?)"
        ev["error"] = why
        return Result.of(check, Status.FAIL, reason, f"{what}: handshake: {reason} ({why})", **ev)
    cert = describe_dict(info["peercert"]) if info["peercert"] else describe_der(info["der"] or b"")
    ev |= {"verified": True, "tls_version": info["tls_version"], "cipher": info["cipher"], **cert}
    days = cert.get("days_left", WARN_DAYS)
    if days < WARN_DAYS:
        detail = f"the certificate verifies but expires in {days:.1f} days ({cert['not_after']})"
        return Result.of(check, Status.WARN, Reason.TLS_CERT_EXPIRING, f"{what}: {detail}", **ev)
    detail = f"certificate for {cert.get('subject_cn')} verifies, {days:.0f} days left"
    return Result.of(check, Status.OK, Reason.OK, f"{what}: {info['tls_version']}, {detail}", **ev)
