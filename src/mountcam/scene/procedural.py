"""Procedural 3-D scenes: worlds rendered at the sensor's own sampling, with exact depth.

A sample photograph limits resolution to its own pixels (the motorcycle is 741 px wide; through
a 135 mm lens it is mush). These scenes are defined in metres in front of the camera and
rendered analytically onto whatever pixel grid the lens asks for, like the charts: every pixel
is the box-filtered (area-averaged) content over its own aperture, and its depth is the exact
distance along the axis of what its centre sees. Resolution is then limited by the lens and the
sensor alone.

Geometry. The camera sits at the origin looking along +Z; +X is right, +Y *down* (row 0 is the
top of the image). The content is rendered in tangent coordinates ``(x/z, y/z)`` (the scene's
field of view is fixed at 90°, so canvas coordinates *are* tangents, and a lens frames these
worlds by its own angles: nothing is stretched to fit). The primitives, all with exact or
near-exact box filtering:

* **cards**: flat rectangles facing the camera at a distance ``z`` (axis-aligned: exact area
  coverage, separable), carrying a texture: flat; a **sinusoidal grating** or a sum of three
  (a fine texture; a sinusoid box-filtered over a square pixel is the sinusoid times
  ``sinc(π f_x s)·sinc(π f_y s)``, exact); an ISO 12233 **slanted edge** (exact half-plane
  coverage, as ``chart:slanted-edge``); **digits** in seven-segment form (each segment an
  axis-aligned rectangle: exact coverage), so each target says its distance;
* a **ground plane** ``Y = h`` below the camera (``z = h / y_tan``; paving as sinusoids whose
  local frequency in the image follows the perspective, box-filtered as above) meeting a
  **sky** (a gradient, at infinity) at the horizon, with exact coverage across it;
* **discs**: point lights (emitters, values above 1) and round things, coverage from the
  distance to the rim;
* **strands**: thin curved hair, line segments whose coverage is the box-filtered area of a
  line of their width (near-exact for straight pieces).

Cards, discs and strands are composited far to near with their coverage (Porter–Duff "over");
a pixel's depth is that of the nearest primitive covering its centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from mountcam.jit import njit, prange
from mountcam.scene.scene import RgbSample, ViewGrid

#: The field of view these worlds are declared with: 90°, so that tan(hfov/2) = 1 and the
#: canvas coordinates of :mod:`mountcam.scene.scene` are the tangents of the view.
PROCEDURAL_HFOV_RAD = math.pi / 2.0

#: How far below the horizon a lens on this camera can look, degrees (the widest, the 16 mm
#: of the Tri-Elmar, 17° on the 1-inch sensor; the main lens 29°): the ground's nearest
#: visible distance for the depth range.
GROUND_VIEW_DEG = 35.0
# Kinds of primitive (column 0 of the table).
_CARD, _DISC, _STRAND = 0, 1, 2
# Card textures (column 9).
_FLAT, _GRATING, _FINE, _EDGE, _DIGITS = 0, 1, 2, 3, 4
#: Columns of the primitive table: kind, z (m), x0, y0, x1, y1 (m at z; for a disc: centre x,
#: y, radius; for a strand: the two end points), r, g, b (reflectance), texture, p0..p5.
_COLUMNS = 16

# Seven-segment layout of a digit cell of width 1 and height 2 (x0, y0, x1, y1 per segment:
# a top, b upper right, c lower right, d bottom, e lower left, f upper left, g middle) and the
# segments each character lights ("." is the decimal point, "m" a narrow stroke pair).
_SEGMENTS = np.array(
    [
        [0.1, 0.0, 0.9, 0.15],
        [0.8, 0.05, 0.95, 1.0],
        [0.8, 1.0, 0.95, 1.95],
        [0.1, 1.85, 0.9, 2.0],
        [0.05, 1.0, 0.2, 1.95],
        [0.05, 0.05, 0.2, 1.0],
        [0.1, 0.925, 0.9, 1.075],
    ]
)
_GLYPHS = {
    "0": "abcdef",
    "1": "bc",
    "2": "abged",
    "3": "abgcd",
    "4": "fgbc",
    "5": "afgcd",
    "6": "afgedc",
    "7": "abc",
    "8": "abcdefg",
    "9": "abcdfg",
}


def digit_rectangles(text: str, x0: float, y0: float, height: float) -> list[tuple]:
    """Axis-aligned rectangles (x0, y0, x1, y1) writing ``text`` (digits, ".") in seven-segment
    form, ``height`` tall, top-left at (x0, y0), in the card's metres."""
    unit = height / 2.0
    rects = []
    x = x0
    for ch in text:
        if ch == ".":
            rects.append((x, y0 + 1.8 * unit, x + 0.2 * unit, y0 + 2.0 * unit))
            x += 0.5 * unit
            continue
        for seg in _GLYPHS.get(ch, ""):
            a, b, c, d = _SEGMENTS["abcdefg".index(seg)]
            rects.append((x + a * unit, y0 + b * unit, x + c * unit, y0 + d * unit))
        x += 1.3 * unit
    return rects


