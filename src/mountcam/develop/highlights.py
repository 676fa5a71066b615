"""Highlight reconstruction: clipped highlights that stay white (never magenta) and keep their
gradation.

Why it is needed: the three channels of a raw pixel clip at the same raw level, but white
balance multiplies them by different gains (1/neutral), so after white balance the channel
with the largest neutral (usually green) clips first, at 1.0, while the others go on to
``1/neutral_c``. A white cloud whose green has clipped but whose red and blue have not comes
out magenta (green too low); clipping everything at 1.0 instead makes it white but flat.

Method (in white-balanced camera RGB, after demosaic): a pixel is *clipped* when a channel
reaches its clip level ``L_c = 1/neutral_c`` (in these units). For such a pixel the level
``m`` where information was lost is the lowest clip level among its clipped channels. The
pixel keeps its *lightness* — the mean of all three channels, which still rises as the
unclipped channels rise — and takes its *chroma* (the deviation of each channel from that mean)
scaled down to the chroma of the same pixel with every channel limited to ``m``. A white
highlight therefore becomes neutral at the mean brightness of its channels, a saturated colour
that clipped only in its own dominant channel keeps its chroma, and nothing turns magenta.
This is the lightness/chroma blend of dcraw's ``-H 2`` ("blend") mode generalised to per-channel
clip levels (D. Coffin, dcraw.c, ``recover_highlights``/``blend_highlights``; idea only).
"""

from __future__ import annotations

import numpy as np

from mountcam.jit import njit, prange

#: A channel within this fraction of its clip level counts as clipped: demosaicking spreads
#: clipped values slightly below the level, and noise lets them hover there.
CLIP_FRACTION = 0.995


@njit(inline="always", nogil=True, cache=True)
def blend_pixel(r, g, b, lr, lg, lb):  # pragma: no cover - compiled
    """Reconstruct one white-balanced camera RGB pixel given channel clip levels (see module)."""
    m = 1e30
    if r >= CLIP_FRACTION * lr:
        m = lr
    if g >= CLIP_FRACTION * lg and lg < m:
        m = lg
    if b >= CLIP_FRACTION * lb and lb < m:
        m = lb
    if m == 1e30:
        return r, g, b
    mean = (r + g + b) / 3.0
    dr, dg, db = r - mean, g - mean, b - mean
    cr, cg, cb = min(r, m), min(g, m), min(b, m)
    cmean = (cr + cg + cb) / 3.0
    er, eg, eb = cr - cmean, cg - cmean, cb - cmean
    full = dr * dr + dg * dg + db * db
    if full <= 1e-20:
        return r, g, b
    k = np.sqrt((er * er + eg * eg + eb * eb) / full)
    return mean + k * dr, mean + k * dg, mean + k * db


@njit(parallel=True, nogil=True, cache=True)
def _reconstruct(rgb, lr, lg, lb, out):  # pragma: no cover - compiled
    h, w = rgb.shape[0], rgb.shape[1]
    for y in prange(h):
        for x in range(w):
            r, g, b = blend_pixel(rgb[y, x, 0], rgb[y, x, 1], rgb[y, x, 2], lr, lg, lb)
            out[y, x, 0] = r
            out[y, x, 1] = g
            out[y, x, 2] = b


def reconstruct_highlights(
    rgb: np.ndarray, clip_levels, out: np.ndarray | None = None
) -> np.ndarray:
    """Highlight reconstruction of white-balanced linear camera RGB (float32 (H, W, 3)).

    ``clip_levels``: the level at which each channel clipped, in the same units (``1/neutral``
    when the raw white level maps to 1.0 before white balance). Returns a new float32 array;
    unclipped pixels are unchanged. ``out`` may be ``rgb`` itself (in place: each pixel is read
    before it is written). The pipeline fuses the same per-pixel function into its
    colour kernel; this stand-alone form is for tests and other callers.
    """
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected (H, W, 3) RGB, got {rgb.shape}")
    lr, lg, lb = (float(v) for v in clip_levels)
    if out is None:
        out = np.empty_like(rgb)
    _reconstruct(rgb, lr, lg, lb, out)
    return out
