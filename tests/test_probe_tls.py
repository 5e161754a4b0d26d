"""The TLS probe against Python TLS servers in RouterLab's hn namespace.

Certificates are made at test time with ``openssl req -x509``: one valid for
60 days, one for 2 days (so it warns). The servers run on threads of the
test process, their sockets created inside hn; the probe runs from site.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import netns as nn  # tests/ is on sys.path (pytest's default import mode)
import pytest

from nhn_appliance.probes.context import ProbeContext
from nhn_appliance.probes.model import Check, Result, Status
from nhn_appliance.probes.params import TlsParams
from nhn_appliance.probes.tls import describe_der, run

TLS4, TLS6 = "203.0.113.40", "2001:db8:a::40"
NAME = "hjelp.nhn.test"
HAVE_CRYPTOGRAPHY = importlib.util.find_spec("cryptography") is not None
RULES = """
table inet tlsfilter {
    chain input {
        type filter hook input priority filter; policy accept;
        tcp dport 9443 drop
        tcp dport 9444 reject with icmpx type admin-prohibited
    }
}
"""


def _cert(tmp: Path, label: str, days: int) -> tuple[Path, Path]:
    crt, key = tmp / f"{label}.crt", tmp / f"{label}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            str(days),
            "-subj",
            f"/O={label}/CN={NAME}",
            "-addext",
            f"subjectAltName=DNS:{NAME}",
            "-keyout",
            str(key),
            "-out",
            str(crt),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return crt, key


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not nn.have("openssl"):
        pytest.skip("openssl is not installed")
    tmp = tmp_path_factory.mktemp("tls-certs")
    (long_crt, long_key), (short_crt, short_key) = _cert(tmp, "long", 60), _cert(tmp, "short", 2)
    ca = tmp / "ca.pem"
    ca.write_text(long_crt.read_text() + short_crt.read_text())
    return {
        "long": long_crt,
        "long_key": long_key,
        "short": short_crt,
        "short_key": short_key,
        "ca": ca,
    }


class Server:
    """Accept on (address, port) in hn from a thread: a TLS handshake, else read the
    ClientHello and answer fixed plain bytes, or a TCP reset when ``plain`` is None."""

    def __init__(
        self,
        lab: nn.RouterLab,
        address: str,
        port: int,
        ctx: ssl.SSLContext | None,
        plain: bytes | None = b"",
    ) -> None:
        with nn.netns(lab.ns["hn"]):
            self.sock = socket.create_server((address, port))
        self.sock.settimeout(0.1)
        self.ctx, self.plain, self.stopping = ctx, plain, threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    if self.ctx is None:
                        conn.recv(4096)  # the ClientHello; closing before it would reset
                        if self.plain is None:  # like a firewall that filters on SNI
                            conn.setsockopt(
                                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                            )
                        else:
                            conn.sendall(self.plain)
                    else:
                        self.ctx.wrap_socket(conn, server_side=True).close()
                except OSError:  # ssl.SSLError too: the client gave up on our certificate
                    pass

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def lab(certs: dict[str, Path]) -> Iterator[nn.RouterLab]:
    if reason := nn.lab_skip_reason():
        pytest.skip(reason)
    rules = {"hn": RULES} if nn.have("nft") else {}
    with nn.probe_lab(nft_rules=rules) as lab:
        servers = []
        try:
            for port, label in ((443, "long"), (8443, "short")):
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(certs[label], certs[f"{label}_key"])
                servers.append(Server(lab, TLS4, port, ctx))
            servers.append(Server(lab, TLS4, 8080, None, b"HTTP/1.0 400 Bad Request\r\n\r\n"))
            servers.append(Server(lab, TLS4, 8081, None, None))
            yield lab
        finally:
            for server in servers:
                server.close()


def probe(lab: nn.RouterLab | None, timeout: float = 2.0, **params) -> Result:
    typed = TlsParams(**params)
    check = Check("tls-t", f"{typed.address}:{typed.port}", "test", "test", "verifies", typed)
    with nn.netns(lab.ns["site"]) if lab else contextlib.nullcontext():
        return asyncio.run(run(check, ProbeContext(timeout=timeout)))


def test_verified_certificate_is_ok(lab: nn.RouterLab, certs: dict[str, Path]) -> None:
    res = probe(lab, address=TLS4, port=443, sni=NAME, cafile=str(certs["ca"]))
    assert (res.status, res.reason) == (Status.OK, "ok"), res.detail
    ev = res.evidence
    assert ev["verified"] is True and ev["subject_cn"] == NAME and ev["san"] == [NAME]
    assert ev["issuer"] == f"O=long, CN={NAME}" and 59 < ev["days_left"] <= 60
    assert ev["tls_version"].startswith("TLSv1.") and ev["cipher"]
    assert [e.op for e in res.events] == ["connect", "handshake"]


def test_expiring_certificate_warns(lab: nn.RouterLab, certs: dict[str, Path]) -> None:
    res = probe(lab, address=TLS4, port=8443, sni=NAME, cafile=str(certs["ca"]))
    assert (res.status, res.reason) == (Status.WARN, "tls-cert-expiring"), res.detail
    assert 1 < res.evidence["days_left"] <= 2 and "expires in" in res.detail


def test_wrong_sni_records_the_presented_certificate(
    lab: nn.RouterLab, certs: dict[str, Path]
) -> None:
    res = probe(lab, address=TLS4, port=443, sni="wrong.nhn.test", cafile=str(certs["ca"]))
    assert (res.status, res.reason) == (Status.FAIL, "tls-cert-invalid"), res.detail
    ev = res.evidence
    assert ev["verified"] is False and "mismatch" in ev["verify_error"].lower()
    presented = ev["presented"]
    assert presented["der_bytes"] > 200
    if HAVE_CRYPTOGRAPHY:
        assert presented["subject_cn"] == NAME and presented["san"] == [NAME]
        assert presented["issuer"] == f"O=long, CN={NAME}" and 59 < presented["days_left"] <= 60
    assert [e.op for e in res.events] == ["connect", "handshake", "connect", "handshake"]
    assert res.events[1].failure == "tls-cert-invalid" and res.events[3].failure is None


def test_self_signed_without_cafile_is_invalid(lab: nn.RouterLab) -> None:
    res = probe(lab, address=TLS4, port=443, sni=NAME)
    assert (res.status, res.reason) == (Status.FAIL, "tls-cert-invalid"), res.detail
    assert "self" in res.evidence["verify_error"] and res.evidence["presented"]["der_bytes"] > 200


def test_nothing_listening_is_refused(lab: nn.RouterLab) -> None:
    res = probe(lab, address=TLS4, port=4443, sni=NAME)
    assert (res.status, res.reason) == (Status.FAIL, "refused"), res.detail
    assert res.events[0].op == "connect" and res.events[0].failure == "refused"


def test_not_tls_is_tls_error(lab: nn.RouterLab) -> None:
    res = probe(lab, address=TLS4, port=8080, sni=NAME)
    assert (res.status, res.reason) == (Status.FAIL, "tls-error"), res.detail


def test_reset_in_the_handshake_is_tls_error(lab: nn.RouterLab) -> None:
    res = probe(lab, address=TLS4, port=8081, sni=NAME)
    assert (res.status, res.reason) == (Status.FAIL, "tls-error"), res.detail
    assert "cut during the handshake" in res.detail
    assert [(e.op, e.failure) for e in res.events] == [
        ("connect", None),
        ("handshake", "tls-error"),
    ]


def test_dropped_is_timeout_within_the_limit(lab: nn.RouterLab) -> None:
    if not nn.have("nft"):
        pytest.skip("nft (nftables) is not installed")
    start = time.monotonic()
    res = probe(lab, timeout=0.3, address=TLS4, port=9443, sni=NAME)
    assert (res.status, res.reason) == (Status.FAIL, "timeout"), res.detail
    assert time.monotonic() - start < 0.6


@pytest.mark.parametrize("address", [TLS4, TLS6])
def test_firewall_reject_is_admin_prohibited(lab: nn.RouterLab, address: str) -> None:
    if not nn.have("nft"):
        pytest.skip("nft (nftables) is not installed")
    start = time.monotonic()
    res = probe(lab, address=address, port=9444, sni=NAME)
    assert (res.status, res.reason) == (Status.FAIL, "icmp-admin-prohibited"), res.detail
    # IPv4 says the rejected address; IPv6 picks hn's link address as the ICMPv6 source
    assert res.evidence["from"] in (address, nn.RouterLab.HN_LINK6[1])
    assert res.events[0].failure == "icmp-admin-prohibited"
    assert time.monotonic() - start < 1.5  # IPv6 over veth may take one SYN retransmit (~1 s)


# -- no root needed ----------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"address": "hjelp.nhn.no", "port": 443, "sni": NAME},
        {"address": TLS4, "port": 0, "sni": NAME},
        {"address": TLS4, "port": 443, "sni": NAME, "cafile": "/nonexistent/ca.pem"},
    ],
)
def test_bad_input(params: dict) -> None:
    res = probe(None, **params)
    assert (res.status, res.reason) == (Status.ERROR, "bad-input"), res.detail


def test_describe_der_without_cryptography(
    certs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    der = ssl.PEM_cert_to_DER_cert(certs["long"].read_text())
    monkeypatch.setitem(sys.modules, "cryptography", None)  # import now raises ImportError
    assert describe_der(der) == {"der_bytes": len(der), "decoded": False}
