"""Make free text safe to put inside a quoted comment of any target.

Names and ids are validated at load time (letters, digits, dashes); free
text (sources, notes, titles) may hold anything printable, so everything that
could end a quoted string or start a new statement is replaced. The result is
safe inside double quotes in nftables, iptables-restore, Cisco, JunOS,
RouterOS and PowerShell alike.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: characters kept as they are; everything else becomes "_"
_UNSAFE = re.compile(r"[^A-Za-z0-9 .,:/_@()+=\-æøåÆØÅ]")


_READABLE = str.maketrans({";": ",", "[": "(", "]": ")", "{": "(", "}": ")", "'": None, '"': None})


@lru_cache(maxsize=16384)
def comment(text: str, limit: int = 120) -> str:
    """A one-line comment with no quotes, backslashes, semicolons, braces or '#'."""
    out = _UNSAFE.sub("_", " ".join(str(text).split()).translate(_READABLE))
    encoded = out.encode("utf-8")
    if len(encoded) > limit:
        out = encoded[: limit - 3].decode("utf-8", "ignore") + "..."
    return out


def identifier(name: str) -> str:
    """A validated name (``[a-z][a-z0-9-]*``) as an identifier for chains and sets."""
    if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
        raise ValueError(f"{name!r} is not a safe name")
    return name.replace("-", "_")
