"""The STUN and SIP probes against real peers in network namespaces.

coturn (``turnserver``) and sipp listen in RouterLab's hn namespace on
203.0.113.0/25 addresses; the probes run from site (198.51.100.2) through
rtr. An nftables table in hn drops or rejects some ports. Codec tests at
the end need no root.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import netns as nn  # tests/ is on sys.path (pytest's default import mode)
import pytest

from nhn_appliance.probes.context import ProbeContext
from nhn_appliance.probes.model import Check, Result, Status
from nhn_appliance.probes.params import SipParams, StunParams
from nhn_appliance.probes.udp import COOKIE, parse_sip, parse_stun, run

STUN4, STUN6, SIP4, FAKE4 = "203.0.113.10", "2001:db8:a::10", "203.0.113.20", "203.0.113.30"
SITE4, SITE6 = nn.RouterLab.SITE4, nn.RouterLab.SITE6
DROP_TIMEOUT = 0.5
RULES = """
table inet probefilter {
    chain input {
        type filter hook input priority filter; policy accept;
        udp dport { 3471, 5062 } drop
        udp dport 3472 reject with icmpx type admin-prohibited
        tcp dport 5063 reject with icmpx type admin-prohibited
    }
}
"""
SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="options-uas">
  <recv request="OPTIONS" crlf="true"/>
  <send><![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Allow: INVITE, ACK, BYE, CANCEL, OPTIONS
      Server: sipp-test-peer
      Content-Length: 0

  ]]></send>
</scenario>
"""


def _params(kind: str, **params) -> StunParams | SipParams:
    return StunParams(**params) if kind == "stun" else SipParams(**params)


def probe(lab: nn.RouterLab, kind: str, timeout: float = 1.0, **params) -> Result:
    """Run the prober from the site namespace, as the appliance would."""
    typed = _params(kind, **params)
    check = Check(f"{kind}-t", f"{typed.address}:{typed.port}", "test", "test", "answers", typed)
    with nn.netns(lab.ns["site"]):
        return asyncio.run(run(check, ProbeContext(timeout=timeout)))


def _start(lab: nn.RouterLab, argv: list[str], log: Path, *ready: dict) -> None:
    """Start a peer in hn and wait (bounded) until it answers each ``ready`` probe."""
    proc = lab.popen("hn", argv, log)
    for params in ready:
        for _ in range(200):
            if proc.poll() is None and probe(lab, timeout=0.05, **params).status is Status.OK:
                break
            if proc.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.01)
        else:
            raise RuntimeError(f"{argv[0]} not ready:\n{log.read_text(errors='replace')[-2000:]}")


class UdpResponder:
    """Answer every datagram on (address, port) in hn with fixed bytes, from a thread."""

    def __init__(self, lab: nn.RouterLab, address: str, port: int, reply: bytes) -> None:
        with nn.netns(lab.ns["hn"]):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, port))
        self.sock.settimeout(0.1)
        self.reply, self.stopping = reply, threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                _, peer = self.sock.recvfrom(2048)
                self.sock.sendto(self.reply, peer)
            except OSError:  # the 0.1 s timeout, mostly
                continue

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[nn.RouterLab]:
    if reason := nn.lab_skip_reason("turnserver", "sipp", "nft"):
        pytest.skip(f"{reason} (apt packages coturn, sip-tester, nftables)")
    tmp = tmp_path_factory.mktemp("udp-peers")
    (tmp / "options_uas.xml").write_text(SCENARIO, encoding="ascii")
    with nn.probe_lab(nft_rules={"hn": RULES}) as lab:
        _start(
            lab,
            [
                "turnserver",
                "-n",
                f"--listening-ip={STUN4}",
                f"--listening-ip={STUN6}",
                "--listening-port=3478",
                "--no-tls",
                "--no-dtls",
                "--stun-only",
                "--no-cli",
                f"--pidfile={tmp}/turnserver.pid",
                "--log-file=stdout",
                "--simple-log",
            ],
            tmp / "turnserver.log",
            {"kind": "stun", "address": STUN4, "port": 3478},
            {"kind": "stun", "address": STUN6, "port": 3478},
        )
        for transport in ("udp", "tcp"):
            _start(
                lab,
                [
                    "sipp",
                    "-sf",
                    str(tmp / "options_uas.xml"),
                    "-i",
                    SIP4,
                    "-p",
                    "5060",
                    "-bind_local",
                    "-t",
                    transport[0] + "1",
                    "-nostdin",
                    "-trace_err",
                    "-error_file",
                    str(tmp / f"sipp-{transport}-err.log"),
                ],
                tmp / f"sipp-{transport}.log",
                {"kind": "sip", "address": SIP4, "port": 5060, "transport": transport},
            )
        garbage = UdpResponder(lab, FAKE4, 3478, b"hello, this is not STUN")
        sip404 = UdpResponder(
            lab, FAKE4, 5060, b"SIP/2.0 404 Not Found\r\nServer: fake\r\nContent-Length: 0\r\n\r\n"
        )
        try:
            yield lab
        finally:
            garbage.close()
            sip404.close()


