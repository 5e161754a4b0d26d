"""JSON: the report model itself (schema nhn-appliance/report/1, report.schema.json)."""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """JSON (RFC 8259) has no NaN or Infinity: a non-finite number from the
    document's evidence becomes null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def render(report: dict[str, Any]) -> str:
    return json.dumps(finite(report), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