# --------------------------------------------------------------------------------------------
# The renderer
# --------------------------------------------------------------------------------------------


@njit(inline="always")
def _overlap(c, half, lo, hi):  # pragma: no cover - compiled
    """Fraction of [c − half, c + half] inside [lo, hi]."""
    a = max(c - half, lo)
    b = min(c + half, hi)
    return max(0.0, min(1.0, (b - a) / (2.0 * half)))


@njit(inline="always")
def _sinc(x):  # pragma: no cover - compiled
    return 1.0 if abs(x) < 1e-9 else math.sin(x) / x


@njit(inline="always")
def _box_sinusoid(fx, fy, phase, s):  # pragma: no cover - compiled
    """cos(2π(fx·x + fy·y) + φ) averaged over a square of side ``s`` centred at the origin."""
    return math.cos(phase) * _sinc(math.pi * fx * s) * _sinc(math.pi * fy * s)


@njit(inline="always")
def _halfplane(d, a, b):  # pragma: no cover - compiled
    """Exact area fraction of a square on the positive side of a line (see
    :func:`mountcam.scene.charts.halfplane_coverage`)."""
    half_sum = 0.5 * (a + b)
    if d >= half_sum:
        return 1.0
    if d <= -half_sum:
        return 0.0
    half_diff = 0.5 * (a - b)
    if b < 1e-12 * a or (-half_diff <= d <= half_diff):
        return min(1.0, max(0.0, 0.5 + d / a))
    if d > 0.0:
        e = half_sum - d
        return 1.0 - e * e / (2.0 * a * b)
    e = half_sum + d
    return e * e / (2.0 * a * b)


@njit(inline="always")
def _card_texture(p, rects, u, v, s, out):  # pragma: no cover - compiled
    """The card's reflectance at pixel (u, v) of side ``s`` (tangent units), box-filtered."""
    z = p[1]
    kind = int(p[9])
    for c in range(3):
        out[c] = p[6 + c]
    # Card coordinates in metres at the card's distance; pixel side in metres there.
    x = u * z
    y = v * z
    sm = s * z
    if kind == _GRATING or kind == _FINE:
        contrast = p[10]
        value = 0.0
        n = 1 if kind == _GRATING else 3
        for k in range(n):
            freq = p[11] * (1.0 + 0.7 * k)  # cycles per metre
            ang = p[12] + 1.1 * k
            fx = freq * math.cos(ang)
            fy = freq * math.sin(ang)
            ph = 2.0 * math.pi * (fx * x + fy * y) + 0.9 * k
            value += _box_sinusoid(fx, fy, ph, sm) / n
        for c in range(3):
            out[c] *= 1.0 + contrast * value
    elif kind == _EDGE:
        # ISO 12233: dark and bright halves (p10, p11), the edge through (p13, p14) tilted
        # p12 radians from vertical.
        ang = p[12]
        nx = math.cos(ang)
        ny = -math.sin(ang)
        d = nx * (x - p[13]) + ny * (y - p[14])
        cover = _halfplane(d, max(abs(nx), abs(ny)) * sm, min(abs(nx), abs(ny)) * sm)
        value = p[10] + (p[11] - p[10]) * cover
        for c in range(3):
            out[c] = value
    elif kind == _DIGITS:
        # Dark strokes (rects p[13] .. p[13] + p[14]) on the card's colour.
        ink = 0.0
        half = 0.5 * sm
        for k in range(int(p[13]), int(p[13] + p[14])):
            ink += _overlap(x, half, rects[k, 0], rects[k, 2]) * _overlap(
                y, half, rects[k, 1], rects[k, 3]
            )
        ink = min(ink, 1.0)
        for c in range(3):
            out[c] = out[c] * (1.0 - ink) + p[10] * ink


