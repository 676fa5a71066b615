"""Test charts drawn analytically at the requested sampling (never an upscaled bitmap).

Every chart renders in canvas coordinates (``u`` across the width in [-1, 1], ``v`` downwards
with the same scale, see :mod:`mountcam.scene.scene`) and integrates its content over each
pixel's square aperture of side ``grid.step`` (a box filter), so edges carry exact partial
coverage and a chart looks the same at 1 Mpx and 50 Mpx except for detail.

Charts with exact spectra return a :class:`PaletteSample` (the sensor then integrates the true
spectra, no RGB upsampling involved); the grey ramp returns RGB. None has depth.

References: X-Rite ColorChecker Classic layout and the N. Ohta spectral reflectances shipped by
colour-science (``colour.SDS_COLOURCHECKERS['ColorChecker N Ohta']``); ISO 12233:2017
(slanted edge, 4:1 contrast, ~5° tilt); ISO 12233 / Siemens star for resolution at a glance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from mountcam.errors import SceneError
from mountcam.jit import njit, prange
from mountcam.scene.scene import PaletteSample, RgbSample, ViewGrid
from mountcam.scene.spectral import reflectance_to_linear_srgb
from mountcam.spectra import WAVELENGTHS_NM, cie_tables

_N_WL = WAVELENGTHS_NM.size


def flat_spectrum(value: float) -> np.ndarray:
    """A spectrally flat reflectance of ``value`` on the common grid (81 values)."""
    return np.full(_N_WL, float(value))


def _palette_rgb(spectra: np.ndarray) -> np.ndarray:
    return reflectance_to_linear_srgb(spectra).astype(np.float32)


def _two_tone(weight: np.ndarray, dark: float, bright: float) -> PaletteSample:
    """Neutral ``bright`` where ``weight`` is 1, ``dark`` where 0, area-mixed between."""
    spectra = np.stack([flat_spectrum(dark), flat_spectrum(bright)])
    return PaletteSample(
        index=np.ones(weight.shape, dtype=np.uint8),
        weight=weight,
        background=0,
        spectra=spectra,
        rgb_palette=_palette_rgb(spectra),
    )


def box_overlap(centres: np.ndarray, step: float, lo: float, hi: float) -> np.ndarray:
    """Fraction of each aperture ``[c - step/2, c + step/2]`` that lies inside ``[lo, hi]``."""
    left = np.maximum(centres - 0.5 * step, lo)
    right = np.minimum(centres + 0.5 * step, hi)
    return np.clip((right - left) / step, 0.0, 1.0)


# --------------------------------------------------------------------------------------------
# Exact coverage of a half-plane over a square pixel (slanted edge, Siemens star)
# --------------------------------------------------------------------------------------------


@njit(inline="always")
def _halfplane_coverage(d: float, a: float, b: float) -> float:
    """Area fraction of a square pixel on the positive side of a straight edge.

    ``d`` is the signed distance of the pixel centre from the edge (positive = inside),
    ``a = max(|nx|, |ny|) * step`` and ``b = min(|nx|, |ny|) * step`` for the unit normal
    ``(nx, ny)``. The square's width profile along the normal is a trapezoid: linear growth of
    the covered area over the middle ``a - b`` and quadratic corners of width ``b`` at each
    end. Exact; reduces to ``clip(0.5 + d / step)`` for an axis-aligned edge.
    """
    half_sum = 0.5 * (a + b)
    if d >= half_sum:
        return 1.0
    if d <= -half_sum:
        return 0.0
    half_diff = 0.5 * (a - b)
    if b < 1e-12 * a or (-half_diff <= d <= half_diff):
        value = 0.5 + d / a
        return min(1.0, max(0.0, value))
    if d > 0.0:
        e = half_sum - d
        return 1.0 - e * e / (2.0 * a * b)
    e = half_sum + d
    return e * e / (2.0 * a * b)


def halfplane_coverage(d: np.ndarray, nx: float, ny: float, step: float) -> np.ndarray:
    """Vectorised exact half-plane coverage for an edge with unit normal ``(nx, ny)``.

    ``d`` holds signed distances of pixel centres from the edge (positive = covered side) in the
    same units as ``step``. Same closed form as the renderers' kernel.
    """
    a = max(abs(nx), abs(ny)) * step
    b = min(abs(nx), abs(ny)) * step
    d = np.asarray(d, dtype=np.float64)
    linear = np.clip(0.5 + d / a, 0.0, 1.0)
    if b < 1e-12 * a:
        return linear
    half_sum, half_diff = 0.5 * (a + b), 0.5 * (a - b)
    upper = 1.0 - np.maximum(half_sum - d, 0.0) ** 2 / (2.0 * a * b)
    lower = np.maximum(half_sum + d, 0.0) ** 2 / (2.0 * a * b)
    return np.where(d > half_diff, upper, np.where(d < -half_diff, lower, linear))


@njit(parallel=True, cache=True)
def _edge_kernel(x0, y0, step, nx, ny, out):  # pragma: no cover - compiled
    a = max(abs(nx), abs(ny)) * step
    b = min(abs(nx), abs(ny)) * step
    for row in prange(out.shape[0]):
        dy = ny * (y0 + row * step)
        for col in range(out.shape[1]):
            d = nx * (x0 + col * step) + dy
            out[row, col] = _halfplane_coverage(d, a, b)


@njit(parallel=True, cache=True)
def _star_kernel(x0, y0, step, cycles, radius, out):  # pragma: no cover - compiled
    sector = math.pi / cycles  # angular width of one black or white sector
    for row in prange(out.shape[0]):
        v = y0 + row * step
        for col in range(out.shape[1]):
            u = x0 + col * step
            r = math.sqrt(u * u + v * v)
            theta = math.atan2(v, u)
            if theta < 0.0:
                theta += 2.0 * math.pi
            k = int(theta / sector)
            phi = theta - k * sector
            # Nearest radial edge: at k*sector (distance phi) or (k+1)*sector.
            if phi < 0.5 * sector:
                edge = k * sector
                delta = phi
            else:
                edge = (k + 1) * sector
                delta = sector - phi
            distance = r * math.sin(min(delta, 0.5 * math.pi))
            if k % 2 == 1:  # odd sectors are black: positive distance means "inside black"
                distance = -distance
            nx = abs(math.sin(edge))
            ny = abs(math.cos(edge))
            white = _halfplane_coverage(distance, max(nx, ny) * step, min(nx, ny) * step)
            # Where a sector is narrower than ~2 pixels no single edge describes the aperture:
            # fade to the mean (0.5), fully grey below 1 pixel.
            blend = min(1.0, max(0.0, r * sector / step - 1.0))
            white = blend * white + (1.0 - blend) * 0.5
            # Outside the star's circle: white paper (the circle edge, treated as straight).
            if r > 0.0:
                cx = abs(u) / r
                cy = abs(v) / r
                inside = _halfplane_coverage(radius - r, max(cx, cy) * step, min(cx, cy) * step)
            else:
                inside = 1.0
            out[row, col] = 1.0 - (1.0 - white) * inside


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlantedEdge:
    """ISO 12233:2017 slanted edge: dark left, bright right, tilted 5° from vertical.

    The edge passes through the canvas centre; reflectances 0.2 and 0.8 (4:1 contrast), both
    spectrally flat (neutral under any light). Coverage is the exact area of the half-plane
    over each square pixel. Fills any view (``aspect`` None).
    """

    angle_deg: float = 5.0
    dark: float = 0.2
    bright: float = 0.8
    aspect: float | None = field(default=None, init=False)

    def normal(self) -> tuple[float, float]:
        """Unit normal (nx, ny) pointing to the bright side, in canvas coordinates."""
        a = math.radians(self.angle_deg)
        # Edge direction (sin a, cos a): from vertical, top leaning left (+v is down).
        return math.cos(a), -math.sin(a)

    def render(self, grid: ViewGrid) -> PaletteSample:
        nx, ny = self.normal()
        weight = np.empty((grid.height, grid.width), dtype=np.float32)
        _edge_kernel(float(grid.x0), float(grid.y0), float(grid.step), nx, ny, weight)
        return _two_tone(weight, self.dark, self.bright)


@dataclass(frozen=True)
class SiemensStar:
    """Siemens star: ``cycles`` black/white sector pairs inside a circle on white paper.

    Reflectances 0.05 (black) and 0.9 (white), flat spectra; radius 0.95 of the half width.
    Each pixel takes the exact half-plane coverage of its nearest sector edge; where sectors
    are narrower than two pixels this fades to the mean grey, fully grey below one pixel (the
    box-filtered average of sub-pixel sectors, without the moiré of point sampling).
    """

    cycles: int = 36
    black: float = 0.05
    white: float = 0.9
    radius: float = 0.95
    aspect: float | None = field(default=1.0, init=False)
    #: A test chart is framed whole, with a margin, as a photographer frames it.
    framing: str = field(default="contain", init=False)

    def render(self, grid: ViewGrid) -> PaletteSample:
        weight = np.empty((grid.height, grid.width), dtype=np.float32)
        _star_kernel(
            float(grid.x0), float(grid.y0), float(grid.step), self.cycles, self.radius, weight
        )
        return _two_tone(weight, self.black, self.white)


#: Largest flat-field reflectance: above 1 the "reflectance" is an emitter (a light box).
MAX_FLAT_REFLECTANCE = 100.0


@dataclass(frozen=True)
class FlatField:
    """A uniform, spectrally flat surface of reflectance ``reflectance`` filling the view.

    Values above 1 are emitters (a light box brighter than white), up to 100. The sensor's
    response is exact: one palette entry, no coverage.
    """

    reflectance: float = 1.0
    aspect: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        r = self.reflectance
        if not (
            isinstance(r, int | float) and math.isfinite(r) and 0.0 <= r <= MAX_FLAT_REFLECTANCE
        ):
            raise SceneError(
                f"flat-field reflectance must be between 0 and {MAX_FLAT_REFLECTANCE:g} "
                f"(1 = white, above 1 an emitter); got {r!r}"
            )

    def render(self, grid: ViewGrid) -> PaletteSample:
        spectra = flat_spectrum(self.reflectance)[None, :]
        return PaletteSample(
            index=np.zeros((grid.height, grid.width), dtype=np.uint8),
            weight=None,
            background=0,
            spectra=spectra,
            rgb_palette=_palette_rgb(spectra),
        )


@dataclass(frozen=True)
class GrayRamp:
    """Neutral ramp, linear in reflectance: 0 at u = -1 to 1 at u = +1, clamped outside.

    ``aspect`` None: the ramp spans the width of whatever view shows it (0 at the left edge of
    the frame, 1 at the right) unless the scene fixes a field of view. Returned as RGB
    (r = g = b) so it exercises the spectral-upsampling path; neutral nodes of that table are
    exactly flat spectra. Box filter: exact integral of the clamped ramp over each pixel.
    """

    aspect: float | None = field(default=None, init=False)

    def render(self, grid: ViewGrid) -> RgbSample:
        x = grid.xs().astype(np.float64)
        h = 0.5 * grid.step
        value = (_ramp_integral(x + h) - _ramp_integral(x - h)) / grid.step
        row = np.clip(value, 0.0, 1.0).astype(np.float32)
        rgb = np.broadcast_to(row[None, :, None], (grid.height, grid.width, 3))
        return RgbSample(rgb=np.ascontiguousarray(rgb))


def _ramp_integral(u: np.ndarray) -> np.ndarray:
    # Antiderivative of clip((u + 1) / 2, 0, 1).
    inside = np.clip(u, -1.0, 1.0)
    return (inside + 1.0) ** 2 / 4.0 + np.maximum(u - 1.0, 0.0)


# --------------------------------------------------------------------------------------------
# ColorChecker
# --------------------------------------------------------------------------------------------

#: ColorChecker geometry, millimetres (X-Rite ColorChecker Classic-like: 6 × 4 patches).
CC_PATCH_MM = 34.0
CC_PITCH_MM = 40.0
CC_BORDER_MM = 8.0
CC_COLUMNS = 6
CC_ROWS = 4
CC_WIDTH_MM = CC_COLUMNS * CC_PITCH_MM - (CC_PITCH_MM - CC_PATCH_MM) + 2 * CC_BORDER_MM
CC_HEIGHT_MM = CC_ROWS * CC_PITCH_MM - (CC_PITCH_MM - CC_PATCH_MM) + 2 * CC_BORDER_MM
#: Reflectance of the black surround: a matte black card, ~3 % and spectrally flat (assumed;
#: close to the chart's own "black" patch, which is 3-3.5 % across the visible range).
CC_SURROUND_REFLECTANCE = 0.03
CC_DATASET = "ColorChecker N Ohta"


@lru_cache(maxsize=1)
def colorchecker_spectra() -> tuple[tuple[str, ...], np.ndarray]:
    """Patch names (chart order, row by row from "dark skin") and their (24, 81) reflectances."""
    tables = cie_tables()  # CC_DATASET, as tools/make_colour_data.py sampled it
    return tuple(str(n) for n in tables["colorchecker_names"]), tables["colorchecker"]


def colorchecker_patch_boxes() -> np.ndarray:
    """(24, 4) patch rectangles ``(u0, v0, u1, v1)`` in canvas coordinates, chart order."""
    scale = 2.0 / CC_WIDTH_MM
    boxes = []
    for row in range(CC_ROWS):
        for col in range(CC_COLUMNS):
            x = CC_BORDER_MM + col * CC_PITCH_MM - 0.5 * CC_WIDTH_MM
            y = CC_BORDER_MM + row * CC_PITCH_MM - 0.5 * CC_HEIGHT_MM
            boxes.append([x, y, x + CC_PATCH_MM, y + CC_PATCH_MM])
    return np.array(boxes) * scale


def colorchecker_patch_centres() -> np.ndarray:
    """(24, 2) patch centres ``(u, v)`` in canvas coordinates, chart order."""
    boxes = colorchecker_patch_boxes()
    return np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], axis=1)


@dataclass(frozen=True)
class ColorChecker:
    """24-patch colour chart with the N. Ohta spectral reflectances on a matte black surround.

    Layout: 6 × 4 patches of 34 mm at a 40 mm pitch (6 mm gaps) and an 8 mm border, 250 ×
    170 mm, ``aspect`` 0.68. Palette entries 0-23 are the patches in chart order, 24 the
    surround (also used outside the card). Coverage is exact (axis-aligned rectangles, so the
    box filter separates into 1-D overlaps) as long as a pixel is smaller than the 6 mm gap;
    with coarser pixels each pixel keeps its largest patch only.
    """

    aspect: float | None = field(default=CC_HEIGHT_MM / CC_WIDTH_MM, init=False)
    #: A test chart is framed whole, with a margin, as a photographer frames it.
    framing: str = field(default="contain", init=False)

    def render(self, grid: ViewGrid) -> PaletteSample:
        boxes = colorchecker_patch_boxes()
        xs, ys = grid.xs(), grid.ys()
        col_boxes = boxes[:CC_COLUMNS]
        row_boxes = boxes[::CC_COLUMNS]
        ox = np.stack([box_overlap(xs, grid.step, b[0], b[2]) for b in col_boxes])  # (6, W)
        oy = np.stack([box_overlap(ys, grid.step, b[1], b[3]) for b in row_boxes])  # (4, H)
        best_col = ox.argmax(axis=0)
        best_row = oy.argmax(axis=0)
        wx = ox[best_col, np.arange(xs.size)].astype(np.float32)
        wy = oy[best_row, np.arange(ys.size)].astype(np.float32)
        weight = wy[:, None] * wx[None, :]
        index = (best_row[:, None] * CC_COLUMNS + best_col[None, :]).astype(np.uint8)
        surround = CC_ROWS * CC_COLUMNS
        index[weight <= 0.0] = surround
        _, patches = colorchecker_spectra()
        spectra = np.concatenate([patches, flat_spectrum(CC_SURROUND_REFLECTANCE)[None]])
        return PaletteSample(
            index=index,
            weight=weight,
            background=surround,
            spectra=spectra,
            rgb_palette=_palette_rgb(spectra),
        )
