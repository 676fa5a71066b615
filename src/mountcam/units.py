"""Physical constants and unit parsing shared by every package.

Values are SI (CODATA 2018 exact constants). Parsing helpers turn what a photographer types
(``1/250``, ``2800K``) into SI numbers and raise :class:`~mountcam.errors.InvalidSetting` with a
readable message otherwise.
"""

from __future__ import annotations

import math
from fractions import Fraction

from mountcam.errors import InvalidSetting

PLANCK_J_S = 6.62607015e-34
LIGHT_SPEED_M_S = 299792458.0
#: Maximum luminous efficacy of photopic vision, lm/W (CIE; SI definition of the candela).
KM_LM_PER_W = 683.0


def parse_shutter_s(text: str) -> float:
    """Parse an exposure time: ``"1/250"``, ``"0.004"``, ``"2"``, ``"2s"`` -> seconds."""
    raw = text.strip().lower().removesuffix("s").strip()
    try:
        value = float(Fraction(raw))
    except (ValueError, ZeroDivisionError):
        raise InvalidSetting(
            f"shutter '{text}' is not a time; write seconds (0.5, 2) or a fraction (1/250)"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise InvalidSetting(f"shutter must be longer than 0 s (got '{text}')")
    return value


def dial_shutter_hint(exposure_s: float, min_s: float, max_s: float) -> str:
    """``"; did you mean 1/250?"`` for a time too long to take that, read as a shutter dial
    shows it (250 for 1/250 s), is one the camera has; else ``""``."""
    if exposure_s > max_s * (1 + 1e-9) and min_s * (1 - 1e-9) <= 1.0 / exposure_s <= max_s:
        return f"; did you mean 1/{exposure_s:g}?"
    return ""


def format_shutter(exposure_s: float) -> str:
    """Format an exposure time as a photographer writes it: ``1/250``, ``0.3``, ``2``."""
    if exposure_s >= 0.3:
        text = f"{exposure_s:.3g}"
        return text
    return f"1/{round(1.0 / exposure_s)}"


def parse_crop(text: str) -> tuple[int, int]:
    """Parse ``WxH`` (pixels) -> (width, height)."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        width, height = (int(p) for p in parts)
    except ValueError:
        raise InvalidSetting(f"crop '{text}' is not WIDTHxHEIGHT in pixels, e.g. 512x384") from None
    return width, height