@njit(parallel=True, cache=True)
def _render_kernel(
    x0, y0, step, width, height, prims, rects, ground_h, ground, sky, rgb, depth
):  # pragma: no cover - compiled
    half = 0.5 * step
    n = prims.shape[0]
    for row in prange(height):
        v = y0 + row * step
        tex = np.empty(3, dtype=np.float64)
        # Primitives this row can see (their v extent, widened by a pixel).
        active = np.empty(n, dtype=np.int64)
        m = 0
        for k in range(n):
            p = prims[k]
            z = p[1]
            if p[0] == _CARD:
                lo, hi = p[3] / z, p[5] / z
            elif p[0] == _DISC:
                lo, hi = (p[3] - p[4]) / z, (p[3] + p[4]) / z
            else:
                w = 0.5 * p[10]
                lo = (min(p[3], p[5]) - w) / z
                hi = (max(p[3], p[5]) + w) / z
            if hi >= v - step and lo <= v + step:
                active[m] = k
                m += 1
        for col in range(width):
            u = x0 + col * step
            # Background: sky above the horizon, ground below; exact split across it.
            g_cover = _overlap(v, half, 0.0, 1e30) if ground_h > 0.0 else 0.0
            zc = math.inf
            r = g = b = 0.0
            if g_cover < 1.0:
                t = min(1.0, max(0.0, -v))  # brighter towards the horizon
                for c in range(3):
                    sky_c = sky[c] * (1.0 - 0.5 * t)
                    if c == 0:
                        r = sky_c
                    elif c == 1:
                        g = sky_c
                    else:
                        b = sky_c
                r *= 1.0 - g_cover
                g *= 1.0 - g_cover
                b *= 1.0 - g_cover
            if g_cover > 0.0:
                vv = max(v, 1e-6)
                zg = ground_h / vv
                # Paving: two sinusoids in X and Z (metres), at the local image frequency.
                fx = ground[3] * ground_h / vv  # cycles per tangent unit along u
                fz = ground[3] * ground_h / (vv * vv)  # along v
                xg = u * zg
                pave = 1.0 + ground[4] * 0.5 * (
                    math.cos(2.0 * math.pi * ground[3] * xg) * _sinc(math.pi * fx * step)
                    + math.cos(2.0 * math.pi * ground[3] * zg) * _sinc(math.pi * fz * step)
                )
                r += g_cover * ground[0] * pave
                g += g_cover * ground[1] * pave
                b += g_cover * ground[2] * pave
                if v > 0.0:
                    zc = zg
            # Primitives, far to near (the table is sorted by distance, farthest first).
            for a in range(m):
                p = prims[active[a]]
                z = p[1]
                kind = p[0]
                if kind == _CARD:
                    cover = _overlap(u, half, p[2] / z, p[4] / z) * _overlap(
                        v, half, p[3] / z, p[5] / z
                    )
                    if cover <= 0.0:
                        continue
                    _card_texture(p, rects, u, v, step, tex)
                    centre_in = p[2] / z <= u <= p[4] / z and p[3] / z <= v <= p[5] / z
                elif kind == _DISC:
                    du = u - p[2] / z
                    dv = v - p[3] / z
                    dist = math.sqrt(du * du + dv * dv)
                    rad = p[4] / z
                    cover = min(1.0, max(0.0, 0.5 + (rad - dist) / step))
                    if rad < half:  # smaller than a pixel: its area, spread over the pixel
                        cover = min(1.0, max(0.0, 0.5 + (half - dist) / step)) * (
                            math.pi * rad * rad / (step * step)
                        )
                    if cover <= 0.0:
                        continue
                    for c in range(3):
                        tex[c] = p[6 + c]
                    centre_in = dist <= rad
                else:
                    # Distance from the pixel centre to the segment, in tangent units.
                    ax, ay = p[2] / z, p[3] / z
                    bx, by = p[4] / z, p[5] / z
                    ex, ey = bx - ax, by - ay
                    ll = ex * ex + ey * ey
                    t = (
                        0.0
                        if ll == 0.0
                        else min(1.0, max(0.0, ((u - ax) * ex + (v - ay) * ey) / ll))
                    )
                    dx = u - ax - t * ex
                    dy = v - ay - t * ey
                    dist = math.sqrt(dx * dx + dy * dy)
                    wt = p[10] / z
                    # A line of width wt over a square pixel: its area fraction near the
                    # centre line, falling off over a pixel.
                    cover = min(1.0, wt / step) * min(
                        1.0, max(0.0, 0.5 + (max(wt, step) * 0.5 - dist) / step)
                    )
                    if cover <= 0.0:
                        continue
                    for c in range(3):
                        tex[c] = p[6 + c]
                    centre_in = dist <= 0.5 * wt
                r = cover * tex[0] + (1.0 - cover) * r
                g = cover * tex[1] + (1.0 - cover) * g
                b = cover * tex[2] + (1.0 - cover) * b
                if centre_in:
                    zc = z
            rgb[row, col, 0] = r
            rgb[row, col, 1] = g
            rgb[row, col, 2] = b
            depth[row, col] = zc


