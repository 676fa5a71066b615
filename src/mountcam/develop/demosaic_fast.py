"""``fast`` demosaic: soft-decision Hamilton-Adams green, colour-difference red and blue.

One numba pass over bands of rows. Each band is copied, with a mirrored halo of
:data:`_HALO` pixels, into a small buffer (the mosaic's edges are reflected about the edge
pixel, reflect-101, which keeps the CFA phase), green is estimated on the band plus one row
and column of context, then red and blue are filled from colour differences and written
straight into the output. The buffers of a band stay in the CPU caches, so the mosaic is read
once and the result written once.

Green at a red or blue site (Hamilton & Adams, US 5,629,734):

    Ĝ_h = (G_w + G_e)/2 + (2C − C_ww − C_ee)/4        (same vertically)

Each direction's colour difference ``Δ = G − C`` (Ĝ − C at a red/blue site, G − Ĉ at a green
site, Ĉ by the same formula) is smoothed along that direction by a Gaussian of σ = 0.7 px over
five pixels, as Pekkucuksen & Altunbasak (ICIP 2010) average it: noise and aliases average
out, an edge across the direction is not crossed. Δ is linear in the mosaic, so the smoothed
Δ is one fixed 7-tap filter along the row (column), :data:`_FIR`. The two smoothed Δ are
blended with weights ``1/(ε + D)²`` where ``D`` is the directional activity
``|G_w − G_e| + |2C − C_ww − C_ee|`` summed over the site and its two neighbours along that
direction (a soft decision in the spirit of Pekkucuksen & Altunbasak, rather than
Hamilton-Adams' hard switch, which leaves zippers where the two directions are close).

Red and blue: at a green site, the colour difference (C − G) of the two same-row or
same-column neighbours is averaged (Pei & Tam, IEEE TCSVT 13(6), 2003); at a red site, blue
comes from the four diagonal (B − G) differences weighted by the inverse of the difference
along each diagonal (and red at a blue site alike).
"""

from __future__ import annotations

import numpy as np

from mountcam.jit import get_num_threads, njit, prange

#: Mosaic pixels read beyond the band on each side (green ±3 for the smoothed colour
#: difference and the summed activity, +1 for the red/blue step). Even, so the halo keeps the
#: CFA phase.
_HALO = 4
#: Rows per band: small enough for the band buffers (~10 rows × width × 8 bytes) to stay in L2.
_BAND = 16
#: Rows of context a horizontal strip needs above and below (see ``demosaic_overlap_rows``).
CONTEXT_ROWS = _HALO
#: Public names of the band geometry, for callers of :func:`demosaic_rows`.
BAND_ROWS = _BAND
HALO = _HALO
#: Keeps the weights finite in flat areas; tiny against any real gradient (1.0 = white).
_EPS = np.float32(1e-6)
#: float32 constants: a Python float in an expression makes numba compute it in float64, at
#: half the SIMD width (measured at 50 MP, one thread: the demosaic 0.22 s with them as
#: Python floats, 0.12 s as float32). The row loops' ``fastmath`` is limited to nnan, ninf
#: and nsz: no reassociation, reciprocals or fused multiply-adds, so the vectorised body, the
#: scalar remainder and every caller's inlined copy round each value alike (strips, bands
#: and whole mosaics give identical rows).
_TWO = np.float32(2.0)
_HALF = np.float32(0.5)
#: Width (px) of the Gaussian that smooths each directional colour difference along its own
#: direction. Chosen on McMaster-18 and the twin's captures together: σ = 0.7 px gives
#: McMaster +0.08 dB and the twin's 256×256 set +0.70 dB against no smoothing; 1 px gains the
#: twin another 0.19 dB but costs McMaster 0.13 dB.
_SIGMA_PX = 0.7


def _smoothed_difference_fir(sigma_px: float) -> np.ndarray:
    """Taps (offsets −3..3) giving, from the square-root mosaic along one row (column), the
    colour difference G − C at a red/blue site smoothed by a five-tap Gaussian of σ px.

    The Hamilton-Adams difference at a red/blue site is ``e = [−¼, ½, −½, ½, −¼]`` applied to
    the mosaic; at the green sites on either side it is ``−e`` (G − Ĉ there); so the smoothed
    difference is ``e`` convolved with the Gaussian taps, the odd ones negated: nine taps. The
    two outermost (−0.0024 each at σ = 0.7) are folded into the centre, a same-colour site,
    so that the filter reaches ±3 like the activity: the same-colour taps still sum to −1 and
    the green ones to +1, so flat fields and channels affine in position stay exact.
    """
    g = np.exp(-(np.arange(3) ** 2) / (2.0 * sigma_px**2))
    g /= g[0] + 2.0 * (g[1] + g[2])
    taps = np.convolve([-0.25, 0.5, -0.5, 0.5, -0.25], [g[2], -g[1], g[0], -g[1], g[2]])
    taps[4] += taps[0] + taps[8]
    return taps[1:8]


