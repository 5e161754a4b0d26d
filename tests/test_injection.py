"""Free text cannot carry syntax into a rendered config; names cannot even load.

Service names, endpoint ids, profile names and interface names are validated
at load time (letters, digits, dashes); titles, notes and sources may hold
anything printable on one line and are escaped by every renderer. Where nft
and iptables-restore can run (root), the rendered files are also checked by
the real parsers and must hold exactly the statements a harmless catalogue
gives.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import netns
import pytest
from conftest import HOSTILE
from render_cases import hostile_policy, hostile_site, options_for

from nhn_appliance.errors import CatalogueError, SiteError
from nhn_appliance.policy.catalogue import load_catalogue
from nhn_appliance.policy.compile import compile_policy
from nhn_appliance.policy.site import load_site
from nhn_appliance.render import RENDERERS, get_renderer
from nhn_appliance.render.escape import comment

#: whole-line comments of every target: '#' (nft, iptables, JunOS set, PowerShell),
#: '!' and the remark/description lines of Cisco IOS (free text to the end of the line)
COMMENT = re.compile(r"^\s*(#|!|remark |description )")


@pytest.mark.parametrize(
    "text",
    [
        '"; flush ruleset; #',
        "a\\b",
        "x } y { z",
        "!reload",
        "#comment",
        "a'b",
        "`id`",
        "$(id)",
        "a;b",
    ],
)
def test_comment_escape_removes_every_delimiter(text: str) -> None:
    out = comment(text)
    assert not set(out) & set("\"'\\;{}#!`$[]\n\r")


def test_comment_escape_keeps_readable_text() -> None:
    assert comment("join/helsenett 002:370-376; 002:379") == "join/helsenett 002:370-376, 002:379"
    assert comment("Fjernhjelp på Helsenettet") == "Fjernhjelp på Helsenettet"
    assert len(comment("x" * 500).encode()) <= 120


@pytest.mark.parametrize("target", sorted(RENDERERS))
def test_hostile_free_text_comes_out_inert(target: str) -> None:
    for art in get_renderer(target).render(hostile_policy(), options_for(target, hostile_policy())):
        # every quoted string is one of ours and holds no delimiter of any target
        for quoted in re.findall(r'"([^"\n]*)"', art.text):
            assert not set(quoted) & set("\\;{}#`$"), quoted
        # outside quoted comments, none of the hostile text is left
        bare = re.sub(r'"[^"\n]*"', '""', art.text)
        bare = "\n".join(line for line in bare.splitlines() if not COMMENT.match(line))
        for words in ("flush", "evil", "reboot", "-A FORWARD -j ACCEPT", "configure"):
            assert words not in bare


@pytest.mark.parametrize(
    "field,value,error",
    [
        ("name", 'evil"; flush', CatalogueError),
        ("id", "a b", CatalogueError),
        ("title", "line one\nline two", CatalogueError),
    ],
)
def test_names_with_syntax_do_not_load(tmp_path: Path, field: str, value: str, error) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(HOSTILE, rules)
    text = (rules / "ondsinnet.toml").read_text()
    toml_value = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    old = {"name": 'name = "ondsinnet"', "id": 'id = "a"', "title": 'title = "\\"; drop; #"'}[field]
    assert old in text
    text = text.replace(old, f'{field} = "{toml_value}"')
    (rules / "ondsinnet.toml").write_text(text)
    with pytest.raises(error):
        load_catalogue(rules)


def test_interface_names_with_syntax_do_not_load(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        '[site]\nname = "x"\nservices = ["ondsinnet"]\n'
        '[lan]\ninterfaces = ["lan0\\" accept #"]\nprefixes = ["198.51.100.0/25"]\n'
        '[uplinks.helsenett]\ninterface = "wan-hn"\n'
    )
    with pytest.raises(SiteError) as exc:
        load_site(site, "site.toml", load_catalogue(HOSTILE))
    assert "lan.interfaces[0]" in str(exc.value)


def _statements(text: str) -> list[str]:
    """Non-comment lines: what a parser acts on."""
    return [line for line in text.splitlines() if line.strip() and not COMMENT.match(line)]


@pytest.mark.parametrize("target", sorted(RENDERERS))
def test_hostile_catalogue_renders_same_statements_as_a_clean_one(
    tmp_path: Path, target: str
) -> None:
    clean = tmp_path / "clean"
    clean.mkdir()
    for f in HOSTILE.iterdir():
        text = f.read_text()
        text = re.sub(r"^(title|source|note) = .*$", r'\1 = "plain"', text, flags=re.M)
        (clean / f.name).write_text(text)
    hostile_out = get_renderer(target).render(
        hostile_policy(), options_for(target, hostile_policy())
    )
    clean_out = get_renderer(target).render(
        compile_policy(load_catalogue(clean), hostile_site()), options_for(target, hostile_policy())
    )
    strip = re.compile(r'"[^"\n]*"')  # compare with comments blanked
    for h, c in zip(hostile_out, clean_out, strict=True):
        assert [strip.sub('""', s) for s in _statements(h.text)] == [
            strip.sub('""', s) for s in _statements(c.text)
        ]


@pytest.mark.kernel
@pytest.mark.parametrize("target", ["iptables", "nftables"])
def test_real_parsers_accept_hostile_output(tmp_path: Path, target: str) -> None:
    reason = netns.root_ok()
    tool = {"nftables": "nft", "iptables": "iptables-restore"}[target]
    if reason or not netns.have(tool):
        pytest.skip(reason or f"{tool} is not installed")
    policy = hostile_policy()
    name = f"npinj{abs(hash(target)) % 100000}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        for art in get_renderer(target).render(policy, options_for(target, policy)):
            path = tmp_path / art.name
            path.write_text(art.text)
            if target == "nftables":
                argv = ["nft", "-f", str(path)]
            else:
                tool = "iptables-restore" if art.family == 4 else "ip6tables-restore"
                argv = [tool, "--noflush", str(path)]  # as its header says
            proc = netns.run_in(name, argv)
            assert proc.returncode == 0, proc.stderr
        if target == "nftables":
            listing = netns.run_in(name, ["nft", "list", "tables"]).stdout
            assert listing.split() == ["table", "inet", "nhn_appliance"]
        else:
            chains = netns.run_in(name, ["iptables", "-S"]).stdout.splitlines()
            ours = [c for c in chains if c.startswith("-N")]
            assert ours and all(c.startswith("-N NHN-") for c in ours)
            assert {"-N NHN-FWD", "-N NHN-LAN", "-N NHN-SITE"} <= set(ours)
            # the file owns only its chains: the jump from FORWARD is the header's command
            assert not any(c.startswith("-A FORWARD") for c in chains)
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)
