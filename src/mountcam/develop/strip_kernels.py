"""The numba kernels of the develop pipeline's strip pass (:mod:`mountcam.develop.strips`).

- :func:`levels_kernel`: raw DN -> black-subtracted, white-balanced mosaic, 1.0 = white.
- :func:`colour_float_kernel`: highlights, vignette gain, 3×3 colour matrix, the
  interpolated float tone+encoding LUT and quantisation (float32, uint16 and uint8 output).
- :func:`colour_fixed_kernel`: the same for 8-bit output through the fixed-point LUT
  (:func:`~mountcam.develop.tone.build_lut_fixed`).
- :func:`demosaic_colour_fixed_kernel`: the ``fast`` demosaic fused band by band with
  :func:`colour_fixed_kernel`.

The kernels take plain arrays and scalars (numba compiles one specialisation per argument
type); :mod:`mountcam.develop.strips` gives them their names. They compile in
``demosaic_fast.demosaic_rows``, ``highlights.blend_pixel`` and
``lens_correction.vignette_gain``; :mod:`mountcam.jit`'s cache locator makes their cached copies
recompile when any of those modules changes. Each kernel loads from numba's cache the first
time it is called, so a route pays only for the kernels it runs.
"""

from __future__ import annotations

import numpy as np

from mountcam.develop.demosaic_fast import HALO, demosaic_rows
from mountcam.develop.highlights import CLIP_FRACTION, blend_pixel
from mountcam.develop.lens_correction import vignette_gain
from mountcam.develop.tone import FIXED_ONE
from mountcam.jit import njit, prange


@njit(parallel=True, nogil=True, cache=True)
def levels_kernel(mosaic, py, px, black, scale, top, out):  # pragma: no cover - compiled
    """out = clip((DN − black[pos])·scale[pos], ≤ top[pos]) for each CFA position ``pos``;
    ``py``, ``px`` the parity of the window's origin in the full mosaic."""
    h, w = out.shape
    for y in prange(h):
        yy = (y + py) & 1
        b0, b1 = black[yy, 0], black[yy, 1]
        s0, s1 = scale[yy, 0], scale[yy, 1]
        t0, t1 = top[yy, 0], top[yy, 1]
        for x in range(w):
            if ((x + px) & 1) == 0:
                v = (np.float32(mosaic[y, x]) - b0) * s0
                out[y, x] = v if v < t0 else t0
            else:
                v = (np.float32(mosaic[y, x]) - b1) * s1
                out[y, x] = v if v < t1 else t1


@njit(inline="always", nogil=True, cache=True)
def _linear_row(rgb, i, ox, ow, recon, clip, vig, dv2_i, dh2, kv, m, gains, buf):
    """Row ``i`` of ``rgb`` from column ``ox`` (``ow`` pixels): highlights (optional), vignette
    gain (optional), 3×3 colour matrix, into ``buf`` as three planes (R…, G…, B…): planar, so
    the LUT pass that follows is one flat loop the compiler can vectorise."""
    lr, lg, lb = clip[0], clip[1], clip[2]
    if vig:
        k0, k1, k2, k3, k4 = kv[0], kv[1], kv[2], kv[3], kv[4]
        for x in range(ow):
            gains[x] = vignette_gain(dv2_i, dh2[x], k0, k1, k2, k3, k4)
    m00, m01, m02 = m[0, 0], m[0, 1], m[0, 2]
    m10, m11, m12 = m[1, 0], m[1, 1], m[1, 2]
    m20, m21, m22 = m[2, 0], m[2, 1], m[2, 2]
    for x in range(ow):
        r = rgb[i, ox + x, 0]
        g = rgb[i, ox + x, 1]
        b = rgb[i, ox + x, 2]
        if recon:
            r, g, b = blend_pixel(r, g, b, lr, lg, lb)
        if vig:
            gain = gains[x]
            r, g, b = r * gain, g * gain, b * gain
        buf[x] = m00 * r + m01 * g + m02 * b
        buf[ow + x] = m10 * r + m11 * g + m12 * b
        buf[2 * ow + x] = m20 * r + m21 * g + m22 * b


