"""apply --verify: after the load, the site's resolver and the remote-support
opening are checked from the router; a failure rolls back at once (exit 1).

The lab: tests/cases/probes (services fjern, dns, navn), dnsmasq as the site's
resolver on hn's end of the Helsenett link, listeners on the remote-support
host's two ports in hn. The name the site needs is pinned with the real
``resolve`` first. Documentation addresses only.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import netns as nn
import pytest
from test_apply import ApplyLab, _ok, stop_timers

pytestmark = pytest.mark.kernel
CASE = Path(__file__).parent / "cases" / "probes"
RESOLVER = nn.RouterLab.HN_LINK4[1]  #: the resolver the probe site names
SUPPORT = "203.0.113.20"  #: the "fjern" service's host in tests/cases/probes/rules


@pytest.fixture
def vlab(tmp_path: Path) -> Iterator[tuple[ApplyLab, nn.DnsmasqServer]]:
    if reason := nn.lab_skip_reason("nft", "dnsmasq", "unshare"):
        pytest.skip(reason)
    with nn.RouterLab() as lab:
        listeners = []
        with nn.netns(lab.ns["hn"]):
            for port in (443, 8041):
                listeners.append(socket.create_server((SUPPORT, port), backlog=16))
        dns = nn.DnsmasqServer(lab.ns["hn"], RESOLVER, host_records=["proxy.nhn.test,203.0.113.80"])
        dns.start()
        al = ApplyLab(lab, tmp_path, rules=CASE / "rules")
        site = (
            (CASE / "site.toml")
            .read_text()
            .format(
                lan=lab.if_lan,
                hn=lab.if_hn,
                inet=lab.if_inet,
                services='"fjern", "dns", "navn"',
            )
        )
        al.site.write_text(site)
        try:
            _ok(al.cli_plain("resolve"))
            yield al, dns
        finally:
            stop_timers(al)
            dns.stop()
            for s in listeners:
                s.close()


def test_verify_passes_then_fails_when_the_resolver_stops(
    vlab: tuple[ApplyLab, nn.DnsmasqServer],
) -> None:
    al, dns = vlab
    before = al.kernel()
    ok = _ok(al.cli("apply", "--verify", "--verify-service", "fjern", "--confirm-within", "30"))
    assert "verify: every check passed" in ok.stdout
    assert al.kernel() != before
    _ok(al.cli("rollback"))
    assert al.kernel() == before
    dns.stop()  # the site's resolver is gone
    bad = _ok(al.cli("apply", "--verify", "--verify-service", "fjern", "--confirm-within", "30"), 1)
    assert f"verify FAIL dns:proxy.nhn.test@{RESOLVER}: " in bad.stdout, bad.stdout
    assert "rolled back #2 at once" in bad.stdout
    assert al.kernel() == before  # at once: no waiting for the window
    st = al.status()
    assert st["current"]["status"] == "none" and not st["timer_alive"]
    assert st["history"][-1]["outcome"].startswith("rolled back: verify failed: dns")
