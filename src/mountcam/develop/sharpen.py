"""Output sharpening: an unsharp mask on luminance with its overshoot clamped.

On display-encoded RGB (after the tone curve, so the detail is boosted as it will be seen)::

    Y'  = 0.2126 R' + 0.7152 G' + 0.0722 B'            (ITU-R BT.709 luma)
    D   = Y' − G_σ * Y'                                (detail: Y' less its Gaussian blur)
    Y's = clamp(Y' + amount · D,  min₃ₓ₃(Y') − t,  max₃ₓ₃(Y') + t)
    RGB'_out = RGB' + (Y's − Y')                       (the same change on all three)

Adding the same change to R', G' and B' leaves the colour differences R'−G', B'−G' as they
were, so sharpening cannot create colour fringes. The clamp to the 3×3 neighbourhood's range
plus a small tolerance ``t`` (:data:`OVERSHOOT`) is the classic halo limiter: an unsharp
mask's overshoot beside an edge is what the eye sees as a halo, and here it can be at most
``t`` beyond the darkest / lightest pixel next to it.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from mountcam.errors import InvalidSetting
from mountcam.jit import njit, prange

#: Largest overshoot (display-encoded units, 1.0 = white) beyond the 3×3 neighbourhood's range.
OVERSHOOT = 0.02
#: Rows per strip: the luma planes of a strip stay small and in cache.
STRIP_ROWS = 256
#: Half-width (px) of the Gaussian in :func:`sharpen_fixed_into`'s own blur: 7 taps, the size
#: OpenCV's GaussianBlur picks for float input when ``round(8σ + 1) | 1 == 7``, i.e. σ from
#: 0.5625 to just under 0.8125 (the pipeline's 0.7 and 0.8); other radii take OpenCV's path.
FUSED_REACH = 3
#: BT.709 luma weights for R', G', B'.
LUMA_WEIGHTS = np.array([[0.2126, 0.7152, 0.0722]], np.float32)


def sharpen(
    rgb: np.ndarray, amount: float, radius_px: float, *, strip_rows: int = STRIP_ROWS
) -> np.ndarray:
    """Sharpen display-encoded RGB; returns a new float32 (H, W, 3) array.

    ``amount``: gain of the detail (0 = off; 0.5 is moderate, 1.5 strong; 0 to 5).
    ``radius_px``: σ of the Gaussian that separates the detail, pixels (0.3 to 10; ≈ 0.8–1.2
    suits a 50 MP image viewed whole, larger radii add local contrast). ``strip_rows``: rows
    sharpened at a time (memory only: any height gives the same pixels).
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidSetting(f"sharpening needs an (H, W, 3) RGB image, got shape {rgb.shape}")
    if not 0.0 <= amount <= 5.0:
        raise InvalidSetting(f"sharpening amount {amount} is outside 0 to 5")
    if not 0.3 <= radius_px <= 10.0:
        raise InvalidSetting(f"sharpening radius {radius_px} px is outside 0.3 to 10 px")
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)
    if amount == 0.0:
        return rgb.copy()
    out = np.empty_like(rgb)
    height = rgb.shape[0]
    # Rows of context each strip needs: OpenCV's Gaussian reaches ~4σ, the 3×3 range 1 more.
    halo = int(math.ceil(4 * radius_px)) + 2
    for top in range(0, height, strip_rows):
        bottom = min(height, top + strip_rows)
        a, b = max(0, top - halo), min(height, bottom + halo)
        block = rgb[a:b]
        luma = cv2.transform(block, LUMA_WEIGHTS)
        blurred = cv2.GaussianBlur(luma, (0, 0), radius_px, borderType=cv2.BORDER_REFLECT)
        kernel = np.ones((3, 3), np.uint8)
        lo = cv2.erode(luma, kernel, borderType=cv2.BORDER_REFLECT)
        hi = cv2.dilate(luma, kernel, borderType=cv2.BORDER_REFLECT)
        _unsharp_kernel(
            block,
            luma,
            blurred,
            lo,
            hi,
            np.float32(amount),
            np.float32(OVERSHOOT),
            top - a,
            out[top:bottom],
        )
    return out


