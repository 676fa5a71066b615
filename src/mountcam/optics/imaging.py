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

from mountcam.jit import njit, prange
from mountcam.optics.aberrations import (
    lateral_scale_from_um,
    lens_geometry_bands,
    lens_geometry_mosaic,
    source_margin_px,
)
from mountcam.optics.diffraction import diffract_plane, fast_plane_shape
from mountcam.optics.lens import FULL_FRAME_HALF_DIAGONAL_MM, LensProfile, LensState
from mountcam.optics.map_cache import MapCache
from mountcam.optics.sensor_window import SensorWindow, expand_window, grow_to
from mountcam.scene import PaletteSample, Scene, SceneSample, ViewGrid
from mountcam.scene.spectral import channel_signal
from mountcam.spectra import WAVELENGTHS_NM


@dataclass(frozen=True)
class LensEffects:
    """What the lens does to the image besides throughput and fall-off, for one window.

    ``distortion`` is ``("poly", coeffs)`` in ρ (see :mod:`mountcam.optics.aberrations`);
    ``lateral_um`` the (red, blue) radial shift against green at ρ = 1, µm; ``defocus`` says the
    scene has depth to blur by. Diffraction always applies (Airy OTF per band);
    ``field_blur`` (σ at the centre and at ``corner_rho``, metres, and ``corner_rho``) adds the
    lens's residual aberrations (:mod:`mountcam.optics.field_blur`).
    """

    focal_m: float
    f_number: float
    focus_m: float
    blades: int
    distortion: tuple[str, tuple[float, ...]] | None
    lateral_um: tuple[float, float] | None
    defocus: bool
    margin_px: int
    field_blur: tuple[float, float, float] | None = None


