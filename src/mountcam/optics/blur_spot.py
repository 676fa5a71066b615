"""The shape of a defocus blur spot: the image of the aperture stop, as a convolution kernel.

In geometrical optics a defocused point is imaged as a uniformly lit, scaled copy of the exit
pupil (S. F. Ray, "Applied Photographic Optics", 3rd ed., Focal Press 2002, chapters on depth of
field and on stops and pupils). Its outline is a circle for a round stop and a regular polygon
for an iris of ``n`` straight blades; curved blades, diffraction, aberrations (bright or soft
rims) and optical vignetting ("cat's eye" bokeh off axis) are not modelled here.

**Size convention.** ``diameter_px`` is the *area-equivalent* diameter D: the kernel has the area
of a circle of diameter D, π·D²/4, whatever its outline. This is the convention that makes a
polygonal blur spot agree with the thin-lens circle of confusion c = A·m·|z − z_f|/z computed from
the f-number: the f-number of a lens sets its exposure through the *area* of its entrance pupil
(the illuminance E = π·L/(4·N²) assumes a pupil of area π·(f/N)²/4; see optics/imaging.py), so
an iris marked N has the area of a circle of diameter f/N, and its blur spot has the area of the
thin-lens circle of confusion. (Matching the vertex diameter instead would make a hexagonal spot
17 % smaller in area than the exposure implies.) The circumscribed (vertex) radius of a regular n-gon of that area is

    R = (D/2) · sqrt(2π / (n · sin(2π/n)))

(1.10·D/2 for a hexagon, 1.04·D/2 for nine blades), its inscribed (edge) radius R·cos(π/n).

**Orientation.** ``rotation_rad`` is the direction of one vertex, counter-clockwise from the
+x axis (column index increasing) with +y up (row index decreasing), i.e. as the spot is seen
in the image.
"""

from __future__ import annotations

import math

import numpy as np

from mountcam.errors import InvalidSetting

#: Blade counts from which the iris is treated as round (a 12-gon of the same area lies within
#: +2.3 % / −1.2 % of the circle's radius).
ROUND_FROM_BLADES = 12


def polygon_circumradius(diameter: float, blades: int) -> float:
    """Vertex radius of the regular ``blades``-gon whose area is π·diameter²/4 (0 → circle)."""
    if blades == 0 or blades >= ROUND_FROM_BLADES:
        return diameter / 2.0
    n = blades
    return diameter / 2.0 * math.sqrt(2.0 * math.pi / (n * math.sin(2.0 * math.pi / n)))


def _check_blades(blades: int) -> None:
    if blades < 0 or blades in (1, 2):
        raise InvalidSetting(
            f"an iris with {blades} blades makes no aperture; use 0 for a round stop or 3 or more"
        )


def aperture_kernel(
    diameter_px: float, blades: int, rotation_rad: float = 0.0, *, supersample: int = 8
) -> np.ndarray:
    """The normalised (sum 1) blur spot of a defocused point, float32, odd size, centred.

    ``diameter_px``: area-equivalent diameter in pixels (see the module docstring for why the
    area-equivalent, not the vertex, diameter). ``blades``: 0 (or ≥ 12) for a round stop,
    3…11 for a regular polygon with straight blades. Each pixel's value is the fraction of its
    area inside the outline, estimated on a ``supersample`` × ``supersample`` grid of sub-pixel
    points (area antialiasing), then the whole kernel is divided by its sum. A spot smaller
    than a pixel (``diameter_px`` < 1) is returned as a 1 × 1 delta: below that size the blur
    is not resolved by the pixel grid and blurring would only lose sharpness that is there.
    """
    _check_blades(blades)
    if not math.isfinite(diameter_px) or diameter_px < 0:
        raise InvalidSetting(f"blur diameter must be a finite number ≥ 0 px, not {diameter_px}")
    if supersample < 1:
        raise InvalidSetting(f"supersample must be ≥ 1, not {supersample}")
    if diameter_px < 1.0:
        return np.ones((1, 1), dtype=np.float32)

    radius = polygon_circumradius(diameter_px, blades)
    # Pixel j covers [j − ½, j + ½]; it can touch the outline only if j − ½ < R.
    half = max(0, math.ceil(radius + 0.5) - 1)
    size = 2 * half + 1
    ss = int(supersample)
    # Sub-pixel sample positions, centred in each of the ss × ss cells of a pixel.
    sub = (np.arange(size * ss, dtype=np.float64) + 0.5) / ss - 0.5 - half
    x = sub[None, :]
    y = -sub[:, None]  # +y up: row index grows downwards
    if blades == 0 or blades >= ROUND_FROM_BLADES:
        inside = x * x + y * y <= radius * radius
    else:
        n = blades
        apothem = radius * math.cos(math.pi / n)
        inside = np.ones((size * ss, size * ss), dtype=bool)
        for k in range(n):
            # Outward normal of edge k lies halfway between vertices k and k + 1.
            phi = rotation_rad + math.pi / n + 2.0 * math.pi * k / n
            inside &= x * math.cos(phi) + y * math.sin(phi) <= apothem
    coverage = inside.reshape(size, ss, size, ss).mean(axis=(1, 3))
    total = coverage.sum()
    if total <= 0.0:  # cannot happen for D ≥ 1, kept as a guard against a zero division
        return np.ones((1, 1), dtype=np.float32)
    return (coverage / total).astype(np.float32)
