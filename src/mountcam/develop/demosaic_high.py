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

Large frames are processed in horizontal strips (:data:`_STRIP_ROWS` rows plus
:data:`CONTEXT_ROWS` of context on each side) on two threads; OpenCV and NumPy release the GIL,
so the strips run in parallel and the working set stays a few hundred MB at 50 MP.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

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
        out[r0:r1] = _mlri_padded(cfa, rr, rc, r0, r1, height)

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


def _mlri_padded(cfa: np.ndarray, rr: int, rc: int, r0: int, r1: int, height: int) -> np.ndarray:
    """Rows r0..r1 of the demosaiced frame, computed from a mirrored-padded slab."""
    top = max(0, r0 - CONTEXT_ROWS)
    bottom = min(height, r1 + CONTEXT_ROWS)
    rows = _mirror_rows(height, top - _PAD, bottom + _PAD)
    cols = _mirror_rows(cfa.shape[1], -_PAD, cfa.shape[1] + _PAD)
    out = np.empty((r1 - r0, cfa.shape[1], 3), np.float32)
    _slab(cfa, rows, cols, int(rr), int(rc), r0 - top + _PAD, out)
    return out


# ------------------------------------------------------------------------------------------
# kernels (float32 throughout: every constant below is a float32 so that no step widens)
# ------------------------------------------------------------------------------------------

_F = np.float32
_F0, _F1 = _F(0.0), _F(1.0)
_HALF, _QUARTER, _TWO, _FOUR = _F(0.5), _F(0.25), _F(2.0), _F(4.0)
_FIVE, _SIX, _NINE, _TWELVE = _F(5.0), _F(6.0), _F(9.0), _F(12.0)
_ELEVEN, _FORTY_NINE, _SIXTEEN = _F(2 * _H_GREEN + 1), _F((2 * _H_RB + 1) ** 2), _F(16.0)
_EPS32 = _F(_EPS)
_G_PRIOR32 = _F(_G_PRIOR)
_RB_PRIOR32 = _F(_RB_PRIOR)
_TINY = _F(1e-32)
_MIX = _F(_HA_SHARE)
_MIX_REST = _F(1) - _MIX
#: Halo of the per-line buffers: the widest single step reads ±5 (the 11-pixel window).
_HL = 8
#: Columns per tile of the vertical pass (gathered into lines, i.e. transposed).
_TILE = 16


def _half_gaussian_taps() -> np.ndarray:
    """Five taps of a σ = 2 Gaussian, centre first, sum 1 (float32, as the reference has them)."""
    taps = np.exp(-(np.arange(5) ** 2) / (2 * 2.0**2)).astype(np.float32)
    taps /= taps.sum()
    return taps


_T0, _T1, _T2, _T3, _T4 = (np.float32(t) for t in _half_gaussian_taps())


@njit(cache=True, nogil=True, inline="always")
def _halo(b, n):  # pragma: no cover - compiled
    """Mirror (reflect-101) the _HL values beyond each end of line ``b[_HL:_HL+n]``."""
    for k in range(1, _HL + 1):
        b[_HL - k] = b[_HL + k]
        b[_HL + n - 1 + k] = b[_HL + n - 1 - k]


