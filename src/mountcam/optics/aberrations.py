"""What a lens does to the image besides blur: vignetting, distortion, lateral colour.

Pure array functions over a *window* of a full sensor (``SensorWindow`` of
:mod:`mountcam.optics.sensor_window`, or anything with its seven fields): pixel (r, c) of the
window has its centre at x = (origin_col + c + 0.5 − full_width/2)·pitch,
y = (origin_row + r + 0.5 − full_height/2)·pitch (+y down), the optical axis at the centre of
the full sensor.

**Normalised radius.** Lens character is described as a function of
ρ = r / 21.633 mm, the radius over the half-diagonal of the 35 mm format (36 × 24 mm), the
image circle Leica M lenses are designed and published for. A lens's published vignetting and
distortion therefore apply unchanged to the central part of its image circle that a smaller
sensor uses (ρ ≤ 0.379 at the corner of a 13.1072 × 9.8304 mm 1-inch sensor).

**Relative illumination** (:func:`relative_illumination`): a lens's measured or published
vignetting is the *total* fall-off, natural cos⁴θ included (lensfun's "pa" model is described
as "a more general variant of the cos⁴ law"). So a profile *replaces* the ideal lens's cos⁴θ
of :func:`mountcam.optics.imaging.cos4_falloff`; it is not multiplied on top. Without a
profile the result is cos⁴θ, tan θ = r / f.

**Vignetting** (:func:`vignetting_gain`): lensfun's "pa" model (Pablo d'Angelo's, used by
Hugin; lensfun ``lfVignettingModel``, ``LF_VIGNETTING_MODEL_PA``)::

    g(ρ) = 1 + k1 ρ² + k2 ρ⁴ + k3 ρ⁶

the factor by which a lens darkens a uniform field at ρ relative to the centre.

**Distortion** (:func:`distort`, models of lensfun's ``lfDistortionModel``, radii in ρ)::

    poly3   r_d = r_u (1 − k1 + k1 ρ_u²)
    poly5   r_d = r_u (1 + k1 ρ_u² + k2 ρ_u⁴)
    ptlens  r_d = r_u (a ρ_u³ + b ρ_u² + c ρ_u + 1 − a − b − c)
    poly    r_d = r_u (c0 + c1 ρ_u + c2 ρ_u² + … + c5 ρ_u⁵)

r_u is where an ideal (distortion-free) lens would image a point, r_d where the real lens does.
Negative k1 is barrel (points drawn in), positive pincushion. poly3 and ptlens keep ρ = 1
fixed rather than the centre scale, as in lensfun; poly5 and poly with c0 = 1 keep the centre
scale, which is what the twin wants since its render already uses the lens's focal length
(:func:`lensfun_distortion_to_rho` converts a lensfun calibration to such a poly).
Lensfun's own radii are not ρ: distortion and TCA use r = 1 at half the *shorter side* of the
calibration image, vignetting r = 1 at its corner (lensfun ``libs/lensfun/modifier.cpp``,
"About coordinate systems in Lensfun"); the ``lensfun_*_to_rho`` helpers convert.

**Lateral chromatic aberration**: per band a radial scale s_c (lensfun's "linear" TCA model,
r_d,R = k_R · r_u), s = 1 for the reference band. :func:`lateral_scale_from_um` turns "R is
X µm further out than G at ρ = 1" into s_R = 1 + X µm / 21.633 mm; at radius ρ the shift is
X·ρ µm.

**Resampling** (:func:`apply_lens_geometry`): the output is built by inverse mapping — for
each output pixel, the position in the (undistorted) input that lands there, found by Newton
steps on s_c·r_u·P(ρ_u) = r_out (float64, to 1e-13, tabulated along the radius) — and one
interpolation per band, so distortion and lateral colour cost a single resampling. The map
and the interpolation are one numba kernel (no map arrays); :func:`geometry_maps` gives the
same map as arrays for ``cv2.remap``. Decisions:

- *Interpolation: Catmull-Rom cubic (Keys a = −½) by default, not bilinear.* Resampling at
  a fractional offset t low-passes the image: bilinear at t = ½ has MTF 0.71 at half Nyquist
  and 0 at Nyquist, so a lateral-colour shift of half a pixel would blur that band about as
  much as the lens does; Catmull-Rom keeps 0.88 at half Nyquist. Like bilinear, and unlike
  OpenCV's ``INTER_CUBIC`` (a = −¾, which also quantises positions to 1/32 px), it
  reproduces linear ramps exactly, so it moves an edge by exactly the mapped amount:
  ``cv2.remap`` bicubic was measured to misplace a lateral-colour edge by up to 0.05 px.
  ``interpolation="linear"`` is available.
- *Border: mirror* (half-sample symmetric, OpenCV's ``BORDER_REFLECT``, the same as in
  :func:`mountcam.optics.diffraction.apply_diffraction`). Barrel distortion maps the frame
  edges to points *outside* the undistorted frame, pincushion and lateral colour make an
  off-axis window read beyond its inner sides, and no border rule can invent that
  content (a constant 0 draws a black frame that metering and the lab would read as lens
  fall-off). The right way is to render the input on a larger window: pass it as
  ``source_window``; :func:`source_margin_px` says by how much and
  :func:`~mountcam.optics.sensor_window.expand_window`
  makes it. The mirror is then only a fallback.
- *No radiometric rescaling.* Distortion changes the area a solid angle covers (barrel
  concentrates light towards the corners), but a lens's measured relative illumination
  already contains that; values are resampled, not divided by the Jacobian.
- Values below 0 from cubic overshoot at hard edges are set to 0 (``clip_negative``); at a
  very sharp edge (σ = 0.8 px) that moves its centroid by ≤ 0.003 px.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from mountcam.jit import njit, prange
from mountcam.optics.sensor_window import (
    FULL_FRAME_HALF_DIAGONAL_M,
    SensorWindow,
    pixel_centres_m,
)

__all__ = [
    "DISTORTION_MODELS",
    "apply_lens_geometry",
    "distort",
    "distorted_rho",
    "distortion_percent_at",
    "falloff_ev",
    "geometry_maps",
    "lateral_scale_from_um",
    "lens_geometry_bands",
    "lens_geometry_mosaic",
    "lensfun_distortion_to_rho",
    "lensfun_vignetting_to_rho",
    "relative_illumination",
    "smia_tv_distortion_percent",
    "source_margin_px",
    "undistorted_rho",
    "vignetting_from_ev",
    "vignetting_gain",
]

#: Distortion models and their coefficient names (see the module docstring).
DISTORTION_MODELS = {
    "poly3": ("k1",),
    "poly5": ("k1", "k2"),
    "ptlens": ("a", "b", "c"),
    "poly": ("c0", "c1", "c2", "c3", "c4", "c5"),
}

_INTERPOLATION = ("cubic", "linear")

_NEWTON_STEPS = 12
_NEWTON_TOL = 1e-13


# --- vignetting --------------------------------------------------------------------------


def _pa_coeffs(profile) -> tuple[float, float, float]:
    k = tuple(float(v) for v in profile)
    if not 1 <= len(k) <= 3 or not all(math.isfinite(v) for v in k):
        raise ValueError(f"a 'pa' vignetting profile is 1 to 3 finite numbers k1, k2, k3: {k}")
    return (k + (0.0, 0.0))[:3]


def vignetting_gain(rho, profile: Sequence[float]) -> np.ndarray:
    """g(ρ) = 1 + k1 ρ² + k2 ρ⁴ + k3 ρ⁶ (lensfun "pa" model), float32, never below 0.

    ``rho``: normalised radius (any shape), see :func:`mountcam.optics.sensor_window.radial_grid`. ``profile``: (k1,),
    (k1, k2) or (k1, k2, k3) in ρ units (for a lensfun entry see
    :func:`lensfun_vignetting_to_rho`). The gain is the *total* fall-off of the lens at its
    aperture and focus (the coefficients are per f-number and distance, as in lensfun).
    """
    k1, k2, k3 = _pa_coeffs(profile)
    u = np.square(np.asarray(rho, dtype=np.float64))
    g = 1.0 + u * (k1 + u * (k2 + u * k3))
    return np.maximum(g, 0.0).astype(np.float32)


def falloff_ev(rho, profile: Sequence[float]) -> np.ndarray:
    """The fall-off −log2 g(ρ) in EV (stops) of a "pa" profile (positive: darker)."""
    g = vignetting_gain(rho, profile).astype(np.float64)
    with np.errstate(divide="ignore"):
        return -np.log2(g)


def vignetting_from_ev(ev_at_rho1: float, shape: str = "quadratic") -> tuple[float, float, float]:
    """(k1, k2, k3) of a "pa" profile that is ``ev_at_rho1`` stops darker at ρ = 1.

    Published figures ("2.3 EV in the corner at f/1.4") give one number; the shape in between
    is an assumption, one of:

    - ``"quadratic"``: g = 1 + k1 ρ², k1 = 2^−EV − 1 (k2 = k3 = 0): a parabola, the
      fall-off concentrated towards the corner (brighter than the "cos4" shape everywhere in
      between).
    - ``"cos4"``: the shape of a natural cos⁴ fall-off, g = (1 + t² ρ²)⁻² with t chosen to
      give the EV at ρ = 1 (t² = 2^(EV/2) − 1), i.e. a lens whose vignetting looks like that
      of a wider, ideal lens. It is fitted by k1, k2, k3 (least squares on ρ ∈ [0, 1]
      weighted by ρ, g(1) held exact). A cubic in ρ² follows that shape only so far: the fit
      is within 0.002 EV of it for EV ≤ 1, 0.03 EV for 2 EV, 0.17 EV for 3 EV (0.06 EV
      inside the 1-inch sensor's ρ ≤ 0.38); above about 3.7 EV it would rise again towards
      the corner and is refused.

    Either way g(1) = 2^−EV exactly. EV must be ≥ 0.
    """
    ev = float(ev_at_rho1)
    if not (math.isfinite(ev) and ev >= 0):
        raise ValueError(f"fall-off must be a finite number of stops ≥ 0 (got {ev_at_rho1})")
    d = 2.0**-ev - 1.0
    if shape == "quadratic":
        return (d, 0.0, 0.0)
    if shape != "cos4":
        raise ValueError(f"unknown vignetting shape '{shape}': use 'quadratic' or 'cos4'")
    t2 = 2.0 ** (ev / 2.0) - 1.0
    rho = np.linspace(0.0, 1.0, 401)
    u = rho * rho
    target = (1.0 + t2 * u) ** -2.0
    # g − 1 = k1 (u − u³) + k2 (u² − u³) + d u³ keeps g(1) = 1 + d.
    a = np.stack([u - u**3, u**2 - u**3], axis=1)
    b = target - 1.0 - d * u**3
    w = np.sqrt(rho)
    (k1, k2), *_ = np.linalg.lstsq(a * w[:, None], b * w, rcond=None)
    k = (float(k1), float(k2), float(d - k1 - k2))
    if np.any(np.diff(1.0 + u * (k[0] + u * (k[1] + u * k[2]))) > 0):
        raise ValueError(
            f"a cos⁴-like fall-off of {ev:g} EV does not fit the 'pa' polynomial without "
            "rising towards the corner; use shape='quadratic' or give k1, k2, k3"
        )
    return k


def lensfun_vignetting_to_rho(
    coeffs: Sequence[float], crop_factor: float = 1.0
) -> tuple[float, float, float]:
    """A lensfun "pa" entry (r = 1 at the calibration image's corner) in ρ units.

    A calibration made at crop factor c has r = ρ·c, so k_i becomes k_i·c^(2i). Full-frame
    calibrations (crop factor 1) are already in ρ.
    """
    k1, k2, k3 = _pa_coeffs(coeffs)
    c2 = float(crop_factor) ** 2
    return (k1 * c2, k2 * c2**2, k3 * c2**3)


def relative_illumination(
    window: SensorWindow, focal_m: float, profile: Sequence[float] | None = None
) -> np.ndarray:
    """Total relative illumination of ``window``, (H, W) float32, 1 on axis.

    With a lens ``profile`` ("pa" coefficients in ρ): :func:`vignetting_gain`, which already
    contains the natural fall-off and so *replaces* cos⁴θ. Without: the ideal lens's cos⁴θ
    with tan θ = r / ``focal_m`` (pass the image distance v instead of f to match
    :func:`mountcam.optics.imaging.cos4_falloff` for a near focus).
    """
    x, y = pixel_centres_m(window)
    if profile is None:
        if not (math.isfinite(focal_m) and focal_m > 0):
            raise ValueError(f"focal length must be positive (got {focal_m} m)")
        scale = focal_m
    else:
        k1, k2, k3 = _pa_coeffs(profile)
        scale = FULL_FRAME_HALF_DIAGONAL_M
    xs = np.square(x / scale).astype(np.float32)
    ys = np.square(y / scale).astype(np.float32)
    u = ys[:, None] + xs[None, :]  # (r/scale)²: tan²θ, or ρ²
    if profile is None:
        u += np.float32(1.0)
        np.multiply(u, u, out=u)
        return np.reciprocal(u, out=u)  # cos⁴θ = 1 / (1 + tan²θ)²
    g = np.full_like(u, np.float32(k3))
    for k in (k2, k1):
        g *= u
        g += np.float32(k)
    g *= u
    g += np.float32(1.0)
    return np.maximum(g, np.float32(0.0), out=g)


# --- distortion --------------------------------------------------------------------------


def _ratio_poly(model: str, coeffs: Sequence[float]) -> np.ndarray:
    """c0..c5 of P(ρ) = r_d / r_u for a model of :data:`DISTORTION_MODELS`."""
    if model not in DISTORTION_MODELS:
        raise ValueError(
            f"unknown distortion model '{model}': use one of {', '.join(DISTORTION_MODELS)}"
        )
    k = [float(v) for v in np.atleast_1d(np.asarray(coeffs, dtype=np.float64))]
    names = DISTORTION_MODELS[model]
    if not 1 <= len(k) <= len(names) or not all(math.isfinite(v) for v in k):
        raise ValueError(
            f"distortion model '{model}' takes up to {len(names)} finite coefficient(s) "
            f"({', '.join(names)}); got {k}"
        )
    k += [0.0] * (len(names) - len(k))
    c = np.zeros(6)
    if model == "poly3":
        c[0], c[2] = 1.0 - k[0], k[0]
    elif model == "poly5":
        c[0], c[2], c[4] = 1.0, k[0], k[1]
    elif model == "ptlens":
        a, b, cc = k
        c[0], c[1], c[2], c[3] = 1.0 - a - b - cc, cc, b, a
    else:
        c[:] = k
    if not c[0] > 0:
        raise ValueError(f"distortion model '{model}' {k} has no positive scale at the centre")
    return c


def _as_poly(distortion) -> np.ndarray:
    if distortion is None:
        c = np.zeros(6)
        c[0] = 1.0
        return c
    model, coeffs = distortion
    return _ratio_poly(model, coeffs)


def _p(c: np.ndarray, u):
    return c[0] + u * (c[1] + u * (c[2] + u * (c[3] + u * (c[4] + u * c[5]))))


def _dfu(c: np.ndarray, u):
    """d/du of u·P(u)."""
    return c[0] + u * (2 * c[1] + u * (3 * c[2] + u * (4 * c[3] + u * (5 * c[4] + u * 6 * c[5]))))


def distorted_rho(rho_u, model: str, coeffs: Sequence[float]) -> np.ndarray:
    """ρ_d = ρ_u · P(ρ_u): where the lens images a point an ideal lens puts at ρ_u."""
    c = _ratio_poly(model, coeffs)
    u = np.asarray(rho_u, dtype=np.float64)
    return u * _p(c, u)


def _invert(c: np.ndarray, t: np.ndarray) -> np.ndarray:
    u = t / c[0]
    for _ in range(_NEWTON_STEPS):
        du = (u * _p(c, u) - t) / _dfu(c, u)
        u = u - du
        if np.all(np.abs(du) < _NEWTON_TOL):
            break
    return u


def undistorted_rho(rho_d, model: str, coeffs: Sequence[float]) -> np.ndarray:
    """ρ_u with ρ_u·P(ρ_u) = ρ_d (Newton), inverse of :func:`distorted_rho`."""
    c = _ratio_poly(model, coeffs)
    t = np.asarray(rho_d, dtype=np.float64)
    _check_monotonic(c, float(np.max(t, initial=0.0)), model)
    return _invert(c, t)


def distortion_percent_at(rho, model: str, coeffs: Sequence[float]) -> np.ndarray:
    """Radial distortion 100·(r_d − r_u)/r_u in % at the *undistorted* radius ρ (= ρ_u).

    This is the "relative distortion" lens makers plot against image height (Leica's
    "Verzeichnung" curves), not TV distortion (see :func:`smia_tv_distortion_percent`).
    Negative: barrel; positive: pincushion. For poly3/ptlens the value at ρ → 0 is
    100·(P(0) − 1), not 0, because those models fix ρ = 1 instead of the centre scale.
    """
    c = _ratio_poly(model, coeffs)
    return 100.0 * (_p(c, np.asarray(rho, dtype=np.float64)) - 1.0)


def smia_tv_distortion_percent(
    model: str, coeffs: Sequence[float], width_m: float, height_m: float
) -> float:
    """SMIA TV distortion 100·(A − B)/B of a frame ``width_m`` × ``height_m`` on the axis.

    SMIA 1.0 (Standard Mobile Imaging Architecture, Part 5: Camera Characterisation,
    2004): the image of a rectangle that fills the frame; A is its height at the left and
    right edges (the corners), B its height in the middle. For a radial model
    A/B = P(ρ_corner) / P(ρ_top-middle). It is twice the "traditional" TV distortion
    (ΔH/H with ΔH = (A − B)/2). See also ISO 17850:2015 (geometric distortion measurement of
    digital cameras).
    """
    c = _ratio_poly(model, coeffs)
    rho_b = (height_m / 2.0) / FULL_FRAME_HALF_DIAGONAL_M
    rho_a = math.hypot(width_m / 2.0, height_m / 2.0) / FULL_FRAME_HALF_DIAGONAL_M
    return float(100.0 * (_p(c, rho_a) / _p(c, rho_b) - 1.0))


def lensfun_distortion_to_rho(
    model: str,
    coeffs: Sequence[float],
    *,
    crop_factor: float = 1.0,
    aspect_ratio: float = 1.5,
    keep_centre_scale: bool = True,
) -> tuple[str, tuple[float, ...]]:
    """A lensfun distortion entry as ``("poly", (c0, …, c5))`` in ρ units.

    Lensfun measures its radius r_lf with r_lf = 1 at half the shorter side of the
    calibration image, which for a calibration at ``crop_factor`` c and ``aspect_ratio`` a
    (the lens's ``<cropfactor>`` and ``<aspect-ratio>``) is 21.633 mm / (c·√(1 + a²)),
    12 mm for full-frame 3:2. So r_lf = k·ρ with k = c·√(1 + a²) and c_i becomes c_i·k^i.
    ``keep_centre_scale`` (default) divides by c0 so that the centre magnification is 1:
    mountcam renders with the lens's focal length as its paraxial scale, while lensfun's
    poly3/ptlens keep r_lf = 1 fixed instead.
    """
    c = _ratio_poly(model, coeffs)
    k = float(crop_factor) * math.sqrt(1.0 + float(aspect_ratio) ** 2)
    c = c * k ** np.arange(6)
    if keep_centre_scale:
        c = c / c[0]
    return ("poly", tuple(float(v) for v in c))


def lateral_scale_from_um(shift_um_at_rho1: float) -> float:
    """Radial scale of a band imaged ``shift_um_at_rho1`` µm further out at ρ = 1.

    s = 1 + X µm / 21.633 mm (positive X: the band's image is larger than the reference
    band's). A lensfun "linear" TCA entry's kr/kb is already s.
    """
    return 1.0 + float(shift_um_at_rho1) * 1e-6 / FULL_FRAME_HALF_DIAGONAL_M


def _check_monotonic(c: np.ndarray, t_max: float, what: str) -> None:
    """u·P(u) must increase from 0 until it reaches t_max, or the inverse is ambiguous."""
    if t_max <= 0:
        return
    u = np.linspace(0.0, 4.0 * t_max / c[0], 8193)
    f = u * _p(c, u)
    reach = np.flatnonzero(f >= t_max)
    stop = int(reach[0]) + 1 if reach.size else u.size
    if not reach.size or np.any(_dfu(c, u[:stop]) <= 0):
        raise ValueError(
            f"distortion {what} folds over inside the image (r_d stops increasing before "
            f"ρ_d = {t_max:.3f}): no lens images this way; check the coefficients"
        )


#: Samples of the radial ratio r_u/r_o between the axis and the window's farthest corner;
#: linear interpolation between them is exact to ~1e-9 of the radius (< 1e-5 px).
_RATIO_LUT_N = 8192


@njit(cache=True)
def _maps(x0, y0, pitch, width, height, inv_h, lut, col0, row0):  # pragma: no cover
    """Source pixel coordinates of every output pixel; ``lut``: r_u/r_o against ρ_o/h."""
    map_x = np.empty((height, width), dtype=np.float32)
    map_y = np.empty((height, width), dtype=np.float32)
    last = lut.shape[0] - 2
    for r in range(height):
        y = y0 + r * pitch
        for k in range(width):
            x = x0 + k * pitch
            t = math.sqrt(x * x + y * y) * inv_h
            i = min(int(t), last)
            ratio = lut[i] + (t - i) * (lut[i + 1] - lut[i])
            map_x[r, k] = x * ratio / pitch + col0
            map_y[r, k] = y * ratio / pitch + row0
    return map_x, map_y


@njit(cache=True, inline="always")
def _mirror(i, n):  # pragma: no cover - compiled
    """Half-sample symmetric index (… 1 0 | 0 1 … n−1 | n−1 n−2 …), clamped far outside."""
    if i < 0:
        i = -i - 1
    if i >= n:
        i = 2 * n - i - 1
    return min(max(i, 0), n - 1)


@njit(cache=True, inline="always")
def _weights(t, cubic):  # pragma: no cover - compiled
    """Taps at −1, 0, +1, +2 for the fraction t: Catmull-Rom (Keys a = −½) or linear."""
    if cubic:
        t2 = t * t
        t3 = t2 * t
        return (
            0.5 * (-t3 + 2.0 * t2 - t),
            0.5 * (3.0 * t3 - 5.0 * t2 + 2.0),
            0.5 * (-3.0 * t3 + 4.0 * t2 + t),
            0.5 * (t3 - t2),
        )
    return 0.0, 1.0 - t, t, 0.0


@njit(cache=True, inline="always")
def _cubic_sum(s, rows, cols, wx, wy):  # pragma: no cover - compiled
    """Σ wy[i]·Σ wx[j]·s[rows[i] + cols[j]]: the 4 × 4 taps of a flat band (row offsets
    ``rows``, column indices ``cols``), summed row by row in a fixed order."""
    r0, r1, r2, r3 = rows
    c0, c1, c2, c3 = cols
    wx0, wx1, wx2, wx3 = wx
    wy0, wy1, wy2, wy3 = wy
    return (
        wy0 * (wx0 * s[r0 + c0] + wx1 * s[r0 + c1] + wx2 * s[r0 + c2] + wx3 * s[r0 + c3])
        + wy1 * (wx0 * s[r1 + c0] + wx1 * s[r1 + c1] + wx2 * s[r1 + c2] + wx3 * s[r1 + c3])
        + wy2 * (wx0 * s[r2 + c0] + wx1 * s[r2 + c1] + wx2 * s[r2 + c2] + wx3 * s[r2 + c3])
        + wy3 * (wx0 * s[r3 + c0] + wx1 * s[r3 + c1] + wx2 * s[r3 + c2] + wx3 * s[r3 + c3])
    )


@njit(cache=True, inline="always")
def _interpolate(s, hs, ws, ix, iy, tx, ty, cubic):  # pragma: no cover - compiled
    """The flat (hs, ws) band ``s`` interpolated at (iy + ty, ix + tx): 4 × 4 taps, the
    border mirrored."""
    wx0, wx1, wx2, wx3 = _weights(tx, cubic)
    wy0, wy1, wy2, wy3 = _weights(ty, cubic)
    if ix >= 1 and ix + 2 < ws and iy >= 1 and iy + 2 < hs:
        # Unsigned offsets into the flat band: numba tests every signed index for a negative
        # value (wrap-around), 16 tests a pixel (7 % of the remap).
        p0 = np.uint64((iy - 1) * ws + ix - 1)
        p1 = p0 + np.uint64(ws)
        p2 = p1 + np.uint64(ws)
        return _cubic_sum(
            s,
            (p0, p1, p2, p2 + np.uint64(ws)),
            (np.uint64(0), np.uint64(1), np.uint64(2), np.uint64(3)),
            (wx0, wx1, wx2, wx3),
            (wy0, wy1, wy2, wy3),
        )
    return _cubic_sum(
        s,
        (
            _mirror(iy - 1, hs) * ws,
            _mirror(iy, hs) * ws,
            _mirror(iy + 1, hs) * ws,
            _mirror(iy + 2, hs) * ws,
        ),
        (_mirror(ix - 1, ws), _mirror(ix, ws), _mirror(ix + 1, ws), _mirror(ix + 2, ws)),
        (wx0, wx1, wx2, wx3),
        (wy0, wy1, wy2, wy3),
    )


@njit(cache=True, inline="always")
def _row_cells(x0, y, pitch, width, inv_h, last):  # pragma: no cover - compiled
    """Along one output row at height y: each pixel's cell in the r_u/r_o table (of step
    1/inv_h) and its fraction there."""
    cell = np.empty(width, dtype=np.int64)
    frac = np.empty(width, dtype=np.float64)
    for k in range(width):
        x = x0 + k * pitch
        t = math.sqrt(x * x + y * y) * inv_h
        i = min(int(t), last)
        cell[k] = i
        frac[k] = t - i
    return cell, frac


@njit(cache=True, inline="always")
def _source_positions(  # pragma: no cover - compiled
    lut, cell, frac, x0, y, pitch, inv_pitch, col0, row0, first, step, ixs, iys, txs, tys
):
    """Where pixels first, first + step, … of the row read the source: whole pixel (ixs,
    iys) and fraction (txs, tys), from the band's r_u/r_o table ``lut``. A loop without
    branches, which the compiler vectorises."""
    for k in range(first, cell.shape[0], step):
        x = x0 + k * pitch
        i = cell[k]
        ratio = lut[i] + frac[k] * (lut[i + 1] - lut[i])
        sx = x * ratio * inv_pitch + col0
        sy = y * ratio * inv_pitch + row0
        fx = math.floor(sx)
        fy = math.floor(sy)
        ixs[k] = int(fx)
        iys[k] = int(fy)
        txs[k] = sx - fx
        tys[k] = sy - fy


@njit(parallel=True, cache=True, fastmath=True)
def _remap_bands(src, out, x0, y0, pitch, width, height, inv_h, luts, col0, row0, cubic, clip):  # noqa: E501  # pragma: no cover
    """out[b, r, k] = src[b] interpolated at band b's radial map of pixel (r, k), for every
    band of ``src`` (C, Hs, Ws), ``luts`` (C, n) holding each band's r_u/r_o table: the map
    and the remap fused, all bands in one pass.

    Row by row in three steps: the radius of each pixel (shared by the bands), then per band
    the source positions (a loop without branches the compiler vectorises), then the
    interpolation. The same arithmetic as one band at a time (``tests/test_optics_aberrations.py``
    keeps that kernel as the reference and checks they are equal).
    """
    nb, hs, ws = src.shape
    last = luts.shape[1] - 2
    inv_pitch = 1.0 / pitch
    for r in prange(height):
        y = y0 + r * pitch
        cell, frac = _row_cells(x0, y, pitch, width, inv_h, last)
        ixs = np.empty(width, dtype=np.int64)
        iys = np.empty(width, dtype=np.int64)
        txs = np.empty(width, dtype=np.float64)
        tys = np.empty(width, dtype=np.float64)
        for b in range(nb):
            lut = luts[b]
            _source_positions(
                lut, cell, frac, x0, y, pitch, inv_pitch, col0, row0, 0, 1, ixs, iys, txs, tys
            )
            s = src[b].ravel()
            for k in range(width):
                acc = _interpolate(s, hs, ws, ixs[k], iys[k], txs[k], tys[k], cubic)
                if clip and acc < 0.0:
                    acc = 0.0
                out[b, r, k] = acc


@njit(parallel=True, cache=True, fastmath=True)
def _remap_mosaic(  # pragma: no cover - compiled
    src, out, x0, y0, pitch, width, height, inv_h, luts, col0, row0, cfa, oy, ox, fall_off
):
    """:func:`_remap_bands` (cubic, clipped) at each pixel's own CFA band only, times
    ``fall_off``: out[r, k] = max(band b's remap at (r, k), 0) · fall_off[r, k] with
    b = cfa[(r + oy) % ph, (k + ox) % pw]. The same numbers as remapping every band and
    picking, for a third of the interpolations on a Bayer mosaic."""
    hs, ws = src.shape[1], src.shape[2]
    last = luts.shape[1] - 2
    inv_pitch = 1.0 / pitch
    ph, pw = cfa.shape
    for r in prange(height):
        y = y0 + r * pitch
        cell, frac = _row_cells(x0, y, pitch, width, inv_h, last)
        ixs = np.empty(width, dtype=np.int64)
        iys = np.empty(width, dtype=np.int64)
        txs = np.empty(width, dtype=np.float64)
        tys = np.empty(width, dtype=np.float64)
        cy = (r + oy) % ph
        for j in range(pw):  # the columns of this row that hold band b, a stride apart
            b = cfa[cy, (j + ox) % pw]
            lut = luts[b]
            _source_positions(
                lut, cell, frac, x0, y, pitch, inv_pitch, col0, row0, j, pw, ixs, iys, txs, tys
            )
            s = src[b].ravel()
            for k in range(j, width, pw):
                acc = _interpolate(s, hs, ws, ixs[k], iys[k], txs[k], tys[k], True)
                if acc < 0.0:
                    acc = 0.0
                out[r, k] = np.float32(acc) * fall_off[r, k]


def _check_source(window: SensorWindow, source: SensorWindow) -> None:
    if (source.pitch_m, source.full_width, source.full_height) != (
        window.pitch_m,
        window.full_width,
        window.full_height,
    ):
        raise ValueError("the source window must be on the same sensor grid as the output window")


def geometry_maps(
    window: SensorWindow,
    *,
    distortion: tuple[str, Sequence[float]] | None = None,
    lateral_scale: float = 1.0,
    source_window: SensorWindow | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(map_x, map_y), each (H, W) float32: where in ``source_window`` each output pixel reads.

    Output pixel at radius r_o (metres, in ``window``) reads the source at radius r_u along
    the same direction, with s·r_u·P(r_u / 21.633 mm) = r_o (``lateral_scale`` s, distortion
    P). Coordinates are pixel indices of ``source_window`` (default: ``window``), as
    ``cv2.remap`` takes them; :func:`apply_lens_geometry` computes the same map on the fly.
    """
    return _maps(*_radial_table(window, distortion, lateral_scale, source_window))


def _radial_table(window, distortion, lateral_scale, source_window) -> tuple:
    """Arguments of the map kernels: window geometry, r_u/r_o table, source offsets."""
    src = window if source_window is None else source_window
    _check_source(window, src)
    if not (math.isfinite(lateral_scale) and lateral_scale > 0):
        raise ValueError(f"lateral scale must be positive (got {lateral_scale})")
    c = _as_poly(distortion)
    name = distortion[0] if distortion else "none"
    return _radial_table_of(window, tuple(float(v) for v in c), float(lateral_scale), src, name)


@lru_cache(maxsize=32)
def _radial_table_of(window, poly: tuple, lateral_scale: float, src, name: str) -> tuple:
    """:func:`_radial_table` for a validated ratio polynomial; it depends on the lens and the
    windows only, so it is kept (a Newton solve on the radial table; read-only)."""
    c = np.asarray(poly, dtype=np.float64)
    x, y = pixel_centres_m(window)
    corner = max(abs(x[0]), abs(x[-1])), max(abs(y[0]), abs(y[-1]))
    rho_max = math.hypot(*corner) / FULL_FRAME_HALF_DIAGONAL_M
    _check_monotonic(c, rho_max / lateral_scale, name)
    # r_u / r_o as a function of ρ_o, by Newton on a fine radial table (the map is radial).
    rho = np.linspace(0.0, rho_max, _RATIO_LUT_N + 1)
    lut = np.empty_like(rho)
    lut[0] = 1.0 / (lateral_scale * c[0])
    lut[1:] = _invert(c, rho[1:] / lateral_scale) / rho[1:]
    lut.setflags(write=False)
    h = max(rho_max, 1e-30) / _RATIO_LUT_N
    return (
        float(x[0]),
        float(y[0]),
        float(window.pitch_m),
        int(window.width),
        int(window.height),
        1.0 / (h * FULL_FRAME_HALF_DIAGONAL_M),
        lut,
        src.full_width / 2.0 - 0.5 - src.origin_col,
        src.full_height / 2.0 - 0.5 - src.origin_row,
    )


def source_margin_px(
    window: SensorWindow,
    *,
    distortion: tuple[str, Sequence[float]] | None = None,
    lateral_scale_per_band: Sequence[float] | None = None,
) -> int:
    """How many pixels to render around ``window`` so that the remap reads no border.

    The source positions of a radial map are extreme on the window's outline, so only the
    outline is mapped. Adds 2 pixels for the bicubic support; 0 if the geometry is the
    identity. Render on ``expand_window(window, margin)`` and pass that as ``source_window``.
    """
    scales = [1.0] if lateral_scale_per_band is None else [float(s) for s in lateral_scale_per_band]
    if distortion is None and all(s == 1.0 for s in scales):
        return 0
    need = 0.0
    w, h = window.width, window.height
    edges = [(0, 0, w, 1), (h - 1, 0, w, 1), (0, 0, 1, h), (0, w - 1, 1, h)]
    for s in scales:
        for r0, c0, ww, hh in edges:
            strip = dataclasses.replace(
                window,
                origin_row=window.origin_row + r0,
                origin_col=window.origin_col + c0,
                width=ww,
                height=hh,
            )
            mx, my = geometry_maps(
                strip, distortion=distortion, lateral_scale=s, source_window=window
            )
            need = max(
                need,
                float(-mx.min()),
                float(mx.max() - (w - 1)),
                float(-my.min()),
                float(my.max() - (h - 1)),
            )
    return math.ceil(max(need, 0.0)) + 2


def apply_lens_geometry(
    planes: np.ndarray,
    window: SensorWindow,
    *,
    distortion: tuple[str, Sequence[float]] | None = None,
    lateral_scale_per_band: Sequence[float] | None = None,
    source_window: SensorWindow | None = None,
    interpolation: str = "cubic",
    clip_negative: bool = True,
) -> np.ndarray:
    """Distortion and lateral colour in one remap per band; (H, W, C) float32 on ``window``.

    ``planes``: the undistorted image, (Hs, Ws, C) or (Hs, Ws), on ``source_window``
    (default ``window``; render it larger by :func:`source_margin_px` for barrel
    distortion). ``distortion``: ``(model, coeffs)`` of :data:`DISTORTION_MODELS` or None.
    ``lateral_scale_per_band``: one radial scale per band (1 for the reference band), see
    :func:`lateral_scale_from_um`, or None. ``interpolation``: "cubic" (Catmull-Rom,
    default) or "linear"; the border is mirrored (half-sample symmetric). Values are
    resampled, not rescaled for the change of area (see the module docstring).
    """
    a = np.asarray(planes)
    if a.ndim not in (2, 3):
        raise ValueError(f"planes must be (H, W) or (H, W, C) (got shape {a.shape})")
    bands = [a] if a.ndim == 2 else [a[:, :, b] for b in range(a.shape[2])]
    out = lens_geometry_bands(
        bands,
        window,
        distortion=distortion,
        lateral_scale_per_band=lateral_scale_per_band,
        source_window=source_window,
        interpolation=interpolation,
        clip_negative=clip_negative,
    )
    return out[0] if a.ndim == 2 else np.ascontiguousarray(out.transpose(1, 2, 0))


def _checked_geometry(bands, window, lateral_scale_per_band, source_window):
    """The source window and one lateral scale per band, after checking the bands fit."""
    src = window if source_window is None else source_window
    _check_source(window, src)
    for plane in bands:
        if np.shape(plane) != (src.height, src.width):
            raise ValueError(
                f"planes are {np.shape(plane)[1]}×{np.shape(plane)[0]} px but the source "
                f"window is {src.width}×{src.height}"
            )
    n = len(bands)
    scales = (
        [1.0] * n if lateral_scale_per_band is None else [float(s) for s in lateral_scale_per_band]
    )
    if len(scales) != n:
        raise ValueError(f"need one lateral scale per band: {n} band(s), {len(scales)} scale(s)")
    return src, scales


def lens_geometry_mosaic(
    bands: np.ndarray,
    window: SensorWindow,
    cfa: np.ndarray,
    origin: tuple[int, int],
    fall_off: np.ndarray,
    out: np.ndarray,
    *,
    distortion: tuple[str, Sequence[float]],
    lateral_scale_per_band: Sequence[float] | None = None,
    source_window: SensorWindow | None = None,
) -> None:
    """:func:`lens_geometry_bands` (cubic, clipped at 0), each pixel's own CFA band picked
    and multiplied by ``fall_off``, in one pass into ``out``: the same numbers as remapping
    every band and picking, for a third of the interpolations on a Bayer mosaic.

    ``bands``: C-contiguous (C, Hs, Ws) float32 on ``source_window``; ``cfa`` (ph, pw) band
    indices whose phase is ``origin`` (row, column), as
    :meth:`~mountcam.optics.imaging.OpticalImage.mosaic` takes them; ``fall_off`` and
    ``out``: (H, W) float32 on ``window``. A distortion is required: without one, a band of
    lateral scale 1 is a plain crop in :func:`lens_geometry_bands`, not an interpolation.
    """
    if distortion is None:
        raise ValueError("the mosaic remap needs a distortion (use lens_geometry_bands)")
    if not (isinstance(bands, np.ndarray) and bands.dtype == np.float32 and bands.ndim == 3):
        raise ValueError("bands must be one (C, H, W) float32 array")
    src, scales = _checked_geometry(bands, window, lateral_scale_per_band, source_window)
    pattern = np.ascontiguousarray(cfa, dtype=np.int64)
    if pattern.ndim != 2 or pattern.min() < 0 or pattern.max() >= len(bands):
        raise ValueError(f"the CFA must be 2-D and name bands 0…{len(bands) - 1}")
    for a, name in ((fall_off, "fall-off"), (out, "output")):
        if np.shape(a) != (window.height, window.width):
            raise ValueError(f"the {name} must be the window's size")
    if out.dtype != np.float32:
        raise ValueError("the output must be float32")
    tables = [_radial_table(window, distortion, scale, src) for scale in scales]
    t0 = tables[0]
    _remap_mosaic(
        np.ascontiguousarray(bands),
        out,
        *t0[:6],
        np.stack([t[6] for t in tables]),
        t0[7],
        t0[8],
        pattern,
        int(origin[0]) % pattern.shape[0],
        int(origin[1]) % pattern.shape[1],
        np.ascontiguousarray(fall_off, dtype=np.float32),
    )


def lens_geometry_bands(
    bands: Sequence[np.ndarray],
    window: SensorWindow,
    *,
    distortion: tuple[str, Sequence[float]] | None = None,
    lateral_scale_per_band: Sequence[float] | None = None,
    source_window: SensorWindow | None = None,
    interpolation: str = "cubic",
    clip_negative: bool = True,
) -> np.ndarray:
    """:func:`apply_lens_geometry` band by band: ``bands`` are (Hs, Ws) planes (a
    channel-first (C, Hs, Ws) array will do; C-contiguous float32 ones are read in place),
    the result is (C, H, W) float32 on ``window``."""
    src, scales = _checked_geometry(bands, window, lateral_scale_per_band, source_window)
    n = len(bands)
    if interpolation not in _INTERPOLATION:
        raise ValueError(
            f"unknown interpolation '{interpolation}': use one of {', '.join(_INTERPOLATION)}"
        )
    cubic = interpolation == "cubic"
    out = np.empty((n, window.height, window.width), dtype=np.float32)
    dr, dc = window.origin_row - src.origin_row, window.origin_col - src.origin_col
    inside = dr >= 0 and dc >= 0 and dr + window.height <= src.height
    inside = inside and dc + window.width <= src.width
    crops = [b for b, s in enumerate(scales) if distortion is None and s == 1.0 and inside]
    for b in crops:  # the identity: a crop
        out[b] = bands[b][dr : dr + window.height, dc : dc + window.width]
    mapped = [b for b in range(n) if b not in crops]
    if not mapped:
        return out
    tables = [_radial_table(window, distortion, scales[b], src) for b in mapped]
    if isinstance(bands, np.ndarray) and bands.dtype == np.float32 and not crops:
        source = np.ascontiguousarray(bands)  # channel-first already: read in place
    else:
        source = np.stack([np.asarray(bands[b], dtype=np.float32) for b in mapped])
    target = out if not crops else np.empty((len(mapped),) + out.shape[1:], dtype=np.float32)
    luts = np.stack([t[6] for t in tables])
    t0 = tables[0]
    _remap_bands(source, target, *t0[:6], luts, t0[7], t0[8], cubic, clip_negative)
    if crops:
        out[mapped] = target
    return out


def distort(
    planes: np.ndarray,
    window: SensorWindow,
    model: str,
    coeffs: Sequence[float],
    *,
    source_window: SensorWindow | None = None,
    interpolation: str = "cubic",
) -> np.ndarray:
    """Radial distortion alone: :func:`apply_lens_geometry` with ``distortion=(model, coeffs)``."""
    return apply_lens_geometry(
        planes,
        window,
        distortion=(model, coeffs),
        source_window=source_window,
        interpolation=interpolation,
    )
