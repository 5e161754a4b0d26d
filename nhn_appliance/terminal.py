"""Printing that a hostile input cannot turn into terminal commands.

A result document, a probed server's status line, a pins file or catalogue
text may carry escape sequences (clear the screen, set the window title,
print a green "ALL OK"). click strips some of them, and only when stdout is
not a terminal; OSC sequences and the C1 CSI (U+009B) pass even then. So
everything the command line prints goes through :func:`echo`, which writes
every control character as a visible escape (``\\x1b``); line breaks the
command itself puts between lines are kept.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

import click

from nhn_appliance.render.escape import visible


def echo(text: str = "", err: bool = False, nl: bool = True) -> None:
    """``click.echo`` for text that may hold what others wrote; lines stay lines."""
    click.echo(visible(str(text), keep="\n"), err=err, nl=nl)


def one_line(text: str) -> str:
    """A value printed inside one line: its own line breaks are escaped too."""
    return visible(str(text))


def tolerant_streams() -> None:
    """A lone surrogate (from JSON's ``\\ud800``) is written as ``\\ud800``, never a crash."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a stream already in use in another way
                pass


#: the exit code of an unexpected error (EX_SOFTWARE of sysexits.h): never 1,
#: which means "a finding", and never 2, which means the input was wrong
INTERNAL_ERROR = 70


def error_json(exc: BaseException, code: int) -> str:
    """One line of JSON for ``--json`` callers: file, key, message, allowed, exit code."""
    import json

    fields = {
        "file": str(getattr(exc, "file", "") or ""),
        "key": str(getattr(exc, "key", "") or ""),
        "message": str(getattr(exc, "message", "") or _message(exc)),
        "allowed": str(getattr(exc, "allowed", "") or ""),
        "exit_code": code,
    }
    return json.dumps({"error": fields}, ensure_ascii=True)


def _message(exc: BaseException) -> str:
    format_message = getattr(exc, "format_message", None)  # click's usage errors
    return str(format_message() if format_message else exc)


def show_error(exc: BaseException, code: int, as_json: bool, prefix: str = "error: ") -> None:
    """The one error line on stderr (escaped); with ``--json`` also the JSON on stdout."""
    if as_json:
        click.echo(error_json(exc, code))
    echo(f"{prefix}{one_line(_message(exc))}", err=True)


def internal_error(exc: BaseException, inputs: list[str], debug: bool, as_json: bool) -> int:
    """An error nobody raised on purpose: one line naming the inputs, exit 70."""
    if debug:
        import traceback

        traceback.print_exception(exc)
    named = f" while reading {', '.join(inputs)}" if inputs else ""
    hint = "" if debug else "; run again with --debug for the traceback"
    what = f"{type(exc).__name__}: {exc}"[:300]
    line = f"internal error{named} ({what}): this is a bug in nhn-appliance{hint}"
    if as_json:
        click.echo(error_json(RuntimeError(line), INTERNAL_ERROR))
    echo(f"error: {one_line(line)}", err=True)
    return INTERNAL_ERROR


def named_inputs(argv: list[str], environ: dict[str, str]) -> list[str]:
    """The files and folders a command line names (its own arguments and the input
    variables): an unexpected error says which inputs it was reading."""
    import os

    found = [a for a in argv if a and not a.startswith("-") and os.path.exists(a)]
    for var in ("NHN_APPLIANCE_SITE", "NHN_APPLIANCE_RULES"):
        if environ.get(var) and environ[var] not in found:
            found.append(environ[var])
    return [one_line(f) for f in found][:6]


def warn(lines: Iterable[str]) -> None:
    """Warnings on stderr, one line each, escaped."""
    for line in lines:
        echo(f"warning: {one_line(line)}", err=True)