@njit(cache=True, nogil=True)
def _line(src, q, grad_out, dif_out, buf):  # pragma: no cover - compiled
    """Green's directional colour difference along one line (a row or a column of the slab).

    ``src``: the square-root mosaic along the line; red/blue sites at index parity ``q``, green
    on the others. Writes ``dif_out`` (Δ = G − C: half Hamilton-Adams', half MLRI's) and
    ``grad_out`` (|∂Δ_HA| along the line). Every step mirrors its input about the line's end
    pixels, as the whole-plane filters do.
    """
    n = src.size
    o = _HL
    x = buf[0]
    avg = buf[1]
    ha = buf[2]
    pp = buf[3]
    qq = buf[4]
    ag = buf[5]
    bg = buf[6]
    ac = buf[7]
    bc = buf[8]
    tg = buf[9]
    tc = buf[10]
    for i in range(n):
        x[o + i] = src[i]
    _halo(x, n)
    for i in range(n):
        avg[o + i] = _HALF * x[o + i - 1] + _HALF * x[o + i + 1]
    _halo(avg, n)
    # Hamilton-Adams' difference and the Laplacian products of both fits. The guide of the
    # fit for G (at green sites) is the line's interpolated C, that of the fit for C (at C
    # sites) the interpolated G: at a fit's own sites both are ``avg``, so one Laplacian of
    # ``avg`` and one of the mosaic serve both fits, each at its own parity.
    for i in range(n):
        k = o + i
        xi = x[k]
        other = (
            -_QUARTER * x[k - 2]
            + _HALF * x[k - 1]
            + _HALF * xi
            + _HALF * x[k + 1]
            - _QUARTER * x[k + 2]
        )
        ha[k] = other - xi if (i & 1) == q else xi - other
        li = _TWO * avg[k] - avg[k - 2] - avg[k + 2]
        lp = _TWO * xi - x[k - 2] - x[k + 2]
        pp[k] = li * lp
        qq[k] = li * li
    _halo(pp, n)
    _halo(qq, n)
    # Window sums over the 11-pixel window, split by parity: the centre's own parity (5
    # sites) and the other one (6); a fit uses the sums over its own sites.
    for i in range(n):
        k = o + i
        p5 = pp[k - 4] + pp[k - 2] + pp[k] + pp[k + 2] + pp[k + 4]
        p6 = pp[k - 5] + pp[k - 3] + pp[k - 1] + pp[k + 1] + pp[k + 3] + pp[k + 5]
        q5 = qq[k - 4] + qq[k - 2] + qq[k] + qq[k + 2] + qq[k + 4]
        q6 = qq[k - 5] + qq[k - 3] + qq[k - 1] + qq[k + 1] + qq[k + 3] + qq[k + 5]
        a5 = avg[k - 4] + avg[k - 2] + avg[k] + avg[k + 2] + avg[k + 4]
        a6 = avg[k - 5] + avg[k - 3] + avg[k - 1] + avg[k + 1] + avg[k + 3] + avg[k + 5]
        x5 = x[k - 4] + x[k - 2] + x[k] + x[k + 2] + x[k + 4]
        x6 = x[k - 5] + x[k - 3] + x[k - 1] + x[k + 1] + x[k + 3] + x[k + 5]
        centre_c = (i & 1) == q
        # fit for G (green sites)
        ps = p6 if centre_c else p5
        qs = q6 if centre_c else q5
        gs = a6 if centre_c else a5
        ms = x6 if centre_c else x5
        cnt = _SIX if centre_c else _FIVE
        a = (ps + _G_PRIOR32) / ((qs + _EPS32) + _G_PRIOR32)
        ag[k] = a
        bg[k] = ms / cnt - a * (gs / cnt)
        # fit for C (red/blue sites)
        ps = p5 if centre_c else p6
        qs = q5 if centre_c else q6
        gs = a5 if centre_c else a6
        ms = x5 if centre_c else x6
        cnt = _FIVE if centre_c else _SIX
        a = (ps + _G_PRIOR32) / ((qs + _EPS32) + _G_PRIOR32)
        ac[k] = a
        bc[k] = ms / cnt - a * (gs / cnt)
    _halo(ag, n)
    _halo(bg, n)
    _halo(ac, n)
    _halo(bc, n)
    for i in range(n):
        k = o + i
        sag = _box11(ag, k)
        sbg = _box11(bg, k)
        sac = _box11(ac, k)
        sbc = _box11(bc, k)
        centre_c = (i & 1) == q
        guide_g = x[k] if centre_c else avg[k]  # C along the line
        guide_c = avg[k] if centre_c else x[k]  # G along the line
        tg[k] = (sag / _ELEVEN) * guide_g + sbg / _ELEVEN
        tc[k] = (sac / _ELEVEN) * guide_c + sbc / _ELEVEN
    _halo(tg, n)
    _halo(tc, n)
    _halo(ha, n)
    # Residuals (known at each fit's own sites) interpolated linearly along the line.
    for i in range(n):
        k = o + i
        xi = x[k]
        res_g = _HALF * (x[k - 1] - tg[k - 1]) + _HALF * (x[k + 1] - tg[k + 1])
        res_c = _HALF * (x[k - 1] - tc[k - 1]) + _HALF * (x[k + 1] - tc[k + 1])
        d = (tg[k] + res_g) - xi if (i & 1) == q else xi - (tc[k] + res_c)
        dif_out[i] = _MIX * ha[k] + _MIX_REST * d
        grad_out[i] = abs(ha[k + 1] - ha[k - 1])