# --------------------------------------------------------------------------------------------
# The scenes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProceduralScene:
    """A world of primitives rendered at any sampling (see the module docstring).

    ``primitives`` (N, 16) float64 rows (see ``_COLUMNS``), sorted far to near; ``rects``
    (M, 4) the digits' strokes; ``ground_height_m`` the camera's height over the ground
    (0: no ground); ``ground`` (r, g, b, paving cycles per metre, paving contrast); ``sky``
    (r, g, b) at the zenith (emitting); ``description`` for ``scenes list``.
    """

    name: str
    description: str
    primitives: np.ndarray = field(repr=False)
    rects: np.ndarray = field(repr=False)
    ground_height_m: float = 0.0
    ground: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0)
    sky: tuple[float, float, float] = (0.0, 0.0, 0.0)
    aspect: float | None = field(default=None, init=False)

    def depth_range_m(self) -> tuple[float, float]:
        """Nearest and farthest distance a lens here can see (the sky is at infinity; the
        ground counts from :data:`GROUND_VIEW_DEG` below the horizon), metres."""
        z = self.primitives[:, 1]
        far = math.inf if self.sky != (0.0, 0.0, 0.0) else float(z.max())
        near = float(z.min())
        if self.ground_height_m > 0.0:
            ground = self.ground_height_m / math.tan(math.radians(GROUND_VIEW_DEG))
            near = min(near, ground)
        return near, far

    def info(self) -> dict:
        near, far = self.depth_range_m()
        return {
            "source": f"set:{self.name}",
            "procedural": True,
            "depth_range_m": [near, far if math.isfinite(far) else "inf"],
        }

    def render(self, grid: ViewGrid) -> RgbSample:
        rgb = np.empty((grid.height, grid.width, 3), dtype=np.float32)
        depth = np.empty((grid.height, grid.width), dtype=np.float32)
        _render_kernel(
            float(grid.x0),
            float(grid.y0),
            float(grid.step),
            grid.width,
            grid.height,
            self.primitives,
            self.rects,
            float(self.ground_height_m),
            np.asarray(self.ground, dtype=np.float64),
            np.asarray(self.sky, dtype=np.float64),
            rgb,
            depth,
        )
        return RgbSample(rgb=rgb, depth_m=depth)


class _Builder:
    """Collects primitives (in metres) and sorts them far to near."""

    def __init__(self) -> None:
        self.rows: list[list[float]] = []
        self.rects: list[tuple] = []

    def card(self, z, x0, y0, x1, y1, rgb, texture=_FLAT, params=(0.0,) * 6):
        self.rows.append([_CARD, z, x0, y0, x1, y1, *rgb, texture, *params])

    def disc(self, z, x, y, radius, rgb):
        self.rows.append([_DISC, z, x, y, radius, 0.0, *rgb, 0.0, 0.0, 0, 0, 0, 0, 0])

    def strand(self, z, ax, ay, bx, by, width, rgb):
        self.rows.append([_STRAND, z, ax, ay, bx, by, *rgb, 0.0, width, 0, 0, 0, 0, 0])

    def label(self, z, x0, y0, x1, y1, text, paper, ink):
        """A card with ``text`` written on it in seven-segment digits."""
        height = 0.5 * (y1 - y0)
        first = len(self.rects)
        self.rects += digit_rectangles(text, x0 + 0.15 * height, y0 + 0.25 * height, height)
        params = (ink, 0.0, 0.0, float(first), float(len(self.rects) - first), 0.0)
        self.card(z, x0, y0, x1, y1, paper, _DIGITS, params)

    def build(self):
        table = np.array(self.rows, dtype=np.float64).reshape(-1, _COLUMNS)
        # Far to near; at equal distance keep the order given (a label over its card).
        order = np.lexsort((np.arange(len(table)), -table[:, 1]))
        rects = np.array(self.rects, dtype=np.float64).reshape(-1, 4)
        return table[order], rects


