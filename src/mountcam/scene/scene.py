"""The scene: what is in front of the camera, in linear light with an absolute scale.

A :class:`Scene` is a rectilinear view centred on the optical axis. Its *content* is object
reflectance (linear sRGB reflectance, or exact spectra for charts that define them), lit by an
:class:`Illuminant` and scaled so that a reflectance-1 white has luminance
``white_luminance_cd_m2``. Content is rendered on demand onto any pixel grid the optics asks
for (:class:`ViewGrid`), so charts are drawn analytically at the final sampling instead of being
upscaled bitmaps.

Coordinates. A direction in front of the camera is given by its tangent coordinates
``(x_tan, y_tan) = (X/Z, Y/Z)`` with +x to the right and +y *downwards* (row 0 is the top of the
image). The scene's canvas coordinates are ``u = x_tan / tan(hfov/2)``, ``v = y_tan / tan(hfov/2)``:
``u`` spans [-1, 1] across the content's width and ``v`` spans ``[-aspect, aspect]`` with
``aspect = height / width``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from mountcam.spectra import luminance_integral

#: A contained chart spans 1/1.08 of the frame in its tighter direction.
CONTAIN_MARGIN = 1.08


@dataclass(frozen=True)
class ViewGrid:
    """A regular grid of square pixel apertures in tangent (or canvas) coordinates.

    Pixel ``(row, col)`` has its centre at ``(x0 + col*step, y0 + row*step)`` and covers a square
    of side ``step`` around it. Renderers integrate (box-filter) content over that square.
    """

    width: int
    height: int
    x0: float
    y0: float
    step: float

    def scaled(self, factor: float) -> ViewGrid:
        """The same grid in coordinates multiplied by ``factor`` (e.g. tangent -> canvas)."""
        return ViewGrid(
            self.width, self.height, self.x0 * factor, self.y0 * factor, self.step * factor
        )

    def xs(self) -> np.ndarray:
        return self.x0 + self.step * np.arange(self.width)

    def ys(self) -> np.ndarray:
        return self.y0 + self.step * np.arange(self.height)


@dataclass
class RgbSample:
    """Rendered content as linear-sRGB reflectance (1.0 = perfect diffuse white).

    ``rgb`` is (H, W, 3) float32; values above 1 are emitters or speculars. ``depth_m`` is the
    distance along the optical axis in metres, (H, W) float32, or None when unknown.
    """

    rgb: np.ndarray
    depth_m: np.ndarray | None = None


@dataclass
class PaletteSample:
    """Rendered content as exact spectra from a palette, with anti-aliased coverage.

    Each pixel is ``weight * spectra[index] + (1 - weight) * spectra[background]``. ``index`` and
    ``background`` are (H, W) uint8 arrays (``background`` may be a scalar int); ``weight`` is
    (H, W) float32 in [0, 1] or None (meaning 1 everywhere). ``spectra`` is (K, 81) reflectance
    on :data:`mountcam.spectra.WAVELENGTHS_NM`; ``rgb_palette`` (K, 3) is each entry's linear-sRGB
    reflectance under D65, used where a stage needs RGB (previews, later optics).
    """

    index: np.ndarray
    weight: np.ndarray | None
    background: np.ndarray | int
    spectra: np.ndarray
    rgb_palette: np.ndarray
    depth_m: np.ndarray | None = None


SceneSample = RgbSample | PaletteSample


class SceneContent(Protocol):
    """What a scene shows, able to render itself onto any grid in canvas coordinates."""

    #: height / width of the content; None for content without edges (flat field, edge chart).
    aspect: float | None
    #: How content with edges fills a view when the scene sets no field of view: "cover"
    #: (fill the frame, cropping the longer side; the default, for pictures) or "contain"
    #: (show all of it with a margin; for test charts). Optional attribute.
    framing: str

    def render(self, grid: ViewGrid) -> SceneSample:
        """Box-filtered content over each pixel of ``grid`` (canvas coordinates)."""
        ...


@dataclass(frozen=True)
class Illuminant:
    """A light source: a name and its relative spectral power on the common grid (81 values)."""

    name: str
    spd: np.ndarray = field(repr=False)
    cct_k: float | None = None


@dataclass
class Scene:
    """Linear-light scene: content, illuminant, absolute scale, field of view, optional depth.

    ``hfov_rad`` is the horizontal field of view the content spans; None means "fit whatever
    view renders it", as the content's ``framing`` says: fill the frame (pictures) or show
    all of it with a margin of :data:`CONTAIN_MARGIN` (test charts).
    """

    name: str
    content: SceneContent
    illuminant: Illuminant
    white_luminance_cd_m2: float = 1000.0
    hfov_rad: float | None = None

    def with_(self, **changes) -> Scene:
        return replace(self, **changes)

    def info(self) -> dict:
        """What a capture's metadata records about the scene: its horizontal field of view
        (degrees, None when it fills any view) and whatever its content reports about how it
        was made (e.g. ``depth_filled_fraction``, ``surround``), as plain JSON-able values."""
        info: dict = {
            "hfov_deg": None if self.hfov_rad is None else round(math.degrees(self.hfov_rad), 4)
        }
        describe = getattr(self.content, "info", None)
        if callable(describe):
            info.update(describe())
        return info

    def half_width_tan(self, view_half_width_tan: float, view_half_height_tan: float) -> float:
        """tan(hfov/2) of the content when shown in a view of the given half extents."""
        if self.hfov_rad is not None:
            return math.tan(self.hfov_rad / 2.0)
        aspect = self.content.aspect
        if aspect is None:
            return view_half_width_tan
        if getattr(self.content, "framing", "cover") == "contain":
            return min(view_half_width_tan, view_half_height_tan / aspect) / CONTAIN_MARGIN
        return max(view_half_width_tan, view_half_height_tan / aspect)

    def fraction_beyond(self, grid_tan: ViewGrid, half_width_tan: float) -> float:
        """Share of the pixels of ``grid_tan`` (tangent coordinates) that look beyond the
        content's edges (content without edges: 0)."""
        aspect = self.content.aspect
        if aspect is None:
            return 0.0
        grid = grid_tan.scaled(1.0 / half_width_tan)
        inside_x = float(np.mean(np.abs(grid.xs()) <= 1.0))
        inside_y = float(np.mean(np.abs(grid.ys()) <= aspect))
        return 1.0 - inside_x * inside_y

    def render(self, grid_tan: ViewGrid, half_width_tan: float) -> SceneSample:
        """Render the content onto a grid in tangent coordinates."""
        return self.content.render(grid_tan.scaled(1.0 / half_width_tan))

    def spectral_radiance_per_reflectance(self) -> np.ndarray:
        """Spectral radiance of a reflectance-1 surface, W/(m²·sr·nm), on the common grid.

        Scaled so its luminance ``Km ∫ L(λ) V(λ) dλ`` equals ``white_luminance_cd_m2``.
        """
        spd = np.asarray(self.illuminant.spd, dtype=np.float64)
        return spd * (self.white_luminance_cd_m2 / float(luminance_integral(spd)))