@njit(cache=True, nogil=True, inline="always")
def _box11(b, k):  # pragma: no cover - compiled
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


@njit(cache=True, nogil=True)
def _slab(cfa, rows, cols, rr, rc, start, out):  # pragma: no cover - compiled
    """Demosaic the slab ``cfa[rows][:, cols]`` (mirrored indices) into ``out``: slab rows
    ``start .. start + len(out)`` and columns ``_PAD .. _PAD + width``.

    Green's directional differences are computed on whole lines (rows, then columns gathered
    16 at a time), mirrored at the slab's edges step by step as the reference's whole-plane
    filters are; every later step is computed only where the output needs it, which is at
    least 3 pixels inside the slab, so no later step meets an edge.
    """
    hp = rows.size
    wp = cols.size
    end = start + out.shape[0]
    m = np.empty((hp, wp), np.float32)
    for i in range(hp):
        src = cfa[rows[i]]
        mi = m[i]
        for j in range(wp):
            v = src[cols[j]]
            s = np.float32(np.sqrt(abs(v)))
            mi[j] = s if v >= 0 else -s

    # 1. Directional differences and Hamilton-Adams gradients along rows and columns.
    buf = np.empty((11, max(hp, wp) + 2 * _HL), np.float32)
    grad_h = np.empty((hp, wp), np.float32)
    dif_h = np.empty((hp, wp), np.float32)
    grad_v = np.empty((hp, wp), np.float32)
    dif_v = np.empty((hp, wp), np.float32)
    for i in range(hp):
        q = rc if (i & 1) == rr else 1 - rc
        _line(m[i], q, grad_h[i], dif_h[i], buf)
    tile = np.empty((_TILE, hp), np.float32)
    tile_grad = np.empty((_TILE, hp), np.float32)
    tile_dif = np.empty((_TILE, hp), np.float32)
    for c0 in range(0, wp, _TILE):
        nt = min(wp, c0 + _TILE) - c0
        for i in range(hp):
            for t in range(nt):
                tile[t, i] = m[i, c0 + t]
        for t in range(nt):
            q = rr if ((c0 + t) & 1) == rc else 1 - rr
            _line(tile[t], q, tile_grad[t], tile_dif[t], buf)
        for i in range(hp):
            for t in range(nt):
                grad_v[i, c0 + t] = tile_grad[t, i]
                dif_v[i, c0 + t] = tile_dif[t, i]

    # 2. Activities (3×3 sums of the gradients) and green at red/blue sites.
    act_h = np.empty((hp, wp), np.float32)
    act_v = np.empty((hp, wp), np.float32)
    col = np.empty(wp, np.float32)
    for y in range(start - 10, end + 10):
        for j in range(wp):
            col[j] = grad_h[y - 1, j] + grad_h[y, j] + grad_h[y + 1, j]
        for j in range(5, wp - 5):
            act_h[y, j] = col[j - 1] + col[j] + col[j + 1]
        for j in range(wp):
            col[j] = grad_v[y - 1, j] + grad_v[y, j] + grad_v[y + 1, j]
        for j in range(5, wp - 5):
            act_v[y, j] = col[j - 1] + col[j] + col[j + 1]
    g = np.empty((hp, wp), np.float32)
    for y in range(start - 9, end + 9):
        q = rc if (y & 1) == rr else 1 - rc
        dh = dif_h[y]
        ah = act_h[y]
        for j in range(6, wp - 6):
            a = ah[j - 1]
            w_w = _F1 / (a * a + _TINY)
            a = ah[j + 1]
            w_e = _F1 / (a * a + _TINY)
            a = act_v[y - 1, j]
            w_n = _F1 / (a * a + _TINY)
            a = act_v[y + 1, j]
            w_s = _F1 / (a * a + _TINY)
            h_w = (
                _T0 * dh[j] + _T1 * dh[j - 1] + _T2 * dh[j - 2] + _T3 * dh[j - 3] + _T4 * dh[j - 4]
            )
            h_e = (
                _T0 * dh[j] + _T1 * dh[j + 1] + _T2 * dh[j + 2] + _T3 * dh[j + 3] + _T4 * dh[j + 4]
            )
            h_n = (
                _T0 * dif_v[y, j]
                + _T1 * dif_v[y - 1, j]
                + _T2 * dif_v[y - 2, j]
                + _T3 * dif_v[y - 3, j]
                + _T4 * dif_v[y - 4, j]
            )
            h_s = (
                _T0 * dif_v[y, j]
                + _T1 * dif_v[y + 1, j]
                + _T2 * dif_v[y + 2, j]
                + _T3 * dif_v[y + 3, j]
                + _T4 * dif_v[y + 4, j]
            )
            num = w_w * h_w + w_e * h_e + w_n * h_n + w_s * h_s
            mv = m[y, j]
            g[y, j] = mv + num / (w_w + w_e + w_n + w_s) if (j & 1) == q else mv

    # 3. Red and blue, each guided by green; the dead planes of the green step are reused.
    for ch in (0, 2):
        pr = rr if ch == 0 else 1 - rr
        pc = rc if ch == 0 else 1 - rc
        _red_blue(m, g, pr, pc, start, end, grad_h, grad_v, dif_h, dif_v, act_h)
        for y in range(start, end):
            o = out[y - start]
            tent = act_h[y]
            up = act_h[y - 1]
            down = act_h[y + 1]
            mu = m[y - 1]
            mm = m[y]
            md = m[y + 1]
            own_row = (y & 1) == pr
            for j in range(_PAD, wp - _PAD):
                t = tent[j]
                # residuals m − tent at the channel's sites, interpolated bilinearly
                if own_row:
                    r_same = mm[j] - t
                    r_other = _HALF * (mm[j - 1] - tent[j - 1]) + _HALF * (mm[j + 1] - tent[j + 1])
                else:
                    r_same = _HALF * (mu[j] - up[j]) + _HALF * (md[j] - down[j])
                    r_other = _QUARTER * (
                        (mu[j - 1] - up[j - 1])
                        + (mu[j + 1] - up[j + 1])
                        + (md[j - 1] - down[j - 1])
                        + (md[j + 1] - down[j + 1])
                    )
                v = t + (r_same if (j & 1) == pc else r_other)
                o[j - _PAD, ch] = v * abs(v)
    for y in range(start, end):
        o = out[y - start]
        gy = g[y]
        for j in range(_PAD, wp - _PAD):
            v = gy[j]
            o[j - _PAD, 1] = v * abs(v)


