"""The on-sensor remosaic: a Quad Bayer read-out turned into a standard Bayer mosaic.

A Quad Bayer sensor (Sony's IMX989, Samsung's "Tetracell") puts each Bayer colour over a 2×2
cell of photodiodes. Binned, a cell is one pixel of a Bayer mosaic at twice the pitch; read
out in full, the sensor's remosaic engine estimates at each photodiode the colour a Bayer
sensor of the same pitch would have there, so that any Bayer demosaic can develop it. Of the
16 photodiodes of a 4×4 tile, 6 already carry the colour Bayer wants and are kept as read;
the other 10 are estimated, and how well decides whether a full-resolution picture shows
detail or colour moiré and zipper edges (Kim & Heo, "Quad Bayer joint demosaicing and
remosaicing", and the MIPI 2022 Quad-Bayer remosaic challenge report, Yang et al.,
arXiv:2209.07060, describe the problem and the artefacts; Image Algorithmics' analysis of the
pattern's spectrum explains why luminance must guide it: Quad Bayer has no chroma carrier far
from luminance).

Everything is done on white-balanced photodiodes ``n = (DN − black) · gain_c``, each colour
scaled by a fixed gain (the sensor's own response to a neutral under D65, passed in by the
caller: a remosaic engine works with fixed calibration gains, not with the scene). On a
neutral surface ``n`` then *is* the luminance at full resolution, and colour differences
``G − C`` are zero.

**Pass 1, green at every R and B photodiode** (the luminance guide), from two estimates:

* *luminance-guided*: ``G(x) = n(x) + Δ``, with ``Δ`` the local colour difference ``G − C``
  of the cell. Each R or B cell has 8 green photodiodes touching its sides; the 8 pair
  differences ``n(green) − n(cell photodiode)`` are ``Δ`` plus a luminance step whose
  first-order parts cancel in pairs (left/right, top/bottom), so their median is ``Δ``
  without the gradient and without the few pairs an edge passes between. The cell's ``Δ`` is
  then averaged with its 8 same-colour neighbour cells (4 px away), each weighted by
  ``1/(σ₀ + spread)²`` of its pairs' robust range, so a cell cut by an edge borrows its colour
  difference from cells that are not. Exact on neutral and constant-colour surfaces whatever
  their luminance detail: what resolves the Siemens star.
* *edge-directed*: along the row and along the column the two nearest green photodiodes lie at
  distances 1 and 2, and the colour difference is interpolated between them with ``C`` at the
  green sites taken from the line's own C photodiodes (Hamilton & Adams' colour-difference
  rule, US 5,629,734, adapted to 2×2 cells): exact on linear ramps of luminance *and* colour.
  Row and column are blended with weights ``1/(ε + ∇)²`` of their gradients (same-colour and
  green steps along the line, and the change of the colour difference across the cell), so
  an edge is interpolated along itself, never across it (the zipper's cause).

The two are blended by how much the neighbour cells' colour differences disagree: where they
agree (``var ≪ τ²``) colour is locally constant and the luminance-guided estimate is used;
where colour itself has fine detail, the edge-directed one.

**Pass 2, red and blue where Bayer wants them**: green plus the colour difference ``T − G``
of the four T cells around the site (their centres lie on a 4-px lattice), each cell's mean
difference weighted bilinearly by position and by how alike its mean green is to the site's
green (a joint bilateral weight, so colour does not bleed across a luminance edge). Green
sites of the Bayer pattern take pass 1's green.

Speed: the work is done per 2×2 cell where it can be (the cells' medians by a sorting network,
the four line estimates once per cell), in three numba passes; ``bench/remosaic_accuracy.py``
times a whole 8192×6144 read-out.
"""

from __future__ import annotations

import numpy as np

from mountcam.jit import njit, prange
from mountcam.sensor.cfa import bayer, quad_bayer

