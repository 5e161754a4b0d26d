"""The Linux targets beyond the flow tables: an IPv4-only LAN and routes.sh.

On a site whose LAN has no IPv6 prefix, IPv6 from the LAN must not leave by
an uplink, with either target (iptables used to write no IPv6 file at all and
leave IPv6 forwarding open). ``-O routes=yes`` writes routes.sh, whose
``ip route replace`` lines (ip-route(8): "replace: change or add a new one")
can run twice and leave one route each.
"""

from __future__ import annotations

import string
from pathlib import Path

import netns as nn
import pytest
from kernel_lab import LAB_RULES, SITE_TEMPLATE, FarListener, cli, header_commands, skip_reason

pytestmark = pytest.mark.kernel


def _site(lab: nn.RouterLab, path: Path, ipv6: bool) -> Path:
    text = string.Template(SITE_TEMPLATE.read_text(encoding="utf-8")).substitute(
        lan=lab.if_lan, hn=lab.if_hn, inet=lab.if_inet
    )
    if not ipv6:
        text = text.replace(', "2001:db8:1::/64"', "").replace(', "2001:db8:1::3"', "")
        text = text.replace(', "2001:db8:1::4"', "")
        assert "2001:db8:1::/64" not in text and '::3"' not in text
    path.write_text(text, encoding="utf-8")
    return path


def _render(site: Path, target: str, out: Path, *options: str) -> list[Path]:
    argv = ["--rules", str(LAB_RULES), "--site", str(site), "render", "-t", target]
    for option in options:
        argv += ["-O", option]
    cli(*argv, "-o", str(out))
    return sorted(out.iterdir())


@pytest.mark.parametrize("target", ["nftables", "iptables"])
def test_an_ipv4_only_lan_gets_ipv6_blocked(tmp_path: Path, target: str) -> None:
    if reason := skip_reason("nft", "iptables-restore", "ip6tables-restore"):
        pytest.skip(reason)
    with nn.RouterLab() as lab, FarListener(lab):
        site = _site(lab, tmp_path / "site.toml", ipv6=False)
        out = tmp_path / "out"
        out.mkdir()
        files = _render(site, target, out)
        if target == "iptables":
            names = sorted(p.name for p in files)
            assert names == ["iptables-rules.v4", "iptables-rules.v6"]
            for p in files:  # the header's commands name rules.v4 and rules.v6
                p.rename(out / p.name.removeprefix("iptables-"))
        else:
            files[0].rename(out / "nhn-appliance.nft")
        script = header_commands(next(out.iterdir()).read_text(encoding="utf-8"))
        res = nn.run_in(lab.ns["rtr"], ["sh", "-c", script], cwd=out)
        assert res.returncode == 0, res.stderr
        site_ns = lab.ns["site"]
        # an IPv6 flow the dual-stack site would accept (fjernhjelp/helsenett) is dropped
        assert nn.probe_flow(site_ns, "tcp", "2001:db8:a::90", 8041, timeout=0.3) == "timeout"
        assert nn.probe_flow(site_ns, "udp", "2001:db8:b::1", 53, timeout=0.3) == "timeout"
        # while IPv4 follows the policy: an opening opens, the default resets
        assert nn.probe_flow(site_ns, "tcp", "203.0.113.30", 8041) == "open"
        assert nn.probe_flow(site_ns, "tcp", "203.0.113.200", 22) == "refused"


def test_routes_script_runs_twice_and_leaves_one_route_each(tmp_path: Path) -> None:
    if reason := skip_reason():
        pytest.skip(reason)
    with nn.RouterLab() as lab:
        site = _site(lab, tmp_path / "site.toml", ipv6=True)
        out = tmp_path / "out"
        out.mkdir()
        files = _render(site, "nftables", out, "routes=yes")
        script = next(p for p in files if p.name.endswith("routes.sh"))
        text = script.read_text(encoding="utf-8")
        # the lab's helsenett-only /28 and its internet-only /27 (tests/cases/lab/rules)
        assert f"ip route replace 203.0.113.96/28 dev {lab.if_hn}" in text
        assert f"ip route replace 203.0.113.160/27 dev {lab.if_inet}" in text
        for _ in range(2):
            res = nn.run_in(lab.ns["rtr"], ["sh", str(script)])
            assert res.returncode == 0, res.stderr
        routes = nn.run_in(lab.ns["rtr"], ["ip", "route", "show"]).stdout.splitlines()
        assert sum(r.startswith("203.0.113.96/28 dev") for r in routes) == 1
        assert sum(r.startswith("203.0.113.160/27 dev") for r in routes) == 1
        v6 = nn.run_in(lab.ns["rtr"], ["ip", "-6", "route", "show"]).stdout
        wanted = [line.split()[4] for line in text.splitlines() if line.startswith("ip -6 route")]
        assert wanted and all(v6.count(w + " ") == 1 for w in wanted)
