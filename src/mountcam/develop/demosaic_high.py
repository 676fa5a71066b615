"""``high`` demosaic: minimised-Laplacian residual interpolation (MLRI).

References: D. Kiku, Y. Monno, M. Tanaka, M. Okutomi, "Residual interpolation for color image
demosaicking", ICIP 2013 (RI), and "Minimized-Laplacian residual interpolation for color image
demosaicking", Proc. SPIE 9023, 2014 (MLRI); I. Pekkucuksen, Y. Altunbasak, "Gradient based
threshold free color filter array interpolation", ICIP 2010 (the four-direction weights).

Residual interpolation: instead of interpolating a colour *difference* (which assumes the two
channels differ by a smooth offset), a guided filter (He, Sun, Tang, ECCV 2010) turns a
complete guide plane ``I`` into a tentative estimate ``aI + b`` of the sparse plane ``p``,
fitted per window; the *residual* ``p − (aI + b)``, known at ``p``'s own sites, is much
smoother than the colour difference and is interpolated linearly, then added back. MLRI fits
``a`` on Laplacians (``a = Σ ΔI·Δp / Σ ΔI²``), which makes the residual smooth rather than
small, the property that linear interpolation needs. Here that slope is ridged towards 1 (the
colour-difference model) so that it falls back to a colour difference where the window holds
too little Laplacian energy to fit it (:data:`_RB_PRIOR`, :data:`_G_PRIOR`).

Steps, all on the mosaic padded by :data:`_PAD` mirrored pixels:

1. Along each direction d ∈ {horizontal, vertical}: the other channel is interpolated linearly
   along d (the tentative guide), MLRI with a 1-D window along d estimates G at red/blue sites
   and red/blue at green sites of the same row (column); the colour difference
   Δ_d = G − C follows on every pixel.
2. Each Δ_d is averaged half and half with Hamilton-Adams' difference along d, and the two
   are combined with four directional weights ``1/(Σ_{3×3}|∂_d Δ_HA,d|)²`` (gradients of the
   Hamilton-Adams differences) taken one pixel to the north, south, west and east, each
   applied to a half-Gaussian average of Δ_d on that side (Pekkucuksen & Altunbasak 2010, as
   used by Kiku et al.). G = C + Δ at C sites.
3. Red and blue: MLRI guided by the full green plane with a 2-D window, Laplacians on the
   sparse (stride-2) grid, residuals interpolated bilinearly.

How it is computed: numba kernels, float32 throughout, that give the whole-plane OpenCV/NumPy
formulation (``tests/demosaic_high_reference.py``) to float32 rounding (max
abs difference ~1e-6 in linear light; ``tests/test_develop_demosaic_high_kernels.py``).

* The CFA phase replaces the 0/1 masks: each loop knows which sites it is at and computes
  only what those sites need (no plane multiplied by a mask).
* Green's directional step runs on whole lines: each row, and the columns 32 at a time side
  by side (so that it too runs along memory). Along a line the two fits (G at green sites,
  C at red/blue sites) share one Laplacian of the guide and one of the mosaic, and their
  11-pixel window sums split by parity, so both come from one pass. Each step mirrors its
  input about the line's ends, as the reference's whole-plane filters do at the slab's edge.
* Window sums are direct sums of the neighbours, not running sums: a value then depends on
  its neighbourhood only, not on where a strip starts, so strips stay bit-identical to a
  whole frame.
* The rest (the rows' directional step, the activities, green at red/blue sites, red and
  blue, the output) is streamed down the rows: each quantity is kept in a ring of its last
  few rows that stays in the caches, and the later steps are computed only where the output
  needs them, at least 3 pixels inside the padded slab (so no later step meets an edge).
* Every loop is a small kernel of its own whose indices are the loop counter plus constants:
  LLVM vectorises those (a run-time offset turns numba's negative-index wrap-around into a
  per-element select, and the loop into gathers, 5-10× slower).

At 50 MP, inside the develop, this is 1.55-1.77 s of one thread's CPU against the
reference's 10.69 s (docs/develop-demosaic.md).
Large frames are processed in horizontal strips (:data:`_STRIP_ROWS` rows plus
:data:`CONTEXT_ROWS` of context on each side) on two threads; the kernels release the GIL.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from mountcam.jit import njit

#: Half-width of the 1-D guided-filter window for green (window 1 × (2·_H_GREEN + 1)).
_H_GREEN = 5
#: Half-size of the 2-D guided-filter window for red and blue.
_H_RB = 3
#: Regularisation of the guided filter's slope (1.0 = white); negligible against texture.
_EPS = 1e-10
#: Ridges pulling the MLRI slopes towards 1 (the colour-difference model), in units of the
#: window's sum of squared guide Laplacians (square-root domain, 1.0 = white): where that
#: energy is small against the ridge (smooth areas, noise-level texture) the fitted slope is
#: poorly conditioned and the estimate becomes a colour difference; real texture outweighs
#: it. Chosen on McMaster-18 and the twin's captures together (see docs/develop-demosaic.md).
_RB_PRIOR = 1e-2
_G_PRIOR = 5e-4
#: Weight of the Hamilton-Adams colour difference in green's directional estimate (the rest
#: is MLRI's); see ``_green``.
_HA_SHARE = 0.5
#: Mirrored margin added around the mosaic (and each strip); even to keep the CFA phase.
_PAD = 16
#: Rows of context a strip needs: green (a,b window 5 + their average 5 + the Laplacian 2 +
#: residual 1 + the half-Gaussian 4 + the weights' 3×3 window 1 + shift 1) and then red/blue
#: (Laplacian 2 + a,b window 3 + their average 3 + residual 1). Rounded up to an even number
#: with slack (measured: 28 rows of strip overlap are bit-identical to one slab, 26 are not).
CONTEXT_ROWS = 34
#: Rows per strip for large frames (plus context on both sides).
_STRIP_ROWS = 512


def demosaic_high(cfa: np.ndarray, rr: int, rc: int) -> np.ndarray:
    """(H, W, 3) float32 from a contiguous float32 (H, W) mosaic whose red site is at row
    parity ``rr`` and column parity ``rc``."""
    height, width = cfa.shape
    if height <= _STRIP_ROWS + 2 * CONTEXT_ROWS:
        return _mlri_padded(cfa, rr, rc, 0, height, height)
    out = np.empty((height, width, 3), dtype=np.float32)
    starts = list(range(0, height, _STRIP_ROWS))

    def run(r0: int) -> None:
        r1 = min(height, r0 + _STRIP_ROWS)
        _mlri_padded(cfa, rr, rc, r0, r1, height, out[r0:r1])

    workers = min(2, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(run, starts))
    return out


def _mirror_rows(height: int, lo: int, hi: int) -> np.ndarray:
    """Row indices lo..hi-1 of the frame, out-of-range ones mirrored about the edge rows."""
    idx = np.arange(lo, hi)
    period = max(1, 2 * (height - 1))
    idx = np.abs(idx) % period
    return np.where(idx >= height, period - idx, idx)


def _mlri_padded(
    cfa: np.ndarray, rr: int, rc: int, r0: int, r1: int, height: int, out: np.ndarray | None = None
) -> np.ndarray:
    """Rows r0..r1 of the demosaiced frame, computed from a mirrored-padded slab (into
    ``out``, (r1 − r0, W, 3) float32, when given)."""
    top = max(0, r0 - CONTEXT_ROWS)
    bottom = min(height, r1 + CONTEXT_ROWS)
    rows = _mirror_rows(height, top - _PAD, bottom + _PAD)
    cols = _mirror_rows(cfa.shape[1], -_PAD, cfa.shape[1] + _PAD)
    if out is None:
        out = np.empty((r1 - r0, cfa.shape[1], 3), np.float32)
    _slab(cfa, rows, cols, int(rr), int(rc), r0 - top + _PAD, out)
    return out


# ------------------------------------------------------------------------------------------
# kernels (float32 throughout: every constant below is a float32 so that no step widens).
# Each loop is its own small function over rows (or row tiles): LLVM vectorises those, not
# the same loops written one after another in one body (measured: 18 → 5 ns per pixel for
# green's line step).
# ------------------------------------------------------------------------------------------

_F = np.float32
_F0, _F1 = _F(0.0), _F(1.0)
_HALF, _QUARTER, _TWO, _FOUR = _F(0.5), _F(0.25), _F(2.0), _F(4.0)
_THREE, _FIVE, _SIX = _F(3.0), _F(5.0), _F(6.0)
_ELEVEN, _FORTY_NINE = _F(2 * _H_GREEN + 1), _F((2 * _H_RB + 1) ** 2)
_EPS32 = _F(_EPS)
_G_PRIOR32 = _F(_G_PRIOR)
_RB_PRIOR32 = _F(_RB_PRIOR)
_TINY = _F(1e-32)
_MIX = _F(_HA_SHARE)
_MIX_REST = _F(1) - _MIX
#: Halo of the line buffers: the widest single step reads ±5 (the 11-pixel window).
_HL = 8
#: Columns per tile of the vertical step (a tile's line buffers, 11 × rows × 32 floats,
#: stay in L2).
_TILE = 32
#: Start of a tile's data in its line buffers (after the halo).
_HL_COL = _HL * _TILE
_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


def _half_gaussian_taps() -> np.ndarray:
    """Five taps of a σ = 2 Gaussian, centre first, sum 1 (float32, as the reference has them)."""
    taps = np.exp(-(np.arange(5) ** 2) / (2 * 2.0**2)).astype(np.float32)
    taps /= taps.sum()
    return taps


_T0, _T1, _T2, _T3, _T4 = (np.float32(t) for t in _half_gaussian_taps())


@njit(cache=True, nogil=True)
def _slab(cfa, rows, cols, rr, rc, start, out):  # pragma: no cover - compiled
    """Demosaic the slab ``cfa[rows][:, cols]`` (mirrored indices) into ``out``: slab rows
    ``start .. start + len(out)`` and columns ``_PAD .. _PAD + width``.

    Green's directional differences are computed on whole lines (each row; the columns
    :data:`_TILE` at a time, side by side), mirrored at the slab's edges step by step as the
    reference's whole-plane filters are; every later step is computed only where the output
    needs it, at least 3 pixels inside the slab, so that no later step meets an edge.
    """
    # Each step is a kernel of its own (measured: the same loops inlined into this body run
    # ~35 % slower).
    m = _sqrt_plane(cfa, rows, cols)
    # 1. Directional differences and Hamilton-Adams gradients along rows and columns. A red
    # or blue site is where row + column parity is rr + rc's.
    phase = (rr + rc) & 1
    grad_v, dif_v = _columns_step(m, phase)
    # 2. The rows' directional step, green at red/blue sites, red and blue, the output rows:
    # streamed down the rows.
    _finish(m, grad_v, dif_v, rr, rc, start, start + out.shape[0], out)


@njit(**_JIT)
def _sqrt_plane(cfa, rows, cols):  # pragma: no cover - compiled
    """The slab ``cfa[rows][:, cols]`` in the square-root domain."""
    m = np.empty((rows.size, cols.size), np.float32)
    for i in range(rows.size):
        _sqrt_row(cfa[rows[i]], cols, m[i])
    return m


@njit(**_JIT)
def _row_step(m, y, buf, par_h, grad_out, dif_out):  # pragma: no cover - compiled
    """Gradient and directional difference along slab row ``y`` (``par_h``: the red/blue
    sites of rows of even and of odd parity)."""
    wp = m.shape[1]
    _copy(m[y], buf[0, _HL : _HL + wp])
    _line_row(buf, par_h[y & 1], wp, grad_out, dif_out)


@njit(**_JIT)
def _columns_step(m, phase):  # pragma: no cover - compiled
    """Gradient and directional difference down every column of the slab, :data:`_TILE`
    columns at a time."""
    hp, wp = m.shape
    grad_v = np.empty((hp, wp), np.float32)
    dif_v = np.empty((hp, wp), np.float32)
    n = hp * _TILE
    tiles = np.empty((11, n + 2 * _HL_COL), np.float32)
    par_v = np.empty(n, np.bool_)
    for k in range(n):
        par_v[k] = ((k // _TILE + k % _TILE) & 1) == phase  # tiles start on even columns
    tile_grad = np.empty(n, np.float32)
    tile_dif = np.empty(n, np.float32)
    x = tiles[0]
    x[:] = _F0  # the columns a last, narrower tile lacks
    for c0 in range(0, wp, _TILE):
        nt = min(wp, c0 + _TILE) - c0
        for i in range(hp):
            k = _HL_COL + i * _TILE
            _copy(m[i, c0 : c0 + nt], x[k : k + nt])
        _line_col(tiles, par_v, n, tile_grad, tile_dif)
        for i in range(hp):
            _copy(tile_grad[i * _TILE : i * _TILE + nt], grad_v[i, c0 : c0 + nt])
            _copy(tile_dif[i * _TILE : i * _TILE + nt], dif_v[i, c0 : c0 + nt])
    return grad_v, dif_v


@njit(**_JIT, inline="always")
def _copy(src, dst):  # pragma: no cover - compiled
    for j in range(dst.size):
        dst[j] = src[j]


@njit(**_JIT)
def _sqrt_row(src, cols, dst):  # pragma: no cover - compiled
    """dst[j] = sign·sqrt(|src[cols[j]]|): the square-root domain (shot-noise stabilising).
    ``cols`` is the row's columns mirrored by :data:`_PAD` on each side: the mirrored ones are
    gathered, the row itself read straight (a loop that vectorises)."""
    width = src.size
    for j in range(_PAD):
        dst[j] = _signed_sqrt(src[cols[j]])
        dst[_PAD + width + j] = _signed_sqrt(src[cols[_PAD + width + j]])
    for i in range(width):
        dst[i + _PAD] = _signed_sqrt(src[i])


@njit(**_JIT, inline="always")
def _signed_sqrt(v):  # pragma: no cover - compiled
    s = np.float32(np.sqrt(abs(v)))
    return s if v >= 0 else -s


@njit(**_JIT)
def _halo(b, n, s):  # pragma: no cover - compiled
    """Mirror (reflect-101) the _HL values beyond each end of the lines in ``b``: ``n`` values
    from index ``_HL``, ``s`` lines interleaved (element k of line t at ``k·s + t``)."""
    for k in range(1, _HL + 1):
        b[(_HL - k) * s : (_HL - k + 1) * s] = b[(_HL + k) * s : (_HL + k + 1) * s]
        b[(_HL + n - 1 + k) * s : (_HL + n + k) * s] = b[(_HL + n - 1 - k) * s : (_HL + n - k) * s]


# Green's directional step, on one row (neighbours 1 apart) or on _TILE columns side by side
# (element k of column t at k·_TILE + t, neighbours _TILE apart). The two sets are the same
# code but for that constant: a loop vectorises only when its indices are the loop counter
# plus compile-time constants (a run-time offset makes numba's negative-index wrap-around a
# per-element select, and LLVM gathers). ``n`` counts elements; ``par[i]`` is True at red and
# blue sites. Each step mirrors its input about the line's ends (``_halo``), as the
# reference's whole-plane filters do, so the lines' edges come out the same.


@njit(**_JIT)
def _avg_row(x, avg, n):  # pragma: no cover - compiled
    for i in range(n):
        avg[i + _HL] = _HALF * x[i + _HL - 1] + _HALF * x[i + _HL + 1]


@njit(**_JIT)
def _laplacians_row(x, avg, ha, pp, qq, n, par):  # pragma: no cover - compiled
    for i in range(n):
        xi = x[i + _HL]
        other = (
            -_QUARTER * x[i + _HL - 2]
            + _HALF * x[i + _HL - 1]
            + _HALF * xi
            + _HALF * x[i + _HL + 1]
            - _QUARTER * x[i + _HL + 2]
        )
        ha[i + _HL] = other - xi if par[i] else xi - other
        li = _TWO * avg[i + _HL] - avg[i + _HL - 2] - avg[i + _HL + 2]
        lp = _TWO * xi - x[i + _HL - 2] - x[i + _HL + 2]
        pp[i + _HL] = li * lp
        qq[i + _HL] = li * li


@njit(**_JIT, inline="always")
def _line_fits(p5, p6, q5, q6, a5, a6, x5, x6, c):  # pragma: no cover - compiled
    """Slopes and offsets (a_G, b_G, a_C, b_C) of green's two 1×11 fits at one pixel, from the
    window sums over its 5 sites of the centre's colour (``*5``) and 6 of the other (``*6``):
    Laplacian products ``p``, squared guide Laplacians ``q``, guide ``a`` and mosaic ``x``;
    ``c`` is true at a green centre. Shared by the row and the column step."""
    # fit for G: its sites are the centre's parity at a green centre
    cnt = _SIX if c else _FIVE
    a_g = ((p6 if c else p5) + _G_PRIOR32) / (((q6 if c else q5) + _EPS32) + _G_PRIOR32)
    b_g = (x6 if c else x5) / cnt - a_g * ((a6 if c else a5) / cnt)
    # fit for C (red/blue sites)
    cnt = _FIVE if c else _SIX
    a_c = ((p5 if c else p6) + _G_PRIOR32) / (((q5 if c else q6) + _EPS32) + _G_PRIOR32)
    b_c = (x5 if c else x6) / cnt - a_c * ((a5 if c else a6) / cnt)
    return a_g, b_g, a_c, b_c


@njit(**_JIT, inline="always")
def _own_other_row(b, k):  # pragma: no cover - compiled
    s5 = b[k - 4] + b[k - 2] + b[k] + b[k + 2] + b[k + 4]
    s6 = b[k - 5] + b[k - 3] + b[k - 1] + b[k + 1] + b[k + 3] + b[k + 5]
    return s5, s6


@njit(**_JIT)
def _fits_row(pp, qq, avg, x, ag, bg, ac, bc, par, n):  # pragma: no cover - compiled
    for i in range(n):
        p5, p6 = _own_other_row(pp, i + _HL)
        q5, q6 = _own_other_row(qq, i + _HL)
        a5, a6 = _own_other_row(avg, i + _HL)
        x5, x6 = _own_other_row(x, i + _HL)
        k = i + _HL
        ag[k], bg[k], ac[k], bc[k] = _line_fits(p5, p6, q5, q6, a5, a6, x5, x6, par[i])


@njit(**_JIT, inline="always")
def _box11_row(b, k):  # pragma: no cover - compiled
    return (
        b[k - 5]
        + b[k - 4]
        + b[k - 3]
        + b[k - 2]
        + b[k - 1]
        + b[k]
        + b[k + 1]
        + b[k + 2]
        + b[k + 3]
        + b[k + 4]
        + b[k + 5]
    )


@njit(**_JIT)
def _tentative_row(ag, bg, ac, bc, x, avg, tg, tc, par, n):  # pragma: no cover - compiled
    for i in range(n):
        k = i + _HL
        c = par[i]
        # the fit for G is guided by C along the line, the fit for C by G
        guide_g = x[k] if c else avg[k]
        guide_c = avg[k] if c else x[k]
        tg[k] = (_box11_row(ag, k) / _ELEVEN) * guide_g + _box11_row(bg, k) / _ELEVEN
        tc[k] = (_box11_row(ac, k) / _ELEVEN) * guide_c + _box11_row(bc, k) / _ELEVEN


@njit(**_JIT)
def _difference_row(x, tg, tc, ha, dif_out, grad_out, par, n):  # pragma: no cover - compiled
    for i in range(n):
        xi = x[i + _HL]
        res_g = _HALF * (x[i + _HL - 1] - tg[i + _HL - 1]) + _HALF * (
            x[i + _HL + 1] - tg[i + _HL + 1]
        )
        res_c = _HALF * (x[i + _HL - 1] - tc[i + _HL - 1]) + _HALF * (
            x[i + _HL + 1] - tc[i + _HL + 1]
        )
        d = (tg[i + _HL] + res_g) - xi if par[i] else xi - (tc[i + _HL] + res_c)
        dif_out[i] = _MIX * ha[i + _HL] + _MIX_REST * d
        grad_out[i] = abs(ha[i + _HL + 1] - ha[i + _HL - 1])


@njit(**_JIT)
def _line_row(buf, par, n, grad_out, dif_out):  # pragma: no cover - compiled
    x, avg, ha, pp, qq = buf[0], buf[1], buf[2], buf[3], buf[4]
    ag, bg, ac, bc, tg, tc = buf[5], buf[6], buf[7], buf[8], buf[9], buf[10]
    m = n
    _halo(x, m, 1)
    _avg_row(x, avg, n)
    _halo(avg, m, 1)
    _laplacians_row(x, avg, ha, pp, qq, n, par)
    _halo(pp, m, 1)
    _halo(qq, m, 1)
    _fits_row(pp, qq, avg, x, ag, bg, ac, bc, par, n)
    _halo(ag, m, 1)
    _halo(bg, m, 1)
    _halo(ac, m, 1)
    _halo(bc, m, 1)
    _tentative_row(ag, bg, ac, bc, x, avg, tg, tc, par, n)
    _halo(tg, m, 1)
    _halo(tc, m, 1)
    _halo(ha, m, 1)
    _difference_row(x, tg, tc, ha, dif_out, grad_out, par, n)


@njit(**_JIT)
def _avg_col(x, avg, n):  # pragma: no cover - compiled
    for i in range(n):
        avg[i + _HL_COL] = _HALF * x[i + _HL_COL - _TILE] + _HALF * x[i + _HL_COL + _TILE]


@njit(**_JIT)
def _laplacians_col(x, avg, ha, pp, qq, n, par):  # pragma: no cover - compiled
    for i in range(n):
        xi = x[i + _HL_COL]
        other = (
            -_QUARTER * x[i + _HL_COL - 2 * _TILE]
            + _HALF * x[i + _HL_COL - _TILE]
            + _HALF * xi
            + _HALF * x[i + _HL_COL + _TILE]
            - _QUARTER * x[i + _HL_COL + 2 * _TILE]
        )
        ha[i + _HL_COL] = other - xi if par[i] else xi - other
        li = _TWO * avg[i + _HL_COL] - avg[i + _HL_COL - 2 * _TILE] - avg[i + _HL_COL + 2 * _TILE]
        lp = _TWO * xi - x[i + _HL_COL - 2 * _TILE] - x[i + _HL_COL + 2 * _TILE]
        pp[i + _HL_COL] = li * lp
        qq[i + _HL_COL] = li * li


@njit(**_JIT, inline="always")
def _own_other_col(b, k):  # pragma: no cover - compiled
    s5 = b[k - 4 * _TILE] + b[k - 2 * _TILE] + b[k] + b[k + 2 * _TILE] + b[k + 4 * _TILE]
    s6 = (
        b[k - 5 * _TILE]
        + b[k - 3 * _TILE]
        + b[k - _TILE]
        + b[k + _TILE]
        + b[k + 3 * _TILE]
        + b[k + 5 * _TILE]
    )
    return s5, s6


@njit(**_JIT)
def _fits_col(pp, qq, avg, x, ag, bg, ac, bc, par, n):  # pragma: no cover - compiled
    for i in range(n):
        p5, p6 = _own_other_col(pp, i + _HL_COL)
        q5, q6 = _own_other_col(qq, i + _HL_COL)
        a5, a6 = _own_other_col(avg, i + _HL_COL)
        x5, x6 = _own_other_col(x, i + _HL_COL)
        k = i + _HL_COL
        ag[k], bg[k], ac[k], bc[k] = _line_fits(p5, p6, q5, q6, a5, a6, x5, x6, par[i])


@njit(**_JIT, inline="always")
def _box11_col(b, k):  # pragma: no cover - compiled
    return (
        b[k - 5 * _TILE]
        + b[k - 4 * _TILE]
        + b[k - 3 * _TILE]
        + b[k - 2 * _TILE]
        + b[k - _TILE]
        + b[k]
        + b[k + _TILE]
        + b[k + 2 * _TILE]
        + b[k + 3 * _TILE]
        + b[k + 4 * _TILE]
        + b[k + 5 * _TILE]
    )


@njit(**_JIT)
def _tentative_col(ag, bg, ac, bc, x, avg, tg, tc, par, n):  # pragma: no cover - compiled
    for i in range(n):
        k = i + _HL_COL
        c = par[i]
        # the fit for G is guided by C along the line, the fit for C by G
        guide_g = x[k] if c else avg[k]
        guide_c = avg[k] if c else x[k]
        tg[k] = (_box11_col(ag, k) / _ELEVEN) * guide_g + _box11_col(bg, k) / _ELEVEN
        tc[k] = (_box11_col(ac, k) / _ELEVEN) * guide_c + _box11_col(bc, k) / _ELEVEN


@njit(**_JIT)
def _difference_col(x, tg, tc, ha, dif_out, grad_out, par, n):  # pragma: no cover - compiled
    for i in range(n):
        xi = x[i + _HL_COL]
        res_g = _HALF * (x[i + _HL_COL - _TILE] - tg[i + _HL_COL - _TILE]) + _HALF * (
            x[i + _HL_COL + _TILE] - tg[i + _HL_COL + _TILE]
        )
        res_c = _HALF * (x[i + _HL_COL - _TILE] - tc[i + _HL_COL - _TILE]) + _HALF * (
            x[i + _HL_COL + _TILE] - tc[i + _HL_COL + _TILE]
        )
        d = (tg[i + _HL_COL] + res_g) - xi if par[i] else xi - (tc[i + _HL_COL] + res_c)
        dif_out[i] = _MIX * ha[i + _HL_COL] + _MIX_REST * d
        grad_out[i] = abs(ha[i + _HL_COL + _TILE] - ha[i + _HL_COL - _TILE])


@njit(**_JIT)
def _line_col(buf, par, n, grad_out, dif_out):  # pragma: no cover - compiled
    x, avg, ha, pp, qq = buf[0], buf[1], buf[2], buf[3], buf[4]
    ag, bg, ac, bc, tg, tc = buf[5], buf[6], buf[7], buf[8], buf[9], buf[10]
    m = n // _TILE
    _halo(x, m, _TILE)
    _avg_col(x, avg, n)
    _halo(avg, m, _TILE)
    _laplacians_col(x, avg, ha, pp, qq, n, par)
    _halo(pp, m, _TILE)
    _halo(qq, m, _TILE)
    _fits_col(pp, qq, avg, x, ag, bg, ac, bc, par, n)
    _halo(ag, m, _TILE)
    _halo(bg, m, _TILE)
    _halo(ac, m, _TILE)
    _halo(bc, m, _TILE)
    _tentative_col(ag, bg, ac, bc, x, avg, tg, tc, par, n)
    _halo(tg, m, _TILE)
    _halo(tc, m, _TILE)
    _halo(ha, m, _TILE)
    _difference_col(x, tg, tc, ha, dif_out, grad_out, par, n)


@njit(**_JIT)
def _sum3x3(up, mid, down, col, out):  # pragma: no cover - compiled
    """3×3 sums of a plane at one row (columns 5 .. width − 5): the activities."""
    w = out.size
    for j in range(w):
        col[j] = up[j] + mid[j] + down[j]
    for i in range(w - 10):
        out[i + 5] = col[i + 4] + col[i + 5] + col[i + 6]


@njit(**_JIT)
def _half_gaussian(d0, d1, d2, d3, d4, out):  # pragma: no cover - compiled
    """Half-Gaussian (σ = 2 px, five taps) average of the rows d0 (centre) .. d4."""
    for i in range(out.size - 12):
        j = i + 6
        out[j] = _T0 * d0[j] + _T1 * d1[j] + _T2 * d2[j] + _T3 * d3[j] + _T4 * d4[j]


@njit(**_JIT)
def _green_row(m, dh, ah, a_n, a_s, h_n, h_s, q, g):  # pragma: no cover - compiled
    """Green on one slab row (columns 6 .. width − 6): the measured value at green sites,
    C + Δ at red/blue sites (column parity ``q``), Δ the four half-Gaussian averages of the
    directional differences weighted by 1/activity² one pixel to the west, east, north,
    south (Pekkucuksen & Altunbasak 2010)."""
    for i in range(m.size - 12):
        j = i + 6
        a = ah[j - 1]
        w_w = _F1 / (a * a + _TINY)
        a = ah[j + 1]
        w_e = _F1 / (a * a + _TINY)
        a = a_n[j]
        w_n = _F1 / (a * a + _TINY)
        a = a_s[j]
        w_s = _F1 / (a * a + _TINY)
        h_w = _T0 * dh[j] + _T1 * dh[j - 1] + _T2 * dh[j - 2] + _T3 * dh[j - 3] + _T4 * dh[j - 4]
        h_e = _T0 * dh[j] + _T1 * dh[j + 1] + _T2 * dh[j + 2] + _T3 * dh[j + 3] + _T4 * dh[j + 4]
        num = w_w * h_w + w_e * h_e + w_n * h_n[j] + w_s * h_s[j]
        mv = m[j]
        g[j] = mv + num / (w_w + w_e + w_n + w_s) if (j & 1) == q else mv


@njit(**_JIT)
def _finish(m, grad_v, dif_v, rr, rc, start, end, out):  # pragma: no cover
    """From the columns' directional differences to the output rows ``start .. end`` of the
    slab.

    The rows' directional differences (a row ahead of green), green at red/blue sites from the four weighted half-Gaussian averages; red and blue by
    MLRI guided by green (7×7 window, stride-2 Laplacians, the slope ridged towards 1 by
    :data:`_RB_PRIOR`, the residual interpolated bilinearly). Streamed down the rows: at row
    y the green of row y + 2 is made, then the Laplacian products of row y, the slope and
    offset of row y − 3 (whose window they complete), the tentative estimates of row y − 6
    and the output row y − 7; each quantity lives in a ring of its last rows, which stays in
    the caches. Every value is computed as a whole-plane pass would.
    """
    wp = m.shape[1]
    buf = np.empty((11, wp + 2 * _HL), np.float32)
    par_h = np.empty((2, wp), np.bool_)
    phase = (rr + rc) & 1
    for j in range(wp):
        par_h[0, j] = (j & 1) == phase  # rows of even parity
        par_h[1, j] = (j & 1) != phase
    grad_h = np.empty((4, wp), np.float32)  # row & 3
    dif_h = np.empty((4, wp), np.float32)
    g = np.empty((16, wp), np.float32)  # green, row & 15
    act_h = np.empty(wp, np.float32)
    act_v = np.empty((4, wp), np.float32)  # row & 3
    ring = np.empty((2, 4, 8, wp), np.float32)  # channel; products, slope, offset; row & 7
    tent = np.empty((2, 4, wp), np.float32)  # channel; row & 3
    sp = np.empty(wp, np.float32)
    sq = np.empty(wp, np.float32)
    sg = np.empty(wp, np.float32)
    sm = np.empty(wp, np.float32)
    for yv in (start - 10, start - 9):  # what the first green row needs above it
        _sum3x3(grad_v[yv - 1], grad_v[yv], grad_v[yv + 1], sp, act_v[yv & 3])
        _row_step(m, yv, buf, par_h, grad_h[yv & 3], dif_h[yv & 3])
    for y in range(start - 11, end + 7):
        yg = y + 2  # green
        if yg >= start - 9:
            _row_step(m, yg + 1, buf, par_h, grad_h[(yg + 1) & 3], dif_h[(yg + 1) & 3])
            _sum3x3(grad_h[(yg - 1) & 3], grad_h[yg & 3], grad_h[(yg + 1) & 3], sp, act_h)
            _sum3x3(grad_v[yg], grad_v[yg + 1], grad_v[yg + 2], sp, act_v[(yg + 1) & 3])
            _half_gaussian(
                dif_v[yg], dif_v[yg - 1], dif_v[yg - 2], dif_v[yg - 3], dif_v[yg - 4], sg
            )
            _half_gaussian(
                dif_v[yg], dif_v[yg + 1], dif_v[yg + 2], dif_v[yg + 3], dif_v[yg + 4], sm
            )
            q = rc if (yg & 1) == rr else 1 - rc
            _green_row(
                m[yg], dif_h[yg & 3], act_h, act_v[(yg - 1) & 3], act_v[(yg + 1) & 3], sg, sm, q,
                g[yg & 15],
            )  # fmt: skip
        if y < start - 7:
            continue
        ya = y - 3  # slope and offset: the window's rows of products are done
        yt = y - 6  # tentative estimate: the window's slopes and offsets are done
        for c in range(2):
            pr = rr if c == 0 else 1 - rr  # parity of the channel's rows
            pc = rc if c == 0 else 1 - rc  # and columns
            pp, qq, pa, pb = ring[c, 0], ring[c, 1], ring[c, 2], ring[c, 3]
            if (y & 1) == pr:
                _rb_laplacians_row(
                    g[(y - 2) & 15], g[y & 15], g[(y + 2) & 15], m[y - 2], m[y], m[y + 2],
                    pp[y & 7], qq[y & 7],
                )  # fmt: skip
            if start - 4 <= ya < end + 4:
                # The window's rows of the channel: 3 when the centre row is one, else 4.
                if (ya & 1) == pr:
                    r0, r1, r2 = (ya - 2) & 7, ya & 7, (ya + 2) & 7
                    _sum3(pp[r0], pp[r1], pp[r2], sp)
                    _sum3(qq[r0], qq[r1], qq[r2], sq)
                    _sum3(g[(ya - 2) & 15], g[ya & 15], g[(ya + 2) & 15], sg)
                    _sum3(m[ya - 2], m[ya], m[ya + 2], sm)
                    _rb_fit_row(sp, sq, sg, sm, _THREE, pc, pa[ya & 7], pb[ya & 7])
                else:
                    r0, r1, r2, r3 = (ya - 3) & 7, (ya - 1) & 7, (ya + 1) & 7, (ya + 3) & 7
                    _sum4(pp[r0], pp[r1], pp[r2], pp[r3], sp)
                    _sum4(qq[r0], qq[r1], qq[r2], qq[r3], sq)
                    _sum4(
                        g[(ya - 3) & 15], g[(ya - 1) & 15], g[(ya + 1) & 15], g[(ya + 3) & 15], sg
                    )
                    _sum4(m[ya - 3], m[ya - 1], m[ya + 1], m[ya + 3], sm)
                    _rb_fit_row(sp, sq, sg, sm, _FOUR, pc, pa[ya & 7], pb[ya & 7])
            if start - 1 <= yt < end + 1:
                _sum7_ring(pa, yt, sp)
                _sum7_ring(pb, yt, sq)
                _rb_tentative_row(sp, sq, g[yt & 15], tent[c, yt & 3])
        yo = y - 7  # output: the tentative estimates of rows yo − 1 .. yo + 1 are done
        if start <= yo < end:
            ru, rm, rd = tent[0, (yo - 1) & 3], tent[0, yo & 3], tent[0, (yo + 1) & 3]
            bu, bm, bd = tent[1, (yo - 1) & 3], tent[1, yo & 3], tent[1, (yo + 1) & 3]
            _out_row(
                m[yo - 1], m[yo], m[yo + 1], ru, rm, rd, bu, bm, bd, g[yo & 15],
                (yo & 1) == rr, rc, out[yo - start],
            )  # fmt: skip


@njit(**_JIT)
def _sum7_ring(ring, y, out):  # pragma: no cover - compiled
    """Sums of rows y − 3 .. y + 3 of a ring of 8 rows."""
    _sum7(
        ring[(y - 3) & 7], ring[(y - 2) & 7], ring[(y - 1) & 7], ring[y & 7],
        ring[(y + 1) & 7], ring[(y + 2) & 7], ring[(y + 3) & 7], out,
    )  # fmt: skip


@njit(**_JIT)
def _rb_laplacians_row(gu, gm, gd, mu, mm, md, pp, qq):  # pragma: no cover - compiled
    """Products of the stride-2 Laplacians of guide and mosaic on one of the channel's rows
    (columns 8 .. width − 8; only the channel's columns are read later)."""
    for i in range(gm.size - 16):
        j = i + 8
        li = _FOUR * gm[j] - gu[j] - gd[j] - gm[j - 2] - gm[j + 2]
        lp = _FOUR * mm[j] - mu[j] - md[j] - mm[j - 2] - mm[j + 2]
        pp[j] = li * lp
        qq[j] = li * li


@njit(**_JIT)
def _sum3(a, b, c, out):  # pragma: no cover - compiled
    for i in range(out.size - 16):
        out[i + 8] = a[i + 8] + b[i + 8] + c[i + 8]


@njit(**_JIT)
def _sum4(a, b, c, d, out):  # pragma: no cover - compiled
    for i in range(out.size - 16):
        j = i + 8
        out[j] = a[j] + b[j] + c[j] + d[j]


@njit(**_JIT)
def _sum7(a, b, c, d, e, f, h, out):  # pragma: no cover - compiled
    """Sums of seven rows (columns 11 .. width − 11)."""
    for i in range(out.size - 22):
        j = i + 11
        out[j] = a[j] + b[j] + c[j] + d[j] + e[j] + f[j] + h[j]


@njit(**_JIT, inline="always")
def _sum_sites(b, j, own):  # pragma: no cover - compiled
    """Sum over the channel's columns of the 7-wide window at ``j``: 3 if ``j`` is one."""
    if own:
        return b[j - 2] + b[j] + b[j + 2]
    return b[j - 3] + b[j - 1] + b[j + 1] + b[j + 3]


@njit(**_JIT)
def _rb_fit_row(sp, sq, sg, sm, nr, pc, pa, pb):  # pragma: no cover - compiled
    """Slope and offset over the 7×7 window (columns 11 .. width − 11) from column sums over
    the channel's ``nr`` rows of it; the window holds 3 or 4 of the channel's columns."""
    for i in range(sp.size - 22):
        j = i + 11
        own = (j & 1) == pc
        n = nr * (_THREE if own else _FOUR)
        a = (_sum_sites(sp, j, own) + _RB_PRIOR32) / (
            (_sum_sites(sq, j, own) + _EPS32) + _RB_PRIOR32
        )
        pa[j] = a
        pb[j] = _sum_sites(sm, j, own) / n - a * (_sum_sites(sg, j, own) / n)


@njit(**_JIT)
def _rb_tentative_row(sa, sb, g, tent):  # pragma: no cover - compiled
    """``ā·G + b̄`` on one row (columns 14 .. width − 14), ā and b̄ the 7×7 means."""
    for i in range(g.size - 28):
        j = i + 14
        sum_a = sa[j - 3] + sa[j - 2] + sa[j - 1] + sa[j] + sa[j + 1] + sa[j + 2] + sa[j + 3]
        sum_b = sb[j - 3] + sb[j - 2] + sb[j - 1] + sb[j] + sb[j + 1] + sb[j + 2] + sb[j + 3]
        tent[j] = (sum_a / _FORTY_NINE) * g[j] + sum_b / _FORTY_NINE


@njit(**_JIT)
def _out_row(mu, mm, md, ru, rm, rd, bu, bm, bd, g, red_row, rc, o):  # pragma: no cover
    """One output row in linear light (squares, signs kept): red and blue their tentative
    estimates (``r*``, ``b*``: rows above, at, below) plus the residuals m − tent of their
    sites interpolated bilinearly; green as estimated."""
    if red_row:
        _out_row_own_other(mu, mm, md, ru, rm, rd, bu, bm, bd, g, rc, o, 0, 2)
    else:
        _out_row_own_other(mu, mm, md, bu, bm, bd, ru, rm, rd, g, 1 - rc, o, 2, 0)


@njit(**_JIT)
def _out_row_own_other(mu, mm, md, su, sm, sd, tu, tm, td, g, sc, o, cs, ct):  # pragma: no cover
    """The row holds the sites of channel ``cs`` (tentative ``s*``, at column parity ``sc``);
    channel ``ct`` (tentative ``t*``) has its sites on the rows above and below, in the other
    columns."""
    for x in range(o.shape[0]):
        j = _PAD + x
        own_col = (j & 1) == sc
        # channel cs: its own site here, or the mean of the two beside
        r_s = mm[j] - sm[j]
        r_sh = _HALF * (mm[j - 1] - sm[j - 1]) + _HALF * (mm[j + 1] - sm[j + 1])
        v = sm[j] + (r_s if own_col else r_sh)
        o[x, cs] = v * abs(v)
        # channel ct: the mean of the four diagonal sites, or of the two above and below
        r_tv = _HALF * (mu[j] - tu[j]) + _HALF * (md[j] - td[j])
        r_td = _QUARTER * (
            (mu[j - 1] - tu[j - 1])
            + (mu[j + 1] - tu[j + 1])
            + (md[j - 1] - td[j - 1])
            + (md[j + 1] - td[j + 1])
        )
        v = tm[j] + (r_td if own_col else r_tv)
        o[x, ct] = v * abs(v)
        v = g[j]
        o[x, 1] = v * abs(v)
