"""drift against a real kernel, in namespaces: a clean apply has none; a rule
added by hand, a deleted set element (or rule), a flushed chain, a deleted
chain and another ruleset loaded by hand are each reported, exit 1."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import netns as nn
import pytest
from kernel_lab import LAB_RULES
from kernel_lab import cli as render_cli
from test_apply import ApplyLab, _ok, stop_timers

pytestmark = pytest.mark.kernel


@pytest.fixture
def applied(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApplyLab]:
    """A lab with the full lab site applied and confirmed (target: the param)."""
    if reason := nn.lab_skip_reason("nft", "iptables-restore", "ip6tables-restore", "unshare"):
        pytest.skip(reason)
    with nn.RouterLab() as lab:
        al = ApplyLab(lab, tmp_path)
        al.target = request.param  # type: ignore[attr-defined]
        _ok(al.cli("apply", "-t", request.param, "--confirm-within", "30"))
        _ok(al.cli("confirm"))
        yield al
        stop_timers(al)


def drift(al: ApplyLab) -> tuple[int, str]:
    res = al.cli("drift")
    assert "Traceback" not in res.stderr, res.stderr
    return res.returncode, res.stdout


def nft(al: ApplyLab, *args: str) -> None:
    nn.run_in(al.rtr, ["nft", *args], check=True)


@pytest.mark.parametrize("applied", ["nftables"], indirect=True)
def test_nftables_drift(applied: ApplyLab) -> None:
    al = applied
    code, out = drift(al)
    assert (code, out.split(":")[0]) == (0, "no drift"), out
    nft(al, "add", "rule", "inet", "nhn_appliance", "site", "tcp", "dport", "22", "accept")
    code, out = drift(al)
    assert code == 1 and "chain site: rule added by hand: tcp dport 22 accept" in out, out
    nft(al, "delete", "rule", "inet", "nhn_appliance", "site", "handle", _last_handle(al, "site"))
    assert drift(al)[0] == 0
    element = "{ " + f'"{al.lab.if_inet}" . 203.0.113.222 . tcp . 8041' + " }"
    nft(al, "delete", "element", "inet", "nhn_appliance", "site_svc4", element)
    code, out = drift(al)
    assert code == 1 and "set site_svc4: set element missing:" in out, out
    assert f'{al.lab.if_inet} . 203.0.113.222 . tcp . 8041 comment "fjernhjelp/' in out
    nft(al, "flush", "chain", "inet", "nhn_appliance", "reject_flow")
    code, out = drift(al)
    assert "chain reject_flow: flushed (2 rules missing)" in out, out
    # another ruleset loaded by hand: the small site's rendering
    other = al.tmp / "other.nft"
    render_cli("--rules", str(LAB_RULES), "--site", str(al.small), "render", "-o", str(other))
    nn.run_in(al.rtr, ["nft", "-f", str(other)], check=True)
    code, out = drift(al)
    assert code == 1 and "set element missing" in out and "join/" in out, out


@pytest.mark.parametrize("applied", ["iptables"], indirect=True)
def test_iptables_drift(applied: ApplyLab) -> None:
    al = applied
    code, out = drift(al)
    assert code == 0 and out.startswith("no drift"), out
    ipt = ["iptables", "-A", "NHN-SITE", "-p", "tcp", "--dport", "22", "-j", "ACCEPT"]
    nn.run_in(al.rtr, ipt, check=True)
    code, out = drift(al)
    assert "iptables filter chain NHN-SITE: rule added by hand: -p tcp" in out, out
    nn.run_in(al.rtr, ["iptables", "-D", *ipt[2:]], check=True)
    nn.run_in(al.rtr, ["ip6tables", "-F", "NHN-SITE"], check=True)
    code, out = drift(al)
    assert code == 1 and "ip6tables filter chain NHN-SITE: flushed" in out, out
    nn.run_in(al.rtr, ["iptables", "-D", "FORWARD", "-j", "NHN-FWD"], check=True)
    code, out = drift(al)
    assert "iptables filter FORWARD: deleted" in out or "-j NHN-FWD at position 1" in out, out


@pytest.mark.parametrize("applied", ["nftables"], indirect=True)
def test_drift_without_state_and_with_changed_inputs(applied: ApplyLab) -> None:
    """No state directory (the table was loaded by hand): the rendering is listed in
    a scratch namespace. Then inputs that changed since the apply are named."""
    al = applied
    argv = al.argv("drift")[:-1] + [str(al.tmp / "empty")]  # another --state-dir
    res = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "not applied by nhn-appliance" in res.stdout, res.stdout
    changed = al.cli("drift", site=al.small)
    assert changed.returncode == 1, changed.stdout
    assert "as it was applied; the site, catalogue or pins changed since" in changed.stdout


def _last_handle(al: ApplyLab, chain: str) -> str:
    out = nn.run_in(
        al.rtr, ["nft", "-a", "list", "chain", "inet", "nhn_appliance", chain], check=True
    ).stdout
    return [line for line in out.splitlines() if "# handle" in line][-1].split()[-1]
