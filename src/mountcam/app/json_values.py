"""Values for JSON output (``shoot --json``, the camera app's API): JSON has no infinity."""

from __future__ import annotations

import math


def json_safe(value):
    """``value`` with non-finite floats (a focus at infinity) as None, through dicts, lists
    and tuples (tuples become lists)."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
