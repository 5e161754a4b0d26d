"""Hostile resolvers (issue 11 part 3, review D3: PR09, PR10): only answers to the query count.

A small DNS server of our own (this file, run as a script) listens on
127.0.0.1:5353 inside a namespace this test makes, with only ``lo`` and no
route out; ``nhn-appliance resolve`` and ``probe --only dns`` run in the same
namespace. Each mode forges one thing: another transaction ID, another
question, records of another owner, a reply from another source address, or
addresses no pin may hold. Names are under .test; addresses are
documentation addresses, or the classes a pin must refuse (written as data
into DNS answers, never contacted).
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from pathlib import Path

import netns
import pytest

RULES = Path(__file__).parent / "cases" / "probes" / "rules"  # one name: proxy.nhn.test
NAME = "proxy.nhn.test"
GOOD4, GOOD6, FORGED = "203.0.113.41", "2001:db8:a::41", "203.0.113.66"
SITE = """[site]
name = "hostile-dns"
services = ["navn"]
[lan]
interfaces = ["lan0"]
prefixes = ["198.51.100.0/25", "2001:db8:1::/64"]
[uplinks.helsenett]
interface = "wan-hn"
[dns]
resolvers = ["127.0.0.1"]
port = 5353
"""


# -- the server (run as a script inside the namespace) ------------------------
def _serve(mode: str) -> None:
    import socket

    import dns.message
    import dns.rrset

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 5353))
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("127.0.0.2", 5353))  # another source address, same port
    sock.settimeout(20)
    print("ready", flush=True)
    for _ in range(40):  # bounded
        data, peer = sock.recvfrom(4096)
        q = dns.message.from_wire(data)
        v6 = q.question[0].rdtype == 28
        qname = q.question[0].name.to_text()
        kind = "AAAA" if v6 else "A"

        def reply(owner: str, *addresses: str, query=q, kind=kind):
            r = dns.message.make_response(query)
            if addresses:
                r.answer.append(dns.rrset.from_text(owner, 60, "IN", kind, *addresses))
            return r

        good = reply(qname, GOOD6 if v6 else GOOD4)
        out = []
        if mode == "wrong-id":  # the review's PR09: another ID, another owner, bad classes
            r = reply("wrong.owner.invalid.", *(["::1"] if v6 else ["127.0.0.1", "0.0.0.0"]))
            r.id = q.id ^ 0x5555
            out = [(sock, r)]
        elif mode == "wrong-id-right-name":
            r = reply(qname, "2001:db8:66::66" if v6 else FORGED)
            r.id = q.id ^ 0x5555
            out = [(sock, r)]
        elif mode == "wrong-question":
            other_q = dns.message.make_query("other.nhn.test.", kind)
            other_q.id = q.id
            out = [(sock, reply("other.nhn.test.", FORGED if not v6 else "::1", query=other_q))]
        elif mode == "wrong-owner":
            out = [(sock, reply("wrong.owner.invalid.", "2001:db8:66::66" if v6 else FORGED))]
        elif mode == "cname":
            r = dns.message.make_response(q)
            r.answer.append(dns.rrset.from_text(qname, 60, "IN", "CNAME", "target.nhn.test."))
            r.answer.append(
                dns.rrset.from_text("target.nhn.test.", 60, "IN", kind, GOOD6 if v6 else GOOD4)
            )
            r.answer.append(
                dns.rrset.from_text("extra.invalid.", 60, "IN", kind, "::1" if v6 else FORGED)
            )
            out = [(sock, r)]
        elif mode == "spoofed-source":
            out = [(other, good)]
        elif mode == "forged-then-real":
            forged = reply(qname, "2001:db8:66::66" if v6 else FORGED)
            forged.id = q.id ^ 1
            out = [(sock, forged), (sock, good)]
        elif mode == "bad-classes":
            bad6 = ["::1", "fe80::1", "ff02::fb", GOOD6]
            bad4 = ["127.0.0.1", "0.0.0.0", "224.0.0.251", "169.254.0.9", "198.51.100.50", GOOD4]
            out = [(sock, reply(qname, *(bad6 if v6 else bad4)))]
        elif mode == "only-loopback":
            out = [(sock, reply(qname, "::1" if v6 else "127.0.0.1"))]
        for via, r in out:
            via.sendto(r.to_wire(), peer)


# -- the tests ---------------------------------------------------------------
@pytest.fixture
def ns():
    if reason := netns.root_ok():
        pytest.skip(reason)
    name = f"nhne3-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        netns.run_in(name, ["ip", "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], timeout=10)


@pytest.fixture
def server(ns, tmp_path: Path):
    procs = []

    def start(mode: str) -> None:
        log = tmp_path / f"dns-{mode}.log"
        proc = netns.popen_in(ns, [sys.executable, __file__, mode], log)
        procs.append(proc)
        deadline = time.monotonic() + 10
        while "ready" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.02)

    yield start
    for proc in procs:
        netns.stop(proc)


def _cli(ns: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    site = tmp_path / "site.toml"
    site.write_text(SITE, encoding="utf-8")
    argv = [sys.executable, "-m", "nhn_appliance.cli", "--rules", str(RULES), "--site", str(site)]
    return netns.run_in(ns, [*argv, *args], check=False, cwd=tmp_path)  # stray files land there


def _pins(tmp_path: Path) -> dict:
    path = tmp_path / "site.pins.json"
    return json.loads(path.read_text())["names"] if path.exists() else {}


@pytest.mark.parametrize(
    "mode", ["wrong-id", "wrong-id-right-name", "wrong-question", "spoofed-source"]
)
def test_a_reply_to_another_query_is_never_pinned(ns, server, tmp_path: Path, mode) -> None:
    server(mode)
    proc = _cli(ns, tmp_path, "resolve", "--timeout", "0.5")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert NAME not in _pins(tmp_path)
    if mode == "spoofed-source":  # the kernel drops it: nothing came back at all
        assert "no resolver answered" in proc.stderr
    else:
        assert "did not answer the query" in proc.stderr, proc.stderr
    for forged in ("127.0.0.1", "0.0.0.0", FORGED):
        assert forged not in proc.stdout
    # and render has nothing of it: the name is not pinned (the site's outbound is open)
    out = _cli(ns, tmp_path, "render", "-t", "nftables")
    assert out.returncode == 0 and f"not pinned, their rules are left out: {NAME}" in out.stderr
    assert FORGED not in out.stdout and "127.0.0.1" not in out.stdout


def test_records_of_another_owner_are_not_the_answer(ns, server, tmp_path: Path) -> None:
    server("wrong-owner")
    proc = _cli(ns, tmp_path, "resolve", "--timeout", "0.5")
    assert proc.returncode == 1, proc.stderr
    assert f"{NAME}: no A or AAAA record at 127.0.0.1" in proc.stderr
    assert NAME not in _pins(tmp_path)


def test_the_cname_chain_of_the_name_asked_is_followed_and_nothing_else(
    ns, server, tmp_path: Path
) -> None:
    server("cname")
    proc = _cli(ns, tmp_path, "resolve", "--timeout", "0.5")
    assert proc.returncode == 0, proc.stderr
    assert _pins(tmp_path)[NAME]["addresses"] == [GOOD6, GOOD4]


def test_a_forged_reply_does_not_end_the_wait_for_the_real_one(ns, server, tmp_path) -> None:
    server("forged-then-real")
    proc = _cli(ns, tmp_path, "resolve", "--timeout", "1")
    assert proc.returncode == 0, proc.stderr
    assert _pins(tmp_path)[NAME]["addresses"] == [GOOD6, GOOD4]


def test_answers_no_pin_may_hold_are_refused_with_name_and_address(ns, server, tmp_path) -> None:
    server("bad-classes")
    proc = _cli(ns, tmp_path, "resolve", "--timeout", "0.5")
    assert proc.returncode == 0, proc.stderr
    assert _pins(tmp_path)[NAME]["addresses"] == [GOOD6, GOOD4]
    for address, why in [
        ("127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("169.254.0.9", "link-local"),
        ("198.51.100.50", "inside the site's LAN prefixes"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("ff02::fb", "multicast"),
    ]:
        line = f"warning: {NAME}: 127.0.0.1 answered {address} ({why}); not pinned"
        assert line in proc.stderr, proc.stderr
    out = _cli(ns, tmp_path, "render", "-t", "nftables")
    assert out.returncode == 0, out.stderr
    assert f'"wan-hn" . {GOOD4} . tcp . 8080' in out.stdout
    for bad in ("127.0.0.1", "0.0.0.0", "224.0.0.251", "169.254.0.9", "198.51.100.50"):
        assert f" {bad} . tcp" not in out.stdout


def test_a_name_with_only_refused_answers_is_a_finding(ns, server, tmp_path: Path) -> None:
    server("only-loopback")
    proc = _cli(ns, tmp_path, "resolve", "--timeout", "0.5")
    assert proc.returncode == 1, proc.stderr
    assert "every address 127.0.0.1 answered was refused: 127.0.0.1 (loopback), ::1" in (
        proc.stderr
    )
    assert NAME not in _pins(tmp_path)


@pytest.mark.parametrize(
    "mode, status, reason", [("wrong-id", "fail", "bad-reply"), ("cname", "ok", "ok")]
)
def test_the_dns_probe_takes_only_answers_to_its_query(
    ns, server, tmp_path: Path, mode, status, reason
) -> None:
    server(mode)
    run = tmp_path / "run.json"
    proc = _cli(ns, tmp_path, "probe", "--only", "dns", "--timeout", "1", "-o", str(run))
    assert proc.returncode == (0 if status == "ok" else 1), proc.stderr
    (res,) = [r for r in json.loads(run.read_text())["results"] if r["kind"] == "dns"]
    assert (res["status"], res["reason"]) == (status, reason), res
    if mode == "cname":
        assert res["evidence"]["addresses"] == [GOOD6, GOOD4]
    else:
        assert "did not answer the query" in res["detail"]


if __name__ == "__main__":
    _serve(sys.argv[1])
