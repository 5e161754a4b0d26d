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


#: what a terminal, a Nagios line or a log reader would act on rather than show:
#: C0 and C1 controls (ESC starts a terminal escape, U+009B is a CSI on its own),
#: DEL, NEL, the line and paragraph separators, the bidi controls (U+202E turns
#: what follows around) and lone surrogates (cannot be encoded as UTF-8)
_INVISIBLE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _show(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, keep: str = "") -> str:
    """``text`` with every control character written as a visible escape (``\\x1b``),
    except those in ``keep`` (``"\\n"`` for a multi-line text whose lines are ours)."""
    return _invisible_but(keep).sub(_show, text)


@lru_cache(maxsize=8)
def _invisible_but(keep: str) -> re.Pattern[str]:
    if not keep:
        return _INVISIBLE
    return re.compile(f"(?![{re.escape(keep)}]){_INVISIBLE.pattern}")
