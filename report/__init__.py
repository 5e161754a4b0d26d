"""Report formats: each renders the report dict of :mod:`.model` and nothing else.

Registered by name and imported only when asked for, so the command line
stays fast. Each module has ``render(report: dict) -> str``; ``nagios`` also
``exit_code(report) -> int``.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from nhn_appliance.errors import UsageError

#: format name -> module
FORMATS: dict[str, str] = {
    "text": "nhn_appliance.report.text",
    "json": "nhn_appliance.report.json_report",
    "nagios": "nhn_appliance.report.nagios",
    "prometheus": "nhn_appliance.report.prometheus",
    "html": "nhn_appliance.report.html",
}


def get_format(name: str) -> ModuleType:
    if name not in FORMATS:
        raise UsageError(f"unknown report format {name!r} (allowed: {', '.join(FORMATS)})")
    return importlib.import_module(FORMATS[name])


def render(report: dict[str, Any], name: str) -> str:
    text: str = get_format(name).render(report)
    return text
