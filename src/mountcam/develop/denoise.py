"""Noise reduction driven by the sensor's noise model (the DNG NoiseProfile).

The image is split into luminance and two colour differences (an opponent space)::

    Y  = (R + G + B) / 3        C1 = R − G        C2 = B − G

and each is filtered with the local linear minimum-mean-square-error (LLMMSE) estimator of
Lee (J.-S. Lee, "Digital image enhancement and noise filtering by use of local statistics",
IEEE PAMI 2(2), 165–168, 1980; Kuan et al., IEEE PAMI 7(2), 1985, for signal-dependent
noise)::

    x̂ = μ + a · (y − μ),    a = max(v − n, 0) / v

where μ and v are the mean and variance of the observed ``y`` in a (2r+1)² box and ``n`` is the
*model's* noise variance at the local mean. In a flat area (v ≈ n) the output falls to the box
mean; across an edge (v ≫ n) it keeps the pixel. Because ``n`` comes from the noise model and
not from the image, the strength follows the ISO by itself, with nothing to tune per camera.

Noise model (DNG 1.4 §6 NoiseProfile, converted by the pipeline to the image's own units:
white-balanced linear camera RGB, 1.0 = white): channel ``c`` at signal ``x`` has variance
``noise_s[c]·x + noise_o[c]``. For the opponent planes, with channels taken as independent and
the local luminance mean standing in for every channel's signal (a white-balanced image is
near-neutral where it matters)::

    n_Y  = Σ_c (s_c μ + o_c) / 9,   n_C1 = (s_R + s_G) μ + o_R + o_G,   n_C2 = (s_B + s_G) μ + o_B + o_G

Luminance is filtered at full resolution in a 5×5 box. Colour noise after demosaicking is
band-limited to about half the Nyquist frequency (red and blue are sampled at a quarter of
the sites), so the colour differences are filtered at half resolution (2×2 area average,
noise variance ÷ 4) in a 9×9 box (≈ 18 px at full resolution), and the fine colour residual
is kept in proportion ``1 − k`` (see below), so low-ISO colour detail survives.

How much of it: ``k`` rises from 0 to 1 with the relative noise at 18 % grey,
``σ(0.18)/0.18``, on a log scale between :data:`QUIET_NOISE` (2 %, an ISO 100 exposure on a
1-inch sensor: no visible grain, left untouched) and :data:`LOUD_NOISE` (8 %, about
ISO 2000: fully cleaned). The model variance is multiplied by ``k · strength``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from mountcam.errors import InvalidSetting
from mountcam.jit import njit, prange

#: Relative noise σ/x at 18 % grey below which the image is left alone (ISO 100, 1-inch).
QUIET_NOISE = 0.02
#: Relative noise at 18 % grey from which the filter works at full strength (≈ ISO 2000).
LOUD_NOISE = 0.08
#: Box radius (pixels) of the luminance filter, at full resolution.
LUMA_RADIUS_PX = 2
#: Box radius (pixels) of the colour filter, at half resolution.
CHROMA_RADIUS_PX = 4
#: Rows per strip: bounded memory (a few strips of temporaries) and cache-friendly passes.
STRIP_ROWS = 512
#: Rows of context a caller working in strips must add above and below each strip for the
#: result to equal a whole-image pass (the colour filter's reach at half resolution, doubled
#: for the resampling, and even so the half-resolution grid stays aligned).
DENOISE_OVERLAP_ROWS = 2 * max(LUMA_RADIUS_PX, 2 * CHROMA_RADIUS_PX + 2)


def noise_weight(noise_s: np.ndarray, noise_o: np.ndarray) -> float:
    """``k`` in 0..1: how much of the model's noise the filter removes (see the module text)."""
    s = np.asarray(noise_s, np.float64)
    o = np.asarray(noise_o, np.float64)
    var18 = float(np.mean(np.maximum(s * 0.18 + o, 0.0)))
    if var18 <= 0.0:
        return 0.0
    rel = math.sqrt(var18) / 0.18
    k = math.log(rel / QUIET_NOISE) / math.log(LOUD_NOISE / QUIET_NOISE)
    return float(min(max(k, 0.0), 1.0))


