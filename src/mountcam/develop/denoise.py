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

_TO_OPPONENT = np.array([[1 / 3, 1 / 3, 1 / 3], [1, -1, 0], [0, -1, 1]], np.float32)
_FROM_OPPONENT = np.linalg.inv(_TO_OPPONENT.astype(np.float64)).astype(np.float32)


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
) -> np.ndarray:
    """Remove the noise the model predicts from white-balanced linear camera RGB.

    ``rgb``: float32 (H, W, 3), 1.0 = white. ``noise_s``, ``noise_o``: 3 values each (R, G, B),
    variance = s·x + o in the same units. ``strength``: multiplies the model variance (0 = off,
    1 = the model, up to 4). Returns a new float32 array; an image whose noise is below
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
    for top in range(0, height, STRIP_ROWS):
        bottom = min(height, top + STRIP_ROWS)
        a, b = max(0, top - halo), min(height, bottom + halo)
        done = _denoise_block(rgb[a:b], lines, keep_fine_chroma)
        out[top:bottom] = done[top - a : top - a + bottom - top]
    return out


def _lee(plane: np.ndarray, mean_for_model: np.ndarray, line, radius: int) -> np.ndarray:
    """Lee's LLMMSE estimate of ``plane`` with noise variance ``line[0]·m + line[1]``."""
    size = (2 * radius + 1, 2 * radius + 1)
    border = cv2.BORDER_REFLECT
    mu = cv2.boxFilter(plane, -1, size, borderType=border)
    m2 = cv2.boxFilter(cv2.multiply(plane, plane), -1, size, borderType=border)
    var = m2 - mu * mu
    np.maximum(var, 1e-12, out=var)
    noise = np.maximum(mean_for_model, 0.0) * np.float32(line[0]) + np.float32(line[1])
    gain = np.maximum(var - noise, 0.0) / var
    return mu + gain * (plane - mu)


def _denoise_block(rgb: np.ndarray, lines: np.ndarray, keep_fine_chroma: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    opp = cv2.transform(rgb, _TO_OPPONENT)
    y = np.ascontiguousarray(opp[..., 0])
    size = (2 * LUMA_RADIUS_PX + 1,) * 2
    y_mean = cv2.boxFilter(y, -1, size, borderType=cv2.BORDER_REFLECT)
    y_out = _lee(y, y_mean, lines[0], LUMA_RADIUS_PX)

    # Colour differences at half resolution (odd sizes: the last row/column is repeated).
    he, we = h + (h & 1), w + (w & 1)
    if (he, we) != (h, w):
        opp_even = cv2.copyMakeBorder(opp, 0, he - h, 0, we - w, cv2.BORDER_REPLICATE)
    else:
        opp_even = opp
    half = cv2.resize(opp_even, (we // 2, he // 2), interpolation=cv2.INTER_AREA)
    mean_half = np.ascontiguousarray(half[..., 0])
    chroma = np.empty((he // 2, we // 2, 2), np.float32)
    for i in (1, 2):
        # Averaging 2×2 independent samples divides the noise variance by 4.
        chroma[..., i - 1] = _lee(
            np.ascontiguousarray(half[..., i]), mean_half, lines[i] / 4.0, CHROMA_RADIUS_PX
        )
    up = cv2.resize(chroma, (we, he), interpolation=cv2.INTER_LINEAR)[:h, :w]
    if keep_fine_chroma > 0.0:
        coarse = cv2.resize(half[..., 1:], (we, he), interpolation=cv2.INTER_LINEAR)[:h, :w]
        up += np.float32(keep_fine_chroma) * (opp[..., 1:] - coarse)
    opp[..., 0] = y_out
    opp[..., 1:] = up
    return cv2.transform(opp, _FROM_OPPONENT)
