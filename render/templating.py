"""The one Jinja2 environment every renderer uses (strict, no autoescape).

Templates own layout and syntax; Python only builds the view data. Values that
come from free text go through the ``comment`` filter.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import jinja2

from nhn_appliance.render.escape import comment

TEMPLATES = Path(__file__).with_name("templates")


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates cached per user, so a render does not recompile them.

    Jinja checks the template source before using a cached copy; where the
    cache folder cannot be made (read-only home), templates are compiled each
    time as before.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "nhn-appliance", "jinja")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return None
    if not os.access(folder, os.W_OK):
        return None
    return jinja2.FileSystemBytecodeCache(folder)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["comment"] = comment
    return env


def render_template(name: str, **view: object) -> str:
    return environment().get_template(name).render(**view)