@njit(cache=True, nogil=True)
def _red_blue(m, g, pr, pc, start, end, pp, qq, pa, pb, tent):  # pragma: no cover
    """Tentative red or blue (sites at row/column parity ``pr``/``pc``) into ``tent`` for slab
    rows ``start − 1 .. end + 1``: MLRI guided by green with a 7×7 window, the slope ridged
    by :data:`_RB_PRIOR`. ``pp``, ``qq``, ``pa``, ``pb`` are scratch planes."""
    wp = m.shape[1]
    # Laplacian products on the channel's sites (stride-2 Laplacians), zero elsewhere.
    for y in range(start - 7, end + 7):
        if (y & 1) != pr:
            continue
        for j in range(8, wp - 8):
            li = _FOUR * g[y, j] - g[y - 2, j] - g[y + 2, j] - g[y, j - 2] - g[y, j + 2]
            lp = _FOUR * m[y, j] - m[y - 2, j] - m[y + 2, j] - m[y, j - 2] - m[y, j + 2]
            on = (j & 1) == pc
            pp[y, j] = li * lp if on else _F0
            qq[y, j] = li * li if on else _F0
    # Slope and offset at every pixel from the 7×7 sums over the channel's sites: 3 or 4 of
    # the window's rows and columns hold them (zeros elsewhere add exactly nothing).
    sp = np.empty(wp, np.float32)
    sq = np.empty(wp, np.float32)
    sg = np.empty(wp, np.float32)
    sm = np.empty(wp, np.float32)
    for y in range(start - 4, end + 4):
        own = (y & 1) == pr
        if own:
            nr = _F(3.0)
            for j in range(8, wp - 8):
                on = (j & 1) == pc
                sp[j] = pp[y - 2, j] + pp[y, j] + pp[y + 2, j]
                sq[j] = qq[y - 2, j] + qq[y, j] + qq[y + 2, j]
                s = g[y - 2, j] + g[y, j] + g[y + 2, j]
                sg[j] = s if on else _F0
                s = m[y - 2, j] + m[y, j] + m[y + 2, j]
                sm[j] = s if on else _F0
        else:
            nr = _F(4.0)
            for j in range(8, wp - 8):
                on = (j & 1) == pc
                sp[j] = pp[y - 3, j] + pp[y - 1, j] + pp[y + 1, j] + pp[y + 3, j]
                sq[j] = qq[y - 3, j] + qq[y - 1, j] + qq[y + 1, j] + qq[y + 3, j]
                s = g[y - 3, j] + g[y - 1, j] + g[y + 1, j] + g[y + 3, j]
                sg[j] = s if on else _F0
                s = m[y - 3, j] + m[y - 1, j] + m[y + 1, j] + m[y + 3, j]
                sm[j] = s if on else _F0
        for j in range(11, wp - 11):
            n = nr * (_F(3.0) if (j & 1) == pc else _F(4.0))
            a = (_sum7(sp, j) + _RB_PRIOR32) / ((_sum7(sq, j) + _EPS32) + _RB_PRIOR32)
            pa[y, j] = a
            pb[y, j] = _sum7(sm, j) / n - a * (_sum7(sg, j) / n)
    # The tentative estimate from the window means of slope and offset.
    for y in range(start - 1, end + 1):
        for j in range(11, wp - 11):
            sp[j] = (
                pa[y - 3, j]
                + pa[y - 2, j]
                + pa[y - 1, j]
                + pa[y, j]
                + pa[y + 1, j]
                + pa[y + 2, j]
                + pa[y + 3, j]
            )
            sq[j] = (
                pb[y - 3, j]
                + pb[y - 2, j]
                + pb[y - 1, j]
                + pb[y, j]
                + pb[y + 1, j]
                + pb[y + 2, j]
                + pb[y + 3, j]
            )
        for j in range(14, wp - 14):
            tent[y, j] = (_sum7(sp, j) / _FORTY_NINE) * g[y, j] + _sum7(sq, j) / _FORTY_NINE


@njit(cache=True, nogil=True, inline="always")
def _sum7(b, j):  # pragma: no cover - compiled
    return b[j - 3] + b[j - 2] + b[j - 1] + b[j] + b[j + 1] + b[j + 2] + b[j + 3]