@dataclass
class OpticalImage:
    """The image a lens forms on a sensor window.

    ``sample`` is the scene content box-filtered over each pixel (reflectance domain), rendered
    on ``source_window`` (``window`` grown by the margin the lens effects need, and at its
    bottom and right edges to sizes the diffraction transforms are fast at);
    ``spectral_irradiance_w_m2_nm`` (81,) is the on-axis focal-plane spectral irradiance of a
    reflectance-1 white; ``relative_illumination`` (H, W) float32 on ``window`` multiplies it
    off axis; ``effects`` is None for an ideal lens (no blur, no distortion).
    """

    sample: SceneSample
    spectral_irradiance_w_m2_nm: np.ndarray
    relative_illumination: np.ndarray
    grid_tan: ViewGrid
    scene: Scene
    image_distance_m: float
    magnification: float
    window: SensorWindow | None = None
    source_window: SensorWindow | None = None
    effects: LensEffects | None = None

    def planes(self, weights: np.ndarray) -> np.ndarray:
        """(H, W, C) float32 focal-plane image for spectral weights (81, C), lens effects and
        fall-off included.

        ``weights`` turn a reflectance spectrum into each band's quantity (photo-electrons/s of
        a sensor channel, an observer's tristimulus value, …) for a reflectance-1 white on axis.
        With three bands they are taken as red, green, blue (for lateral colour).
        """
        fx = self.effects
        if fx is not None and not _uniform(self.sample):
            bands, border = _effect_bands(self, fx, np.asarray(weights, dtype=np.float64))
            planes = bands.transpose(1, 2, 0)
            if fx.field_blur is not None:
                from mountcam.optics.field_blur import apply_field_blur

                centre, corner, corner_rho = fx.field_blur
                planes = apply_field_blur(
                    planes,
                    expand_window(self.window, border),
                    sigma_centre_m=centre,
                    sigma_corner_m=corner,
                    corner_rho=corner_rho,
                )[border:-border, border:-border]
            planes = np.ascontiguousarray(planes)
            planes *= self.relative_illumination[..., None]
            return planes
        planes = channel_signal(self.sample, weights)
        if self.source_window is not None and self.source_window != self.window:
            planes = np.ascontiguousarray(self._cut(planes))
        planes *= self.relative_illumination[..., None]
        return planes

    def mosaic(self, weights: np.ndarray, cfa: np.ndarray, origin: tuple[int, int]) -> np.ndarray:
        """(H, W) float32: each pixel's own CFA band of :meth:`planes`."""
        if self.effects is None or _uniform(self.sample):
            m = 0
            if self.source_window is not None and self.source_window != self.window:
                m = self.effects.margin_px
            # The sample is on the source window, m pixels up and left of the window: its CFA
            # phase starts m earlier (an odd margin would otherwise swap the colours).
            values = channel_signal(
                self.sample, weights, cfa=cfa, origin=(origin[0] - m, origin[1] - m)
            )
            if m:
                values = np.ascontiguousarray(self._cut(values))
            values *= self.relative_illumination
            return values
        fx = self.effects
        weights = np.asarray(weights, dtype=np.float64)
        if not _geometric(self, fx, np.shape(weights)):
            return self._diffracted_mosaic(weights, cfa, origin)
        # The lens's effects band by band (channel-first), then, per band the CFA uses, the
        # field blur, the cut to the window, the fall-off and the CFA pick in one pass: the
        # numbers of :meth:`planes` then picking, without the (H, W, 3) image.
        pattern = np.ascontiguousarray(cfa, dtype=np.int64)
        ph, pw = pattern.shape
        oy, ox = int(origin[0]) % ph, int(origin[1]) % pw
        out = np.empty(self.relative_illumination.shape, dtype=np.float32)
        if fx.field_blur is None and fx.distortion is not None:
            # Each pixel's own band only, resampled, clipped, times the fall-off: one pass.
            lens_geometry_mosaic(
                _source_bands(self, fx, weights),
                self.window,
                pattern,
                (oy, ox),
                self.relative_illumination,
                out,
                distortion=fx.distortion,
                lateral_scale_per_band=_band_scales(fx, weights.shape[1]),
                source_window=self.source_window,
            )
            return out
        bands, border = _effect_bands(self, fx, weights)
        if fx.field_blur is None:
            for band in np.unique(pattern):
                _pick_band(
                    bands[band], 0, self.relative_illumination, pattern, oy, ox, int(band), out
                )
            return out
        from mountcam.optics.field_blur import field_blur_mosaic_band

        centre, corner, corner_rho = fx.field_blur
        blur_window = expand_window(self.window, border)
        scratch = np.empty(bands.shape[1:], dtype=np.float32)
        for band in np.unique(pattern):
            field_blur_mosaic_band(
                bands[band],
                blur_window,
                border,
                self.relative_illumination,
                pattern,
                (oy, ox),
                int(band),
                out,
                sigma_centre_m=centre,
                sigma_corner_m=corner,
                corner_rho=corner_rho,
                scratch=scratch,
            )
        return out

    def _cut(self, image: np.ndarray) -> np.ndarray:
        """The window's part of an image on the source window (a view)."""
        m = self.effects.margin_px
        return image[m : m + self.window.height, m : m + self.window.width]

    def _diffracted_mosaic(
        self, weights: np.ndarray, cfa: np.ndarray, origin: tuple[int, int]
    ) -> np.ndarray:
        """:meth:`mosaic` when diffraction is the only lens effect, band by band: each band
        the CFA uses is rendered, blurred (:func:`diffract_plane`) and its CFA sites picked,
        clipped at 0 and multiplied by the fall-off in one pass. The same numbers as
        :meth:`planes` then picking, without holding three bands of the source window."""
        fx = self.effects
        pattern = np.ascontiguousarray(cfa, dtype=np.int64)
        ph, pw = pattern.shape
        lams = _band_wavelengths_m(weights)
        out = np.empty(self.relative_illumination.shape, dtype=np.float32)
        src = self.source_window
        # One buffer for every band: rendered into, transformed and inverted in place.
        scratch = np.empty((src.height, src.width, 1), dtype=np.float32)
        for band in np.unique(pattern):
            channel_signal(self.sample, weights[:, band : band + 1], out=scratch)
            plane = scratch.reshape(scratch.shape[:2])
            blurred = diffract_plane(plane, lams[band], fx.f_number, self.window.pitch_m)
            _pick_band(
                blurred,
                fx.margin_px,
                self.relative_illumination,
                pattern,
                int(origin[0]) % ph,
                int(origin[1]) % pw,
                int(band),
                out,
            )
        return out


