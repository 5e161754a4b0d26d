"""The one Jinja2 environment every renderer uses (strict, no autoescape).

Templates own layout and syntax; Python only builds the view data. Values that
come from free text go through the ``comment`` filter.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from nhn_appliance.render.escape import comment

TEMPLATES = Path(__file__).with_name("templates")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
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