#: The seven taps (symmetric: the centre and offsets 1..3 are enough); they sum to 0.
_FIR = _smoothed_difference_fir(_SIGMA_PX)
_C0, _C1, _C2, _C3 = (np.float32(x) for x in _FIR[3:])


def demosaic_fast(cfa: np.ndarray, rr: int, rc: int) -> np.ndarray:
    """(H, W, 3) float32 from a contiguous float32 (H, W) mosaic whose red site is at row
    parity ``rr`` and column parity ``rc``."""
    height, width = cfa.shape
    out = np.empty((height, width, 3), dtype=np.float32)
    bands = -(-height // _BAND)
    _kernel(cfa, int(rr), int(rc), out, max(1, min(bands, get_num_threads())))
    return out


@njit(cache=True, inline="always")
def _reflect(i, n):  # pragma: no cover - compiled
    while True:
        if i < 0:
            i = -i
        elif i >= n:
            i = 2 * (n - 1) - i
        else:
            return i


@njit(cache=True, inline="always")
def _to_sqrt(x):  # pragma: no cover - compiled
    # A select, not a branch: the band's fill loop then vectorises.
    s = np.float32(np.sqrt(abs(x)))
    return s if x >= 0 else -s


@njit(parallel=True, cache=True, fastmath=True)
def _kernel(cfa, rr, rc, out, runs):  # pragma: no cover - compiled
    height, width = cfa.shape
    bands = (height + _BAND - 1) // _BAND
    wp = width + 2 * _HALO
    # One run of consecutive bands per thread, its two band buffers allocated once (not per
    # band: ~0.8 MB each, which the allocator would map and fault in again every time).
    for t in prange(runs):
        p_buf = np.empty((_BAND + 2 * _HALO, wp), np.float32)
        d_buf = np.empty((_BAND + 2 * _HALO, wp), np.float32)
        planes = np.empty((3, width), np.float32)
        for b in range(t * bands // runs, (t + 1) * bands // runs):
            r0 = b * _BAND
            demosaic_rows(cfa, rr, rc, r0, min(height, r0 + _BAND), out, 0, p_buf, d_buf, planes)


@njit(cache=True, fastmath={"nnan", "ninf", "nsz"})
def demosaic_rows(
    cfa, rr, rc, r0, r1, out, out_r0, p_buf, d_buf, planes
):  # pragma: no cover - compiled
    """Rows ``r0 … r1 − 1`` (at most :data:`BAND_ROWS`) of the ``fast`` demosaic of ``cfa``
    into ``out[r0 − out_r0 …]``, (rows, W, 3) float32: the band step of
    :func:`demosaic_fast`, for callers that process each band further while it is in cache
    (the pipeline's fused 8-bit path). Rows beyond the mosaic's edges are reflected, as in a
    whole-mosaic run, so the rows come out identical to it. ``p_buf``, ``d_buf``: float32
    (BAND_ROWS + 2·HALO, W + 2·HALO); ``planes``: float32 (3, W)."""
    height, width = cfa.shape
    wp = width + 2 * _HALO
    nr = r1 - r0 + 2 * _HALO
    rr = rr ^ (r0 & 1)  # buffer row k is mosaic row r0 − _HALO + k, _HALO even
    # The band in the square-root domain, with a mirrored halo.
    p = p_buf[:nr]
    for k in range(nr):
        row = cfa[_reflect(r0 - _HALO + k, height)]
        pk = p[k]
        for j in range(width):
            pk[j + _HALO] = _to_sqrt(row[j])
        for j in range(_HALO):
            pk[_HALO - 1 - j] = _to_sqrt(row[_reflect(-1 - j, width)])
            pk[width + _HALO + j] = _to_sqrt(row[_reflect(width + j, width)])

    # d = C - G at every red/blue site of the band plus one row/column of context (and, for
    # the vectorised loop's sake, at the green sites too, where it is never used). Buffer
    # rows keep the parity of r0 + k (rr is adjusted above; _HALO is even).
    d = d_buf[:nr]
    for k in range(_HALO - 1, nr - _HALO + 1):
        _d_row(p[k - 3], p[k - 2], p[k - 1], p[k], p[k + 1], p[k + 2], p[k + 3], d[k], wp)

    for k in range(_HALO, nr - _HALO):
        red_row = (k & 1) == rr
        q = rc if red_row else 1 - rc  # column parity of the red/blue sites of this row
        _rgb_row(p[k], d[k - 1], d[k], d[k + 1], q, width, planes[0], planes[1], planes[2])
        r, b = (planes[0], planes[2]) if red_row else (planes[2], planes[0])
        _interleave(out[r0 - out_r0 + k - _HALO].reshape(-1), r, planes[1], b, width)


@njit(cache=True, fastmath={"nnan", "ninf", "nsz"}, error_model="numpy")
def _d_row(pm3, pm2, pm1, pk, pp1, pp2, pp3, dk, wp):  # pragma: no cover - compiled
    """One row of the soft-decision colour difference ``d`` (module text), from the square-
    root rows ``k − 3 … k + 3``, at every column from ``_HALO − 1`` to ``wp − _HALO``.

    Every column, not every other one: stride-1 loads vectorise. ``error_model="numpy"``:
    numba's default guards each division with a ZeroDivisionError check (the denominators
    here are ≥ 2·_EPS²), and that branch alone kept the loop scalar. Unsigned column indices
    spare the negative-index wrap-around. Measured at 50 MP, one thread: 0.11 s for this
    step against 0.37 s for the scalar loop over red/blue sites."""
    u1, u2, u3 = np.uint64(1), np.uint64(2), np.uint64(3)
    for j in range(np.uint64(_HALO - 1), np.uint64(wp - _HALO + 1)):
        c = pk[j]
        lh = _TWO * c - pk[j - u2] - pk[j + u2]
        lv = _TWO * c - pm2[j] - pp2[j]
        sh = (
            _C0 * c
            + _C1 * (pk[j - u1] + pk[j + u1])
            + _C2 * (pk[j - u2] + pk[j + u2])
            + _C3 * (pk[j - u3] + pk[j + u3])
        )
        sv = _C0 * c + _C1 * (pm1[j] + pp1[j]) + _C2 * (pm2[j] + pp2[j]) + _C3 * (pm3[j] + pp3[j])
        dh = (
            _EPS
            + abs(pk[j - u1] - pk[j + u1])
            + abs(lh)
            + _HALF * (abs(pk[j - u3] - pk[j - u1]) + abs(pk[j + u1] - pk[j + u3]))
            + _HALF * (abs(pk[j - u2] - c) + abs(pk[j + u2] - c))
        )
        dv = (
            _EPS
            + abs(pm1[j] - pp1[j])
            + abs(lv)
            + _HALF * (abs(pm3[j] - pm1[j]) + abs(pp1[j] - pp3[j]))
            + _HALF * (abs(pm2[j] - c) + abs(pp2[j] - c))
        )
        wh = dv * dv
        wv = dh * dh
        dk[j] = -(wh * sh + wv * sv) / (wh + wv)


@njit(cache=True, fastmath={"nnan", "ninf", "nsz"}, error_model="numpy")
def _rgb_row(pk, dm1, dk, dp1, q, width, own, green, other):  # pragma: no cover - compiled
    """(own colour, green, other colour) of one output row into three planes. Both site
    formulas run at every pixel and a select by the column's parity keeps the right one:
    stride-1 loads the compiler vectorises, where loops over every other pixel need gathers
    (measured at 50 MP, one thread: 0.11 s against 0.26 s)."""
    u1 = np.uint64(1)
    h = np.uint64(_HALO)
    uq = np.uint64(q)
    for x in range(np.uint64(width)):
        j = x + h
        # red/blue site: the other colour sits on the four diagonals
        c = pk[j]
        gc = c - dk[j]
        s1 = dm1[j - u1] + dp1[j + u1]
        s2 = dm1[j + u1] + dp1[j - u1]
        a1 = _EPS + abs(dm1[j - u1] - dp1[j + u1])
        a2 = _EPS + abs(dm1[j + u1] - dp1[j - u1])
        v = gc + _HALF * (s1 * a2 + s2 * a1) / (a1 + a2)
        # green site: own colour left/right, the other colour above/below
        vo = c + _HALF * (dk[j - u1] + dk[j + u1])
        vt = c + _HALF * (dm1[j] + dp1[j])
        site = ((x + uq) & u1) == 0  # a red/blue site: x has the parity of q
        own[x] = c * abs(c) if site else vo * abs(vo)
        green[x] = gc * abs(gc) if site else c * abs(c)
        other[x] = v * abs(v) if site else vt * abs(vt)


@njit(cache=True)
def _interleave(o, r, g, b, width):  # pragma: no cover - compiled
    """o[3x : 3x + 3] = r[x], g[x], b[x]: the planes of a row into the interleaved output."""
    u1, u2, u3 = np.uint64(1), np.uint64(2), np.uint64(3)
    for x in range(np.uint64(width)):
        x3 = u3 * x
        o[x3] = r[x]
        o[x3 + u1] = g[x]
        o[x3 + u2] = b[x]
