"""The dead-leaves texture: occluding disks with a scale-invariant size distribution.

Disks ("leaves") of radius r with density ∝ r⁻³ between ``r_min`` and ``r_max`` fall one on
another until the plane is covered; the picture is what the top layer shows. The r⁻³ law makes
the texture scale-invariant — its power spectrum falls as 1/f² like that of natural images —
which is why it is the texture target of ISO 19567-2 (texture reproduction, "dead leaves")
and of denoising and demosaicing studies (Lee, Mumford & Huang, "Occlusion models for natural
images", IJCV 41(1/2), 2001; Cao, Guichard & Hornung, "Dead leaves model for measuring
texture quality on a digital camera", Proc. SPIE 7537, 2010).

Generated front to back (each new leaf lies *under* the ones before, which is the same law)
until the uncovered share is below 10⁻³ in expectation; what remains uncovered shows the
mean reflectance. Colours are independent linear-sRGB reflectances. The content is defined in
canvas coordinates, independent of the grid it is rendered on; each pixel is the mean of a
k×k supersampled block (k = 4 on small grids, down to 1 on the whole sensor), a box filter
to within 1/k² of a pixel's area at each leaf edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from mountcam.jit import njit
from mountcam.scene.scene import RgbSample, Scene, ViewGrid

#: The canvas square the leaves cover, ± this (a view's width spans canvas -1..1).
EXTENT = 1.3
#: Largest label image the renderer draws, pixels (the supersampling drops to fit it).
MAX_LABEL_PIXELS = 16_000_000
#: Reflectances are drawn per channel from this range (a matte black to a light grey).
REFLECTANCE_RANGE = (0.03, 0.85)


@dataclass(frozen=True)
class DeadLeaves:
    """A dead-leaves texture from ``seed``, radii ``r_min``..``r_max`` in canvas units (the
    view's width is 2 canvas units)."""

    seed: int = 0
    r_min: float = 0.005
    r_max: float = 0.3
    aspect: float | None = field(default=None, init=False)
    framing: str = field(default="cover", init=False)

    def __post_init__(self) -> None:
        if not 0 < self.r_min < self.r_max:
            raise ValueError("dead leaves need 0 < r_min < r_max")

    @cached_property
    def leaves(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(centres (N, 2), radii (N,), colours (N, 3)), front leaf first."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0xDEAD1EAF]))
        # E[r²] for the density ∝ r⁻³ on [r_min, r_max]; N leaves leave exp(-N·π·E[r²]/A) bare.
        a, b = self.r_min, self.r_max
        mean_r2 = 2 * a * a * b * b / (b * b - a * a) * math.log(b / a)
        area = (2 * EXTENT) ** 2
        count = int(math.ceil(math.log(1e3) * area / (math.pi * mean_r2)))
        u = rng.random(count)
        # Inverse CDF of the r⁻³ law: r = (a⁻² − u·(a⁻² − b⁻²))^(−1/2).
        radii = (a**-2 - u * (a**-2 - b**-2)) ** -0.5
        centres = rng.uniform(-EXTENT, EXTENT, (count, 2))
        colours = rng.uniform(*REFLECTANCE_RANGE, (count, 3)).astype(np.float32)
        return centres, radii, colours

    def render(self, grid: ViewGrid) -> RgbSample:
        centres, radii, colours = self.leaves
        k = int(
            max(1, min(4, math.floor(math.sqrt(MAX_LABEL_PIXELS / (grid.width * grid.height)))))
        )
        sub = grid.step / k
        left = grid.x0 - grid.step / 2
        top = grid.y0 - grid.step / 2
        w, h = grid.width * k, grid.height * k
        bare = len(radii)
        labels = np.full((h, w), bare, np.int32)
        x = (centres[:, 0] - left) / sub - 0.5
        y = (centres[:, 1] - top) / sub - 0.5
        r = radii / sub
        _paint(labels, x, y, r)
        palette = np.vstack([colours, colours.mean(axis=0, keepdims=True)])
        return RgbSample(rgb=box_mean_colours(labels, palette, k))


@njit(cache=True)
def _paint(labels, x, y, r):  # pragma: no cover - compiled
    """Label each pixel (centre at integer coordinates) with the front-most leaf covering it:
    leaves painted back to front, a pixel inside when its centre is within the radius."""
    h, w = labels.shape
    for i in range(x.size - 1, -1, -1):
        r2 = r[i] * r[i]
        top = max(0, int(math.ceil(y[i] - r[i])))
        bottom = min(h - 1, int(math.floor(y[i] + r[i])))
        left = max(0, int(math.ceil(x[i] - r[i])))
        right = min(w - 1, int(math.floor(x[i] + r[i])))
        for row in range(top, bottom + 1):
            dy = row - y[i]
            for col in range(left, right + 1):
                dx = col - x[i]
                if dx * dx + dy * dy <= r2:
                    labels[row, col] = i


def box_mean_colours(labels: np.ndarray, palette: np.ndarray, k: int) -> np.ndarray:
    """Each k×k block of ``labels`` (H·k, W·k) as the mean of its labels' ``palette`` colours:
    (H, W, 3) float32. The same as ``palette[labels]`` averaged over the blocks, without the
    k²-times larger colour image between (which made the render memory-bound: two dataset
    workers on two cores slowed each other on it)."""
    height, width = labels.shape[0] // k, labels.shape[1] // k
    out = np.empty((height, width, 3), np.float32)
    _box_mean_colours(labels, np.ascontiguousarray(palette, dtype=np.float32), k, out)
    return out


@njit(cache=True)
def _box_mean_colours(labels, palette, k, out):  # pragma: no cover - compiled
    height, width = out.shape[0], out.shape[1]
    scale = 1.0 / (k * k)
    for row in range(height):
        for col in range(width):
            r = 0.0
            g = 0.0
            b = 0.0
            for i in range(row * k, row * k + k):
                for j in range(col * k, col * k + k):
                    label = labels[i, j]
                    r += palette[label, 0]
                    g += palette[label, 1]
                    b += palette[label, 2]
            out[row, col, 0] = r * scale
            out[row, col, 1] = g * scale
            out[row, col, 2] = b * scale


def dead_leaves_scene(seed: int, **kwargs) -> Scene:
    """A dead-leaves scene under D65 at the default light (the caller sets light and level)."""
    from mountcam.scene.illuminants import illuminant

    return Scene(
        name=f"random:dead-leaves#{seed}",
        content=DeadLeaves(seed=seed),
        illuminant=illuminant("D65"),
        **kwargs,
    )