#: Extension of the mosaic on each side (a multiple of the 4-pixel tile, so colours keep their
#: phase): the cells' pairs reach 2 px, the green pass 4 px and its neighbour cells 6 px, the
#: colour pass's cells 5 px beyond the window.
PAD_PX = 12
#: How far from an output pixel the photodiodes it depends on can lie: its green's lines
#: (4 px) and neighbour cells (4 px, their pairs 2 more), the colour cells around it (5 px):
#: two windows of the same read-out agree this far inside their edges.
REACH_PX = 12
#: Weights of a cell (centre) and its 8 same-colour neighbours in the luminance-guided colour
#: difference: the cell's own counts most, edge neighbours more than corner ones.
NEAR_WEIGHTS = np.array([[0.5, 1.0, 0.5], [1.0, 4.0, 1.0], [0.5, 1.0, 0.5]], dtype=np.float32)
#: Regularisation of the direction weights ``1/(ε + ∇)²``, white-balanced DN.
GRADIENT_EPS_DN = 1.0
#: ``σ₀`` of the neighbour cells' weights ``1/(σ₀ + spread)²``, white-balanced DN (about a
#: dark pixel's temporal noise at base ISO, so noise alone does not rank cells).
SPREAD_FLOOR_DN = 4.0
#: ``τ`` of the blend ``var / (var + τ²)`` towards the edge-directed green, white-balanced DN.
COLOUR_DETAIL_DN = 8.0
#: Share of the cells' squared spread (a robust range of their pairs, about 2.3 σ of a pixel's
#: noise) that noise alone puts into their disagreement, and more: a cell median's noise is
#: about 0.27 of the spread, its square 0.07, so 0.25 keeps noise from looking like colour.
NOISE_SHARE = 0.25
#: Similarity scale of the colour pass: greens that differ by ``σ = σ0 + k·(G1 + G2)`` weigh
#: half as much.
SIMILARITY_FLOOR_DN = 4.0
SIMILARITY_RELATIVE = 0.05


@njit(parallel=True, cache=True)
def _white_balanced(quad, pad, native, oy, ox, black, gains, n):  # pragma: no cover - compiled
    """``n = (DN − black) · gain`` of each photodiode's colour, float32, on the window grown
    by ``pad`` on each side with rows and columns copied from ``pad`` inside (a multiple of
    the tile, so every photodiode keeps its colour)."""
    h, w = quad.shape
    for row in prange(h + 2 * pad):
        r = np.int64(row)
        sr = r
        if r >= pad + h:
            sr = r - 2 * pad
        elif r >= pad:
            sr = r - pad
        tr = (r + oy) & 3
        for c in range(w + 2 * pad):
            sc = c
            if c >= pad + w:
                sc = c - 2 * pad
            elif c >= pad:
                sc = c - pad
            n[r, c] = (np.float32(quad[sr, sc]) - black) * gains[native[tr, (c + ox) & 3]]


@njit(inline="always")
def _sort2(a, b):  # pragma: no cover - compiled
    return min(a, b), max(a, b)


@njit(inline="always")
def _median_and_range8(x0, x1, x2, x3, x4, x5, x6, x7):  # pragma: no cover - compiled
    """Of 8 values: the median (mean of the 4th and 5th smallest) and the robust range (7th
    smallest minus 2nd smallest), by Batcher's odd–even merge sorting network (19 branch-free
    compare-exchanges; Knuth, TAOCP vol. 3, §5.3.4)."""
    x0, x1 = _sort2(x0, x1)
    x2, x3 = _sort2(x2, x3)
    x4, x5 = _sort2(x4, x5)
    x6, x7 = _sort2(x6, x7)
    x0, x2 = _sort2(x0, x2)
    x1, x3 = _sort2(x1, x3)
    x4, x6 = _sort2(x4, x6)
    x5, x7 = _sort2(x5, x7)
    x1, x2 = _sort2(x1, x2)
    x5, x6 = _sort2(x5, x6)
    x0, x4 = _sort2(x0, x4)
    x1, x5 = _sort2(x1, x5)
    x2, x6 = _sort2(x2, x6)
    x3, x7 = _sort2(x3, x7)
    x2, x4 = _sort2(x2, x4)
    x3, x5 = _sort2(x3, x5)
    x1, x2 = _sort2(x1, x2)
    x3, x4 = _sort2(x3, x4)
    x5, x6 = _sort2(x5, x6)
    return 0.5 * (x3 + x4), x6 - x1