# -- STUN ------------------------------------------------------------------


def test_stun_answers_with_the_site_address(lab: nn.RouterLab) -> None:
    res = probe(lab, "stun", address=STUN4, port=3478)
    assert (res.status, res.reason) == (Status.OK, "answered"), res.detail
    ev = res.evidence
    assert ev["mapped_address"] == SITE4 and ev["mapped_from"] == "XOR-MAPPED-ADDRESS"
    assert ev["mapped_port"] == ev["local_port"] and ev["nat"] is False
    assert ev["software"].startswith("Coturn") and ev["transmissions"] == 1
    assert [e.op for e in res.events] == ["send", "recv"]
    assert res.as_dict()["evidence"]["mapped_address"] == SITE4


def test_stun_over_ipv6(lab: nn.RouterLab) -> None:
    res = probe(lab, "stun", address=STUN6, port=3478)
    assert res.status is Status.OK, res.detail
    assert res.evidence["mapped_address"] == SITE6


def test_stun_closed_port_is_refused(lab: nn.RouterLab) -> None:
    res = probe(lab, "stun", address=STUN4, port=3470)
    assert (res.status, res.reason) == (Status.FAIL, "refused"), res.detail
    assert (res.evidence["icmp_type"], res.evidence["icmp_code"]) == (3, 3)


def test_stun_dropped_is_no_answer_not_open(lab: nn.RouterLab) -> None:
    start = time.monotonic()
    res = probe(lab, "stun", timeout=DROP_TIMEOUT, address=STUN4, port=3471)
    took = time.monotonic() - start
    assert (res.status, res.reason) == (Status.FAIL, "no-answer"), res.detail
    assert res.evidence["transmissions"] == 3  # the request and two retransmissions
    assert DROP_TIMEOUT - 0.05 <= took < DROP_TIMEOUT + 0.2


def test_stun_admin_prohibited(lab: nn.RouterLab) -> None:
    res = probe(lab, "stun", address=STUN4, port=3472)
    assert (res.status, res.reason) == (Status.FAIL, "icmp-admin-prohibited"), res.detail
    assert res.evidence["icmp_code"] in (10, 13) and res.evidence["from"]


def test_stun_garbage_is_bad_reply(lab: nn.RouterLab) -> None:
    res = probe(lab, "stun", address=FAKE4, port=3478)
    assert (res.status, res.reason) == (Status.FAIL, "bad-reply"), res.detail
    assert bytes.fromhex(res.evidence["reply_head"]).startswith(b"hello")


# -- SIP -------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_sip_options_answered(lab: nn.RouterLab, transport: str) -> None:
    res = probe(lab, "sip", address=SIP4, port=5060, transport=transport, domain="join.nhn.no")
    assert (res.status, res.reason) == (Status.OK, "answered"), res.detail
    ev = res.evidence
    assert ev["sent"] == "OPTIONS sip:join.nhn.no SIP/2.0"
    assert ev["status_line"] == "SIP/2.0 200 OK" and ev["status_code"] == 200
    assert ev["server"] == "sipp-test-peer" and "OPTIONS" in ev["allow"]
    assert ev["bytes_sent"] > 200 and ev["bytes_received"] > 100