@njit(parallel=True, cache=True)
def _unsharp_kernel(rgb, luma, blurred, lo, hi, amount, overshoot, first, out):  # pragma: no cover
    """Rows ``first .. first + len(out)`` of the block: the target luma, clamped to the 3×3
    range (``lo``, ``hi``) ± overshoot, and the same change added to R', G', B'."""
    for k in prange(out.shape[0]):
        i = first + np.int64(k)
        for j in range(out.shape[1]):
            y = luma[i, j]
            t = y + amount * (y - blurred[i, j])
            t = min(max(t, lo[i, j] - overshoot), hi[i, j] + overshoot)
            d = t - y
            out[k, j, 0] = rgb[i, j, 0] + d
            out[k, j, 1] = rgb[i, j, 1] + d
            out[k, j, 2] = rgb[i, j, 2] + d


def sharpen_into(
    enc: np.ndarray,
    luma: np.ndarray,
    amount: float,
    radius_px: float,
    region: tuple[int, int, int, int],
    out_scale: float,
    out: np.ndarray,
    scratch: dict | None = None,
) -> None:
    """The pipeline's fused form of :func:`sharpen`: sharpen one strip and quantise it.

    ``enc``: display-encoded RGB of the strip (float32 (H, W, 3), with the context rows and
    columns the Gaussian's 4σ reach and the 3×3 range need around ``region``); ``luma``: its
    BT.709 luma Y' (float32 (H, W)), computed by the caller's colour kernel in the same pass
    that wrote ``enc``. ``region`` = (row, col, rows, cols) of ``enc`` to output into ``out``
    (uint8 / uint16 code values ``round(v·out_scale)`` clipped to 0..out_scale, or float32
    values when ``out`` is float32). Same equations as :func:`sharpen`, without its luma pass,
    its full-size result array or a separate quantisation pass. ``scratch``: a dict the
    caller keeps per thread so the blur and range planes are reused, not allocated per strip.
    """
    blurred, lo, hi = _blur_and_range(luma, radius_px, scratch)
    y0, x0, rows, cols = region
    is_int = out.dtype != np.float32
    _unsharp_quantise_kernel(
        enc, luma, blurred, lo, hi, np.float32(amount), np.float32(OVERSHOOT),
        y0, x0, rows, cols, np.float32(out_scale), is_int, out,
    )  # fmt: skip


@njit(parallel=True, nogil=True, cache=True)
def _unsharp_quantise_kernel(
    rgb, luma, blurred, lo, hi, amount, overshoot, y0, x0, rows, cols, out_scale, is_int, out
):  # pragma: no cover - compiled
    """:func:`_unsharp_kernel` on ``rgb[y0:y0+rows, x0:x0+cols]`` and the quantisation of the
    pipeline in the same pass."""
    zero = np.float32(0.0)
    half = np.float32(0.5)
    for k in prange(rows):
        i = y0 + np.int64(k)
        for x in range(cols):
            j = x0 + x
            y = luma[i, j]
            t = y + amount * (y - blurred[i, j])
            t = min(max(t, lo[i, j] - overshoot), hi[i, j] + overshoot)
            d = t - y
            for c in range(3):
                v = rgb[i, j, c] + d
                if is_int:
                    v = min(max(v * out_scale + half, zero), out_scale)
                out[k, x, c] = v


def sharpen_fixed_into(
    enc16: np.ndarray,
    luma: np.ndarray,
    amount: float,
    radius_px: float,
    region: tuple[int, int, int, int],
    out: np.ndarray,
    scratch: dict | None = None,
) -> None:
    """:func:`sharpen_into` for the pipeline's 8-bit path, whose colour kernel writes the
    encoded RGB as uint16 fixed point (8-bit code × 256, :data:`~mountcam.develop.tone.FIXED_ONE`
    = white) instead of float32: half the bytes to write and read back, and the rounding to
    8 bits still comes after the sharpening's change. ``luma`` is float32, 1.0 = white, as for
    :func:`sharpen_into`; ``out`` is uint8 (rows, cols, 3). Same equations as :func:`sharpen`;
    the result differs from :func:`sharpen_into` on float input only where the input's
    1/256-code fixed point moves a value across a rounding boundary (at most one code).
    """
    if out.dtype != np.uint8 or enc16.dtype != np.uint16:
        raise ValueError("sharpen_fixed_into takes uint16 fixed-point input and uint8 output")
    y0, x0, rows, cols = region
    size = 2 * FUSED_REACH + 1
    if round(8.0 * radius_px + 1.0) | 1 != size:  # OpenCV would pick another kernel size
        blurred, lo, hi = _blur_and_range(luma, radius_px, scratch)
        _unsharp_fixed_kernel(
            enc16, luma, blurred, lo, hi, np.float32(amount), np.float32(OVERSHOOT), y0, x0,
            rows, cols, out,
        )  # fmt: skip
        return
    taps = cv2.getGaussianKernel(size, radius_px, cv2.CV_32F).ravel()
    _sharpen_fused_kernel(
        enc16, luma, taps, np.float32(amount), np.float32(OVERSHOOT), y0, x0, rows, cols, out
    )


