"""End to end: the project's own firewall in a router namespace, ``nhn-appliance
probe`` in the site namespace, real answers from far namespaces.

The router runs the policy of a site that uses only the ``fjern`` and ``dns``
services; the probed site also expects ``video``. So the probe must find
fjern open (listeners answer), video rejected by the firewall with ICMP
administratively prohibited, the every-protocol video opening reported as not
verifiable, and DNS through dnsmasq. Ctrl-C still writes the document.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import netns
import pytest

CASE = Path(__file__).parent / "cases" / "probes"
RESOLVER = netns.RouterLab.HN_LINK4[1]  # the site file names it; dnsmasq listens there
pytestmark = pytest.mark.kernel


def _site(lab, tmp: Path, name: str, services: list[str]) -> Path:
    text = (
        (CASE / "site.toml")
        .read_text()
        .format(
            lan=lab.if_lan,
            hn=lab.if_hn,
            inet=lab.if_inet,
            services=", ".join(f'"{s}"' for s in services),
        )
    )
    path = tmp / f"{name}.toml"
    path.write_text(text)
    return path


def _cli(lab, *args: str, **kw) -> subprocess.CompletedProcess:
    return netns.run_in(
        lab.ns["site"],
        [sys.executable, "-m", "nhn_appliance.cli", "--rules", str(CASE / "rules"), *args],
        **kw,
    )


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if reason := netns.lab_skip_reason("nft", "dnsmasq"):
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("e2e")
    with netns.probe_lab(
        listen=[("203.0.113.20", 443), ("203.0.113.20", 8041)],
        dns_records=["proxy.nhn.test,203.0.113.80"],
    ) as lab:
        router_site = _site(lab, tmp, "router", ["fjern", "dns"])
        rules = tmp / "router.nft"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "nhn_appliance.cli",
                "--rules",
                str(CASE / "rules"),
                "--site",
                str(router_site),
                "render",
                "-t",
                "nftables",
                "-o",
                str(rules),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert netns.run_in(lab.ns["rtr"], ["nft", "-f", str(rules)]).returncode == 0
        yield lab, tmp


def test_probe_finds_open_blocked_and_unverifiable(lab) -> None:
    lab, tmp = lab
    site = _site(lab, tmp, "probe", ["fjern", "video", "navn"])
    out = tmp / "result.json"
    proc = _cli(lab, "--site", str(site), "probe", "-o", str(out))
    assert proc.returncode == 1, proc.stderr  # video is blocked: a finding
    doc = json.loads(out.read_text())
    assert doc["schema"] == "nhn-appliance/probe-results/1"
    assert doc["site"]["name"] == "probe-lab" and doc["software"]["name"] == "nhn-appliance"
    assert any(a.startswith("198.51.100.2/") for a in doc["host"]["addresses"])
    assert doc["host"]["gateways"] and doc["started_at"].endswith("Z")
    got = {r["id"]: (r["status"], r["reason"]) for r in doc["results"]}
    assert got["tcp:203.0.113.20:443"] == ("ok", "open")
    assert got["tcp:203.0.113.20:8041"] == ("ok", "open")
    # the project's firewall rejects TCP with a reset (a RST names no sender)
    assert got["tcp:203.0.113.40:1720"] == ("fail", "refused")
    assert got["dns:proxy.nhn.test@198.51.100.130"] == ("ok", "ok")
    notes = [r for r in doc["results"] if r["kind"] == "note"]
    assert {r["status"] for r in notes} == {"skipped"} and {r["reason"] for r in notes} == {
        "not-verifiable"
    }
    assert any(
        "40000-49999" in r["detail"] for r in notes
    )  # the UDP media range is said to be unverified
    # the terminal summary names the services and the failing check
    assert "FAIL  video" in proc.stdout and "ok    fjern" in proc.stdout
    assert "connection refused" in proc.stdout


def test_probe_json_stream_and_narrowing(lab) -> None:
    lab, tmp = lab
    site = _site(lab, tmp, "probe", ["fjern", "video", "navn"])
    proc = _cli(
        lab,
        "--site",
        str(site),
        "probe",
        "--service",
        "fjern",
        "--only",
        "tcp",
        "--json",
        "-o",
        str(tmp / "f.json"),
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {r["service"] for r in lines} == {"fjern"} and len(lines) == 2
    assert all(r["status"] == "ok" for r in lines)


def test_ctrl_c_still_writes_what_was_measured(lab) -> None:
    lab, tmp = lab
    site = _site(lab, tmp, "probe", ["fjern", "video", "navn"])
    out = tmp / "interrupted.json"
    # dropped targets: a 5 s timeout keeps the run busy until SIGINT arrives
    netns.nft(
        lab.ns["rtr"],
        "table inet hold {\n chain f {\n type filter hook forward priority -10; "
        "policy accept;\n ip daddr 203.0.113.20 drop\n }\n}\n",
    )
    try:
        proc = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                lab.ns["site"],
                sys.executable,
                "-m",
                "nhn_appliance.cli",
                "--rules",
                str(CASE / "rules"),
                "--site",
                str(site),
                "probe",
                "--timeout",
                "5",
                "-o",
                str(out),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.5)
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=10)
        assert time.monotonic() - start < 2.0
    finally:
        netns.run_in(lab.ns["rtr"], ["nft", "delete", "table", "inet", "hold"])
    assert proc.returncode == 130, stderr
    doc = json.loads(out.read_text())
    assert doc["interrupted"] is True
    reasons = {r["id"]: r["reason"] for r in doc["results"]}
    assert reasons["tcp:203.0.113.20:443"] == "cancelled"
    assert reasons["tcp:203.0.113.40:1720"] == "refused"  # reset by the firewall, before Ctrl-C
    assert "interrupted" in stderr


def test_project_rendered_drop_reads_as_timeout(lab) -> None:
    """The same router site with blocked_action = "drop": a blocked target is silence."""
    lab, tmp = lab
    text = _site(lab, tmp, "router-drop", ["fjern", "dns"]).read_text()
    drop_site = tmp / "router-drop.toml"
    drop_site.write_text(text.replace('blocked_action = "reject"', 'blocked_action = "drop"'))
    rules = tmp / "router-drop.nft"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nhn_appliance.cli",
            "--rules",
            str(CASE / "rules"),
            "--site",
            str(drop_site),
            "render",
            "-t",
            "nftables",
            "-o",
            str(rules),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and "reject" not in rules.read_text().split("chain site", 1)[1]
    assert netns.run_in(lab.ns["rtr"], ["nft", "-f", str(rules)]).returncode == 0
    try:
        site = _site(lab, tmp, "probe", ["fjern", "video", "navn"])
        out = tmp / "drop.json"
        proc = _cli(
            lab, "--site", str(site), "probe", "--only", "tcp", "--timeout", "0.5", "-o", str(out)
        )
        assert proc.returncode == 1
        got = {r["id"]: (r["status"], r["reason"]) for r in json.loads(out.read_text())["results"]}
        assert got["tcp:203.0.113.40:1720"] == ("fail", "timeout")
        assert got["tcp:203.0.113.20:443"] == ("ok", "open")
    finally:
        # back to the reject policy for the other tests
        netns.run_in(lab.ns["rtr"], ["nft", "-f", str(tmp / "router.nft")])
