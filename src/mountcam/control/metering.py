"""Exposure decisions from metered light: average metering and a simple program line.

Reflected-light meter calibration (ISO 2720:1974, §5.2 "calibration constant"):

    t = K · N² / (L · S),   K = 12.5 cd·s/m²

for mean scene luminance L (cd/m²), f-number N, ISO speed S and exposure time t (s). Combined
with the saturation-based ISO speed this places an average scene about 2.5 stops below clipping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mountcam.errors import InvalidSetting

METER_CALIBRATION_K = 12.5


@dataclass(frozen=True)
class ExposureLimits:
    """What the hardware allows, and the slowest shutter the program prefers before raising ISO."""

    min_exposure_s: float
    max_exposure_s: float
    iso_min: float
    iso_max: float
    handheld_limit_s: float
    auto_iso_max: float = 6400.0


def exposure_product(mean_luminance_cd_m2: float, f_number: float) -> float:
    """t·S that the meter asks for: K·N²/L (s·ISO)."""
    if not (mean_luminance_cd_m2 > 0 and math.isfinite(mean_luminance_cd_m2)):
        raise InvalidSetting("the scene is black: nothing to meter; set --shutter and --iso")
    return METER_CALIBRATION_K * f_number**2 / mean_luminance_cd_m2


def average_exposure(
    mean_luminance_cd_m2: float,
    f_number: float,
    limits: ExposureLimits,
    *,
    exposure_s: float | None = None,
    iso: float | None = None,
) -> tuple[float, float]:
    """(exposure_s, iso) for average metering, honouring whichever of the two is fixed.

    Program line when both are free: ISO at minimum and the shutter opens up to the handheld
    limit; then ISO rises up to ``auto_iso_max``; then the shutter lengthens. Results are
    clamped to the hardware's ranges (a scene too bright or too dark is then over- or
    under-exposed, as on any camera).
    """
    if exposure_s is not None and iso is not None:
        return exposure_s, iso
    product = exposure_product(mean_luminance_cd_m2, f_number)

    def clamp(v: float, lo: float, hi: float) -> float:
        return min(max(v, lo), hi)

    if exposure_s is not None:
        return exposure_s, clamp(product / exposure_s, limits.iso_min, limits.iso_max)
    if iso is not None:
        return clamp(product / iso, limits.min_exposure_s, limits.max_exposure_s), iso
    t = product / limits.iso_min
    if t <= limits.handheld_limit_s:
        return clamp(t, limits.min_exposure_s, limits.max_exposure_s), limits.iso_min
    s = clamp(product / limits.handheld_limit_s, limits.iso_min, limits.auto_iso_max)
    return clamp(product / s, limits.min_exposure_s, limits.max_exposure_s), s
