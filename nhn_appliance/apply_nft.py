"""The nftables side of apply, rollback and drift: the appliance's one table.

The rendered file replaces ``table inet nhn_appliance`` in one transaction
(its own ``table``/``delete table`` preamble); nothing else of the kernel's
ruleset is read or written. The state to roll back to is the table's own
listing (``nft list table``), which nft loads back as it printed it: a
restore is ``table; delete table;`` plus that listing (or no table at all),
again one transaction.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from nhn_appliance.apply_kernel import (
    DECL,
    KernelError,
    Listing,
    failure,
    run_tool,
    zero_counters,
)
from nhn_appliance.render.nftables import TABLE

FAMILY = "inet"
FILE = "ruleset.nft"
_SEP = "--- nhn-appliance listing separator ---"
_ABSENT = ("No such file or directory", "does not exist")


def _value(v: Any) -> str:
    """One part of a set key or map value as nft's text syntax writes it."""
    if isinstance(v, dict):
        if "concat" in v:
            return " . ".join(_value(x) for x in v["concat"])
        if "range" in v:
            return f"{_value(v['range'][0])}-{_value(v['range'][1])}"
        if "prefix" in v:
            return f"{v['prefix']['addr']}/{v['prefix']['len']}"
        if "elem" in v:
            return _value(v["elem"]["val"])
        for verb in ("goto", "jump"):
            if verb in v:
                return f"{verb} {v[verb]['target']}"
        return json.dumps(v, sort_keys=True)
    return str(v)


def _element(e: Any) -> str:
    if isinstance(e, list):  # a map element: [key, value]
        return f"{_element(e[0])} : {_value(e[1])}"
    text = _value(e)
    if isinstance(e, dict) and e.get("elem", {}).get("comment"):
        text += f' comment "{e["elem"]["comment"]}"'
    return text


def _sets(items: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items:
        kind = "map" if "map" in item else "set" if "set" in item else ""
        if not kind:
            continue
        body = item[kind]
        typ = body["type"]
        typ = " . ".join(typ) if isinstance(typ, list) else typ
        if kind == "map":
            typ += f" : {body['map']}"
        flags = ",".join(body.get("flags", []))
        decl = f"{DECL}{kind} type {typ}" + (f" flags {flags}" if flags else "")
        out[f"set {body['name']}"] = [decl] + [_element(e) for e in body.get("elem", [])]
    return out


def _chains(terse: str) -> dict[str, list[str]]:
    """Chains and their rules from ``nft -t list table`` (which leaves set
    elements out): the hook line is the declaration, counters are zeroed."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in terse.splitlines():
        line = raw.strip()
        if raw.startswith("\tchain ") and line.endswith("{"):
            current = out.setdefault(f"chain {line[6:-1].strip()}", [])
        elif current is not None and line == "}" and raw.startswith("\t}"):
            current = None
        elif current is not None and line:
            current.append(DECL + line if line.startswith("type ") else zero_counters(line))
    return out


def listing_of(json_text: str, terse: str) -> Listing:
    items = json.loads(json_text)["nftables"] if json_text.strip() else []
    return Listing({**_chains(terse), **_sets(items)})


def _table(*flags: str) -> str | None:
    """``nft [flags] list table``, or None when the table does not exist (a
    missing tool or missing privileges is a KernelError)."""
    try:
        res = subprocess.run(
            ["nft", *flags, "list", "table", FAMILY, TABLE],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except FileNotFoundError:
        raise KernelError("nft is not installed (needed to read the firewall)") from None
    if res.returncode == 0:
        return res.stdout
    if any(s in res.stderr for s in _ABSENT):
        return None
    raise failure(["nft", *flags, "list", "table"], res, "read the firewall")


class Nftables:
    target = "nftables"
    files: tuple[str, ...] = (FILE,)

    def check(self, texts: dict[str, str]) -> None:
        run_tool(["nft", "-c", "-f", "/dev/stdin"], texts[FILE], "check the ruleset (nft -c)")

    def snapshot(self) -> dict[str, Any]:
        """The table as the kernel holds it now, to load back on rollback."""
        return {"table": _table() or ""}

    def live(self) -> Listing:
        as_json = _table("-j")
        return listing_of(as_json, _table("-t") or "") if as_json is not None else Listing()

    def load(self, texts: dict[str, str]) -> None:
        run_tool(["nft", "-f", "/dev/stdin"], texts[FILE], "load the ruleset (nft -f)")

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Back to the snapshot: the table as it was, or no table at all."""
        head = f"table {FAMILY} {TABLE}\ndelete table {FAMILY} {TABLE}\n"
        run_tool(["nft", "-f", "/dev/stdin"], head + snapshot["table"], "restore the ruleset")

    def expected(self, texts: dict[str, str]) -> Listing:
        """The rendered ruleset as a kernel holds it: loaded into a scratch network
        namespace (``unshare --net``, gone when the command ends) and listed."""
        script = (
            f'nft -f - && nft -j list table {FAMILY} {TABLE} && echo "{_SEP}" && '
            f"nft -t list table {FAMILY} {TABLE}"
        )
        res = run_tool(
            ["unshare", "--net", "sh", "-c", script], texts[FILE], "read the rendered ruleset"
        )
        json_text, _, terse = res.stdout.partition(_SEP + "\n")
        return listing_of(json_text, terse)
