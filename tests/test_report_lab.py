"""Result documents made by real runs, one per root cause, and what the diagnosis says.

The lab (tests/netns.py RouterLab): the site namespace probes through a
router that runs the project's own nftables firewall; behind its Helsenett
uplink (hn) listen TCP servers, a STUN responder, dnsmasq and a fast-clocked
NTP server; behind its internet uplink (inet) two web servers. Only
documentation addresses. Each scenario breaks one thing for real and runs
``nhn-appliance probe`` in the site namespace:

- the site router rejects (its policy leaves the video service out);
- a server beyond the router rejects (an nft reject in hn);
- the internet uplink drops everything (nft in inet);
- the resolver is stopped (dnsmasq killed);
- the clock is off (the NTP server answers 120 s ahead);
- nothing answers at all (both uplinks drop);
- before/after: the video opening added to the router between two runs.

``pytest --update-golden`` also copies the documents to tests/cases/reports/
(lab-*.json, compare/*.json), where the golden report tests and the compare
tests read them.
"""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import netns
import pytest

from nhn_appliance.report.diagnose import diagnose

LAB = Path(__file__).parent / "cases" / "reports" / "lab"
OUT = Path(__file__).parent / "cases" / "reports"
RESOLVER = netns.RouterLab.HN_LINK4[1]
GATEWAY = netns.RouterLab.LAN4
KINDS = "tcp,stun,dns,ntp"  # the path traceroute is left out: its UDP probes are not openings
pytestmark = pytest.mark.kernel
#: a far namespace that drops everything sent to it
SILENT = (
    "table inet silent {\n chain input {\n type filter hook input priority -10; policy drop;\n"
    " }\n}\n"
)


def _site(lab, tmp: Path, name: str, services: list[str], ntp: tuple[str, ...] = ()) -> Path:
    text = (LAB / "site.toml").read_text()
    path = tmp / f"{name}.toml"
    path.write_text(
        text.format(
            lan=lab.if_lan,
            hn=lab.if_hn,
            inet=lab.if_inet,
            services=", ".join(f'"{s}"' for s in services),
            ntp=", ".join(f'"{s}"' for s in ntp),
            timeout=0.7,
        )
    )
    return path


def _cli(*args: str, ns: str | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "nhn_appliance.cli", "--rules", str(LAB / "rules"), *args]
    if ns:
        return netns.run_in(ns, argv, timeout=60)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def _router(lab, tmp: Path, services: list[str]) -> None:
    """Render the project's nftables firewall for a router site and load it into rtr
    (the name-based navn service needs pins, so the router site leaves it out)."""
    rules = tmp / f"router-{'-'.join(services)}.nft"
    proc = _cli("--site", str(_site(lab, tmp, "router", services)), "render", "-t", "nftables")
    assert proc.returncode == 0, proc.stderr
    rules.write_text(proc.stdout)
    assert netns.run_in(lab.ns["rtr"], ["nft", "-f", str(rules)]).returncode == 0


def _probe(lab, tmp: Path, name: str, ntp: tuple[str, ...] = ()) -> dict:
    site = _site(lab, tmp, name, ["fjern", "nett", "video", "navn"], ntp)
    out = tmp / f"{name}.json"
    proc = _cli("--site", str(site), "probe", "--only", KINDS, "-o", str(out), ns=lab.ns["site"])
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(out.read_text())
    doc["site"]["file"] = f"/etc/nhn-appliance/{name}.toml"  # not the test's temporary folder
    return doc