#: Distances of the depth-of-field rail's targets, metres.
RAIL_DISTANCES_M = (0.5, 0.7, 1.0, 1.4, 2.0, 3.0, 5.0, 7.0, 10.0, 14.0, 20.0)
#: Where the rail's slanted edge stands (on the axis), metres.
RAIL_EDGE_M = 5.0


def _dof_rail() -> ProceduralScene:
    b = _Builder()
    # A back wall at 30 m and the rail's targets, stepping from near left to far right so that
    # each shows beside the nearer ones; each 1:1 target is 4.6 % of its distance wide (it
    # spans about 2.6°), half fine texture, half its distance in figures.
    b.card(30.0, -40.0, -6.0, 40.0, 0.4, (0.35, 0.33, 0.3), _FINE, (0.25, 0.5, 0.4, 0, 0, 0))
    others = [z for z in RAIL_DISTANCES_M if z != RAIL_EDGE_M]
    for k, z in enumerate(others):
        # Alternately left and right of the axis, from 4.5° out (a 135 mm sees ±2.8°).
        side = 0.046 * z
        angle = math.radians((-1.0) ** k * (4.5 + 3.0 * (k // 2)))
        cx = math.tan(angle) * z
        top = -0.5 * side + 0.01 * z * (k % 3 - 1)
        b.card(z, cx - side / 2, top, cx + side / 2, top + side / 2, (0.7, 0.68, 0.62), _FINE,
               (0.9, 2000.0 / z * 0.2, 0.3 + 0.4 * k, 0, 0, 0))  # fmt: skip
        text = f"{z:g}"
        b.label(z, cx - side / 2, top + side / 2, cx + side / 2, top + side, text,
                (0.85, 0.85, 0.82), 0.04)  # fmt: skip
    # On the axis at 5 m: an ISO 12233 slanted edge card (4:1, 5°), 0.3 m square, with a
    # fine grating and the distance below it.
    z = RAIL_EDGE_M
    b.card(z, -0.15, -0.15, 0.15, 0.15, (0.5, 0.5, 0.5), _EDGE,
           (0.2, 0.8, math.radians(5.0), 0.0, 0.0, 0.0))  # fmt: skip
    b.card(z, -0.15, 0.15, 0.0, 0.25, (0.6, 0.6, 0.6), _GRATING, (0.9, 400.0, 0.0, 0, 0, 0))
    b.label(z, 0.0, 0.15, 0.15, 0.25, "5", (0.85, 0.85, 0.82), 0.04)
    table, rects = b.build()
    return ProceduralScene(
        "dof-rail",
        "depth-of-field rail: textured targets with their distance written on them at "
        "0.5-20 m, a slanted edge at 5 m on the axis, ground and sky",
        table,
        rects,
        ground_height_m=0.4,
        ground=(0.3, 0.28, 0.25, 4.0, 0.5),
        sky=(0.9, 0.95, 1.1),
    )


def _portrait() -> ProceduralScene:
    b = _Builder()
    rng = np.random.default_rng(7)
    # A dark wall at 12 m with 60 point lights (fairy lights: emitters 20-60× white) at 8-12 m.
    b.card(12.5, -20.0, -15.0, 20.0, 15.0, (0.04, 0.035, 0.03))
    for _ in range(60):
        z = float(rng.uniform(8.0, 12.0))
        x, y = rng.uniform(-0.35, 0.35, size=2) * z
        hue = rng.choice(3)
        colour = (
            [30.0, 24.0, 12.0]
            if hue == 0
            else ([40.0, 30.0, 30.0] if hue == 1 else [14.0, 20.0, 40.0])
        )
        b.disc(z, float(x), float(y), 0.006, colour)
    # The subject at 1.5 m: shoulders, a face and hair of 400 strands 60-100 µm thick.
    zs = 1.5
    b.card(zs + 0.05, -0.25, 0.18, 0.25, 0.9, (0.1, 0.12, 0.2), _FINE, (0.4, 300.0, 0.2, 0, 0, 0))
    b.disc(zs, 0.0, 0.0, 0.1, (0.55, 0.38, 0.3))
    b.disc(zs - 0.01, -0.035, -0.02, 0.008, (0.05, 0.04, 0.03))  # eyes
    b.disc(zs - 0.01, 0.035, -0.02, 0.008, (0.05, 0.04, 0.03))
    for _ in range(400):
        start = rng.uniform(-0.8 * math.pi, -0.2 * math.pi)
        r0 = 0.1
        x, y = r0 * math.cos(start), r0 * math.sin(start)
        direction = start + rng.normal(0, 0.3)
        width = float(rng.uniform(60e-6, 100e-6))
        shade = float(rng.uniform(0.08, 0.3))
        colour = (shade, 0.75 * shade, 0.45 * shade)
        for _ in range(6):  # a strand: 6 pieces, each turning a little, falling outwards
            length = float(rng.uniform(0.02, 0.04))
            nx = x + length * math.cos(direction)
            ny = y + length * math.sin(direction) + 0.012
            b.strand(zs - 0.005, x, y, nx, ny, width, colour)
            x, y = nx, ny
            direction += float(rng.normal(0.15 if x > 0 else -0.15, 0.2))
    table, rects = b.build()
    return ProceduralScene(
        "portrait",
        "portrait set-up: a head with 400 hair strands (60-100 µm) at 1.5 m before 60 point "
        "lights at 8-12 m for bokeh, on a dark wall",
        table,
        rects,
    )


def _street() -> ProceduralScene:
    b = _Builder()
    rng = np.random.default_rng(11)
    # Facades on both sides of a street, receding to a horizon; windows on each; poles; a sign
    # with a slanted edge at 25 m.
    for side in (-1.0, 1.0):
        z = 6.0
        while z < 150.0:
            depth = float(rng.uniform(8.0, 16.0))
            height = float(rng.uniform(6.0, 15.0))
            x = side * 7.0
            tone = rng.uniform(0.3, 0.6, size=3)
            # A facade runs along the street, seen obliquely: cards facing the camera every
            # 2 m of its depth, each 3 m deep into the block, stand in for it.
            for zz in np.arange(z, z + depth, 2.0):
                xs = x
                b.card(float(zz), min(xs, xs + side * 3.0), -height + 1.6,
                       max(xs, xs + side * 3.0), 1.6, tuple(tone * 0.9), _FINE,
                       (0.3, 2.0, 0.0, 0, 0, 0))  # fmt: skip
                for wy in np.arange(-height + 2.6, 0.6, 3.0):  # windows
                    b.card(float(zz) - 0.01, min(xs, xs + side * 1.2), float(wy),
                           max(xs, xs + side * 1.2), float(wy) + 1.4, (0.08, 0.1, 0.14))  # fmt: skip
            z += depth + float(rng.uniform(0.5, 3.0))
    for z in (10.0, 20.0, 40.0, 80.0):
        b.card(z, 4.5, -4.5, 4.62, 1.6, (0.2, 0.2, 0.22))  # lamp posts
    b.card(25.0, -0.6, -1.0, 0.6, 0.2, (0.5, 0.5, 0.5), _EDGE,
           (0.15, 0.85, math.radians(5.0), 0.0, -0.4, 0.0))  # fmt: skip
    b.label(25.0, -0.6, 0.2, 0.6, 0.7, "25", (0.9, 0.88, 0.8), 0.05)
    table, rects = b.build()
    return ProceduralScene(
        "street",
        "street to a horizon: facades with windows at 6-150 m, lamp posts, a slanted-edge "
        "sign at 25 m, paving from 3.5 m to the horizon, sky",
        table,
        rects,
        ground_height_m=1.6,
        ground=(0.22, 0.21, 0.2, 2.0, 0.4),
        sky=(0.8, 0.9, 1.2),
    )


_SETS = {"dof-rail": _dof_rail, "portrait": _portrait, "street": _street}


def set_names() -> list[str]:
    """Names accepted after ``set:``."""
    return sorted(_SETS)


@lru_cache(maxsize=8)
def load_set(name: str) -> ProceduralScene:
    """The procedural scene ``set:<name>`` (built once per process)."""
    from mountcam.errors import SceneError

    make = _SETS.get(name)
    if make is None:
        raise SceneError(
            f"unknown set '{name}'; choose one of: " + ", ".join(f"set:{n}" for n in set_names())
        )
    return make()
