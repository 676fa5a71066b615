"""Depth of field for a lens state, with the circle of confusion of *this* sensor.

Thin-lens formulas (S. F. Ray, *Applied Photographic Optics*, 3rd ed., Focal Press 2002,
§10.2 "Depth of field"; the same in Kingslake, *Optics in Photography*, 1992, ch. 5): for focal
length f, f-number N, circle of confusion c and focus distance s (measured from the lens),

    H = f² / (N·c) + f                       (hyperfocal distance)
    D_near = s·(H − f) / (H + s − 2f)
    D_far  = s·(H − f) / (H − s)             for s < H, else infinity.

The circle of confusion: the 35 mm convention c = 0.030 mm (1/1443 of the 43.3 mm diagonal)
scaled by the crop factor, c = 0.030 mm / 2.64 ≈ 0.0114 mm on the 1-inch sensor (16 mm
diagonal). An M lens's engraved depth-of-field scale assumes 0.030 mm on 35 mm film and is
therefore about 2.6× too generous on this sensor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Circle of confusion of the 35 mm convention, metres (Ray 2002, §10.2; Zeiss's d/1730 gives
#: 0.025 mm, the common 0.030 mm is used by most depth-of-field tables and lens scales).
COC_35MM_M = 0.030e-3
#: The 35 mm frame's diagonal, metres (36 × 24 mm).
FULL_FRAME_DIAGONAL_M = math.hypot(36e-3, 24e-3)


def circle_of_confusion_m(sensor_diagonal_m: float) -> float:
    """The 35 mm convention's c scaled to a sensor of this diagonal: c_35 / crop factor."""
    if not sensor_diagonal_m > 0:
        raise ValueError("a sensor diagonal must be positive")
    return COC_35MM_M * sensor_diagonal_m / FULL_FRAME_DIAGONAL_M


@dataclass(frozen=True)
class DepthOfField:
    """Near and far limits of acceptable sharpness and the hyperfocal distance, metres
    (``far_m`` is ``inf`` at and beyond the hyperfocal distance)."""

    near_m: float
    far_m: float
    hyperfocal_m: float
    focus_m: float
    coc_m: float

    @property
    def total_m(self) -> float:
        return self.far_m - self.near_m

    def contains(self, distance_m: float) -> bool:
        return self.near_m <= distance_m <= self.far_m

    def as_dict(self) -> dict:
        def finite(v: float) -> float | None:
            return v if math.isfinite(v) else None

        return {
            "near_m": self.near_m,
            "far_m": finite(self.far_m),
            "hyperfocal_m": self.hyperfocal_m,
            "focus_m": finite(self.focus_m),
            "coc_mm": self.coc_m * 1e3,
        }


def depth_of_field(focal_m: float, f_number: float, focus_m: float, coc_m: float) -> DepthOfField:
    """Depth of field of a thin lens focused at ``focus_m`` (``inf`` for infinity)."""
    if not (focal_m > 0 and f_number > 0 and coc_m > 0):
        raise ValueError("focal length, f-number and circle of confusion must be positive")
    if not focus_m > focal_m:
        raise ValueError(f"a lens of {focal_m * 1e3:g} mm cannot focus at {focus_m:g} m")
    f = focal_m
    hyper = f * f / (f_number * coc_m) + f
    if math.isinf(focus_m):
        return DepthOfField(hyper - f, math.inf, hyper, focus_m, coc_m)
    s = focus_m
    near = s * (hyper - f) / (hyper + s - 2 * f)
    far = s * (hyper - f) / (hyper - s) if s < hyper else math.inf
    return DepthOfField(near, far, hyper, s, coc_m)