def _stun_responder(address: str, stop: threading.Event) -> None:
    """A plain-socket STUN server (RFC 5389 Binding success with XOR-MAPPED-ADDRESS)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 3478))
    sock.settimeout(0.1)

    def serve() -> None:
        while not stop.is_set():
            try:
                data, (ip, port) = sock.recvfrom(2048)
            except TimeoutError:
                continue
            if len(data) < 20:
                continue
            cookie, tid = data[4:8], data[8:20]
            xport = port ^ 0x2112
            xaddr = struct.unpack("!I", socket.inet_aton(ip))[0] ^ 0x2112A442
            attr = struct.pack("!HHBBHI", 0x0020, 8, 0, 1, xport, xaddr)
            sock.sendto(struct.pack("!HH", 0x0101, len(attr)) + cookie + tid + attr, (ip, port))
        sock.close()

    threading.Thread(target=serve, daemon=True).start()


def _ntp_ahead(address: str, ahead: float, stop: threading.Event) -> None:
    """A plain-socket NTP server whose clock is ``ahead`` seconds fast."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 123))
    sock.settimeout(0.1)

    def serve() -> None:
        import time

        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(512)
            except TimeoutError:
                continue
            now = time.time() + ahead + 2208988800
            secs, frac = int(now), int((now % 1) * 2**32)
            head = struct.pack("!BBbb3I", (3 << 3) | 4, 2, 6, -20, 0, 0, 0x4C4F434C)
            stamps = struct.pack(
                "!8I", secs, frac, *struct.unpack("!II", data[40:48]), secs, frac, secs, frac
            )
            sock.sendto(head + stamps, peer)
        sock.close()

    threading.Thread(target=serve, daemon=True).start()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if reason := netns.lab_skip_reason("nft", "dnsmasq"):
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("report-lab")
    stop = threading.Event()
    far = [("203.0.113.20", 443), ("203.0.113.20", 8041), ("203.0.113.40", 1720)]
    with netns.probe_lab(listen=far) as lab:
        inet = []
        dns = netns.DnsmasqServer(
            lab.ns["hn"], RESOLVER, host_records=["proxy.nhn.test,203.0.113.80"]
        )
        try:
            with netns.netns(lab.ns["inet"]):
                inet = [socket.create_server((a, 443)) for a in ("203.0.113.150", "203.0.113.160")]
            with netns.netns(lab.ns["hn"]):
                _stun_responder("203.0.113.40", stop)
                _ntp_ahead("203.0.113.125", 120.0, stop)
            dns.start()
            _router(lab, tmp, ["fjern", "nett", "dns", "tid"])  # video is left out
            yield lab, tmp, dns
        finally:
            stop.set()
            dns.stop()
            for s in inet:
                s.close()


def _save(request, name: str, doc: dict) -> None:
    if request.config.getoption("--update-golden"):
        path = OUT / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def _findings(doc: dict, lang: str = "nb") -> dict[str, dict]:
    return {f["id"]: f for f in diagnose(doc["results"], lang, host=doc["host"])}


def _status(doc: dict) -> dict[str, tuple[str, str]]:
    return {r["id"]: (r["status"], r["reason"]) for r in doc["results"]}


def _nft(lab, role: str, ruleset: str, table: str):
    netns.nft(lab.ns[role], ruleset)
    return lambda: netns.run_in(lab.ns[role], ["nft", "delete", "table", "inet", table])


def test_site_router_rejects_and_the_before_after_pair(lab, request) -> None:
    lab, tmp, _ = lab
    before = _probe(lab, tmp, "router-rejects")
    got = _status(before)
    assert got["stun:203.0.113.40:3478"][1] == "icmp-admin-prohibited"
    assert got["tcp:203.0.113.40:1720"] == ("fail", "refused")  # a TCP reset names no sender
    assert got["tcp:203.0.113.20:443"] == ("ok", "open")
    found = _findings(before)
    cause = found["cause-site-firewall"]
    assert cause["role"] == "cause" and GATEWAY in cause["explanation"]
    assert "stedets egen ruter" in cause["explanation"]
    assert "stun:203.0.113.40:3478" in cause["checks"]
    # the video service has findings: the rejected check follows from the cause
    video = [f for f in found.values() if f["service"] == "video" and f["role"] != "cause"]
    assert {f["role"] for f in video} == {"consequence", "finding"}
    conseq = next(f for f in video if f["role"] == "consequence")
    assert conseq["because_of"] == ["cause-site-firewall"]
    assert GATEWAY in conseq["explanation"] and "stedets egen brannmur" in conseq["explanation"]
    plain = next(f for f in video if f["role"] == "finding")
    assert "TCP 203.0.113.40:1720: nektet" in plain["explanation"]
    _save(request, "lab-router-rejects.json", before)
    _save(request, "compare/before.json", before)
    # the fix: the router's policy gets the video opening; run again
    try:
        _router(lab, tmp, ["fjern", "nett", "dns", "tid", "video"])
        after = _probe(lab, tmp, "router-rejects-after")
    finally:
        _router(lab, tmp, ["fjern", "nett", "dns", "tid"])
    got = _status(after)
    assert got["stun:203.0.113.40:3478"][0] == "ok" and got["tcp:203.0.113.40:1720"][0] == "ok"
    assert not [f for f in _findings(after).values() if f["service"] == "video"]
    _save(request, "compare/after.json", after)