@njit(parallel=True, nogil=True, cache=True)
def colour_float_kernel(
    rgb, oy, ox, oh, ow, clip, recon, vig, dv2, dh2, kv, m, lut, x_max, use_lut, out_scale, out,
    with_luma, luma,
):  # pragma: no cover - compiled  # fmt: skip
    """Highlights (optional), vignette gain (optional, ``dv2`` / ``dh2`` from
    :func:`~mountcam.develop.lens_correction.vignette_terms` for the region), 3×3 colour
    matrix, tone+encoding LUT (optional; linear interpolation in a
    :func:`~mountcam.develop.tone.build_lut` table), quantisation, and the BT.709 luma Y' of
    the result (optional, into ``luma``; the sharpening's input).

    ``rgb[oy:oy+oh, ox:ox+ow]`` -> ``out[0:oh, 0:ow]``; integer ``out`` gets round(v·scale)
    clipped to 0..scale, float ``out`` gets v (v·scale clipped when the LUT is off and the
    output is integer)."""
    n = lut.size
    fn = np.float32(n - 1)
    inv = fn / x_max
    last = np.uint32(n - 2)
    is_int = out_scale > 1.5
    zero = np.float32(0.0)
    half = np.float32(0.5)
    wr, wg, wb = np.float32(0.2126), np.float32(0.7152), np.float32(0.0722)
    for y in prange(oh):
        buf = np.empty(3 * ow, np.float32)
        gains = np.empty(ow if vig else 1, np.float32)
        _linear_row(rgb, oy + y, ox, ow, recon, clip, vig, dv2[y], dh2, kv, m, gains, buf)
        if use_lut:
            for j in range(3 * ow):
                # u ≤ n − 1 and k ≤ n − 2: no branch for the table's end (u = n − 1 gives
                # k = n − 2 with weight 1, the last entry). Unsigned k: numba then skips the
                # wrap-around of negative indices (30 % of this loop's time).
                u = min(max(buf[j] * inv, zero), fn)
                k = min(np.uint32(u), last)
                a = lut[k]
                buf[j] = a + (lut[k + np.uint32(1)] - a) * (u - np.float32(k))
        for x in range(ow):
            o0 = buf[x]
            o1 = buf[ow + x]
            o2 = buf[2 * ow + x]
            if with_luma:
                luma[y, x] = wr * o0 + wg * o1 + wb * o2
            if is_int:
                o0 = min(max(o0 * out_scale + half, zero), out_scale)
                o1 = min(max(o1 * out_scale + half, zero), out_scale)
                o2 = min(max(o2 * out_scale + half, zero), out_scale)
            out[y, x, 0] = o0
            out[y, x, 1] = o1
            out[y, x, 2] = o2


