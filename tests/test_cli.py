"""The command line: help, rules, policy, explain, render, and where inputs come from.

Exit codes are main()'s (0 ok, 1 a finding, 2 bad input), so most tests run
the real entry point in-process (the ``run_main`` fixture of conftest.py);
help and plain listings use click's CliRunner on ``cli``; a few end-to-end
checks run a subprocess.
Every test runs in an empty temporary folder, so that neither an
./appliance.toml nor a pins file of the repository can leak in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CASES, INVALID, REPO, UNIT

from nhn_appliance.cli import cli
from nhn_appliance.policy.catalogue import load_catalogue
from nhn_appliance.policy.site_parts import KNOWN_TARGETS
from nhn_appliance.render import RENDERERS

UNIT_RULES = ["--rules", str(UNIT / "catalogue")]


@pytest.fixture(autouse=True)
def in_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NHN_APPLIANCE_SITE", raising=False)
    monkeypatch.delenv("NHN_APPLIANCE_RULES", raising=False)
    return tmp_path


def subprocess_run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nhn_appliance.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


# -- help ---------------------------------------------------------------------------
COMMANDS = [
    [],
    ["rules"],
    ["rules", "list"],
    ["rules", "show"],
    ["rules", "check"],
    ["resolve"],
    ["policy"],
    ["policy", "show"],
    ["policy", "lint"],
    ["explain"],
    ["render"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "main")
def test_help_works_and_shows_an_example(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output
    assert "Example" in result.output
    assert "nhn-appliance " in result.output.split("Example", 1)[1]


def test_short_help_flag_and_version() -> None:
    assert CliRunner().invoke(cli, ["explain", "-h"]).exit_code == 0
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and "nhn-appliance, version" in result.output


def test_main_help_lists_every_command_and_the_exit_codes(run_main) -> None:
    code, out, _ = run_main("--help")
    assert code == 0
    for name in ("explain", "policy", "render", "resolve", "rules"):
        assert f"  {name} " in out
    assert "Exit codes: 0 success, 1 a finding, 2 bad input or usage." in out


def test_unknown_command_is_a_usage_error(run_main) -> None:
    code, _, err = run_main("frobnicate")
    assert code == 2
    assert "No such command 'frobnicate'" in err


# -- rules ----------------------------------------------------------------------------
def test_rules_list(run_main) -> None:
    code, out, _ = run_main("rules", "list")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines() if not line.startswith("QoS")]
    assert names == sorted(load_catalogue().services)
    assert {"join", "fjernhjelp", "videokonferanse"} <= set(names)
    assert "fjernhjelp" in out and "1 profile(s)" in out
    assert out.splitlines()[-1].startswith("QoS classes: ")


def test_rules_show_join_text() -> None:
    result = CliRunner().invoke(cli, ["rules", "show", "join"])
    assert result.exit_code == 0
    out = result.output
    assert out.startswith("join: Join")
    assert "helsenett-media: Join media, Helsenett addresses" in out
    assert "udp 40000-54999" in out  # "40000–49999" (en dash) + "50000-54999"
    assert "source 002:377-383" in out


def test_rules_show_join_json() -> None:
    result = CliRunner().invoke(cli, ["rules", "show", "join", "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["name"] == "join"
    assert doc["file"].endswith("join.toml")
    media = next(e for e in doc["endpoints"] if e["id"] == "helsenett-media")
    assert media["zones"] == ["helsenett"]
    assert media["addresses"] == ["91.186.92.28-91.186.92.32"]
    assert {"protocol": "udp", "ports": "40000-54999"} in media["flows"]
    assert media["qos"] == "interaktiv-video" and media["source"] == "002:377-383"
    assert doc["profiles"] == []


def test_rules_show_profile_json() -> None:
    doc = json.loads(CliRunner().invoke(cli, ["rules", "show", "fjernhjelp", "--json"]).output)
    (profile,) = doc["profiles"]
    assert profile["name"] == "fjernhjelp-leverandor" and profile["otherwise"] == "reject"
    assert {e["id"] for e in profile["endpoints"]} == {"dns", "lokale-adresser", "hjelp-internett"}


def test_rules_show_unknown_service_exits_2(run_main) -> None:
    code, out, err = run_main("rules", "show", "jion")
    assert code == 2
    assert out == ""
    assert "unknown service 'jion'" in err and "join" in err
    assert "Traceback" not in err


def test_rules_check_default_site(run_main) -> None:
    code, out, err = run_main("rules", "check")
    assert code == 0
    assert f"{len(load_catalogue().services)} services" in out and ": ok" in out
    assert "site appliance.toml (packaged default)" in out
    assert "name(s) not pinned, their rules are left out" in err


def test_rules_check_strict_exits_1_on_lint_findings(run_main) -> None:
    args = ["--rules", str(UNIT / "lint_catalogue"), "--site", str(UNIT / "lint_site.toml")]
    code, out, _ = run_main(*args, "rules", "check")
    assert code == 0
    assert "lint shadowed: web/narrow" in out
    code, _, _ = run_main(*args, "rules", "check", "--strict")
    assert code == 1


# -- policy ------------------------------------------------------------------------
def test_policy_show_text(run_main) -> None:
    code, out, err = run_main("policy", "show")
    assert code == 0
    assert out.startswith("site legekontor-eksempel (appliance.toml (packaged default))")
    assert "outbound blocked: anything not listed is rejected" in out
    assert "profile fjernhjelp-leverandor for leverandor-pc (else reject):" in out
    assert "fjernhjelp/internett: accept tcp to 91.186.66.22 port 443,8041 out wan-inet" in out
    assert "left out: ntp/ntp-nhn: ntp.nhn.no is not pinned" in out
    assert err.count("warning: ") == 1 and "nhn-appliance resolve" in err


def test_policy_show_drop_site_says_dropped(run_main) -> None:
    code, out, _ = run_main(*UNIT_RULES, "--site", str(UNIT / "site_dual.toml"), "policy", "show")
    assert code == 0
    assert "anything not listed is dropped" in out


def test_policy_show_json(run_main) -> None:
    code, out, _ = run_main("policy", "show", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["site"] == "legekontor-eksempel"
    assert doc["default_action"] == "reject"
    assert [u["interface"] for u in doc["uplinks"]] == ["wan-hn", "wan-inet"]
    assert {"id", "service", "zone", "source", "interfaces", "proto", "dst", "ports"} <= set(
        doc["rules"][0]
    )
    assert all(r["source"] for r in doc["rules"])
    assert len(doc["warnings"]) == 1


def test_policy_lint(run_main) -> None:
    args = ["--rules", str(UNIT / "lint_catalogue"), "--site", str(UNIT / "lint_site.toml")]
    code, out, _ = run_main(*args, "policy", "lint")
    assert code == 0
    kinds = sorted(line.split(":", 1)[0] for line in out.splitlines())
    assert kinds == ["empty", "overlap", "shadowed", "shadowed"]
    assert run_main(*args, "policy", "lint", "--strict")[0] == 1


def test_policy_lint_no_findings(run_main, tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "qos.toml").write_text((UNIT / "catalogue" / "qos.toml").read_text())
    (tmp_path / "rules" / "one.toml").write_text(
        '[service]\nname = "one"\nsource = "t"\n[[endpoint]]\nid = "a"\nzone = "helsenett"\n'
        'addresses = "10.0.0.1"\nprotocol = "tcp"\nports = 443\nsource = "t"\n'
    )
    (tmp_path / "appliance.toml").write_text(
        (UNIT / "site_helsenett.toml").read_text().replace('["alpha", "beta"]', '["one"]')
    )
    code, out, _ = run_main("--rules", "rules", "policy", "lint", "--strict")
    assert (code, out) == (0, "no findings\n")


# -- explain -----------------------------------------------------------------------
def test_explain_the_issue_example_json(run_main) -> None:
    code, out, _ = run_main("explain", "tcp", "91.186.66.22", "8041", "--json")
    assert code == 0
    doc = json.loads(out)
    assert {"verdict", "service", "zone", "rule", "source"} <= set(doc)
    assert (doc["verdict"], doc["service"], doc["zone"]) == ("accept", "fjernhjelp", "internett")
    assert "002:88" in doc["source"]


def test_explain_text(run_main) -> None:
    code, out, _ = run_main("explain", "tcp", "91.186.92.90", "443")
    assert code == 0
    assert out.startswith("tcp 91.186.92.90:443 -> accept via helsenett (wan-hn)")
    assert "service: fjernhjelp, zone helsenett" in out


def test_explain_denied_flow_and_strict(run_main) -> None:
    code, out, _ = run_main("explain", "tcp", "8.8.8.8", "443")
    assert code == 0
    assert "-> reject" in out and "outbound traffic is blocked" in out
    assert run_main("explain", "tcp", "8.8.8.8", "443", "--strict")[0] == 1
    assert run_main("explain", "tcp", "91.186.66.22", "8041", "--strict")[0] == 0


def test_explain_profile_host(run_main) -> None:
    code, out, _ = run_main("explain", "udp", "8.8.8.8", "53", "--src", "192.168.10.50", "--json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["verdict"], doc["profile"], doc["rule_id"]) == (
        "accept",
        "fjernhjelp-leverandor",
        "fjernhjelp/dns",
    )
    code, out, _ = run_main(
        "explain", "tcp", "8.8.8.8", "443", "--src", "192.168.10.50", "--json", "--strict"
    )
    assert code == 1
    assert json.loads(out)["verdict"] == "reject"


def test_explain_source_outside_lan_and_uplink(run_main) -> None:
    code, out, _ = run_main(
        "explain", "tcp", "91.186.66.22", "8041", "--src", "10.99.0.1", "--json"
    )
    assert json.loads(out)["verdict"] == "drop"
    code, out, _ = run_main(
        "explain", "tcp", "91.186.66.22", "8041", "--uplink", "helsenett", "--json"
    )
    doc = json.loads(out)
    assert (doc["verdict"], doc["uplink"], doc["interface"]) == ("reject", "helsenett", "wan-hn")


def test_explain_icmp_without_port(run_main) -> None:
    code, out, _ = run_main("explain", "icmp", "10.145.128.1", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["flow"]["port"] is None
    assert (doc["verdict"], doc["service"]) == ("accept", "videokonferanse")


@pytest.mark.parametrize(
    ("args", "gist"),
    [
        (["tcp", "91.186.66.22", "70000"], "port 70000 is out of range"),
        (["sctp", "91.186.66.22", "80"], "'sctp' is not one of 'tcp', 'udp', 'icmp'"),
        (["tcp", "91.186.66", "80"], "'91.186.66' is not an IPv4 or IPv6 address"),
        (["tcp", "91.186.66.22"], "tcp needs a port"),
        (["tcp", "91.186.66.22", "https"], "'https' is not a valid integer"),
        (["tcp", "91.186.66.22", "443", "--uplink", "satellitt"], "'satellitt' is not one of"),
        (["tcp", "91.186.66.22", "443", "--src", "2001:db8::1"], "same IP family"),
    ],
)
def test_explain_bad_input_exits_2(run_main, args: list[str], gist: str) -> None:
    code, out, err = run_main("explain", *args)
    assert code == 2
    assert out == ""
    assert gist in err
    assert "Traceback" not in err


# -- render ------------------------------------------------------------------------
def test_render_list_targets(run_main) -> None:
    code, out, _ = run_main("render", "--list-targets")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines() if not line.startswith(" ")]
    assert names == list(RENDERERS)
    # each target says what it cannot express
    assert "cannot: " in out and "option " in out


def test_site_targets_and_renderer_registry_agree() -> None:
    assert KNOWN_TARGETS == tuple(RENDERERS)


def test_render_to_stdout_uses_the_sites_first_target(run_main) -> None:
    code, out, err = run_main("render", "--allow-unpinned")
    assert code == 0
    assert out.startswith("#!/usr/sbin/nft -f")
    assert "table inet nhn_appliance {" in out
    assert "name(s) not pinned, their rules are left out" in err


def test_render_refuses_unpinned_names_while_outbound_is_blocked(run_main) -> None:
    code, out, err = run_main("render", "-t", "nftables")
    assert code == 1 and out == ""
    assert "sikker.proxy.nhn.no" in err and "ntp.nhn.no" in err
    assert "nhn-appliance resolve" in err and "--allow-unpinned" in err


def test_render_with_every_name_pinned_needs_no_allow(run_main, tmp_path: Path) -> None:
    doc = json.loads((CASES / "pins" / "default.pins.json").read_text())
    some = next(iter(doc["names"].values()))
    for name in ("helseid-sts.nhn.no", "idporten.difi.no", "oidc.difi.no"):
        doc["names"][name] = {**some, "addresses": ["203.0.113.80"]}
    pins = tmp_path / "all.pins.json"
    pins.write_text(json.dumps(doc))
    code, out, err = run_main("--pins", str(pins), "render", "-t", "nftables")
    assert code == 0 and "table inet nhn_appliance {" in out
    assert "not pinned" not in err


def test_an_explicit_pins_file_that_does_not_exist_exits_2(run_main, tmp_path: Path) -> None:
    code, _, err = run_main("--pins", str(tmp_path / "typo.json"), "render", "-t", "nftables")
    assert code == 2 and "typo.json: file not found (given with --pins)" in err


def test_render_of_several_files_to_stdout_exits_2(run_main) -> None:
    code, out, err = run_main("render", "-t", "iptables", "--allow-unpinned")
    assert code == 2 and out == ""
    assert "writes 2 files (rules.v4, rules.v6)" in err


def test_render_nftables_to_a_file(run_main, tmp_path: Path) -> None:
    target = tmp_path / "nhn.nft"
    code, out, err = run_main("render", "-t", "nftables", "-o", str(target), "--allow-unpinned")
    assert code == 0
    assert out == ""
    assert f"wrote {target}" in err
    text = target.read_text(encoding="utf-8")
    assert "table inet nhn_appliance {" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nhn.nft"]  # no temporary left behind


def test_render_iptables_writes_v4_and_v6(run_main, tmp_path: Path) -> None:
    out_dir = tmp_path / "iptables"
    out_dir.mkdir()
    code, _, err = run_main(
        "render", "-t", "iptables", "-o", str(out_dir / "rules.v4"), "--allow-unpinned"
    )
    assert code == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["rules.v4", "rules.v6"]
    v4 = (out_dir / "rules.v4").read_text()
    v6 = (out_dir / "rules.v6").read_text()
    assert v4.count("*filter") == 1 and v4.rstrip().endswith("COMMIT")
    assert v6.count("*filter") == 1 and v6.rstrip().endswith("COMMIT")
    rules6 = [line for line in v6.splitlines() if not line.startswith("#")]
    assert "91.186.66.22" in v4 and not any("91.186.66.22" in line for line in rules6)
    assert f"wrote {out_dir / 'rules.v4'}" in err and f"wrote {out_dir / 'rules.v6'}" in err


@pytest.mark.parametrize("target", ["nftables", "iptables"])
def test_render_into_a_missing_folder_exits_2_and_writes_nothing(
    run_main, tmp_path: Path, target: str
) -> None:
    before = sorted(tmp_path.rglob("*"))
    missing = str(tmp_path / "missing" / "rules.v4")
    code, out, err = run_main("render", "-t", target, "-o", missing, "--allow-unpinned")
    assert code == 2
    assert out == ""
    assert f"error: folder {tmp_path / 'missing'} does not exist" in err
    assert sorted(tmp_path.rglob("*")) == before


def test_render_into_a_directory_writes_one_file_per_output(run_main, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    code, _, err = run_main(
        "render", "-t", "windows", "-o", str(tmp_path / "out"), "--allow-unpinned"
    )
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "windows-fjernhjelp-leverandor.ps1",
        "windows-site-pc.ps1",
        "windows-videoutstyr.ps1",
    ]


def test_render_all_writes_every_target_of_the_site_into_a_folder(run_main, tmp_path) -> None:
    site = tmp_path / "site.toml"
    text = (REPO / "appliance.toml").read_text()
    site.write_text(
        text.replace(
            'targets = ["nftables", "iptables"]', 'targets = ["nftables", "iptables", "windows"]'
        )
    )
    code, _, err = run_main(
        "--site", str(site), "render", "--all", "-o", str(tmp_path), "--allow-unpinned"
    )
    assert code == 0, err
    names = sorted(p.name for p in tmp_path.iterdir() if p.name != "site.toml")
    assert names == [
        "iptables-rules.v4",
        "iptables-rules.v6",
        "nftables.nft",
        "windows-fjernhjelp-leverandor.ps1",
        "windows-site-pc.ps1",
        "windows-videoutstyr.ps1",
    ]


def test_render_all_without_a_folder_exits_2_and_writes_nothing(run_main, tmp_path) -> None:
    code, out, err = run_main("render", "--all", "--allow-unpinned")
    assert code == 2 and out == ""
    assert "give -o DIR" in err
    code, _, err = run_main("render", "--all", "-o", str(tmp_path / "no"), "--allow-unpinned")
    assert code == 2 and "is not one" in err


def test_render_unknown_target_exits_2(run_main) -> None:
    code, _, err = run_main("render", "-t", "pf")
    assert code == 2
    assert "error: unknown target 'pf'; known: nftables, iptables" in err


# -- where the inputs come from --------------------------------------------------------
def test_packaged_default_site_when_there_is_no_local_file(run_main, in_empty_folder: Path) -> None:
    assert not (in_empty_folder / "appliance.toml").exists()
    code, out, _ = run_main("policy", "show", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["site"] == "legekontor-eksempel"
    assert doc["site_file"] == "appliance.toml (packaged default)"


def test_local_appliance_toml_wins_over_the_packaged_default(
    run_main, in_empty_folder: Path
) -> None:
    (in_empty_folder / "appliance.toml").write_text((UNIT / "site_open.toml").read_text())
    code, out, _ = run_main(*UNIT_RULES, "policy", "show", "--json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["site"], doc["site_file"]) == ("open", "appliance.toml")


def test_site_option_selects_a_site(run_main) -> None:
    path = str(UNIT / "site_helsenett.toml")
    code, out, _ = run_main(*UNIT_RULES, "--site", path, "policy", "show", "--json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["site"], doc["site_file"]) == ("bare-helsenett", path)
    assert {u["zone"] for u in doc["uplinks"]} == {"helsenett"}


def test_site_from_the_environment(run_main) -> None:
    env = {
        "NHN_APPLIANCE_SITE": str(UNIT / "site_open.toml"),
        "NHN_APPLIANCE_RULES": str(UNIT / "catalogue"),
    }
    code, out, _ = run_main("policy", "show", "--json", env=env)
    assert code == 0
    assert json.loads(out)["site"] == "open"


def test_rules_option_selects_a_catalogue(run_main) -> None:
    code, out, _ = run_main(*UNIT_RULES, "rules", "list")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[:-1]] == ["alpha", "beta"]
    assert "QoS classes: standard, video" in out


def test_default_site_against_another_catalogue_names_the_missing_service(run_main) -> None:
    code, _, err = run_main(*UNIT_RULES, "policy", "show")
    assert code == 2
    assert err.startswith(
        "error: appliance.toml (packaged default): site.services[0]: unknown service"
    )


def test_missing_site_file_exits_2(run_main, in_empty_folder: Path) -> None:
    code, out, err = run_main("--site", "kontor.toml", "policy", "show")
    assert code == 2
    assert out == ""
    assert err == "error: kontor.toml: file not found\n"


def test_missing_rules_folder_exits_2(run_main) -> None:
    code, _, err = run_main("--rules", "no-such-rules", "rules", "list")
    assert code == 2
    assert err.startswith("error: no-such-rules: is not a directory")


def test_packaged_default_reads_pins_from_the_current_folder(
    run_main, in_empty_folder: Path
) -> None:
    (in_empty_folder / "appliance.pins.json").write_text("[]")
    code, _, err = run_main("policy", "show")
    assert code == 2
    assert err.startswith("error: appliance.pins.json: schema: ")


# -- end to end, through the installed module -------------------------------------------
def test_end_to_end_accept(tmp_path: Path) -> None:
    proc = subprocess_run("explain", "tcp", "91.186.66.22", "8041", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["verdict"], doc["service"], doc["zone"]) == ("accept", "fjernhjelp", "internett")


def test_end_to_end_bad_site_exits_2_without_traceback(tmp_path: Path) -> None:
    path = INVALID / "site_unknown_service.toml"
    proc = subprocess_run("--site", str(path), "rules", "check", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {path}: site.services[1]: unknown service 'jion'")
    assert "Traceback" not in proc.stderr


def test_end_to_end_strict_denied_exits_1(tmp_path: Path) -> None:
    proc = subprocess_run("explain", "tcp", "8.8.8.8", "443", "--strict", cwd=tmp_path)
    assert proc.returncode == 1
    assert "-> reject" in proc.stdout


def test_end_to_end_bad_port_exits_2(tmp_path: Path) -> None:
    proc = subprocess_run("explain", "tcp", "91.186.66.22", "70000", cwd=tmp_path)
    assert proc.returncode == 2
    assert "port 70000 is out of range" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- probe selections that leave nothing to run ------------------------------------------
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--only", "tcpp"], "unknown kind(s) tcpp (allowed: dns, tcp"),
        (["--only", ","], "unknown kind(s) (none given)"),
        (["--service", "cma", "--only", "ntp"], "--service cma --only ntp leaves no checks"),
        (["--service", "kaffe"], "kaffe not in this site's services"),
    ],
)
def test_a_probe_selection_without_checks_is_exit_2_never_a_traceback(
    run_main, monkeypatch, args: list[str], words: str
) -> None:
    import socket

    def no_network(*_a, **_k):
        raise AssertionError("a refused selection must send nothing")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "sendto", no_network)
    code, out, err = run_main("probe", *args)
    assert code == 2 and out == ""
    assert words in err and "Traceback" not in err
