"""``nhn_appliance.hostinfo``: what the result document says about the probing host.

Read inside the lab's site namespace, whose addresses and default routes are
known (documentation addresses), so every list must hold exactly them.
"""

from __future__ import annotations

from pathlib import Path

import netns
import pytest

from nhn_appliance.hostinfo import host_info


@pytest.fixture(scope="module")
def lab():
    if reason := netns.lab_skip_reason():
        pytest.skip(reason)
    with netns.probe_lab() as lab:
        yield lab


def test_host_info_reads_the_namespace_it_runs_in(lab, tmp_path: Path) -> None:
    resolv = tmp_path / "resolv.conf"
    resolv.write_text(
        "# a comment\nsearch lab.test\nnameserver 198.51.100.130\nnameserver 2001:db8:ff:1::2\n"
    )
    with netns.netns(lab.ns["site"]):
        info = host_info(resolv)
    iface = lab.if_site
    assert f"{lab.SITE4}/25 ({iface})" in info.addresses
    assert f"{lab.SITE6}/64 ({iface})" in info.addresses
    assert not any(a.startswith("127.") or a.startswith("::1/") for a in info.addresses)
    assert f"{lab.LAN4} ({iface})" in info.gateways
    assert f"{lab.LAN6} ({iface})" in info.gateways
    assert info.resolvers == ("198.51.100.130", "2001:db8:ff:1::2")
    assert info.hostname


def test_host_info_without_a_resolv_conf(tmp_path: Path) -> None:
    assert host_info(tmp_path / "missing").resolvers == ()
