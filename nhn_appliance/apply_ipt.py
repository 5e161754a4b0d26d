"""The iptables side of apply, rollback and drift: the ``NHN-*`` chains and the
two jumps to them (filter FORWARD -> NHN-FWD, mangle FORWARD -> NHN-QOS).

The renderer's files declare only their own chains for
``iptables-restore --noflush``. A restore file cannot test for a rule, but
apply reads the kernel first, so it adds to each table's section what the
header's shell lines would do: the jump, first in FORWARD (any older jump to
the chain removed), and the removal of own chains the new ruleset no longer
has. Each file is then one ``*-restore`` run: its tables change as a whole or
not at all. A rollback file is built the same way, from the saved own lines
of each table back to what the kernel holds now.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from nhn_appliance.apply_kernel import DECL, KernelError, Listing, run_tool
from nhn_appliance.render.iptables import FORWARD_CHAIN, QOS_CHAIN

OWN = "NHN-"
#: restore tool, save tool, rendered file, per family
TOOLS = {
    4: ("iptables-restore", "iptables-save", "rules.v4"),
    6: ("ip6tables-restore", "ip6tables-save", "rules.v6"),
}
JUMPS = {"filter": FORWARD_CHAIN, "mangle": QOS_CHAIN}  #: table -> the chain FORWARD jumps to

# The own part of one table: its chains in order, their "-A" lines, and the
# 1-based FORWARD position of each jump to an own chain.
Own = dict[str, Any]


def own_of(save: str) -> dict[str, Own]:
    """table -> own part, from ``iptables-save`` output."""
    tables: dict[str, Own] = {}
    table: Own | None = None
    forward = 0
    for line in save.splitlines():
        if line.startswith("*"):
            table = tables.setdefault(line[1:], {"chains": [], "rules": [], "jumps": {}})
            forward = 0
        elif table is None:
            continue
        elif line.startswith(":" + OWN):
            table["chains"].append(line[1:].split()[0])
        elif line.startswith("-A " + OWN):
            table["rules"].append(line)
        elif line.startswith("-A FORWARD "):
            forward += 1
            target = line.split(" -j ", 1)[-1].strip()
            if line == f"-A FORWARD -j {target}" and target.startswith(OWN):
                table["jumps"][target] = forward
    return {t: own for t, own in tables.items() if own["chains"] or own["rules"] or own["jumps"]}


def listing_of(saves: dict[int, str]) -> Listing:
    sections: dict[str, list[str]] = {}
    for family, save in saves.items():
        tool = TOOLS[family][1].removesuffix("-save")
        for table, own in own_of(save).items():
            for chain in own["chains"]:
                sections[f"{tool} {table} chain {chain}"] = [DECL + "chain"]
            for rule in own["rules"]:
                chain, _, body = rule[3:].partition(" ")
                sections.setdefault(f"{tool} {table} chain {chain}", []).append(body)
            for chain, pos in own["jumps"].items():
                sections.setdefault(f"{tool} {table} FORWARD", []).append(
                    f"-j {chain} at position {pos}"
                )
    return Listing(sections)


def _declared(section: str) -> list[str]:
    return [line[1:].split()[0] for line in section.splitlines() if line.startswith(":" + OWN)]


def load_file(rendered: str, now: dict[str, Own]) -> str:
    """The rendered file with, before each table's COMMIT, the removal of own
    chains it no longer declares and its FORWARD jump put first."""
    out: list[str] = []
    section: list[str] = []
    table = ""
    for line in rendered.splitlines():
        if line.startswith("*"):
            table, section = line[1:], []
        if line == "COMMIT" and table:
            have = now.get(table, {"chains": [], "jumps": {}})
            stale = [c for c in have["chains"] if c not in _declared("\n".join(section))]
            out += [f"-D FORWARD -j {c}" for c in have["jumps"]]
            out += [f"-F {c}" for c in stale] + [f"-X {c}" for c in stale]
            jump = JUMPS.get(table)
            if jump and jump in _declared("\n".join(section)):
                out.append(f"-I FORWARD 1 -j {jump}")
        section.append(line)
        out.append(line)
    return "\n".join(out) + "\n"


def restore_file(before: dict[str, Own], now: dict[str, Own]) -> str:
    """A ``--noflush`` file that takes the own part of every table from ``now``
    back to ``before``; other chains and rules are not named, so not touched."""
    out: list[str] = []
    for table in dict.fromkeys([*before, *now]):
        b = before.get(table, {"chains": [], "rules": [], "jumps": {}})
        n = now.get(table, {"chains": [], "rules": [], "jumps": {}})
        chains = list(dict.fromkeys([*b["chains"], *n["chains"]]))
        out.append(f"*{table}")
        out += [f":{c} - [0:0]" for c in chains] + [f"-F {c}" for c in chains]
        out += [f"-D FORWARD -j {c}" for c in n["jumps"]]
        out += list(b["rules"])
        out += [f"-X {c}" for c in n["chains"] if c not in b["chains"]]
        out += [f"-I FORWARD {pos} -j {c}" for c, pos in sorted(b["jumps"].items(), key=_pos)]
        out.append("COMMIT")
    return "\n".join(out) + "\n"


def tables_of(save: str) -> list[str]:
    return [line[1:] for line in save.splitlines() if line.startswith("*")]


def _empty(save: str, table: str) -> bool:
    """Only built-in chains with policy ACCEPT and no rule: what loading a file
    into a table that did not exist leaves after the own chains are gone."""
    lines, inside = [], False
    for line in save.splitlines():
        if line.startswith("*"):
            inside = line[1:] == table
        elif inside and line != "COMMIT" and not line.startswith("#"):
            lines.append(line)
    return all(
        line.startswith(":") and " ACCEPT " in line and not line.startswith(":" + OWN)
        for line in lines
    )


def _drop_new_empty_tables(family: int, before: list[str]) -> None:
    """A table the apply created (iptables-nft makes one on first use) and that is
    empty again is deleted, so a rollback leaves iptables-save as it was. Only
    with the nf_tables variant: a legacy table cannot be removed (nor is it listed
    differently)."""
    version = run_tool([TOOLS[family][0].replace("-restore", ""), "-V"], what="read").stdout
    if "nf_tables" not in version:
        return
    save = _save(family)
    for table in tables_of(save):
        if table not in before and _empty(save, table):
            run_tool(
                ["nft", "delete", "table", "ip" if family == 4 else "ip6", table],
                what="remove a table the apply created",
            )


def _pos(item: tuple[str, int]) -> int:
    return item[1]


def _save(family: int, prefix: tuple[str, ...] = ()) -> str:
    return run_tool([*prefix, TOOLS[family][1]], what="read the firewall").stdout


class Iptables:
    target = "iptables"
    files: tuple[str, ...] = (TOOLS[4][2], TOOLS[6][2])

    def check(self, texts: dict[str, str]) -> None:
        now = self._now()
        for family, (restore, _, name) in TOOLS.items():
            text = load_file(texts[name], now[family])
            run_tool([restore, "--test", "--noflush"], text, f"check the ruleset ({restore})")

    def _now(self) -> dict[int, dict[str, Own]]:
        return {family: own_of(_save(family)) for family in TOOLS}

    def snapshot(self) -> dict[str, Any]:
        saves = {family: _save(family) for family in TOOLS}
        snap: dict[str, Any] = {str(f): own_of(save) for f, save in saves.items()}
        snap["tables"] = {str(f): tables_of(save) for f, save in saves.items()}
        return snap

    def live(self) -> Listing:
        return listing_of({family: _save(family) for family in TOOLS})

    def load(self, texts: dict[str, str]) -> None:
        """Both families, each in one restore run; when the second fails the first
        is taken back, so nothing is left half-loaded."""
        before = self._now()
        done: list[int] = []
        try:
            for family, (restore, _, name) in TOOLS.items():
                text = load_file(texts[name], before[family])
                run_tool([restore, "--noflush"], text, f"load the ruleset ({restore})")
                done.append(family)
        except KernelError:
            now = self._now()
            for family in done:
                back = restore_file(before[family], now[family])
                run_tool([TOOLS[family][0], "--noflush"], back, "take back a half load")
            raise

    def restore(self, snapshot: dict[str, Any]) -> None:
        now = self._now()
        for family, (restore, _, _) in TOOLS.items():
            before = snapshot.get(str(family), {})
            text = restore_file(before, now[family])
            run_tool([restore, "--noflush"], text, f"restore the ruleset ({restore})")
            if "tables" in snapshot:
                _drop_new_empty_tables(family, snapshot["tables"][str(family)])

    def expected(self, texts: dict[str, str]) -> Listing:
        """The rendered files as a kernel holds them: loaded into a scratch network
        namespace (``unshare --net``) and saved there."""
        with tempfile.TemporaryDirectory(prefix="nhn-appliance-") as tmp:
            script = []
            for restore, save, name in TOOLS.values():
                path = Path(tmp) / name
                path.write_text(load_file(texts[name], {}), encoding="utf-8")
                script.append(f"{restore} --noflush {path} && {save} > {path}.saved")
            run_tool(
                ["unshare", "--net", "sh", "-c", " && ".join(script)],
                what="read the rendered ruleset",
            )
            saves = {f: (Path(tmp) / f"{TOOLS[f][2]}.saved").read_text() for f in TOOLS}
        return listing_of(saves)
