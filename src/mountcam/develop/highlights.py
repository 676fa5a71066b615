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


# --- where each channel really clipped ---------------------------------------------------------

#: The clip point of a channel is looked for in the top quarter of the raw range, as LibRaw's
#: ``adjust_maximum_thr`` (0.75: a data maximum above 75 % of the nominal one is taken as the
#: real maximum; LibRaw docs, "imgdata.params").
CLIP_SEARCH_FLOOR = 0.75
#: Width of the "pile" at the top of a channel's histogram, as a fraction of the raw range
#: (0.2 %: 32 DN at 14 bits), and the two tests it must pass to count as a clip: at least
#: :data:`MIN_PILE_FRACTION` of the channel's pixels (and 8 pixels), and
#: :data:`PILE_RATIO` times as many pixels as the band of the same width just below it.
PILE_WIDTH = 0.002
MIN_PILE_FRACTION = 1e-4
PILE_RATIO = 4.0
#: One row pair in this many is read (both CFA rows of the pair): a clip is a large area, and a
#: quarter of the rows costs a quarter of the time of this pass in a 50 MP develop.
CLIP_ROW_PAIR_STEP = 4


@njit(parallel=True, nogil=True, cache=True)
def _top_histograms(mosaic, lo, hi, chunks, step):  # pragma: no cover - compiled
    """Per CFA position (2·(row & 1) + (col & 1)), counts of the values lo..hi (one bin per
    DN; values above ``hi`` in the last), and the position's pixel count in the last column,
    over the row pairs 0, ``step``, 2·``step``, …"""
    h, w = mosaic.shape
    n = hi - lo + 1
    hist = np.zeros((chunks, 4, n + 1), np.int64)
    for k in prange(chunks):
        for y in range(k * h // chunks, (k + 1) * h // chunks):
            if (y >> 1) % step:
                continue
            base = 2 * (y & 1)
            for x in range(w):
                pos = base + (x & 1)
                hist[k, pos, n] += 1
                v = np.int64(mosaic[y, x])
                if v >= lo:
                    hist[k, pos, min(v, hi) - lo] += 1
    return hist.sum(axis=0)


@njit(parallel=True, nogil=True, cache=True)
def _top_histograms_planes(values, lo, hi, chunks, step):  # pragma: no cover - compiled
    """:func:`_top_histograms` for an (h, w, 3) image: one histogram per plane."""
    h, w = values.shape[0], values.shape[1]
    n = hi - lo + 1
    hist = np.zeros((chunks, 3, n + 1), np.int64)
    for k in prange(chunks):
        for y in range(k * h // chunks, (k + 1) * h // chunks):
            if (y >> 1) % step:
                continue
            for x in range(w):
                for c in range(3):
                    hist[k, c, n] += 1
                    v = np.int64(values[y, x, c])
                    if v >= lo:
                        hist[k, c, min(v, hi) - lo] += 1
    return hist.sum(axis=0)


def channel_clip_levels(mosaic: np.ndarray, black_dn, white_dn: float) -> tuple[float, ...]:
    """The raw level (DN) at which each CFA position's channel clipped, row-major over the
    2×2 cell of ``mosaic``'s top-left pixel; ``white_dn`` where no clip is found below it.
    For an (H, W, 3) LinearRaw image, one level per plane.

    Sensors often saturate below the file's WhiteLevel (a green channel at ~15 600 of 16 383),
    and each colour at its own level. A clip shows as a pile of pixels at the top of that
    channel's histogram: the channel's highest value M (in the top quarter of the range) is
    taken as its clip point when the values within :data:`PILE_WIDTH` of the range below M
    hold at least :data:`MIN_PILE_FRACTION` of the channel's pixels and :data:`PILE_RATIO`
    times as many as the next band down. A bright but unclipped highlight tails off to its
    maximum and is left alone. One row pair in :data:`CLIP_ROW_PAIR_STEP` is read. This is the per-channel form of what LibRaw does with
    ``adjust_maximum_thr`` (one data maximum for all channels, taken whenever it exceeds 75 % of
    the nominal one) and RawTherapee with its per-channel maxima in highlight recovery; the pile
    test keeps an unclipped picture's brightest pixel from being taken for a clip.
    """
    white = float(white_dn)
    positions = 3 if mosaic.ndim == 3 else 4
    black = np.asarray(black_dn, np.float64).ravel()
    lo = int(np.ceil(float(black.max()) + CLIP_SEARCH_FLOOR * (white - float(black.max()))))
    hi = int(white)
    if hi <= lo or mosaic.size == 0:
        return (white,) * positions
    top_histograms = _top_histograms_planes if positions == 3 else _top_histograms
    hist = top_histograms(mosaic, lo, hi, 16, CLIP_ROW_PAIR_STEP)  # a crop: no copy
    width = max(1, int(round(PILE_WIDTH * (white - float(black.max())))))
    levels = []
    for pos in range(positions):
        counts, total = hist[pos, :-1], int(hist[pos, -1])
        filled = np.flatnonzero(counts)
        if filled.size == 0:
            levels.append(white)
            continue
        top = int(filled[-1])
        pile = int(counts[max(0, top - width + 1) : top + 1].sum())
        below = int(counts[max(0, top - 2 * width + 1) : max(0, top - width + 1)].sum())
        piled = pile >= max(8, MIN_PILE_FRACTION * total) and pile >= PILE_RATIO * below
        levels.append(float(min(lo + top, hi)) if piled else white)
    return tuple(levels)