@njit(parallel=True, cache=True)
def _pick_band(blurred, margin, fall_off, cfa, oy, ox, band, out):  # pragma: no cover
    """out[r, c] = max(blurred[r + m, c + m], 0) · fall_off[r, c] where the CFA says ``band``."""
    h, w = out.shape
    ph, pw = cfa.shape
    for r in prange(h):
        cy = (r + oy) % ph
        for j in range(pw):  # the columns of this row that hold the band, a stride apart
            if cfa[cy, (j + ox) % pw] != band:
                continue
            for c in range(j, w, pw):
                v = blurred[r + margin, c + margin]
                out[r, c] = max(v, np.float32(0.0)) * fall_off[r, c]


def _geometric(optical: OpticalImage, fx: LensEffects, weights_shape) -> bool:
    """Whether :func:`_effect_bands` does more than diffraction: defocus, distortion,
    lateral colour or a field blur."""
    defocus = fx.defocus and optical.sample.depth_m is not None
    lateral = fx.lateral_um is not None and len(weights_shape) == 2 and weights_shape[1] == 3
    return defocus or fx.distortion is not None or lateral or fx.field_blur is not None


def _uniform(sample: SceneSample) -> bool:
    """A flat field: blur and resampling leave it as it is, so they can be skipped."""
    if not isinstance(sample, PaletteSample) or sample.weight is not None:
        return False
    return bool(np.all(sample.index == sample.index.flat[0]))


def _band_wavelengths_m(weights: np.ndarray) -> list[float]:
    """Effective wavelength of each band: the weight-averaged wavelength."""
    totals = weights.sum(axis=0)
    return [
        float(WAVELENGTHS_NM @ weights[:, c] / totals[c]) * 1e-9 for c in range(weights.shape[1])
    ]


def _effect_bands(
    optical: OpticalImage, fx: LensEffects, weights: np.ndarray
) -> tuple[np.ndarray, int]:
    """Defocus, diffraction, then distortion and lateral colour (one resampling per band):
    (C, H + 2b, W + 2b) float32, channel first, on the window grown by the border b the field
    blur is rendered on (0 without one), and b.

    The field blur is the point spread *on the sensor*: applied after the distortion, which
    would otherwise shrink it with the image towards a barrel lens's corners (by 9 % at the
    main lens's corner). It is rendered on the window grown by FIELD_BLUR_BORDER_PX so that
    its edge pixels see real neighbours, then cut to the window (by the caller).
    """
    bands = _source_bands(optical, fx, weights)
    scales = _band_scales(fx, weights.shape[1])
    border = FIELD_BLUR_BORDER_PX if fx.field_blur is not None else 0
    out_window = expand_window(optical.window, border)
    if fx.distortion is not None or scales is not None:
        return lens_geometry_bands(
            bands,
            out_window,
            distortion=fx.distortion,
            lateral_scale_per_band=scales,
            source_window=optical.source_window,
        ), border
    m = fx.margin_px - border
    cut = bands[:, m : m + out_window.height, m : m + out_window.width]
    return np.ascontiguousarray(cut), border


def _source_bands(optical: OpticalImage, fx: LensEffects, weights: np.ndarray) -> np.ndarray:
    """Defocus and diffraction: (C, Hs, Ws) float32, channel first, on the source window,
    clipped at 0 (the input of the lens geometry)."""
    pitch = optical.window.pitch_m
    sample = optical.sample
    n = weights.shape[1]
    if fx.defocus and sample.depth_m is not None:
        from mountcam.optics.defocus import render_defocus

        planes = np.ascontiguousarray(channel_signal(sample, weights), dtype=np.float32)
        planes = render_defocus(
            planes,
            sample.depth_m,
            out=planes,  # the image is read before the result is written: one buffer
            focal_m=fx.focal_m,
            f_number=fx.f_number,
            focus_m=fx.focus_m,
            pixel_pitch_m=pitch,
            blades=fx.blades,
        )
        bands = np.ascontiguousarray(np.moveaxis(planes, 2, 0), dtype=np.float32)
        del planes
    else:
        src = optical.source_window
        bands = np.empty((n, src.height, src.width), dtype=np.float32)
        for c in range(n):  # each band rendered straight into its own plane
            channel_signal(sample, weights[:, c : c + 1], out=bands[c][:, :, None])
    # Band by band in place (as apply_diffraction does, without a second image).
    for c, lam in enumerate(_band_wavelengths_m(weights)):
        band = diffract_plane(bands[c], lam, fx.f_number, pitch)
        np.maximum(band, 0.0, out=bands[c])
        del band
    return bands