def denoise(
    rgb: np.ndarray,
    noise_s: np.ndarray,
    noise_o: np.ndarray,
    strength: float = 1.0,
    *,
    strip_rows: int = STRIP_ROWS,
) -> np.ndarray:
    """Remove the noise the model predicts from white-balanced linear camera RGB.

    ``rgb``: float32 (H, W, 3), 1.0 = white. ``noise_s``, ``noise_o``: 3 values each (R, G, B),
    variance = s·x + o in the same units. ``strength``: multiplies the model variance (0 = off,
    1 = the model, up to 4). ``strip_rows``: rows denoised at a time (memory only: any height
    gives the same pixels). Returns a new float32 array; an image whose noise is below
    :data:`QUIET_NOISE` comes back as an unchanged copy.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidSetting(f"denoise needs an (H, W, 3) RGB image, got shape {rgb.shape}")
    s = np.broadcast_to(np.asarray(noise_s, np.float64), (3,))
    o = np.broadcast_to(np.asarray(noise_o, np.float64), (3,))
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(o))):
        raise InvalidSetting("the noise profile holds non-finite numbers")
    if not 0.0 <= strength <= 4.0:
        raise InvalidSetting(f"denoise strength {strength} is outside 0 to 4")
    rgb = rgb.astype(np.float32, copy=False)
    k = noise_weight(s, o) * strength
    if k <= 0.0 or min(rgb.shape[:2]) < 4:
        return rgb.copy()

    # Model variance of each opponent plane as a line in the local luminance mean.
    lines = np.array(
        [
            [s.sum() / 9.0, o.sum() / 9.0],
            [s[0] + s[1], o[0] + o[1]],
            [s[2] + s[1], o[2] + o[1]],
        ]
    )
    lines *= min(k, 4.0)
    keep_fine_chroma = max(0.0, 1.0 - min(k, 1.0))

    height = rgb.shape[0]
    out = np.empty_like(rgb)
    # Halo rows so each strip's boxes see the same neighbours as a whole-image pass; even, so
    # the half-resolution colour grid lines up with the whole image's.
    halo = DENOISE_OVERLAP_ROWS
    for top in range(0, height, strip_rows):
        bottom = min(height, top + strip_rows)
        a, b = max(0, top - halo), min(height, bottom + halo)
        _denoise_block(rgb[a:b], lines, keep_fine_chroma, top - a, out[top:bottom])
    return out


def _box(plane: np.ndarray, radius: int) -> np.ndarray:
    size = (2 * radius + 1, 2 * radius + 1)
    return cv2.boxFilter(plane, -1, size, borderType=cv2.BORDER_REFLECT)


def _denoise_block(
    rgb: np.ndarray, lines: np.ndarray, keep_fine_chroma: float, first: int, out: np.ndarray
) -> None:
    """Denoise the block ``rgb``; write its rows ``first .. first + len(out)`` into ``out``."""
    h, w = rgb.shape[:2]
    he, we = h + (h & 1), w + (w & 1)  # odd sizes: the last row/column is repeated
    y = np.empty((he, we), np.float32)
    chroma = np.empty((he, we, 2), np.float32)
    _to_opponent(rgb, y, chroma)

    # Luminance, full resolution; the model's signal is the box mean itself.
    mu = _box(y, LUMA_RADIUS_PX)
    m2 = _box(cv2.multiply(y, y), LUMA_RADIUS_PX)
    y_out = np.empty_like(y)
    _lee_kernel(y, mu, m2, mu, np.float32(lines[0][0]), np.float32(lines[0][1]), y_out)

    # Colour differences at half resolution: 2×2 averages of independent samples divide the
    # noise variance by 4.
    half_y = cv2.resize(y, (we // 2, he // 2), interpolation=cv2.INTER_AREA)
    half_c = cv2.resize(chroma, (we // 2, he // 2), interpolation=cv2.INTER_AREA)
    mu_c = _box(half_c, CHROMA_RADIUS_PX)
    m2_c = _box(cv2.multiply(half_c, half_c), CHROMA_RADIUS_PX)
    chroma_out = np.empty_like(half_c)
    for i in (0, 1):
        s_i, o_i = lines[i + 1] / 4.0
        _lee_kernel(
            half_c[..., i],
            mu_c[..., i],
            m2_c[..., i],
            half_y,
            np.float32(s_i),
            np.float32(o_i),
            chroma_out[..., i],
        )
    # Full-resolution colour = keep·C + bilinear(Ĉ_half − keep·C_half): the fine residual is
    # kept in proportion ``keep``; the interpolation is done inline, row by row.
    keep = np.float32(keep_fine_chroma)
    delta = chroma_out - keep * half_c
    _from_opponent(y_out, delta, chroma, keep, first, out)


@njit(parallel=True, cache=True)
def _to_opponent(rgb, y, chroma):  # pragma: no cover - compiled
    """Y = (R+G+B)/3, C1 = R−G, C2 = B−G into (he, we) planes, the last row/column repeated
    when the block's size is odd."""
    h, w = rgb.shape[:2]
    he, we = y.shape
    third = np.float32(1.0 / 3.0)
    for i in prange(he):
        si = min(np.int64(i), h - 1)
        for j in range(we):
            sj = min(np.int64(j), w - 1)
            r = rgb[si, sj, 0]
            g = rgb[si, sj, 1]
            b = rgb[si, sj, 2]
            y[i, j] = (r + g + b) * third
            chroma[i, j, 0] = r - g
            chroma[i, j, 1] = b - g


