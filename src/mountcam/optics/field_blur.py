"""Field-dependent blur: the lens's residual aberrations, sharpest on axis, softest in the
corners (:class:`mountcam.optics.lens.FieldBlur`).

A Gaussian point spread of standard deviation σ(ρ) = σ₀ + (σ₁ − σ₀)·(ρ/ρ₁)², added to the
diffraction the renderer applies everywhere. The point spread changes across the image, so
each pixel gets its own kernel: σ at the pixel, quantised to ``SIGMA_STEP_PX`` (a table of
:func:`gaussian_kernel` responses), applied as a row pass and a column pass. A spatially
varying Gaussian is not exactly separable, but over a kernel's reach (±4σ ≈ ±4 px) σ changes
by under 0.01 px on the 1-inch sensor, so the two passes are the 2-D Gaussian of the pixel's
own σ to that precision (the same per-pixel approach to shift-variant blur as ISETCam's
shift-variant optics, which interpolates PSFs over field height). One numba kernel per pass,
parallel over rows: ~0.1 s per band at 12.5 MP on 2 cores.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from mountcam.jit import njit, prange
from mountcam.optics.sensor_window import FULL_FRAME_HALF_DIAGONAL_M, SensorWindow

#: Quantisation of σ between kernels of the table, pixels (the MTF at ⅓ cycle/pixel moves by
#: under 0.2 % from one to the next).
SIGMA_STEP_PX = 0.005


@njit(cache=True, inline="always")
def _level(x, y, s0, s2, lo, inv_step):  # pragma: no cover - compiled
    """Index into the kernel table of the σ at pixel offset (x, y) from the axis, pixels."""
    return int((s0 + s2 * (x * x + y * y) - lo) * inv_step + 0.5)


@njit(parallel=True, cache=True, fastmath=True)
def _rows(src, out, x0, y0, s0, s2, lo, inv_step, kernels, period, phase, wanted):  # noqa: E501  # pragma: no cover - compiled
    """The row pass, at the columns c with ``wanted[(c + phase) % period]`` (all: period 1).

    Taps and kernels are read by unsigned offsets into flat arrays: numba tests every signed
    index for a negative value (wrap-around), and a view of a kernel row per pixel is not
    free either (the pass 60 → 35 ms for a 12.8 MP band, the same numbers).
    """
    h, w = src.shape
    taps = kernels.shape[1]
    reach = taps // 2
    last = kernels.shape[0] - 1
    flat_kernels = kernels.ravel()
    for r in prange(h):
        y = y0 + r
        row = src[r].ravel()
        for first in range(period):
            if not wanted[(first + phase) % period]:
                continue
            for c in range(first, w, period):
                k0 = np.uint64(min(_level(x0 + c, y, s0, s2, lo, inv_step), last) * taps)
                acc = np.float32(0.0)
                if reach <= c < w - reach:
                    c0 = np.uint64(c - reach)
                    for j in range(taps):
                        u = np.uint64(j)
                        acc += flat_kernels[k0 + u] * row[c0 + u]
                else:
                    for j in range(-reach, reach + 1):
                        cc = c + j
                        if cc < 0:
                            cc = -cc - 1
                        if cc >= w:
                            cc = 2 * w - cc - 1
                        acc += flat_kernels[k0 + np.uint64(j + reach)] * row[min(max(cc, 0), w - 1)]
                out[r, c] = acc


@njit(cache=True, inline="always")
def _col_tap(src, r, c, x0, y0, s0, s2, lo, inv_step, kernels):  # pragma: no cover - compiled
    """The column pass at (r, c) of ``src``: its pixel's kernel down the column, mirrored."""
    h = src.shape[0]
    reach = kernels.shape[1] // 2
    kr = kernels[min(_level(x0 + c, y0 + r, s0, s2, lo, inv_step), kernels.shape[0] - 1)]
    acc = np.float32(0.0)
    if reach <= r < h - reach:
        for j in range(-reach, reach + 1):
            acc += kr[j + reach] * src[r + j, c]
    else:
        for j in range(-reach, reach + 1):
            rr = r + j
            if rr < 0:
                rr = -rr - 1
            if rr >= h:
                rr = 2 * h - rr - 1
            acc += kr[j + reach] * src[min(max(rr, 0), h - 1), c]
    return acc


@njit(parallel=True, cache=True, fastmath=True)
def _cols(src, out, x0, y0, s0, s2, lo, inv_step, kernels):  # pragma: no cover - compiled
    h, w = src.shape
    for r in prange(h):
        for c in range(w):
            out[r, c] = _col_tap(src, r, c, x0, y0, s0, s2, lo, inv_step, kernels)


