"""JSON: the report model itself (schema nhn-appliance/report/1, report.schema.json)."""

from __future__ import annotations

import json
from typing import Any


def render(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
