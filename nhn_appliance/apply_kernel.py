"""What apply, rollback and drift share about the kernel: running the tools,
the appliance's own part of the firewall as a comparable listing, and the
difference between two listings in words.

A :class:`Listing` holds only what is the appliance's own (the nftables
table, or the ``NHN-*`` chains and the two jumps to them): section name ->
items in kernel order. Both the live kernel and a scratch network namespace
(``unshare --net``, where a rendered ruleset is loaded to see it as the kernel
holds it) are read the same way, so two listings compare item by item.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field

from nhn_appliance.errors import ApplianceError

TOOL_TIMEOUT_S = 60.0
MESSAGE_LINES = 6  #: of a tool's error output (nft repeats itself per object)
#: the service a rule or element belongs to: its comment starts "service/endpoint"
_SERVICE = re.compile(r'comment "([A-Za-z0-9_.-]+)/')
_COUNTER = re.compile(r"counter packets \d+ bytes \d+")


class KernelError(ApplianceError):
    """A firewall tool is missing, lacks privileges, or refused a ruleset (exit 2)."""


def run_tool(
    argv: list[str], stdin: str | None = None, what: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run ``argv``; a missing tool, missing privileges or a refusal is a KernelError
    carrying the tool's own message."""
    try:
        res = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S
        )
    except FileNotFoundError:
        raise KernelError(f"{argv[0]} is not installed (needed to {what or 'apply'})") from None
    except subprocess.TimeoutExpired:
        raise KernelError(f"{argv[0]} did not finish within {TOOL_TIMEOUT_S:g} s") from None
    if res.returncode != 0:
        raise failure(argv, res, what)
    return res


def failure(argv: list[str], res: subprocess.CompletedProcess[str], what: str) -> KernelError:
    """The error for a tool that exited non-zero, with the tool's own message."""
    lines = (res.stderr or res.stdout).strip().splitlines()
    msg = "\n".join(lines[:MESSAGE_LINES])
    if len(lines) > MESSAGE_LINES:
        msg += f"\n... ({len(lines) - MESSAGE_LINES} more lines)"
    if not has_net_admin() and ("not permitted" in msg or "denied" in msg or "root" in msg):
        return KernelError(
            f"{argv[0]}: {msg or 'no privileges'}; {what or 'this'} needs root "
            "(CAP_NET_ADMIN) in the network namespace it changes"
        )
    return KernelError(f"the kernel refused it: {what or argv[0]} ({' '.join(argv[:3])}):\n{msg}")


def has_net_admin() -> bool:
    """CAP_NET_ADMIN (bit 12) in this process's effective set: without it a tool's
    "Operation not permitted" is about privileges, with it about the ruleset."""
    try:
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> 12 & 1)
    except OSError:
        pass
    return os.geteuid() == 0


def zero_counters(line: str) -> str:
    """Counter values change with traffic; a listing compares without them."""
    return _COUNTER.sub("counter", line)


def service_of(text: str) -> str:
    m = _SERVICE.search(text)
    return m.group(1) if m else ""


@dataclass
class Listing:
    """The appliance's own firewall state: section -> items, in kernel order.

    Sections are ``chain NAME`` and ``set NAME`` (nftables) or
    ``TOOL TABLE chain NAME`` and ``TOOL TABLE FORWARD`` (iptables, where only
    the jump to an own chain is kept). The first item of a section may be its
    declaration (``type ...``), marked by :data:`DECL`.
    """

    sections: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, list[str]]:
        return self.sections

    @classmethod
    def from_dict(cls, data: dict[str, list[str]]) -> Listing:
        return cls({str(k): [str(x) for x in v] for k, v in data.items()})

    def counts(self) -> tuple[int, int, int]:
        """(chains, rules, set elements)."""
        chains = [k for k in self.sections if " chain " in f" {k}"]
        sets = [k for k in self.sections if k.startswith("set ")]
        rules = sum(len([x for x in self.sections[k] if not x.startswith(DECL)]) for k in chains)
        elements = sum(len([x for x in self.sections[k] if not x.startswith(DECL)]) for k in sets)
        return len(chains), rules, elements