@njit(parallel=True, cache=True)
def _lee_kernel(plane, mu, m2, model_mean, line_s, line_o, out):  # pragma: no cover - compiled
    """Lee's LLMMSE estimate: x̂ = μ + a(y − μ), a = max(v − n, 0)/v, v = m2 − μ²,
    n = line_s·max(model_mean, 0) + line_o."""
    for i in prange(plane.shape[0]):
        for j in range(plane.shape[1]):
            m = mu[i, j]
            var = max(m2[i, j] - m * m, np.float32(1e-12))
            noise = max(model_mean[i, j], np.float32(0.0)) * line_s + line_o
            gain = max(var - noise, np.float32(0.0)) / var
            out[i, j] = m + gain * (plane[i, j] - m)


@njit(inline="always", cache=True)
def _taps(x, n):  # pragma: no cover - compiled
    """Bilinear taps of full-resolution index ``x`` on a half-resolution axis of length ``n``,
    as OpenCV's INTER_LINEAR resize places them (source = (x + ½)/2 − ½, edges replicated)."""
    src = (x + 0.5) * 0.5 - 0.5
    i0 = int(np.floor(src))
    f = np.float32(src - i0)
    i1 = min(max(i0 + 1, 0), n - 1)
    i0 = min(max(i0, 0), n - 1)
    return i0, i1, f


@njit(parallel=True, cache=True)
def _from_opponent(y, delta, chroma, keep, first, out):  # pragma: no cover - compiled
    """Back to RGB, rows ``first ..`` of the block into ``out``: C = keep·chroma +
    bilinear(delta); G = Y − (C1 + C2)/3, R = C1 + G, B = C2 + G."""
    third = np.float32(1.0 / 3.0)
    one = np.float32(1.0)
    hh, hw = delta.shape[:2]
    for k in prange(out.shape[0]):
        i = first + np.int64(k)
        r0, r1, fr = _taps(i, hh)
        for j in range(out.shape[1]):
            c0, c1_, fc = _taps(j, hw)
            wa = (one - fr) * (one - fc)
            wb = (one - fr) * fc
            wc = fr * (one - fc)
            wd = fr * fc
            u = keep * chroma[i, j, 0] + (
                wa * delta[r0, c0, 0]
                + wb * delta[r0, c1_, 0]
                + wc * delta[r1, c0, 0]
                + wd * delta[r1, c1_, 0]
            )
            v = keep * chroma[i, j, 1] + (
                wa * delta[r0, c0, 1]
                + wb * delta[r0, c1_, 1]
                + wc * delta[r1, c0, 1]
                + wd * delta[r1, c1_, 1]
            )
            g = y[i, j] - (u + v) * third
            out[k, j, 0] = u + g
            out[k, j, 1] = g
            out[k, j, 2] = v + g