@njit(parallel=True, cache=True)
def _cell_differences(
    n, native, oy, ox, floor, dcell, spread, weight
):  # pragma: no cover - compiled
    """Per R/B cell: the median of its 8 (G − C) pairs across the cell's sides, their robust
    range and the cell's weight ``1/(σ₀ + range)²``, at index ``((r0 + oy&1)/2, (c0 + ox&1)/2)`` of the cell's top-left."""
    hp, wp = n.shape
    for r0 in prange(2, hp - 2):
        if ((r0 + oy) & 1) != 0:
            continue
        i = (r0 + (oy & 1)) >> 1
        for c0 in range(2, wp - 2):
            if ((c0 + ox) & 1) != 0 or native[(r0 + oy) & 3, (c0 + ox) & 3] == 1:
                continue
            d, s = _median_and_range8(
                n[r0, c0 - 1] - n[r0, c0],
                n[r0 + 1, c0 - 1] - n[r0 + 1, c0],
                n[r0, c0 + 2] - n[r0, c0 + 1],
                n[r0 + 1, c0 + 2] - n[r0 + 1, c0 + 1],
                n[r0 - 1, c0] - n[r0, c0],
                n[r0 - 1, c0 + 1] - n[r0, c0 + 1],
                n[r0 + 2, c0] - n[r0 + 1, c0],
                n[r0 + 2, c0 + 1] - n[r0 + 1, c0 + 1],
            )
            j = (c0 + (ox & 1)) >> 1
            dcell[i, j] = d
            spread[i, j] = s
            weight[i, j] = 1.0 / ((floor + s) * (floor + s))


@njit(inline="always")
def _line_pair(vm3, vm2, vm1, v0, v1, v2, v3, v4):  # pragma: no cover - compiled
    """Green at both photodiodes of a cell from one line through it.

    ``v0, v1`` are the cell's two photodiodes (colour C) on the line, ``vm2, vm1`` and
    ``v2, v3`` the green cells' photodiodes beside it, ``vm3`` and ``v4`` the next C
    photodiodes. Returns (estimate at v0, estimate at v1, gradient along the line).
    """
    c_m1 = (vm3 + 2.0 * v0) / 3.0  # C at the green site left of the cell, from the line's C
    c_p2 = (2.0 * v1 + v4) / 3.0
    d_left = vm1 - c_m1
    d_right = v2 - c_p2
    grad = abs(v0 - v1) + abs(vm2 - vm1) + abs(v2 - v3) + abs(d_left - d_right)
    return v0 + (2.0 * d_left + d_right) / 3.0, v1 + (d_left + 2.0 * d_right) / 3.0, grad