def _band_scales(fx: LensEffects, n_bands: int) -> tuple[float, float, float] | None:
    """Each band's radial scale for lateral colour (red, green = 1, blue), or None."""
    if fx.lateral_um is None or n_bands != 3:
        return None
    red, blue = fx.lateral_um
    return (lateral_scale_from_um(red), 1.0, lateral_scale_from_um(blue))


def image_distance_m(focal_m: float, focus_m: float) -> float:
    """Thin-lens image distance v = f·z/(z − f) (z = ∞ gives v = f)."""
    if math.isinf(focus_m):
        return focal_m
    return focal_m * focus_m / (focus_m - focal_m)


def focal_m(lens: LensProfile, state: LensState) -> float:
    """Focal length in metres, as the lens's focal ring (Tri-Elmar) is set."""
    return lens.focal_for(state) * 1e-3


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


#: Fall-off maps by (profile, f-number, window): at most 400 MB (a full-resolution map is 200 MB).
FALL_OFF_MAPS = MapCache(400 * 2**20)


def relative_illumination(
    lens: LensProfile, state: LensState, window: SensorWindow, grid_tan: ViewGrid
) -> np.ndarray:
    """Illuminance relative to the axis, (H, W) float32.

    A lens profile's vignetting is the *total* fall-off the lens makes (its published curves
    include the natural cos⁴ law), so it replaces cos⁴θ; a lens without one gets cos⁴θ.
    The profile is in ρ = r / 21.633 mm, the 35 mm half-diagonal (see docs/lenses.md).

    The map depends on the lens's fall-off profile, the f-number and the window (without a
    profile: the tangent grid), not on the scene, so it is kept in :data:`FALL_OFF_MAPS`
    under exactly those (read-only: a new scene, or the next frame, re-uses it).
    """
    if lens.vignetting is None:
        key = ("cos4", grid_tan)
        return FALL_OFF_MAPS.get(key, lambda: cos4_falloff(grid_tan))
    v = lens.vignetting
    profile = (v.model, tuple(tuple(float(x) for x in p) for p in v.points), float(v.unit_mm))
    key = ("profile", profile, float(state.f_number), window)
    return FALL_OFF_MAPS.get(key, lambda: _profile_falloff(v, float(state.f_number), window))


def _profile_falloff(vignetting, f_number: float, window: SensorWindow) -> np.ndarray:
    g = window.grid_m()
    radius_mm = _radius(g.x0 * 1e3, g.y0 * 1e3, g.step * 1e3, g.width, g.height)
    rho = radius_mm / np.float32(FULL_FRAME_HALF_DIAGONAL_MM)
    return np.asarray(vignetting.relative_illumination(rho, f_number), dtype=np.float32)


def with_fixed_fov(
    scene: Scene, lens: LensProfile, state: LensState, window: SensorWindow
) -> Scene:
    """The scene with the field of view it takes when fitted to this lens's whole view.

    A scene without a field of view fits whatever view shows it; another module looking at
    "the same scene" must see it at the same angles, so the fit is resolved once and kept.
    """
    if scene.hfov_rad is not None:
        return scene
    v = image_distance_m(focal_m(lens, state), state.focus_m)
    half_w = window.full_width * window.pitch_m / (2.0 * v)
    half_h = window.full_height * window.pitch_m / (2.0 * v)
    return scene.with_(hfov_rad=2.0 * math.atan(scene.half_width_tan(half_w, half_h)))


#: Pixels rendered around a window so that blurs near its edge see real neighbours.
BLUR_MARGIN_PX = 32
#: Pixels around the window the field blur is rendered on (its kernels reach 4σ ≈ 7 px).
FIELD_BLUR_BORDER_PX = 8
#: Largest defocus margin rendered around a window (a blur circle radius, pixels).
MAX_DEFOCUS_MARGIN_PX = 400