def test_server_beyond_the_router_rejects(lab, request) -> None:
    lab, tmp, _ = lab
    drop = _nft(
        lab,
        "hn",
        "table inet beyond {\n chain input {\n type filter hook input priority 0; policy accept;\n"
        "  ip daddr 203.0.113.20 tcp dport 8041 reject with icmpx type admin-prohibited\n }\n}\n",
        "beyond",
    )
    try:
        doc = _probe(lab, tmp, "beyond-rejects")
    finally:
        drop()
    r = next(r for r in doc["results"] if r["id"] == "tcp:203.0.113.20:8041")
    assert r["reason"] == "icmp-admin-prohibited" and r["evidence"]["from"] != GATEWAY
    found = _findings(doc, "en")
    cause = found["cause-rejected-beyond"]
    assert (
        r["evidence"]["from"] in cause["explanation"]
        and "not the site's own" in cause["explanation"]
    )
    fjern = [f for f in found.values() if f["service"] == "fjern" and f["role"] != "cause"]
    assert fjern and all(f["because_of"] == ["cause-rejected-beyond"] for f in fjern)
    assert "beyond the site's router" in fjern[0]["explanation"]
    _save(request, "lab-beyond-rejects.json", doc)


def test_internet_uplink_drops_everything(lab, request) -> None:
    lab, tmp, _ = lab
    drop = _nft(
        lab,
        "inet",
        SILENT,
        "silent",
    )
    try:
        doc = _probe(lab, tmp, "uplink-silent")
    finally:
        drop()
    got = _status(doc)
    assert got["tcp:203.0.113.150:443"] == ("fail", "timeout")
    assert got["tcp:203.0.113.20:443"] == ("ok", "open")
    found = _findings(doc)
    assert list(found)[0] == "cause-uplink-silent-internett"
    cause = found["cause-uplink-silent-internett"]
    assert "internettlinjen" in cause["title"] and "002:595-597" in cause["source"]
    assert "egen linjeleverandør" in cause["remediation"]
    nett = [f for f in found.values() if f["service"] == "nett" and f["role"] != "cause"]
    assert len(nett) == 1 and nett[0]["because_of"] == ["cause-uplink-silent-internett"]
    _save(request, "lab-uplink-silent.json", doc)


def test_resolver_stopped(lab, request) -> None:
    lab, tmp, dns = lab
    dns.stop()
    try:
        doc = _probe(lab, tmp, "resolver-stopped")
    finally:
        dns.start()
    assert _status(doc)[f"dns:proxy.nhn.test@{RESOLVER}"][0] == "fail"
    found = _findings(doc)
    cause = found["cause-resolvers-silent"]
    assert cause["role"] == "cause" and RESOLVER in cause["explanation"]
    assert "proxy.nhn.test" in cause["explanation"]
    assert "dns-resolver-silent" not in found  # the cause says it once
    navn = [f for f in found.values() if f["service"] == "navn" and f["role"] != "cause"]
    assert navn and navn[0]["because_of"] == ["cause-resolvers-silent"]
    _save(request, "lab-resolver-stopped.json", doc)


def test_clock_off(lab, request) -> None:
    lab, tmp, _ = lab
    doc = _probe(lab, tmp, "clock-off", ntp=("203.0.113.125",))
    r = next(r for r in doc["results"] if r["kind"] == "ntp")
    assert r["status"] == "fail" and r["reason"] == "clock-offset"
    assert 115 < r["evidence"]["offset_s"] < 125
    found = _findings(doc)
    clock = found["clock-offset-fail"]
    assert clock["role"] == "cause" and clock["because_of"] == []
    assert "HelseID" in clock["explanation"] and "002:265" in clock["source"]
    assert "TOTP" not in json.dumps(found) and "fjernhjelp" not in clock["explanation"]
    _save(request, "lab-clock-off.json", doc)


def test_nothing_answers(lab, request) -> None:
    lab, tmp, _ = lab
    # the router lets everything through, so no answer comes from anywhere
    _router(lab, tmp, ["fjern", "nett", "dns", "tid", "video"])
    undo = [_nft(lab, role, SILENT, "silent") for role in ("hn", "inet")]
    try:
        doc = _probe(lab, tmp, "all-silent")
    finally:
        for u in undo:
            u()
        _router(lab, tmp, ["fjern", "nett", "dns", "tid"])
    assert {r["status"] for r in doc["results"] if r["kind"] != "note"} == {"fail"}
    found = _findings(doc)
    first = next(iter(found.values()))
    assert first["id"] == "cause-all-silent" and GATEWAY in first["explanation"]
    failing = {r["service"] for r in doc["results"] if r["status"] == "fail"}
    rest = [f for f in found.values() if f["role"] != "cause"]
    assert {f["service"] for f in rest} == failing
    assert all(f["because_of"] == ["cause-all-silent"] for f in rest)
    _save(request, "lab-all-silent.json", doc)