@njit(nogil=True, cache=True)
def _linear_planes(row, ow, recon, clip, vig, dv2_i, dh2, kv, m, p0, p1, p2):  # pragma: no cover
    """One row of the fixed-point path: ``row`` is the row's interleaved RGB from the first
    output pixel (flat, 3·``ow`` values); highlights (optional), vignette gain (optional) and
    the 3×3 matrix into the planes ``p0``, ``p1``, ``p2``.

    Why two loops: the first is branch-free (the clip test only counts), so the compiler
    vectorises it; the highlight blend, with its branches and square root, then runs only on
    the few clipped pixels of the few rows that have any, giving the same values as
    :func:`_linear_row`. A function of its own, called per row: the same loop written inside
    the ``prange`` body measured 0.29 s at 50 MP on one thread, this one 0.05 s alone and
    0.10 s with the motorcycle's clipped rows (vignette included). Unsigned indices spare
    numba's negative-index wrap-around (a few % more)."""
    lr, lg, lb = clip[0], clip[1], clip[2]
    # float32 thresholds a hair below blend_pixel's own (float64) test: every pixel it would
    # change is flagged; a flagged pixel that it leaves alone gets the same values again.
    frac = CLIP_FRACTION * (1.0 - 1e-6)
    tr, tg, tb = np.float32(frac * lr), np.float32(frac * lg), np.float32(frac * lb)
    k0, k1, k2, k3, k4 = kv[0], kv[1], kv[2], kv[3], kv[4]
    m00, m01, m02 = m[0, 0], m[0, 1], m[0, 2]
    m10, m11, m12 = m[1, 0], m[1, 1], m[1, 2]
    m20, m21, m22 = m[2, 0], m[2, 1], m[2, 2]
    n = np.uint64(ow)
    u1, u2, u3 = np.uint64(1), np.uint64(2), np.uint64(3)
    clipped = np.int32(0)
    for x in range(n):
        x3 = u3 * x
        r, g, b = row[x3], row[x3 + u1], row[x3 + u2]
        clipped += np.int32((r >= tr) | (g >= tg) | (b >= tb))
        if vig:
            gain = vignette_gain(dv2_i, dh2[x], k0, k1, k2, k3, k4)
            r, g, b = r * gain, g * gain, b * gain
        p0[x] = m00 * r + m01 * g + m02 * b
        p1[x] = m10 * r + m11 * g + m12 * b
        p2[x] = m20 * r + m21 * g + m22 * b
    if not recon or clipped == 0:
        return
    for x in range(n):
        x3 = u3 * x
        r, g, b = row[x3], row[x3 + u1], row[x3 + u2]
        if (r >= tr) | (g >= tg) | (b >= tb):
            r, g, b = blend_pixel(r, g, b, lr, lg, lb)
            if vig:
                gain = vignette_gain(dv2_i, dh2[x], k0, k1, k2, k3, k4)
                r, g, b = r * gain, g * gain, b * gain
            p0[x] = m00 * r + m01 * g + m02 * b
            p1[x] = m10 * r + m11 * g + m12 * b
            p2[x] = m20 * r + m21 * g + m22 * b


@njit(nogil=True, cache=True)
def _lut_fixed_row(p, ow, table, base, shift, q, out, with_luma, luma):  # pragma: no cover
    """The planes ``p`` (float32 (3, ``ow``), overwritten) of one row through a
    :func:`~mountcam.develop.tone.build_lut_fixed` table (index from the float32 bits: see
    :class:`~mountcam.develop.tone.FixedLut`), via ``q`` (uint16 (3, ``ow``) scratch).
    ``out`` is the row's interleaved output, flat: uint16 gets the table's values (code ×
    256), uint8 the rounded 8-bit code ``(e + 128) >> 8``; ``luma`` (when ``with_luma``) gets
    the BT.709 luma Y' of the row, 1.0 = white.

    Three loops, because only the gather cannot be vectorised: the indices (integer SIMD, in
    place of the floats), the gather, then the interleaving with the luma (SIMD again).
    Measured at 50 MP, one thread: 0.14 s, against 0.29 s for the same work in one loop."""
    last = np.int32(table.size - 1)
    zero = np.int32(0)
    n3 = np.uint64(3 * ow)
    bits = p.reshape(-1).view(np.int32)
    for x in range(n3):
        bits[x] = min(max((bits[x] >> shift) - base, zero), last)
    qf = q.reshape(-1)
    for x in range(n3):
        qf[x] = table[np.uint32(bits[x])]
    scale = np.float32(1.0 / FIXED_ONE)
    wr, wg, wb = np.float32(0.2126) * scale, np.float32(0.7152) * scale, np.float32(0.0722) * scale
    q0, q1, q2 = q[0], q[1], q[2]
    n = np.uint64(ow)
    u1, u2, u3 = np.uint64(1), np.uint64(2), np.uint64(3)
    half, eight = np.uint32(128), np.uint32(8)
    if out.itemsize == 1:
        for x in range(n):
            x3 = u3 * x
            out[x3] = (np.uint32(q0[x]) + half) >> eight
            out[x3 + u1] = (np.uint32(q1[x]) + half) >> eight
            out[x3 + u2] = (np.uint32(q2[x]) + half) >> eight
    else:
        for x in range(n):
            x3 = u3 * x
            out[x3] = q0[x]
            out[x3 + u1] = q1[x]
            out[x3 + u2] = q2[x]
    if with_luma:
        for x in range(n):
            luma[x] = wr * np.float32(q0[x]) + wg * np.float32(q1[x]) + wb * np.float32(q2[x])


