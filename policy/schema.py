"""A small typed walker over parsed TOML that reports precise errors.

Each :class:`Node` knows the file and the key path it came from, so every
check can say ``rules/join.toml: endpoint[2].ports[0]: port 70000 is out of
range``. Unknown keys are errors too: a typo must not silently disable a rule.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from nhn_appliance.errors import InputError

T = TypeVar("T")

#: names and ids that reach configs: lower-case letters, digits and dashes only,
#: so that no name can carry syntax into a rendered file.
NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,47}")  # always matched whole (fullmatch)
NAME_FORM = "lower-case letters, digits and '-', starting with a letter, at most 48 characters"
IFACE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,14}")  # fullmatch: "$" passes a final "\n"
IFACE_FORM = "1-15 characters: letters, digits, '_', '.', '-'"
#: free text (titles, notes, sources) may be anything printable on one line;
#: renderers escape it again before it reaches a config. C0 and C1 controls
#: (U+009B starts a terminal escape), NEL, the line and paragraph separators,
#: the bidi controls (U+202E turns what is shown around) and lone surrogates
#: are not printable text.
TEXT_BAD = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def read_toml(path: Path, display: str, error: type[InputError]) -> dict[str, Any]:
    """Read a TOML file, turning every parse problem into an ``error``."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(display, "", "file not found") from None
    except OSError as exc:
        raise error(display, "", f"cannot be read: {exc.strerror}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise error(display, "", "is not UTF-8 text") from None
    except RecursionError:
        raise error(display, "", "not valid TOML: nested too deeply") from None
    except tomllib.TOMLDecodeError as exc:
        text = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", text)
        where = f"line {match.group(1)}" if match else ""
        if "overwrite" in text or "redefine" in text.lower() or "twice" in text:
            key = _key_on_line(data, int(match.group(1))) if match else ""
            what = f"duplicate key {key!r}" if key else "duplicate key"
            raise error(
                display, where, f"{what}: TOML allows each key only once per table"
            ) from None
        detail = re.sub(r"\s*\(at line \d+, column \d+\)", "", text)
        raise error(display, where, f"not valid TOML: {detail}") from None


def _key_on_line(data: bytes, line: int) -> str:
    lines = data.decode("utf-8", "replace").splitlines()
    if 1 <= line <= len(lines):
        text = lines[line - 1].strip()
        if text.startswith("["):
            return text.strip("[] ")
        return text.split("=", 1)[0].strip().strip('"')
    return ""


class Node:
    """A value in a parsed TOML document, with where it came from."""

    def __init__(self, value: Any, file: str, path: str, error: type[InputError]) -> None:
        self.value = value
        self.file = file
        self.path = path
        self.error = error

    # -- navigation -------------------------------------------------------
    def _child_path(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def fail(self, message: str, allowed: str = "") -> InputError:
        return self.error(self.file, self.path, message, allowed)

    def table(self, allowed: set[str] | None = None, required: tuple[str, ...] = ()) -> Node:
        if not isinstance(self.value, dict):
            raise self.fail(f"expected a table, found {type_name(self.value)}")
        if allowed is not None:
            for key in self.value:
                if key not in allowed:
                    raise self.error(
                        self.file, self._child_path(key), "unknown key", ", ".join(sorted(allowed))
                    )
        for key in required:
            if key not in self.value:
                raise self.error(self.file, self._child_path(key), "is required but missing")
        return self

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and key in self.value

    def get(self, key: str, default: Any = None) -> Node:
        value = self.value.get(key, default) if isinstance(self.value, dict) else default
        return Node(value, self.file, self._child_path(key), self.error)

    def items(self) -> Iterator[tuple[str, Node]]:
        for key, value in self.value.items():
            yield key, Node(value, self.file, self._child_path(key), self.error)

    def list(self, single_ok: bool = False) -> list[Node]:
        """The value as a list of nodes; ``single_ok`` also takes one bare value."""
        value = self.value
        if value is None:
            return []
        if not isinstance(value, list):
            if single_ok:
                return [self]
            raise self.fail(f"expected a list, found {type_name(value)}")
        return [Node(v, self.file, self._child_path(i), self.error) for i, v in enumerate(value)]

    # -- scalars ----------------------------------------------------------
    def text(self, default: str | None = None) -> str:
        if self.value is None:
            if default is None:
                raise self.fail("is required but missing")
            return default
        if not isinstance(self.value, str):
            raise self.fail(f"expected a string, found {type_name(self.value)}")
        if TEXT_BAD.search(self.value):
            raise self.fail(
                "must be one line of printable text (no control characters or newlines)"
            )
        return self.value

    def name(self, default: str | None = None) -> str:
        value = self.text(default)
        if not NAME_RE.fullmatch(value):
            raise self.fail(f"{value!r} is not a valid name", NAME_FORM)
        return value

    def choice(self, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.text(default)
        if value not in choices:
            raise self.fail(f"{value!r} is not known", ", ".join(choices))
        return value

    def integer(self, lo: int, hi: int, default: int | None = None) -> int:
        value = self.value
        if value is None:
            if default is None:
                raise self.fail("is required but missing")
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"expected an integer, found {type_name(value)}")
        if not lo <= value <= hi:
            raise self.fail(f"{value} is out of range", f"{lo}-{hi}")
        return value

    def number(self, lo: float, hi: float, default: float) -> float:
        value = self.value
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"expected a number, found {type_name(value)}")
        if not lo <= value <= hi:
            raise self.fail(f"{value} is out of range", f"{lo}-{hi}")
        return float(value)

    def boolean(self, default: bool) -> bool:
        if self.value is None:
            return default
        if not isinstance(self.value, bool):
            raise self.fail(f"expected true or false, found {type_name(self.value)}")
        return self.value

    def parsed(self, parse: Callable[[Any], T]) -> T:
        """Apply a parser that raises ValueError with a user message."""
        try:
            return parse(self.value)
        except ValueError as exc:
            raise self.fail(str(exc)) from None


def type_name(value: Any) -> str:
    return {
        dict: "a table",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
    }.get(type(value), type(value).__name__)
