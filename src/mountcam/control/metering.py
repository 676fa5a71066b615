"""Exposure decisions from metered light: average metering and a simple program line.

Reflected-light meter calibration (ISO 2720:1974, §5.2 "calibration constant"):

    t = K · N² / (L · S),   K = 12.5 cd·s/m²

for mean scene luminance L (cd/m²), f-number N, ISO speed S and exposure time t (s). A camera
meters through its lens (an M body cannot read the aperture ring): it sees the focal-plane
illuminance E = π·T·L/(4·N²) after lens-shading correction, so the same rule reads

    t · S = π · K · T_cal / (4 · E)

with T_cal the lens transmittance the meter is calibrated for. Combined with the
saturation-based ISO speed this places an average scene about 3 stops below clipping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mountcam.errors import InvalidSetting

METER_CALIBRATION_K = 12.5
#: Transmittance the through-the-lens meter assumes (that of the main module's lens).
METER_CALIBRATION_TRANSMITTANCE = 0.90


@dataclass(frozen=True)
class ExposureLimits:
    """What the hardware allows, and the slowest shutter the program prefers before raising ISO."""

    min_exposure_s: float
    max_exposure_s: float
    iso_min: float
    iso_max: float
    handheld_limit_s: float
    auto_iso_max: float = 6400.0


def exposure_product(mean_illuminance_lux: float) -> float:
    """t·S that the through-the-lens meter asks for: π·K·T_cal/(4·E) (s·ISO)."""
    if not (mean_illuminance_lux > 0 and math.isfinite(mean_illuminance_lux)):
        raise InvalidSetting("the scene is black: nothing to meter; set shutter and ISO")
    return (
        math.pi
        * METER_CALIBRATION_K
        * METER_CALIBRATION_TRANSMITTANCE
        / (4.0 * mean_illuminance_lux)
    )


def average_exposure(
    mean_illuminance_lux: float,
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
    return exposure_for_product(
        exposure_product(mean_illuminance_lux), limits, exposure_s=exposure_s, iso=iso
    )


def exposure_for_product(
    product: float,
    limits: ExposureLimits,
    *,
    exposure_s: float | None = None,
    iso: float | None = None,
) -> tuple[float, float]:
    """(exposure_s, iso) giving the exposure product t·S (s·ISO), honouring whichever is fixed.

    Program line when both are free: ISO at minimum and the shutter opens up to the handheld
    limit; then ISO rises up to ``auto_iso_max``; then the shutter lengthens. Results are
    clamped to the hardware's ranges.
    """
    if exposure_s is not None and iso is not None:
        return exposure_s, iso

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