@njit(parallel=True, cache=True, fastmath=True)
def _cols_pick(  # pragma: no cover - compiled
    src, border, fall_off, cfa, oy, ox, band, out, x0, y0, s0, s2, lo, inv_step, kernels
):
    """out[r, c] = (column pass of ``src`` at (r + border, c + border)) · fall_off[r, c], only
    where the CFA says ``band``: the column pass, the cut to the window, the fall-off and the
    CFA pick of :meth:`~mountcam.optics.imaging.OpticalImage.planes` in one pass."""
    h, w = out.shape
    ph, pw = cfa.shape
    for r in prange(h):
        cy = (r + oy) % ph
        for j in range(pw):  # the columns of this row that hold the band, a stride apart
            if cfa[cy, (j + ox) % pw] != band:
                continue
            for c in range(j, w, pw):
                acc = _col_tap(src, r + border, c + border, x0, y0, s0, s2, lo, inv_step, kernels)
                out[r, c] = acc * fall_off[r, c]


def _check(sigma_centre_m: float, sigma_corner_m: float, corner_rho: float) -> None:
    if min(sigma_centre_m, sigma_corner_m) < 0 or not corner_rho > 0:
        raise ValueError("field blur needs sigmas >= 0 and a positive corner radius")


@lru_cache(maxsize=16)
def _blur_args(
    window: SensorWindow, sigma_centre_m: float, sigma_corner_m: float, corner_rho: float
) -> tuple:
    """The kernels' arguments after ``src, out``: the σ(x, y) polynomial in pixel offsets and
    the table of kernels over the σ range of ``window``. They depend on the lens's field blur
    and the window only, so they are kept (a least-squares fit per table entry)."""
    pitch = window.pitch_m
    # σ in pixels = s0 + s2·(x² + y²), x, y: pixel offsets from the axis
    s0 = sigma_centre_m / pitch
    rho1_px = corner_rho * FULL_FRAME_HALF_DIAGONAL_M / pitch
    s2 = (sigma_corner_m - sigma_centre_m) / pitch / rho1_px**2
    x0 = window.origin_col + 0.5 - window.full_width / 2.0
    y0 = window.origin_row + 0.5 - window.full_height / 2.0
    xs = (x0, x0 + window.width - 1)
    ys = (y0, y0 + window.height - 1)
    near2 = min(xs, key=abs) ** 2 * (xs[0] * xs[1] > 0) + min(ys, key=abs) ** 2 * (
        ys[0] * ys[1] > 0
    )
    far2 = max(x * x for x in xs) + max(y * y for y in ys)
    lo, hi = sorted((s0 + s2 * near2, s0 + s2 * far2))
    sigmas = lo + SIGMA_STEP_PX * np.arange(int(math.ceil((hi - lo) / SIGMA_STEP_PX)) + 2)
    reach = max(3, int(math.ceil(4.0 * float(sigmas[-1]))))
    kernels = np.zeros((sigmas.size, 2 * reach + 1), np.float32)
    for i, sigma in enumerate(sigmas):
        k = gaussian_kernel(float(sigma)) if sigma > 0.02 else np.ones(1, np.float32)
        r = k.size // 2
        kernels[i, reach - r : reach + r + 1] = k
    kernels.setflags(write=False)
    return (float(x0), float(y0), float(s0), float(s2), float(lo), 1.0 / SIGMA_STEP_PX, kernels)


_ALL_COLUMNS = np.ones(1, dtype=np.uint8)


def apply_field_blur(
    planes: np.ndarray,
    window: SensorWindow,
    *,
    sigma_centre_m: float,
    sigma_corner_m: float,
    corner_rho: float,
) -> np.ndarray:
    """``planes`` (H, W, C) or (H, W) on ``window``, blurred by σ(ρ) (metres on the sensor);
    float32, same shape; borders mirrored. ``corner_rho`` is ρ₁, where σ reaches
    ``sigma_corner_m``."""
    a = np.asarray(planes, dtype=np.float32)
    bands = a[:, :, None] if a.ndim == 2 else a
    if bands.shape[:2] != (window.height, window.width):
        raise ValueError("planes and window differ in size")
    _check(sigma_centre_m, sigma_corner_m, corner_rho)
    args = _blur_args(window, float(sigma_centre_m), float(sigma_corner_m), float(corner_rho))
    out = np.empty_like(bands)
    tmp = np.empty(bands.shape[:2], np.float32)
    col = np.empty(bands.shape[:2], np.float32)
    for c in range(bands.shape[2]):
        _rows(np.ascontiguousarray(bands[:, :, c]), tmp, *args, 1, 0, _ALL_COLUMNS)
        _cols(tmp, col, *args)
        out[:, :, c] = col
    return out[:, :, 0] if a.ndim == 2 else out