@njit(parallel=True, nogil=True, cache=True)
def colour_fixed_kernel(
    rgb, oy, ox, oh, ow, clip, recon, vig, dv2, dh2, kv, m, table, base, shift, out, with_luma,
    luma,
):  # pragma: no cover - compiled  # fmt: skip
    """The 8-bit path of :func:`colour_float_kernel`: the same highlights, vignette and matrix,
    then the nearest entry of a fixed-point LUT (:func:`~mountcam.develop.tone.build_lut_fixed`;
    within 0.01 of an 8-bit code of the curve) instead of the interpolated float LUT.
    ``rgb[oy:oy+oh, ox:ox+ow]`` -> ``out[0:oh, 0:ow]``: uint8 codes, or uint16 code × 256 for
    the sharpening (:func:`~mountcam.develop.sharpen.sharpen_fixed_into`), which then also
    needs ``luma`` (``with_luma``). Measured at 50 MP, one thread: 0.24 s against the float
    kernel's 0.56 s."""
    for y in prange(oh):
        p = np.empty((3, ow), np.float32)
        q = np.empty((3, ow), np.uint16)
        row = rgb[oy + y].reshape(-1)[3 * ox : 3 * (ox + ow)]
        dv2_y = dv2[y] if vig else np.float32(0.0)
        _linear_planes(row, ow, recon, clip, vig, dv2_y, dh2, kv, m, p[0], p[1], p[2])
        luma_y = luma[min(np.int64(y), luma.shape[0] - 1)]  # no_luma has one row
        _lut_fixed_row(p, ow, table, base, shift, q, out[y].reshape(-1), with_luma, luma_y)


@njit(parallel=True, nogil=True, cache=True)
def demosaic_colour_fixed_kernel(
    cfa, rr, rc, oy, ox, oh, ow, clip, recon, vig, dv2, dh2, kv, m, table, base, shift, out,
    with_luma, luma, band, runs,
):  # pragma: no cover - compiled  # fmt: skip
    """The ``fast`` demosaic and :func:`colour_fixed_kernel` fused band by band: rows
    ``oy … oy + oh − 1`` of the mosaic ``cfa`` (red site at parities ``rr``, ``rc``) are
    demosaicked ``band`` (≤ :data:`~mountcam.develop.demosaic_fast.BAND_ROWS`) at a time
    (:func:`~mountcam.develop.demosaic_fast.demosaic_rows`, identical rows) and each band
    goes through highlights, vignette, matrix and the fixed-point LUT while it is in cache,
    so the strip's float32 RGB is never written to memory and read back. ``runs``: how many
    runs of consecutive bands to share among the threads."""
    width = cfa.shape[1]
    bands = (oh + band - 1) // band
    wp = width + 2 * HALO
    for t in prange(runs):
        p_buf = np.empty((band + 2 * HALO, wp), np.float32)
        d_buf = np.empty((band + 2 * HALO, wp), np.float32)
        planes = np.empty((3, width), np.float32)
        rgb = np.empty((band, width, 3), np.float32)
        p = np.empty((3, ow), np.float32)
        q = np.empty((3, ow), np.uint16)
        for bi in range(t * bands // runs, (t + 1) * bands // runs):
            a = oy + bi * band
            b = min(oy + oh, a + band)
            demosaic_rows(cfa, rr, rc, a, b, rgb, a, p_buf, d_buf, planes)
            for y in range(a, b):
                yy = y - oy
                row = rgb[y - a].reshape(-1)[3 * ox : 3 * (ox + ow)]
                dv2_y = dv2[yy] if vig else np.float32(0.0)
                _linear_planes(row, ow, recon, clip, vig, dv2_y, dh2, kv, m, p[0], p[1], p[2])
                luma_y = luma[min(yy, luma.shape[0] - 1)]  # no_luma has one row
                _lut_fixed_row(p, ow, table, base, shift, q, out[yy].reshape(-1), with_luma, luma_y)
