"""From scene to the optical image on the sensor plane (ideal thin lens, for now).

Focal-plane irradiance of a Lambertian scene through a lens of f-number N and transmittance T
at magnification m, on axis (e.g. Ray, "Applied Photographic Optics", 3rd ed., §24.4;
ISO 12232 Annex):

    E(λ) = π · T · L(λ) / (4 · N² · (1 + |m|)²)

and off axis the natural fall-off cos⁴θ of the field angle θ. The image distance follows the
thin-lens equation v = f·z / (z − f) at the focused distance z; pixel (r, c) at focal-plane
position (x, y) looks along tan θ = (x/v, y/v), which is where the scene is sampled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from mountcam.optics.lens import FULL_FRAME_HALF_DIAGONAL_MM, LensProfile, LensState
from mountcam.scene import Scene, SceneSample, ViewGrid
from mountcam.scene.spectral import channel_signal


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

    def full(self) -> SensorWindow:
        return SensorWindow(
            self.pitch_m, self.full_width, self.full_height, 0, 0, self.full_width, self.full_height
        )


@dataclass
class OpticalImage:
    """The image a lens forms on a sensor window.

    ``sample`` is the scene content box-filtered over each pixel (reflectance domain);
    ``spectral_irradiance_w_m2_nm`` (81,) is the on-axis focal-plane spectral irradiance of a
    reflectance-1 white; ``relative_illumination`` (H, W) float32 multiplies it off axis.
    """

    sample: SceneSample
    spectral_irradiance_w_m2_nm: np.ndarray
    relative_illumination: np.ndarray
    grid_tan: ViewGrid
    scene: Scene
    image_distance_m: float
    magnification: float

    def planes(self, weights: np.ndarray) -> np.ndarray:
        """(H, W, C) float32 focal-plane image for spectral weights (81, C), fall-off included.

        ``weights`` turn a reflectance spectrum into each band's quantity (photo-electrons/s of
        a sensor channel, an observer's tristimulus value, …) for a reflectance-1 white on axis.
        """
        planes = channel_signal(self.sample, weights)
        planes *= self.relative_illumination[..., None]
        return planes

    def mosaic(self, weights: np.ndarray, cfa: np.ndarray, origin: tuple[int, int]) -> np.ndarray:
        """(H, W) float32: each pixel's own CFA band of :meth:`planes`, computed only there."""
        values = channel_signal(self.sample, weights, cfa=cfa, origin=origin)
        values *= self.relative_illumination
        return values


def image_distance_m(focal_m: float, focus_m: float) -> float:
    """Thin-lens image distance v = f·z/(z − f) (z = ∞ gives v = f)."""
    if math.isinf(focus_m):
        return focal_m
    return focal_m * focus_m / (focus_m - focal_m)


def focal_m(lens: LensProfile, state: LensState) -> float:
    """Focal length in metres, as the lens's focal ring (Tri-Elmar) is set."""
    return lens.focal_for(state) * 1e-3


def horizontal_fov_rad(lens: LensProfile, state: LensState, sensor_width_m: float) -> float:
    """2·atan(w / 2v): the horizontal angle the sensor width sees at the focused distance."""
    v = image_distance_m(focal_m(lens, state), state.focus_m)
    return 2.0 * math.atan(sensor_width_m / (2.0 * v))


def on_axis_irradiance(scene: Scene, lens: LensProfile, state: LensState) -> np.ndarray:
    """E(λ) = π·T·L(λ)/(4·N²·(1+|m|)²) for a reflectance-1 white, W/(m²·nm)."""
    f = focal_m(lens, state)
    m = image_distance_m(f, state.focus_m) / f - 1.0  # |m| = v/f − 1 for a thin lens
    factor = math.pi * lens.transmittance / (4.0 * state.f_number**2 * (1.0 + abs(m)) ** 2)
    return factor * scene.spectral_radiance_per_reflectance()


@njit(parallel=True, cache=True)
def _cos4(x0, y0, step, width, height):  # pragma: no cover - compiled
    out = np.empty((height, width), dtype=np.float32)
    for r in prange(height):
        y = y0 + r * step
        for c in range(width):
            x = x0 + c * step
            q = 1.0 + x * x + y * y
            out[r, c] = 1.0 / (q * q)
    return out


@njit(parallel=True, cache=True)
def _radius(x0, y0, step, width, height):  # pragma: no cover - compiled
    out = np.empty((height, width), dtype=np.float32)
    for r in prange(height):
        y = y0 + r * step
        for c in range(width):
            x = x0 + c * step
            out[r, c] = math.sqrt(x * x + y * y)
    return out


def cos4_falloff(grid_tan: ViewGrid) -> np.ndarray:
    """Natural illumination fall-off cos⁴θ with tan²θ = x² + y², (H, W) float32."""
    return _cos4(grid_tan.x0, grid_tan.y0, grid_tan.step, grid_tan.width, grid_tan.height)


def relative_illumination(
    lens: LensProfile, state: LensState, window: SensorWindow, grid_tan: ViewGrid
) -> np.ndarray:
    """Illuminance relative to the axis, (H, W) float32.

    A lens profile's vignetting is the *total* fall-off the lens makes (its published curves
    include the natural cos⁴ law), so it replaces cos⁴θ; a lens without one gets cos⁴θ.
    The profile is in ρ = r / 21.633 mm, the 35 mm half-diagonal (see docs/lenses.md).
    """
    if lens.vignetting is None:
        return cos4_falloff(grid_tan)
    g = window.grid_m()
    radius_mm = _radius(g.x0 * 1e3, g.y0 * 1e3, g.step * 1e3, g.width, g.height)
    rho = radius_mm / np.float32(FULL_FRAME_HALF_DIAGONAL_MM)
    return np.asarray(lens.vignetting.relative_illumination(rho, state.f_number), dtype=np.float32)


def form_image(
    scene: Scene, lens: LensProfile, state: LensState, window: SensorWindow
) -> OpticalImage:
    """Render ``scene`` through the lens onto the pixels of ``window``."""
    f = focal_m(lens, state)
    v = image_distance_m(f, state.focus_m)
    grid_tan = window.grid_m().scaled(1.0 / v)
    half_w = window.full_width * window.pitch_m / (2.0 * v)
    half_h = window.full_height * window.pitch_m / (2.0 * v)
    content_half_w = scene.half_width_tan(half_w, half_h)
    sample = scene.render(grid_tan, content_half_w)
    return OpticalImage(
        sample=sample,
        spectral_irradiance_w_m2_nm=on_axis_irradiance(scene, lens, state),
        relative_illumination=relative_illumination(lens, state, window, grid_tan),
        grid_tan=grid_tan,
        scene=scene,
        image_distance_m=v,
        magnification=v / f - 1.0,
    )