@njit(parallel=True, cache=True)
def _green_pass(
    n, native, oy, ox, dcell, spread, weight, eps, tau, share, green, cell_d, cell_g
):  # pragma: no cover - compiled
    """Green at every R and B photodiode (pass 1 of the module docstring), one cell at a time,
    and per cell the mean colour difference ``n − G`` and mean green (for pass 2). Cells
    within 6 px of the padded edge are left."""
    hp, wp = n.shape
    first_row = 6 + ((6 + oy) & 1)
    for k in prange((hp - 6 - first_row + 1) // 2):
        r0 = first_row + 2 * k
        tr = (r0 + oy) & 3
        i0 = (r0 + (oy & 1)) >> 1
        # In a row of cells every other one is R (or B): tile column 0 or 2.
        own_col = 0 if native[tr, 0] != 1 else 2
        for c0 in range(6 + ((own_col - 6 - ox) & 3), wp - 6, 4):
            j0 = (c0 + (ox & 1)) >> 1
            # Luminance-guided: the cells' colour differences, weighted by their pairs' spread.
            acc = 0.0
            wsum = 0.0
            q_sum = 0.0
            q_d = 0.0
            q_dd = 0.0
            q_ss = 0.0
            for di in range(3):
                for dj in range(3):
                    i = i0 + 2 * di - 2
                    j = j0 + 2 * dj - 2
                    s = spread[i, j]
                    d = dcell[i, j]
                    wgt = NEAR_WEIGHTS[di, dj] * weight[i, j]
                    acc += wgt * d
                    wsum += wgt
                    # Disagreement of the reliable cells (squared weights keep cut cells out
                    # of it), against what their noise alone explains (their spread).
                    q = wgt * wgt
                    q_sum += q
                    q_d += q * d
                    q_dd += q * d * d
                    q_ss += q * s * s
            d_lg = acc / wsum
            var = max(q_dd / q_sum - 2.0 * d_lg * q_d / q_sum + d_lg * d_lg, 0.0)
            alpha = var / (var + tau * tau + share * q_ss / q_sum)
            # Edge-directed: both rows and both columns of the cell.
            h00, h01, gh0 = _line_pair(
                n[r0, c0 - 3], n[r0, c0 - 2], n[r0, c0 - 1], n[r0, c0], n[r0, c0 + 1],
                n[r0, c0 + 2], n[r0, c0 + 3], n[r0, c0 + 4],
            )  # fmt: skip
            h10, h11, gh1 = _line_pair(
                n[r0 + 1, c0 - 3], n[r0 + 1, c0 - 2], n[r0 + 1, c0 - 1], n[r0 + 1, c0],
                n[r0 + 1, c0 + 1], n[r0 + 1, c0 + 2], n[r0 + 1, c0 + 3], n[r0 + 1, c0 + 4],
            )  # fmt: skip
            v00, v10, gv0 = _line_pair(
                n[r0 - 3, c0], n[r0 - 2, c0], n[r0 - 1, c0], n[r0, c0], n[r0 + 1, c0],
                n[r0 + 2, c0], n[r0 + 3, c0], n[r0 + 4, c0],
            )  # fmt: skip
            v01, v11, gv1 = _line_pair(
                n[r0 - 3, c0 + 1], n[r0 - 2, c0 + 1], n[r0 - 1, c0 + 1], n[r0, c0 + 1],
                n[r0 + 1, c0 + 1], n[r0 + 2, c0 + 1], n[r0 + 3, c0 + 1], n[r0 + 4, c0 + 1],
            )  # fmt: skip
            d_sum = 0.0
            g_sum = 0.0
            for a in range(2):
                for b in range(2):
                    # Each gradient counts the cell's other line at half weight.
                    if a == 0:
                        eh = eps + gh0 + 0.5 * gh1
                        est_h = h00 if b == 0 else h01
                    else:
                        eh = eps + gh1 + 0.5 * gh0
                        est_h = h10 if b == 0 else h11
                    if b == 0:
                        ev = eps + gv0 + 0.5 * gv1
                        est_v = v00 if a == 0 else v10
                    else:
                        ev = eps + gv1 + 0.5 * gv0
                        est_v = v01 if a == 0 else v11
                    wh = 1.0 / (eh * eh)
                    wv = 1.0 / (ev * ev)
                    own = n[r0 + a, c0 + b]
                    directed = (wh * est_h + wv * est_v) / (wh + wv)
                    g = (1.0 - alpha) * (own + d_lg) + alpha * directed
                    green[r0 + a, c0 + b] = g
                    d_sum += own - g
                    g_sum += g
            cell_d[i0, j0] = 0.25 * d_sum
            cell_g[i0, j0] = 0.25 * g_sum


@njit(parallel=True, cache=True)
def _bayer_pass(
    raw, n, green, cell_d, cell_g, native, target, cell_rows, cell_cols, oy, ox, pad, inv_gains,
    black, white, floor, rel, out,
):  # pragma: no cover - compiled  # fmt: skip
    """The Bayer mosaic: kept photodiodes as read, green from pass 1, red and blue as green
    plus the colour difference ``T − G`` of the four surrounding T cells (pass 2)."""
    h, w = out.shape
    for r in prange(h):
        rr = r + pad
        for c in range(w):
            cc = c + pad
            ch = native[(rr + oy) & 3, (cc + ox) & 3]
            t = target[(rr + oy) & 1, (cc + ox) & 1]
            if ch == t:
                out[r, c] = raw[r, c]
                continue
            gx = n[rr, cc] if ch == 1 else green[rr, cc]
            if t == 1:
                value = gx
            else:
                # The T cells' centres lie on a 4-px lattice: the four around the site, with
                # bilinear weights times the likeness of their green to the site's.
                ky = (rr + oy - cell_rows[t]) & 3
                fy = ky - 0.5
                ra = rr - ky
                if fy < 0.0:
                    fy += 4.0
                    ra -= 4
                kx = (cc + ox - cell_cols[t]) & 3
                fx = kx - 0.5
                ca = cc - kx
                if fx < 0.0:
                    fx += 4.0
                    ca -= 4
                acc = 0.0
                wsum = 0.0
                inv_sigma = 1.0 / (floor + 2.0 * rel * abs(gx))
                for a in range(2):
                    i = (ra + 4 * a + (oy & 1)) >> 1
                    wy = 0.25 * fy if a == 1 else 1.0 - 0.25 * fy
                    for b in range(2):
                        j = (ca + 4 * b + (ox & 1)) >> 1
                        wx = 0.25 * fx if b == 1 else 1.0 - 0.25 * fx
                        z = (cell_g[i, j] - gx) * inv_sigma
                        wgt = wy * wx / (1.0 + z * z)
                        acc += wgt * cell_d[i, j]
                        wsum += wgt
                value = gx + acc / wsum
            dn = value * inv_gains[t] + black
            if dn < 0.0:
                dn = 0.0
            elif dn > white:
                dn = white
            out[r, c] = np.uint16(dn + 0.5)


def remosaic(
    quad: np.ndarray,
    pattern: str = "RGGB",
    origin: tuple[int, int] = (0, 0),
    *,
    black_level_dn: float = 0.0,
    white_level_dn: float = 65535.0,
    channel_gains: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> np.ndarray:
    """Quad Bayer DN mosaic (H, W) uint16 -> Bayer DN mosaic of the same size and pattern.

    ``origin`` is the window's top-left on the full pixel grid (its phase in the 4×4 tile).
    ``black_level_dn``: the pedestal, removed before colour differences are formed and put
    back after; ``white_level_dn``: the largest code written. ``channel_gains`` (R, G, B)
    white-balance the photodiodes for the colour differences (the sensor's fixed calibration,
    see the module docstring). The 6 of 16 photodiodes whose colour Bayer wants keep their
    code exactly. Windows need at least 16 pixels a side.
    """
    quad = np.asarray(quad)
    if quad.ndim != 2 or min(quad.shape) < 16:
        raise ValueError(f"remosaic needs a 2-D window of at least 16x16 pixels, got {quad.shape}")
    if quad.dtype != np.uint16:
        raise ValueError(f"remosaic reads uint16 DN, not {quad.dtype}")
    gains = np.asarray(channel_gains, dtype=np.float32)
    if gains.shape != (3,) or not np.all(np.isfinite(gains) & (gains > 0)):
        raise ValueError(f"channel gains must be three positive numbers, got {channel_gains!r}")
    native = quad_bayer(pattern)
    target = bayer(pattern)
    oy, ox = origin[0] % 4, origin[1] % 4
    hp, wp = quad.shape[0] + 2 * PAD_PX, quad.shape[1] + 2 * PAD_PX
    n = np.empty((hp, wp), dtype=np.float32)
    _white_balanced(quad, PAD_PX, native, oy, ox, np.float32(black_level_dn), gains, n)
    # One value per 2x2 cell; cells with no R/B colour stay zero and are never read.
    cells = (hp // 2 + 2, wp // 2 + 2)
    dcell = np.zeros(cells, dtype=np.float32)
    spread = np.zeros(cells, dtype=np.float32)
    weight = np.zeros(cells, dtype=np.float32)
    _cell_differences(n, native, oy, ox, np.float32(SPREAD_FLOOR_DN), dcell, spread, weight)
    green = np.zeros_like(n)
    cell_d = np.zeros(cells, dtype=np.float32)
    cell_g = np.zeros(cells, dtype=np.float32)
    _green_pass(
        n,
        native,
        oy,
        ox,
        dcell,
        spread,
        weight,
        np.float32(GRADIENT_EPS_DN),
        np.float32(COLOUR_DETAIL_DN),
        np.float32(NOISE_SHARE),
        green,
        cell_d,
        cell_g,
    )
    del dcell, spread, weight
    # Tile row and column of each colour's cell (its top-left photodiode).
    cell_rows = np.array([int(np.argwhere(native == c)[0, 0]) for c in range(3)], np.int64)
    cell_cols = np.array([int(np.argwhere(native == c)[0, 1]) for c in range(3)], np.int64)
    out = np.empty(quad.shape, dtype=np.uint16)
    _bayer_pass(
        quad,
        n,
        green,
        cell_d,
        cell_g,
        native,
        target,
        cell_rows,
        cell_cols,
        oy,
        ox,
        PAD_PX,
        (1.0 / gains).astype(np.float32),
        np.float32(black_level_dn),
        np.float32(white_level_dn),
        np.float32(SIMILARITY_FLOOR_DN),
        np.float32(SIMILARITY_RELATIVE),
        out,
    )
    return out