def field_blur_mosaic_band(
    plane: np.ndarray,
    window: SensorWindow,
    border: int,
    fall_off: np.ndarray,
    cfa: np.ndarray,
    origin: tuple[int, int],
    band: int,
    out: np.ndarray,
    *,
    sigma_centre_m: float,
    sigma_corner_m: float,
    corner_rho: float,
    scratch: np.ndarray | None = None,
) -> None:
    """One band of :func:`apply_field_blur` straight into a CFA mosaic: ``plane`` (C-contiguous
    float32) on ``window`` is blurred, cut by ``border`` on every side, multiplied by
    ``fall_off`` and written to ``out`` (both the cut size) where the CFA (``cfa`` with its
    phase ``origin``, as :meth:`~mountcam.optics.imaging.OpticalImage.mosaic` takes them)
    says ``band``. The row pass runs only on the columns the band occupies; ``scratch``
    (``plane``'s shape) may be passed to be reused. Equal to blurring the whole band and
    picking (``tests/test_optics_imaging.py`` checks it)."""
    if plane.shape != (window.height, window.width) or not plane.flags.c_contiguous:
        raise ValueError("the plane must be a C-contiguous array of the window's size")
    if out.shape != (window.height - 2 * border, window.width - 2 * border):
        raise ValueError("the mosaic must be the window less its border")
    _check(sigma_centre_m, sigma_corner_m, corner_rho)
    args = _blur_args(window, float(sigma_centre_m), float(sigma_corner_m), float(corner_rho))
    pattern = np.ascontiguousarray(cfa, dtype=np.int64)
    ph, pw = pattern.shape
    oy, ox = int(origin[0]) % ph, int(origin[1]) % pw
    # Column phase of each window column of the plane: (c − border + ox) mod pw.
    wanted = np.ascontiguousarray(
        [np.any(pattern[:, (j + ox) % pw] == band) for j in range(pw)], dtype=np.uint8
    )
    tmp = np.empty(plane.shape, np.float32) if scratch is None else scratch
    _rows(plane, tmp, *args, pw, (-border) % pw, wanted)
    _cols_pick(tmp, int(border), fall_off, pattern, oy, ox, int(band), out, *args)


def gaussian_kernel(sigma_px: float) -> np.ndarray:
    """A symmetric 1-D kernel (float32, sums to 1) whose frequency response is the continuous
    Gaussian's, exp(−2π²σ²ν²), on 0 ≤ ν ≤ ½ cycle per pixel (least squares on 257
    frequencies, the response at ν = 0 held at 1).

    A Gaussian merely *sampled* at σ ≈ 0.5 px is a 3-tap filter whose response is a cosine:
    narrower than the continuous Gaussian (its taps' σ is 0.42 px at σ = 0.47 px) and 10 %
    too high at a third of a cycle per pixel, where the main lens's MTF50 lies; so the twin
    would pass 10-15 % more resolution than its lens file states."""
    radius = max(3, int(math.ceil(4.0 * sigma_px)))
    nu = np.linspace(0.0, 0.5, 257)
    target = np.exp(-2.0 * np.pi**2 * sigma_px**2 * nu**2)
    # response = c0 + 2 Σ c_k cos(2πkν); c0 = 1 − 2 Σ c_k keeps the response 1 at ν = 0
    basis = np.stack([2.0 * (np.cos(2.0 * np.pi * k * nu) - 1.0) for k in range(1, radius + 1)], 1)
    c, *_ = np.linalg.lstsq(basis, target - 1.0, rcond=None)
    taps = np.concatenate([c[::-1], [1.0 - 2.0 * c.sum()], c])
    return taps.astype(np.float32)


def field_blur_mtf(nu_cy_per_m, sigma_m: float) -> np.ndarray:
    """MTF of the Gaussian point spread of standard deviation ``sigma_m``:
    exp(−2π²σ²ν²) (the Fourier transform of a normalised 2-D Gaussian along any direction)."""
    nu = np.asarray(nu_cy_per_m, dtype=np.float64)
    return np.exp(-2.0 * np.pi**2 * sigma_m**2 * nu**2)


__all__ = [
    "SIGMA_STEP_PX",
    "apply_field_blur",
    "field_blur_mosaic_band",
    "field_blur_mtf",
    "gaussian_kernel",
]
