"""Procedural scenes for exposure tests: backlit, high-key, low-key, a bright window in a dark
room, a spot-lit subject, ordinary average scenes and portraits.

Each scene is neutral shapes on a neutral background, drawn analytically at any resolution
(box-filtered by supersampling). A shape's ``value`` is reflectance × the light falling on it
relative to the scene's nominal light: a face of reflectance 0.3 in the shadow of a backlit
scene at 1/16 of the sky's light is 0.3/16, the sky itself an emitter of value 8. The
*subject* is one shape; its correct exposure is the one that renders its reflectance as that
reflectance, i.e. an 18 % card *in the subject's light* lands on the ISO 12232 mid-grey. Each
scene names the metering mode that suits it, as a photographer would choose it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mountcam.scene import RgbSample, Scene, ViewGrid, illuminant

#: Supersampling per pixel side when rendering shapes.
SUPERSAMPLE = 4
#: Mid-tone reflectance of subjects and of the average scenes' mean (ISO 2720's meter
#: calibration: an average scene reflects about 18 %).
MID_MEAN = 0.18


@dataclass(frozen=True)
class Shape:
    """A rectangle or ellipse with bounding box (u0, v0, u1, v1) in canvas units (u across the
    width in [-1, 1], v down in [-aspect, aspect]) and a neutral ``value``."""

    kind: str
    box: tuple[float, float, float, float]
    value: float

    def inside(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        u0, v0, u1, v1 = self.box
        if self.kind == "rect":
            return (u >= u0) & (u < u1) & (v >= v0) & (v < v1)
        cu, cv = 0.5 * (u0 + u1), 0.5 * (v0 + v1)
        ru, rv = 0.5 * (u1 - u0), 0.5 * (v1 - v0)
        return ((u - cu) / ru) ** 2 + ((v - cv) / rv) ** 2 <= 1.0


@dataclass(frozen=True)
class ShapesContent:
    """Neutral shapes painted in order over a background (later shapes on top)."""

    background: float
    shapes: tuple[Shape, ...]
    aspect: float | None = 0.75
    framing: str = field(default="cover")

    def coverage(self, grid: ViewGrid, index: int | None) -> np.ndarray:
        """(H, W) fraction of each pixel where shape ``index`` is the visible one (None: the
        whole frame)."""
        if index is None:
            return np.ones((grid.height, grid.width), dtype=np.float32)
        u, v = self._subsamples(grid)
        top = self._top(u, v)
        return self._box((top == index).astype(np.float32), grid)

    def render(self, grid: ViewGrid) -> RgbSample:
        u, v = self._subsamples(grid)
        top = self._top(u, v)
        values = np.array([self.background] + [s.value for s in self.shapes], dtype=np.float32)
        grey = self._box(values[top + 1], grid)
        rgb = np.repeat(grey[..., None], 3, axis=2)
        return RgbSample(rgb=np.ascontiguousarray(rgb, dtype=np.float32))

    def _subsamples(self, grid: ViewGrid):
        k = SUPERSAMPLE
        offs = (np.arange(k) + 0.5) / k - 0.5
        xs = (grid.xs()[:, None] + offs[None, :] * grid.step).ravel()
        ys = (grid.ys()[:, None] + offs[None, :] * grid.step).ravel()
        return np.meshgrid(xs, ys)

    def _top(self, u, v) -> np.ndarray:
        top = np.full(u.shape, -1, dtype=np.int64)
        for i, shape in enumerate(self.shapes):
            top[shape.inside(u, v)] = i
        return top

    @staticmethod
    def _box(values: np.ndarray, grid: ViewGrid) -> np.ndarray:
        k = SUPERSAMPLE
        return values.reshape(grid.height, k, grid.width, k).mean(axis=(1, 3)).astype(np.float32)


@dataclass(frozen=True)
class ExposureScene:
    """A test scene, its subject (index into ``content.shapes``; None: the whole frame, whose
    mean reflectance is ``subject_reflectance``), the subject's reflectance (what it should
    render as) and the metering mode that suits it."""

    name: str
    kind: str
    content: ShapesContent
    subject: int | None
    subject_reflectance: float
    metering: str
    #: Luminance of a reflectance-1 white in the scene's nominal light, cd/m².
    white_luminance_cd_m2: float = 1000.0

    def scene(self, light: str = "D55", hfov_rad: float | None = None) -> Scene:
        """The scene under ``light``; with no field of view it fills whatever view shows it."""
        return Scene(
            name=f"exposure:{self.name}",
            content=self.content,
            illuminant=illuminant(light),
            white_luminance_cd_m2=self.white_luminance_cd_m2,
            hfov_rad=hfov_rad,
        )


def _ellipse(cx, cy, rx, ry, value) -> Shape:
    return Shape("ellipse", (cx - rx, cy - ry, cx + rx, cy + ry), value)


def _rect(u0, v0, u1, v1, value) -> Shape:
    return Shape("rect", (u0, v0, u1, v1), value)


def exposure_scenes() -> list[ExposureScene]:
    """The 28 scenes of the AE acceptance (issue 12, acceptance 3), four of each kind."""
    out: list[ExposureScene] = []
    rng = np.random.default_rng(12)
    # Backlit: a person (face + body) in the shade before a bright sky; spot on the face.
    # Subjects are mid-toned (18 %): a meter renders what it reads as mid-grey, so a subject of
    # another tone needs the photographer's compensation whatever the mode.
    face = MID_MEAN
    for i, (shade, sky) in enumerate([(1 / 8, 6.0), (1 / 16, 4.0), (1 / 4, 3.0), (1 / 32, 8.0)]):
        shapes = (
            _rect(-1.0, 0.35, 1.0, 0.75, 0.15 * shade),  # the ground, also in shade
            _ellipse(0.0, 0.55, 0.45, 0.4, 0.1 * shade),  # shoulders, dark clothes
            _ellipse(0.0, -0.02, 0.22, 0.3, face * shade),  # the face: the subject
        )
        out.append(ExposureScene(f"backlit-{i + 1}", "backlit", ShapesContent(sky, shapes), 2,
                                 face, "spot"))  # fmt: skip
    # High-key: white on white, a light-toned subject; highlight-weighted places the white
    # where a diffuse white belongs, so the light subject keeps its tone.
    for i, (bg, subj) in enumerate([(0.9, 0.75), (0.85, 0.6), (0.9, 0.85), (0.8, 0.7)]):
        shapes = (
            _rect(-1.0, 0.4, 1.0, 0.75, bg * 0.95),
            _ellipse(0.0, 0.05, 0.3, 0.45, subj),
            _ellipse(0.45 * (i - 1.5) / 1.5, -0.3, 0.05, 0.05, 0.1),  # a small dark accent
        )
        out.append(ExposureScene(f"high-key-{i + 1}", "high-key", ShapesContent(bg, shapes), 1,
                                 subj, "highlight"))  # fmt: skip
    # Low-key: a mid-toned subject on black; spot (a centre-weighted meter still sees enough
    # black to overexpose by 0.3-0.5 EV).
    subj = MID_MEAN
    for i, (bg, r) in enumerate([(0.02, 0.35), (0.03, 0.4), (0.01, 0.3), (0.03, 0.45)]):
        shapes = (
            _ellipse(0.0, 0.0, r, r * 1.2, subj),
            _ellipse(0.7, -0.5, 0.03, 0.03, 2.0),  # a small highlight
        )
        out.append(ExposureScene(f"low-key-{i + 1}", "low-key", ShapesContent(bg, shapes), 0,
                                 subj, "spot"))  # fmt: skip
    # A small bright window in a dark room (18 % walls, furniture): matrix.
    for i, (area, window) in enumerate([(0.02, 40.0), (0.04, 20.0), (0.015, 80.0), (0.03, 30.0)]):
        side = math.sqrt(area * 2 * 1.5) / 2  # area fraction of the 2 × 1.5 canvas
        cu = [-0.6, 0.55, 0.0, -0.5][i]
        shapes = (
            _rect(-1.0, 0.4, 1.0, 0.75, 0.1),  # floor
            _rect(-0.95, -0.75, 0.95, 0.42, 0.18),  # the walls: the subject
            _rect(-0.3, 0.0, 0.35, 0.5, 0.35),  # a sofa
            _rect(cu - side, -0.45 - side, cu + side, -0.45 + side, window),
        )
        out.append(ExposureScene(f"window-{i + 1}", "window", ShapesContent(0.12, shapes), 1,
                                 0.18, "matrix"))  # fmt: skip
    # A mid-toned performer spot-lit on a dark stage: spot.
    subj = MID_MEAN
    for i, (light, bg) in enumerate([(16.0, 0.05), (8.0, 0.1), (32.0, 0.03), (4.0, 0.05)]):
        shapes = (
            _ellipse(0.0, 0.1, 0.45, 0.55, 0.5 * light / 4),  # the light pool on the floor
            _ellipse(0.0, 0.0, 0.2, 0.32, subj * light / 4),  # the performer
        )
        out.append(ExposureScene(f"spot-lit-{i + 1}", "spot-lit", ShapesContent(bg / 4, shapes),
                                 1, subj, "spot", white_luminance_cd_m2=100.0))  # fmt: skip
    # Average scenes: a mosaic of reflectances with an 18 % mean; matrix. Portraits: a
    # mid-toned subject filling the middle of such a mosaic; centre-weighted.
    for i in range(8):
        shapes = []
        for row in range(6):
            for col in range(8):
                r = float(np.exp(rng.normal(math.log(0.13), 0.8)))
                shapes.append(_rect(-1 + col * 0.25, -0.75 + row * 0.25, -0.75 + col * 0.25,
                                    -0.5 + row * 0.25, min(r, 0.9)))  # fmt: skip
        vals = np.array([s.value for s in shapes])
        scale = MID_MEAN / vals.mean()
        shapes = [Shape(s.kind, s.box, s.value * scale) for s in shapes]
        if i < 4:
            out.append(ExposureScene(f"average-{i + 1}", "average",
                                     ShapesContent(0.18, tuple(shapes)), None, MID_MEAN,
                                     "matrix"))  # fmt: skip
        else:
            shapes.append(_ellipse(0.0, 0.05, 0.42, 0.6, MID_MEAN))
            out.append(ExposureScene(f"portrait-{i - 3}", "portrait",
                                     ShapesContent(0.18, tuple(shapes)), len(shapes) - 1,
                                     MID_MEAN, "centre"))  # fmt: skip
    return out
