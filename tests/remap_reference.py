"""The lens-geometry remap one band at a time: the kernel ``optics.aberrations`` ran before it
remapped all bands in one pass (``_remap_bands``), kept as the reference that one is tested
against (``tests/test_optics_aberrations.py``)."""

from __future__ import annotations

import math

from mountcam.jit import njit, prange
from mountcam.optics.aberrations import _mirror, _weights


@njit(parallel=True, cache=True, fastmath=True)
def remap_one_band(src, out, x0, y0, pitch, width, height, inv_h, lut, col0, row0, cubic, clip):  # noqa: E501  # pragma: no cover
    """out[r, k] = src interpolated at the radial map of pixel (r, k) (fused map + remap)."""
    hs, ws = src.shape
    last = lut.shape[0] - 2
    inv_pitch = 1.0 / pitch
    for r in prange(height):
        y = y0 + r * pitch
        for k in range(width):
            x = x0 + k * pitch
            t = math.sqrt(x * x + y * y) * inv_h
            i = min(int(t), last)
            ratio = lut[i] + (t - i) * (lut[i + 1] - lut[i])
            sx = x * ratio * inv_pitch + col0
            sy = y * ratio * inv_pitch + row0
            ix = int(math.floor(sx))
            iy = int(math.floor(sy))
            wx0, wx1, wx2, wx3 = _weights(sx - ix, cubic)
            wy0, wy1, wy2, wy3 = _weights(sy - iy, cubic)
            if ix >= 1 and ix + 2 < ws and iy >= 1 and iy + 2 < hs:
                c0, c1, c2, c3 = ix - 1, ix, ix + 1, ix + 2
                r0, r1, r2, r3 = iy - 1, iy, iy + 1, iy + 2
            else:
                c0, c1, c2, c3 = (
                    _mirror(ix - 1, ws),
                    _mirror(ix, ws),
                    _mirror(ix + 1, ws),
                    _mirror(ix + 2, ws),
                )
                r0, r1, r2, r3 = (
                    _mirror(iy - 1, hs),
                    _mirror(iy, hs),
                    _mirror(iy + 1, hs),
                    _mirror(iy + 2, hs),
                )
            acc = (
                wy0
                * (wx0 * src[r0, c0] + wx1 * src[r0, c1] + wx2 * src[r0, c2] + wx3 * src[r0, c3])
                + wy1
                * (wx0 * src[r1, c0] + wx1 * src[r1, c1] + wx2 * src[r1, c2] + wx3 * src[r1, c3])
                + wy2
                * (wx0 * src[r2, c0] + wx1 * src[r2, c1] + wx2 * src[r2, c2] + wx3 * src[r2, c3])
                + wy3
                * (wx0 * src[r3, c0] + wx1 * src[r3, c1] + wx2 * src[r3, c2] + wx3 * src[r3, c3])
            )
            if clip and acc < 0.0:
                acc = 0.0
            out[r, k] = acc