def test_sip_other_status_still_answers(lab: nn.RouterLab) -> None:
    res = probe(lab, "sip", address=FAKE4, port=5060, transport="udp", domain="join.nhn.no")
    assert (res.status, res.reason) == (Status.OK, "answered"), res.detail
    assert res.evidence["status_code"] == 404 and "not 200" in res.detail


def test_sip_tcp_refused(lab: nn.RouterLab) -> None:
    res = probe(lab, "sip", address=SIP4, port=5061, transport="tcp")
    assert (res.status, res.reason) == (Status.FAIL, "refused"), res.detail


def test_sip_tcp_admin_prohibited(lab: nn.RouterLab) -> None:
    res = probe(lab, "sip", address=SIP4, port=5063, transport="tcp")
    assert (res.status, res.reason) == (Status.FAIL, "icmp-admin-prohibited"), res.detail


def test_sip_udp_dropped_is_no_answer(lab: nn.RouterLab) -> None:
    res = probe(lab, "sip", timeout=DROP_TIMEOUT, address=SIP4, port=5062, transport="udp")
    assert (res.status, res.reason) == (Status.FAIL, "no-answer"), res.detail
    assert res.evidence["sent"].startswith("OPTIONS sip:203.0.113.20 SIP/2.0")


# -- codecs and input checks (no root needed) -------------------------------


def _stun_reply(tid: bytes, *attrs: tuple[int, bytes], mtype: int = 0x0101) -> bytes:
    body = b"".join(struct.pack("!HH", t, len(v)) + v + b"\0" * (-len(v) % 4) for t, v in attrs)
    return struct.pack("!HHI12s", mtype, len(body), COOKIE, tid) + body


def test_parse_stun_addresses() -> None:
    tid = bytes(range(12))
    xport = struct.pack("!H", 40000 ^ (COOKIE >> 16))
    key4 = struct.pack("!I", COOKIE)
    xor4 = bytes(a ^ b for a, b in zip(socket.inet_aton(SITE4), key4, strict=True))
    key6 = struct.pack("!I", COOKIE) + tid
    xor6 = bytes(a ^ b for a, b in zip(socket.inet_pton(socket.AF_INET6, SITE6), key6, strict=True))
    plain = b"\0\1" + struct.pack("!H", 5000) + socket.inet_aton("198.51.100.9")
    got = parse_stun(
        _stun_reply(tid, (0x0020, b"\0\1" + xport + xor4), (0x0001, plain), (0x8022, b"peer 1.0")),
        tid,
    )
    assert got["xor"] == (SITE4, 40000) and got["plain"] == ("198.51.100.9", 5000)
    assert got["software"] == "peer 1.0"
    got6 = parse_stun(_stun_reply(tid, (0x0020, b"\0\2" + xport + xor6)), tid)
    assert got6["xor"] == (SITE6, 40000)
    err = parse_stun(_stun_reply(tid, (0x0009, b"\0\0\4\1Bad"), mtype=0x0111), tid)
    assert err["stun_type"] == "error" and err["error"] == "401 Bad"
    for bad in (b"junk", _stun_reply(bytes(12)), _stun_reply(tid, mtype=0x0001)):
        with pytest.raises(ValueError):
            parse_stun(bad, tid)


def test_parse_sip() -> None:
    got = parse_sip(b"SIP/2.0 405 Method Not Allowed\r\nUser-Agent: pbx\r\nAllow: INVITE\r\n\r\n")
    assert got == {
        "status_line": "SIP/2.0 405 Method Not Allowed",
        "status_code": 405,
        "server": "pbx",
        "allow": "INVITE",
    }
    with pytest.raises(ValueError):
        parse_sip(b"HTTP/1.1 200 OK\r\n\r\n")


@pytest.mark.parametrize(
    "params",
    [
        StunParams("stun.example", 3478),  # a name: the plan gives addresses
        StunParams("203.0.113.1", 0),
        SipParams("203.0.113.1", 70000),
        SipParams("203.0.113.1", 5060, transport="sctp"),
    ],
)
def test_bad_input(params: StunParams | SipParams) -> None:
    check = Check("x", "x", "test", "test", "answers", params)
    res = asyncio.run(run(check, ProbeContext(timeout=0.1)))
    assert (res.status, res.reason) == (Status.ERROR, "bad-input")