DECL = "declare: "  #: marks a section's declaration item (chain hook, set type)


@dataclass(frozen=True)
class Change:
    section: str
    item: str
    added: bool  #: True: in the new (or live) listing only; False: in the old only

    @property
    def kind(self) -> str:
        if self.item.startswith(DECL):
            return "declaration"
        if self.section.startswith("set "):
            return "set element"
        return "rule"

    @property
    def service(self) -> str:
        return service_of(self.item)


def diff(old: Listing, new: Listing) -> list[Change]:
    """Items in one listing and not the other (as multisets), section by section;
    a rule moved within its chain counts as removed and added."""
    out: list[Change] = []
    for name in list(dict.fromkeys([*old.sections, *new.sections])):
        a, b = old.sections.get(name, []), new.sections.get(name, [])
        if a == b:
            continue
        removed, added = _only_in(a, b), _only_in(b, a)
        if not removed and not added:  # same items, another order
            removed = [x for x in a if not x.startswith(DECL)]
            added = [x for x in b if not x.startswith(DECL)]
        out += [Change(name, x, False) for x in removed] + [Change(name, x, True) for x in added]
    return out


def _only_in(a: list[str], b: list[str]) -> list[str]:
    """Items of ``a`` that ``b`` lacks, counting repeats, in ``a``'s order."""
    rest = Counter(b)
    out = []
    for x in a:
        if rest[x] > 0:
            rest[x] -= 1
        else:
            out.append(x)
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def change_words(changes: list[Change], limit: int = 40) -> list[str]:
    """What an apply changes: per service, rules and set elements added and removed;
    then the changed items themselves (at most ``limit``)."""
    if not changes:
        return ["no change: the kernel already holds this ruleset"]
    by_service: dict[str, Counter[str]] = {}
    for c in changes:
        key = c.service or "(structure: chains, hooks and defaults)"
        by_service.setdefault(key, Counter())[f"{c.kind}|{'+' if c.added else '-'}"] += 1
    lines = []
    for service, counts in sorted(by_service.items()):
        parts = []
        for kind in ("rule", "set element", "declaration"):
            plus, minus = counts[f"{kind}|+"], counts[f"{kind}|-"]
            if plus or minus:
                parts.append(f"{_plural(plus, kind)} added, {minus} removed")
        lines.append(f"  {service}: {'; '.join(parts)}")
    lines.append("")
    for c in changes[:limit]:
        lines.append(f"  {'+' if c.added else '-'} {c.section}: {c.item}")
    if len(changes) > limit:
        lines.append(f"  ... and {len(changes) - limit} more")
    return lines


def drift_words(rendered: Listing, live: Listing) -> list[str]:
    """How the live kernel differs from the rendered ruleset, in words: whole
    sections (a chain deleted, a set missing, a chain flushed) first, then items
    added by hand or missing."""
    lines = []
    for name, items in rendered.sections.items():
        body = [x for x in items if not x.startswith(DECL)]
        if name not in live.sections:
            unit = "element" if name.startswith("set ") else "rule"
            lines.append(f"{name}: deleted (with {_plural(len(body), unit)} it should hold)")
        elif body and not [x for x in live.sections[name] if not x.startswith(DECL)]:
            what, unit = ("emptied", "element") if name.startswith("set ") else ("flushed", "rule")
            lines.append(f"{name}: {what} ({_plural(len(body), unit)} missing)")
    for name in live.sections:
        if name not in rendered.sections:
            lines.append(f"{name}: added by hand (not in the rendered ruleset)")
    summarised = {line.split(":")[0] for line in lines}
    for c in diff(rendered, live):
        if c.section in summarised:
            continue
        how = "added by hand" if c.added else "missing"
        lines.append(f"{c.section}: {c.kind} {how}: {c.item.removeprefix(DECL)}")
    return lines
