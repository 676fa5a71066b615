"""The geometry every optics stage shares: a window of a sensor's pixel grid and where its
pixels lie on the focal plane.

A :class:`SensorWindow` is a rectangle of a full grid of square pixels. Pixel (r, c) of the
window has its centre at

    x = (origin_col + c + 0.5 − full_width/2) · pitch,
    y = (origin_row + r + 0.5 − full_height/2) · pitch          (+y down)

metres from the optical axis, which meets the sensor at the centre of the full grid.

Radial lens models (vignetting, distortion, lateral colour; see :mod:`mountcam.optics.lens`
and :mod:`mountcam.optics.aberrations`) take the normalised radius ρ = r / 21.633 mm, the
half-diagonal of the 35 mm format, the image circle Leica M lenses are designed for.

This module depends on nothing else in ``optics``, so that the image formation
(:mod:`mountcam.optics.imaging`) and the lens geometry (:mod:`mountcam.optics.aberrations`)
can both import it without importing each other.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from mountcam.scene import ViewGrid

#: Half the diagonal of the 35 mm format (36 × 24 mm): ρ = 1 here, metres.
FULL_FRAME_HALF_DIAGONAL_M = math.hypot(36e-3, 24e-3) / 2.0


@dataclass(frozen=True)
class SensorWindow:
    """The pixels being simulated: a window of a full grid of square pixels (pitch in m)."""

    pitch_m: float
    full_width: int
    full_height: int
    origin_row: int
    origin_col: int
    width: int
    height: int

    def grid_m(self) -> ViewGrid:
        """Pixel centres in metres on the focal plane, origin on the optical axis, +y down."""
        x0 = (self.origin_col + 0.5 - self.full_width / 2.0) * self.pitch_m
        y0 = (self.origin_row + 0.5 - self.full_height / 2.0) * self.pitch_m
        return ViewGrid(self.width, self.height, x0, y0, self.pitch_m)


def pixel_centres_m(window: SensorWindow) -> tuple[np.ndarray, np.ndarray]:
    """x (W,) and y (H,) of the pixel centres of ``window``, metres from the axis, +y down."""
    x = (window.origin_col + np.arange(window.width) + 0.5 - window.full_width / 2.0) * (
        window.pitch_m
    )
    y = (window.origin_row + np.arange(window.height) + 0.5 - window.full_height / 2.0) * (
        window.pitch_m
    )
    return x, y


def radial_grid(window: SensorWindow) -> tuple[np.ndarray, np.ndarray]:
    """(ρ, φ) of every pixel centre of ``window``, each (H, W) float32.

    ρ = r / 21.633 mm (:data:`FULL_FRAME_HALF_DIAGONAL_M`); φ = atan2(y, x) in radians, with
    +x to the right and +y down (so φ = +π/2 points to the bottom of the image).
    """
    x, y = pixel_centres_m(window)
    xf = x.astype(np.float32)[None, :]
    yf = y.astype(np.float32)[:, None]
    rho = np.hypot(yf, xf)
    rho *= np.float32(1.0 / FULL_FRAME_HALF_DIAGONAL_M)
    return rho, np.arctan2(yf, xf)


def expand_window(window: SensorWindow, margin_px: int) -> SensorWindow:
    """``window`` grown by ``margin_px`` on every side (may reach past the physical sensor)."""
    m = int(margin_px)
    if m < 0:
        raise ValueError(f"margin must not be negative (got {margin_px})")
    return dataclasses.replace(
        window,
        origin_row=window.origin_row - m,
        origin_col=window.origin_col - m,
        width=window.width + 2 * m,
        height=window.height + 2 * m,
    )


def grow_to(window: SensorWindow, height: int, width: int) -> SensorWindow:
    """``window`` grown at its bottom and right edges to ``height`` × ``width`` pixels.

    Its top-left pixel stays where it was, so offsets measured from it still hold.
    """
    if height < window.height or width < window.width:
        raise ValueError(f"cannot grow a {window.height}×{window.width} window to {height}×{width}")
    return dataclasses.replace(window, width=int(width), height=int(height))