def lens_effects(
    scene: Scene, lens: LensProfile, state: LensState, window: SensorWindow, ideal: bool
) -> LensEffects | None:
    """The effects of ``lens`` at ``state`` on ``window`` and the margin they need."""
    if ideal:
        return None
    distortion = lens.distortion.as_rho_poly() if lens.distortion is not None else None
    lateral = None
    if lens.lateral_color is not None:
        red, blue = lens.lateral_color.shift_um(1.0)
        lateral = (float(red), float(blue))
    scales = (
        None
        if lateral is None
        else (lateral_scale_from_um(lateral[0]), 1.0, lateral_scale_from_um(lateral[1]))
    )
    margin = source_margin_px(window, distortion=distortion, lateral_scale_per_band=scales)
    f = focal_m(lens, state)
    defocus = scene_has_depth(scene)
    if defocus:
        from mountcam.optics.defocus import coc_diameter_m

        # The largest blur is that of the nearest or the farthest thing in the scene.
        near, far = scene_depth_range_m(scene)
        coc = max(
            float(coc_diameter_m(f, state.f_number, state.focus_m, np.array([near, far])).max()),
            0.0,
        )
        margin = max(margin, min(MAX_DEFOCUS_MARGIN_PX, int(np.ceil(coc / window.pitch_m / 2))))
    return LensEffects(
        focal_m=f,
        f_number=state.f_number,
        focus_m=state.focus_m,
        blades=lens.blades,
        distortion=distortion,
        lateral_um=lateral,
        defocus=defocus,
        margin_px=margin + BLUR_MARGIN_PX,
        field_blur=None
        if lens.field_blur is None
        else (
            lens.field_blur.sigma_centre_um * 1e-6,
            lens.field_blur.sigma_corner_um * 1e-6,
            lens.field_blur.corner_rho,
        ),
    )


def scene_has_depth(scene: Scene) -> bool:
    content = scene.content
    return getattr(content, "depth_m", None) is not None or hasattr(content, "depth_range_m")


def scene_depth_range_m(scene: Scene) -> tuple[float, float]:
    # A procedural world knows its depth range; an image's depth map is searched.
    if hasattr(scene.content, "depth_range_m"):
        return scene.content.depth_range_m()
    depth = np.asarray(scene.content.depth_m, dtype=np.float64)
    finite = depth[np.isfinite(depth) & (depth > 0)]
    if finite.size == 0:
        return math.inf, math.inf
    return float(finite.min()), float(finite.max())


def form_image(
    scene: Scene,
    lens: LensProfile,
    state: LensState,
    window: SensorWindow,
    *,
    ideal: bool = False,
    fast_transform_sizes: bool = True,
) -> OpticalImage:
    """Render ``scene`` through the lens onto the pixels of ``window``.

    ``ideal``: an aberration- and diffraction-free lens (throughput, field of view and
    fall-off only), for characterising the sensor alone. ``fast_transform_sizes``: render the
    scene around the window up to sizes the diffraction's DCTs are fast at
    (:func:`~mountcam.optics.diffraction.fast_plane_shape`); False renders just the margin
    the lens effects need (slower; the window's pixels move by a few 1e-6 of full scale).
    """
    # A lensfun zoom carries its character per calibrated focal length: take the one set.
    lens = lens.at_focal(lens.focal_for(state))
    f = focal_m(lens, state)
    v = image_distance_m(f, state.focus_m)
    effects = lens_effects(scene, lens, state, window, ideal)
    source = window
    if effects is not None:
        source = expand_window(window, effects.margin_px)
        if fast_transform_sizes and not effects.defocus:
            # Grown at the bottom and right to sizes the diffraction's transforms are fast
            # at: more real scene around the window, never less. Not with depth: the layered
            # defocus plans its layers over the whole rendered area, so its result would move
            # (by 0.3 % rms for 8 px more margin on a 1024 × 768 crop of sample:motorcycle).
            source = grow_to(source, *fast_plane_shape(source.height, source.width))
    grid_tan = window.grid_m().scaled(1.0 / v)
    half_w = window.full_width * window.pitch_m / (2.0 * v)
    half_h = window.full_height * window.pitch_m / (2.0 * v)
    content_half_w = scene.half_width_tan(half_w, half_h)
    sample = scene.render(source.grid_m().scaled(1.0 / v), content_half_w)
    return OpticalImage(
        sample=sample,
        spectral_irradiance_w_m2_nm=on_axis_irradiance(scene, lens, state),
        relative_illumination=relative_illumination(lens, state, window, grid_tan),
        grid_tan=grid_tan,
        scene=scene,
        image_distance_m=v,
        magnification=v / f - 1.0,
        window=window,
        source_window=source,
        effects=effects,
    )