def _blur_and_range(
    luma: np.ndarray, radius_px: float, scratch: dict | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Gaussian blur (σ = ``radius_px``) and the 3×3 minimum and maximum of ``luma``, in
    planes kept in ``scratch`` (a per-thread dict) between calls."""
    scratch = {} if scratch is None else scratch
    planes = []
    for name in ("blurred", "lo", "hi"):
        buf = scratch.get(name)
        if buf is None or buf.shape[0] < luma.shape[0] or buf.shape[1] != luma.shape[1]:
            buf = np.empty(luma.shape, np.float32)
            scratch[name] = buf
        planes.append(buf[: luma.shape[0]])
    blurred, lo, hi = planes
    cv2.GaussianBlur(luma, (0, 0), radius_px, dst=blurred, borderType=cv2.BORDER_REFLECT)
    kernel = np.ones((3, 3), np.uint8)
    cv2.erode(luma, kernel, dst=lo, borderType=cv2.BORDER_REFLECT)
    cv2.dilate(luma, kernel, dst=hi, borderType=cv2.BORDER_REFLECT)
    return blurred, lo, hi


@njit(nogil=True, cache=True, inline="always")
def _add_luma_change(e, d, n, out):  # pragma: no cover - compiled
    """``out`` (interleaved uint8 RGB) = ``e``/256 (fixed-point codes, interleaved) + the
    row's luma change ``d`` (8-bit codes, ½ for the rounding included), clipped to 0..255."""
    code = np.float32(255.0)
    zero = np.float32(0.0)
    inv = np.float32(1.0 / 256.0)
    u1, u2, u3 = np.uint64(1), np.uint64(2), np.uint64(3)
    for x in range(n):
        x3 = u3 * x
        dx = d[x]
        out[x3] = np.uint8(min(max(np.float32(e[x3]) * inv + dx, zero), code))
        out[x3 + u1] = np.uint8(min(max(np.float32(e[x3 + u1]) * inv + dx, zero), code))
        out[x3 + u2] = np.uint8(min(max(np.float32(e[x3 + u2]) * inv + dx, zero), code))


@njit(nogil=True, cache=True)
def _unsharp_fixed_row(e, luma, blurred, lo, hi, amount, overshoot, out, d):  # pragma: no cover
    """One row: the luma change ``d`` (in 8-bit codes) in a branch-free loop, then the
    interleaved output ``round(e/256 + d)`` clipped to 0..255. Unsigned indices: numba then
    drops its negative-index wrap-around and the loops vectorise."""
    n = np.uint64(d.size)
    code = np.float32(255.0)
    for x in range(n):
        y = luma[x]
        t = y + amount * (y - blurred[x])
        t = min(max(t, lo[x] - overshoot), hi[x] + overshoot)
        d[x] = (t - y) * code + np.float32(0.5)
    _add_luma_change(e, d, n, out)


@njit(parallel=True, nogil=True, cache=True)
def _unsharp_fixed_kernel(
    enc16, luma, blurred, lo, hi, amount, overshoot, y0, x0, rows, cols, out
):  # pragma: no cover - compiled
    """:func:`_unsharp_quantise_kernel` on fixed-point input, row by row."""
    for k in prange(rows):
        i = y0 + np.int64(k)
        d = np.empty(cols, np.float32)
        _unsharp_fixed_row(
            enc16[i].reshape(-1)[3 * x0 : 3 * (x0 + cols)],
            luma[i, x0 : x0 + cols],
            blurred[i, x0 : x0 + cols],
            lo[i, x0 : x0 + cols],
            hi[i, x0 : x0 + cols],
            amount,
            overshoot,
            out[k].reshape(-1),
            d,
        )


@njit(inline="always", nogil=True, cache=True)
def _reflect(i, n):  # pragma: no cover - compiled
    """OpenCV's BORDER_REFLECT (``fedcba|abcdef|fedcba``) for a reach shorter than ``n``."""
    if i < 0:
        return -i - 1
    if i >= n:
        return 2 * n - i - 1
    return i


@njit(nogil=True, cache=True, error_model="numpy")
def _sharpen_fused_row(
    enc_row, l0, l1, l2, l3, l4, l5, l6, taps, amount, overshoot, x0, cols, out_row, vb, vmin,
    vmax, d,
):  # pragma: no cover - compiled  # fmt: skip
    """One output row of :func:`_sharpen_fused_kernel`. ``l0`` … ``l6``: the luma rows
    ``i − 3 … i + 3`` (reflected at the image's edges); ``vb``, ``vmin``, ``vmax``: scratch
    of ``cols + 6`` values for the vertical passes at columns ``x0 − 3 …``; ``d``: scratch
    of ``cols`` values. Unsigned loop indices: no negative-index wrap-around, so the loops
    vectorise."""
    width = l3.shape[0]
    r = FUSED_REACH
    g0, g1, g2, g3 = taps[3], taps[2], taps[1], taps[0]
    a = max(x0 - r, 0)
    b = min(x0 + cols + r, width)
    off = x0 - r  # column of vb[0]
    # Vertical passes (7-tap Gaussian, 3-row minimum and maximum) where the columns exist.
    for x in range(np.uint64(a), np.uint64(b)):
        t = x - np.uint64(a) + np.uint64(a - off)
        c = l3[x]
        vb[t] = g0 * c + g1 * (l2[x] + l4[x]) + g2 * (l1[x] + l5[x]) + g3 * (l0[x] + l6[x])
        vmin[t] = min(min(l2[x], c), l4[x])
        vmax[t] = max(max(l2[x], c), l4[x])
    # Columns beyond the image's edges mirror those inside (BORDER_REFLECT).
    for t in range(0, a - off):
        src = _reflect(t + off, width) - off
        vb[t], vmin[t], vmax[t] = vb[src], vmin[src], vmax[src]
    for t in range(b - off, cols + 2 * r):
        src = _reflect(t + off, width) - off
        vb[t], vmin[t], vmax[t] = vb[src], vmin[src], vmax[src]
    # Horizontal passes and the luma change, in 8-bit codes (+ ½ for the rounding).
    code = np.float32(255.0)
    half = np.float32(0.5)
    u1, u2, u3 = np.uint64(1), np.uint64(2), np.uint64(3)
    u4, u5, u6 = np.uint64(4), np.uint64(5), np.uint64(6)
    for x in range(np.uint64(cols)):
        blurred = (
            g0 * vb[x + u3]
            + g1 * (vb[x + u2] + vb[x + u4])
            + g2 * (vb[x + u1] + vb[x + u5])
            + g3 * (vb[x] + vb[x + u6])
        )
        lo = min(min(vmin[x + u2], vmin[x + u3]), vmin[x + u4])
        hi = max(max(vmax[x + u2], vmax[x + u3]), vmax[x + u4])
        y = l3[x + np.uint64(x0)]
        t = y + amount * (y - blurred)
        t = min(max(t, lo - overshoot), hi + overshoot)
        d[x] = (t - y) * code + half
    _add_luma_change(enc_row, d, np.uint64(cols), out_row)


@njit(parallel=True, nogil=True, cache=True)
def _sharpen_fused_kernel(
    enc16, luma, taps, amount, overshoot, y0, x0, rows, cols, out
):  # pragma: no cover - compiled
    """The whole of :func:`sharpen_fixed_into` in one pass over the rows: the 7-tap Gaussian
    (separable, ``taps``), the 3×3 range and the unsharp mask with its quantisation, from
    the luma rows around each output row, without writing the blur and range planes."""
    height = luma.shape[0]
    r = FUSED_REACH
    for k in prange(rows):
        i = y0 + np.int64(k)
        n = cols + 2 * r
        vb = np.empty(n, np.float32)
        vmin = np.empty(n, np.float32)
        vmax = np.empty(n, np.float32)
        d = np.empty(cols, np.float32)
        _sharpen_fused_row(
            enc16[i].reshape(-1)[3 * x0 : 3 * (x0 + cols)],
            luma[_reflect(i - 3, height)], luma[_reflect(i - 2, height)],
            luma[_reflect(i - 1, height)], luma[i], luma[_reflect(i + 1, height)],
            luma[_reflect(i + 2, height)], luma[_reflect(i + 3, height)],
            taps, amount, overshoot, x0, cols, out[k].reshape(-1), vb, vmin, vmax, d,
        )  # fmt: skip
