"""Depth of field: thin-lens circle of confusion and occlusion-aware defocus rendering.

**Circle of confusion.** A thin lens of focal length f focused at distance z_f puts its sensor at
the image distance v_f = f·z_f/(z_f − f). A point at distance z is imaged at v = f·z/(z − f);
the cone of light from the aperture of diameter A = f/N towards that image point meets the
sensor in a blur spot of diameter (similar triangles)

    c = A · |v − v_f| / v = A · |z − z_f| / z · f / (z_f − f)

(S. F. Ray, "Applied Photographic Optics", 3rd ed., Focal Press 2002, the chapter on depth of
field; the same expression is the blur-circle model of Potmesil & Chakravarty, "A lens and
aperture camera model for synthetic image generation", SIGGRAPH 1981). f/(z_f − f) is the magnification m at the focused distance. The limits:
z → ∞ gives c = A·m (the blur of the background at infinity), z_f → ∞ gives c = A·f/z, and the
formula stays valid for z < f (a virtual image; the blur keeps growing towards A·f/z). The
*sign* used by :func:`render_defocus` is + behind the focus plane (z > z_f) and − in front: the
two sides are composited differently and see the aperture turned by 180° (a far point's cone
has crossed before the sensor, a near point's has not).

**Rendering.** :func:`render_defocus` is a layered renderer in the line of Kraus & Strengert,
"Depth-of-Field Rendering by Pyramidal Image Processing", Computer Graphics Forum 26(3)
(Eurographics 2007), and of the layered methods surveyed by Barsky et al., "Camera models and
optical systems used in computer graphics: part II, image-based techniques" (ICCSA 2003): the
signed blur diameter is split into layers; each layer's premultiplied colour and coverage,
completed behind nearer layers by pull–push interpolation (Gortler et al., "The Lumigraph",
SIGGRAPH 1996), are blurred with the aperture kernel of that layer
(:func:`mountcam.optics.blur_spot.aperture_kernel`) at a level of a resolution pyramid
where that kernel is 8–32 px across, and composited far to near with the Porter–Duff "over"
operator (Porter & Duff, "Compositing digital images", SIGGRAPH 1984). docs/defocus.md explains
the choices (layer placement, hidden parts, the frame edge, the pyramid) and their limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import scipy.fft as sfft

from mountcam.errors import InvalidSetting
from mountcam.jit import fft_workers, njit, prange
from mountcam.optics.blur_spot import (
    ROUND_FROM_BLADES,
    _check_blades,
    aperture_kernel,
    polygon_circumradius,
)

__all__ = [
    "aperture_kernel",
    "coc_diameter_m",
    "render_defocus",
    "signed_coc_px",
]

#: Histogram resolution of the layer planner, bins per octave of (1 + |c|): a layer's blur
#: diameter is the centre of its bin, so a flat plane is blurred with its own CoC to ±0.14 %.
_BINS_PER_OCTAVE = 256
#: Blur diameters are clipped here (px); beyond it the blur is a uniform wash at any image size.
_MAX_COC_PX = 65535.0
#: Largest kernel (px, at the working level) blurred at each pyramid level; see _level_for().
_KERNEL_PX_PER_LEVEL = (8.0, 16.0, 32.0)
#: Kernels up to this size (px) are applied directly (OpenCV), larger ones by FFT.
_DIRECT_MAX_PX = 9
#: Height of a layer's processing strip in units of its blur reach (see _blur_layer_into).
_STRIP_REACHES = 8
#: Layers above which the planner widens its bins (keeps the run time bounded).
_MAX_LAYERS = 48

# --------------------------------------------------------------------------- circle of confusion


def _check_lens(focal_m: float, f_number: float, focus_m: float) -> None:
    if not (math.isfinite(focal_m) and focal_m > 0):
        raise InvalidSetting(f"focal length must be a positive number of metres, not {focal_m}")
    if not (math.isfinite(f_number) and f_number > 0):
        raise InvalidSetting(f"f-number must be positive, not {f_number}")
    if math.isnan(focus_m) or focus_m <= focal_m:
        raise InvalidSetting(
            f"focus distance {focus_m} m is not beyond the focal length {focal_m} m; "
            "a lens cannot focus closer than f"
        )


def coc_diameter_m(focal_m: float, f_number: float, focus_m: float, depth_m, *, signed=False):
    """Thin-lens blur-spot diameter on the sensor, metres: c = (f/N)·|z − z_f|/z · f/(z_f − f).

    ``depth_m`` may be a scalar or an array (``inf`` allowed, NaN passes through as NaN);
    ``focus_m`` may be ``inf``. With ``signed=True`` the result is + for points behind the
    focused distance and − for points in front of it. Derivation and source in the module
    docstring. Raises :class:`~mountcam.errors.InvalidSetting` for a non-positive depth.
    """
    _check_lens(focal_m, f_number, focus_m)
    z = np.asarray(depth_m, dtype=np.float64)
    if np.any(z <= 0):
        raise InvalidSetting("depths must be positive distances in front of the lens")
    aperture = focal_m / f_number
    with np.errstate(divide="ignore", invalid="ignore"):
        if math.isinf(focus_m):
            # m → 0 and |z − z_f|/(z_f − f) → 1: c = A·f/z, everything is in front of focus.
            c = aperture * focal_m / z
            sign = np.where(np.isinf(z), 0.0, -1.0)
        else:
            m = focal_m / (focus_m - focal_m)
            ratio = np.where(np.isinf(z), 1.0, np.abs(z - focus_m) / z)
            c = aperture * m * ratio
            sign = np.sign(z - focus_m)
    c = np.where(np.isnan(z), np.nan, c)
    if signed:
        c = c * np.where(np.isnan(z), 1.0, sign)
    return float(c) if np.ndim(depth_m) == 0 else c


@njit(parallel=True, cache=True)
def _signed_coc_px_kernel(
    depth, aperture, focal, focus, focus_inf, pitch, cmax
):  # pragma: no cover
    h, w = depth.shape
    out = np.empty((h, w), dtype=np.float32)
    m = 0.0 if focus_inf else focal / (focus - focal)
    for r in prange(h):
        for c in range(w):
            z = depth[r, c]
            if not (z > 0.0) or np.isinf(z):  # NaN, ∞ (and junk ≤ 0): treated as infinitely far
                if focus_inf:
                    v = 0.0
                else:
                    v = aperture * m / pitch
            elif focus_inf:
                v = -aperture * focal / z / pitch
            else:
                v = aperture * m * (z - focus) / z / pitch
            if v > cmax:
                v = cmax
            elif v < -cmax:
                v = -cmax
            out[r, c] = v
    return out


def signed_coc_px(
    depth_m: np.ndarray, *, focal_m: float, f_number: float, focus_m: float, pixel_pitch_m: float
) -> np.ndarray:
    """Signed blur diameter in pixels, (H, W) float32: + behind focus, − in front.

    NaN, ±∞ and non-positive depths are treated as infinitely far (the "unknown = sky"
    convention of depth maps). Clipped to ±65535 px.
    """
    _check_lens(focal_m, f_number, focus_m)
    if not (math.isfinite(pixel_pitch_m) and pixel_pitch_m > 0):
        raise InvalidSetting(
            f"pixel pitch must be a positive number of metres, not {pixel_pitch_m}"
        )
    depth = np.ascontiguousarray(depth_m, dtype=np.float32)
    if depth.ndim != 2:
        raise InvalidSetting(f"a depth map is (H, W), not {depth.shape}")
    return _signed_coc_px_kernel(
        depth,
        focal_m / f_number,
        focal_m,
        focus_m if math.isfinite(focus_m) else 0.0,
        math.isinf(focus_m),
        pixel_pitch_m,
        _MAX_COC_PX,
    )


# --------------------------------------------------------------------------- layer planning
#
# The layer coordinate is h = sign(c)·log2(1 + |c|) (c: signed CoC in px), 0 for |c| < 1 px.
# Layers are "nodes" on this axis, ordered far → near (h descending); each pixel lies at a
# fractional node index t and belongs to the nodes floor(t) and floor(t)+1 with the linear
# weights of t (its coverage is split between them), or to one node exactly.


@njit(cache=True)
def _h_of(c):  # pragma: no cover - compiled
    a = abs(c)
    if a < 1.0:
        return 0.0
    h = math.log2(1.0 + a)
    return h if c > 0 else -h


@njit(parallel=True, cache=True)
def _bins(coc, bins_per_octave, half):  # pragma: no cover - compiled
    h, w = coc.shape
    out = np.empty((h, w), dtype=np.int32)
    for r in prange(h):
        for c in range(w):
            out[r, c] = int(round(_h_of(np.float64(coc[r, c])) * bins_per_octave)) + half
    return out


def _plan_nodes(coc: np.ndarray, layers_per_octave: float) -> np.ndarray:
    """Layer positions on the h axis (ascending), placed where the image has pixels.

    Walking up the occupied histogram bins: the next node is the highest occupied value at most
    one layer spacing above the current one, or, across an empty gap, the next occupied value.
    So every pixel is either at a node (a flat plane is rendered with exactly its own blur) or
    between two nodes less than one spacing apart (a slanted surface is interpolated).
    """
    q = _BINS_PER_OCTAVE
    half = int(math.ceil(math.log2(1.0 + _MAX_COC_PX) * q)) + 1
    counts = np.bincount(_bins(coc, q, half).ravel(), minlength=2 * half + 1)
    occupied = np.flatnonzero(counts) - half
    # The two sides of the focus plane are planned apart, and "in focus" (0) is a node of its
    # own, so no pixel is ever interpolated across the focus plane.
    sides = [occupied[occupied < 0], occupied[occupied > 0]]
    spacing = 1.0 / layers_per_octave
    while True:
        step = max(1, int(round(spacing * q)))
        nodes = [0] if np.any(occupied == 0) else []
        for side in sides:
            if side.size:
                nodes += _walk(side, step)
        if len(nodes) <= _MAX_LAYERS:
            return np.sort(np.asarray(nodes, dtype=np.float64)) / q
        spacing *= 1.5


def _walk(occupied: np.ndarray, step: int) -> list[int]:
    """Nodes along sorted occupied bins: at most ``step`` apart, jumping over empty stretches."""
    nodes = [int(occupied[0])]
    top = int(occupied[-1])
    while nodes[-1] < top:
        cur = nodes[-1]
        j = int(np.searchsorted(occupied, cur + step, side="right")) - 1
        if occupied[j] > cur:
            nodes.append(int(occupied[j]))
        else:  # an empty stretch: jump to the next occupied value
            nodes.append(int(occupied[np.searchsorted(occupied, cur, side="right")]))
    return nodes


@njit(parallel=True, cache=True)
def _t_map(coc, g_nodes, tol):  # pragma: no cover - compiled
    """Fractional node index of each pixel (g_nodes = −h of the nodes, ascending: far first),
    and for each row and node the first and last column holding that node (−1 if none)."""
    h, w = coc.shape
    n = g_nodes.size
    out = np.empty((h, w), dtype=np.float32)
    cols = np.full((h, n, 2), -1, dtype=np.int32)
    for r in prange(h):
        for c in range(w):
            g = -_h_of(np.float64(coc[r, c]))
            i = np.searchsorted(g_nodes, g)
            # Snap to a node within half a histogram bin (a pixel "on" a plane's node).
            if i < n and g_nodes[i] - g <= tol:
                tt = np.float64(i)
            elif i > 0 and g - g_nodes[i - 1] <= tol:
                tt = np.float64(i - 1)
            elif i == 0:
                tt = 0.0
            elif i >= n:
                tt = np.float64(n - 1)
            else:
                tt = (i - 1) + (g - g_nodes[i - 1]) / (g_nodes[i] - g_nodes[i - 1])
            t32 = np.float32(tt)
            out[r, c] = t32
            k0 = int(math.floor(t32))
            for k in (k0, k0 + 1):
                if k >= n or (k == k0 + 1 and t32 == k0):
                    continue
                if cols[r, k, 0] < 0:
                    cols[r, k, 0] = c
                cols[r, k, 1] = c
    return out, cols


def _layer_bboxes(cols: np.ndarray) -> np.ndarray:
    """Per node: [row_min, row_max + 1, col_min, col_max + 1] of its pixels (empty: min ≥ max)."""
    h, n, _ = cols.shape
    present = cols[:, :, 0] >= 0
    box = np.zeros((n, 4), dtype=np.int64)
    for k in range(n):
        rows = np.flatnonzero(present[:, k])
        if rows.size:
            box[k] = (rows[0], rows[-1] + 1, cols[rows, k, 0].min(), cols[rows, k, 1].max() + 1)
    return box


@njit(parallel=True, cache=True)
def _build_layer(img, t, k, r0, c0, out):  # pragma: no cover - compiled
    """out[..., :C] = α·I, out[..., C] = α, out[..., C+1] = F, out[..., C+2] = M over a crop
    whose corner is (r0, c0) (it may lie partly outside the image).

    α: the pixel's coverage in node k; F: its coverage in node k and all farther nodes (what is
    *not* hidden by nearer layers); M: 1 inside the image. Outside the image everything is 0.
    """
    height, width, nch = img.shape
    hh, ww, _ = out.shape
    for i in prange(hh):
        r = r0 + i
        if r < 0 or r >= height:
            continue
        for j in range(ww):
            c = c0 + j
            if c < 0 or c >= width:
                continue
            tt = np.float64(t[r, c])
            a = 1.0 - abs(tt - k)
            if a < 0.0:
                a = 0.0
            f = k + 1.0 - tt
            f = 0.0 if f < 0.0 else (1.0 if f > 1.0 else f)
            for ch in range(nch):
                out[i, j, ch] = a * img[r, c, ch]
            out[i, j, nch] = a
            out[i, j, nch + 1] = f
            out[i, j, nch + 2] = 1.0


def _half_stats(img: np.ndarray, t: np.ndarray) -> tuple:
    """Per 2 × 2 block: min and max of t, mean colour, and the fraction inside the image.

    Most blocks of most layers are uniform (all farther, all nearer, or all exactly on the
    node); _build_layer_half answers those from these statistics without reading the block.
    """
    height, width, nch = img.shape
    h2, w2 = (height + 1) // 2, (width + 1) // 2
    pad = ((0, 2 * h2 - height), (0, 2 * w2 - width))
    tp = np.pad(t, pad, mode="edge")
    corners = tp[0::2, 0::2], tp[0::2, 1::2], tp[1::2, 0::2], tp[1::2, 1::2]
    tmin = np.minimum(np.minimum(corners[0], corners[1]), np.minimum(corners[2], corners[3]))
    tmax = np.maximum(np.maximum(corners[0], corners[1]), np.maximum(corners[2], corners[3]))
    padded = np.pad(img, pad + ((0, 0),), mode="edge")  # edge blocks: mean of what is there
    mean = cv2.resize(padded, (w2, h2), interpolation=cv2.INTER_AREA)
    mean = np.ascontiguousarray(mean if mean.ndim == 3 else mean[..., None], dtype=np.float32)
    rows = np.where(np.arange(h2) * 2 + 1 < height, 1.0, 0.5)
    cols = np.where(np.arange(w2) * 2 + 1 < width, 1.0, 0.5)
    inside = np.outer(rows, cols).astype(np.float32)
    return tmin, tmax, mean, inside


@njit(parallel=True, cache=True)
def _build_layer_half(img, t, tmin, tmax, mean, inside, k, r0, c0, out):  # pragma: no cover
    """_build_layer followed by a 2 × 2 box average, fused: the crop at half resolution.

    (r0, c0) are even. Building at full resolution and then filtering would cost memory
    traffic on every layer; uniform blocks are answered from _half_stats. The box (rather than
    the (1, 3, 3, 1) filter of the coarser steps) moves a point's centroid by at most half a
    full-resolution pixel, which no blur of ≥ 8 px can show.
    """
    height, width, nch = img.shape
    h2, w2 = tmin.shape
    hh, ww, _ = out.shape
    i0, j0 = r0 // 2, c0 // 2
    for i in prange(hh):
        bi = i0 + i
        if bi < 0 or bi >= h2:
            continue
        acc = np.zeros(nch + 3, dtype=np.float64)
        for j in range(ww):
            bj = j0 + j
            if bj < 0 or bj >= w2:
                continue
            m = inside[bi, bj]
            out[i, j, nch + 2] = m
            lo, hi = tmax[bi, bj] <= k - 1.0, tmin[bi, bj] >= k + 1.0
            if lo:  # all farther than node k: known, not in the layer
                out[i, j, nch + 1] = m
                continue
            if hi:  # all nearer: hidden
                continue
            if tmin[bi, bj] == k and tmax[bi, bj] == k:  # all exactly on the node
                for ch in range(nch):
                    out[i, j, ch] = m * mean[bi, bj, ch]
                out[i, j, nch] = m
                out[i, j, nch + 1] = m
                continue
            acc[:] = 0.0
            for r in range(2 * bi, min(2 * bi + 2, height)):
                for c in range(2 * bj, min(2 * bj + 2, width)):
                    tt = np.float64(t[r, c])
                    f = k + 1.0 - tt
                    if f <= 0.0:
                        continue  # nearer than node k: α = F = 0
                    acc[nch + 1] += 1.0 if f > 1.0 else f
                    a = 1.0 - abs(tt - k)
                    if a > 0.0:
                        acc[nch] += a
                        for ch in range(nch):
                            acc[ch] += a * img[r, c, ch]
            for ch in range(nch + 2):
                out[i, j, ch] = 0.25 * acc[ch]


# --------------------------------------------------------------------------- pyramid and blur


@njit(parallel=True, cache=True)
def _down2_kernel(x, out):  # pragma: no cover - compiled
    # Separable: each output row filters 4 input rows into a row buffer, then 4 columns.
    h, w, nch = x.shape
    hh, ww, _ = out.shape
    taps = np.array([0.125, 0.375, 0.375, 0.125], dtype=np.float32)
    for i in prange(hh):
        buf = np.zeros((w + 2, nch), dtype=np.float32)  # one zero column each side
        for a in range(4):
            r = 2 * i - 1 + a
            if r < 0 or r >= h:
                continue
            wa = taps[a]
            for c in range(w):
                for ch in range(nch):
                    buf[c + 1, ch] += wa * x[r, c, ch]
        for j in range(ww):
            for ch in range(nch):
                v = np.float32(0.0)
                for b in range(4):
                    c = 2 * j - 1 + b  # buf index c + 1; c ≤ w keeps it in range
                    if c <= w:
                        v += taps[b] * buf[c + 1, ch]
                out[i, j, ch] = v


def _down2(x: np.ndarray) -> np.ndarray:
    """Halve the resolution: the adjoint of bilinear 2× upsampling, i.e. taps (1, 3, 3, 1)/8.

    It keeps the flux (mean) and, unlike a 2 × 2 box, the centroid of a single bright pixel, so
    a point blurred at a coarse level lands where it should after upsampling.
    """
    h, w, nch = x.shape
    out = np.zeros(((h + 1) // 2, (w + 1) // 2, nch), dtype=np.float32)
    _down2_kernel(x, out)
    return out


def _up2(x: np.ndarray) -> np.ndarray:
    h, w = x.shape[:2]
    y = cv2.resize(x, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR)
    return y if y.ndim == x.ndim else y[..., None]


def _convolve(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Linear convolution of each channel of (h, w, ch) ``x`` with ``kernel``, zero outside."""
    kh, kw = kernel.shape
    if kh == 1 and kw == 1:
        return x * kernel[0, 0]
    if max(kh, kw) <= _DIRECT_MAX_PX:
        # filter2D correlates: flip to convolve (matters for odd blade counts).
        y = cv2.filter2D(x, -1, kernel[::-1, ::-1].copy(), borderType=cv2.BORDER_CONSTANT)
        return y if y.ndim == x.ndim else y[..., None]
    h, w, _ = x.shape
    shape = (sfft.next_fast_len(h + kh - 1, real=True), sfft.next_fast_len(w + kw - 1, real=True))
    xf = sfft.rfft2(np.moveaxis(x, -1, 0), s=shape, axes=(-2, -1), workers=fft_workers())
    kf = sfft.rfft2(kernel, s=shape, workers=fft_workers())
    xf *= kf
    y = sfft.irfft2(xf, s=shape, axes=(-2, -1), workers=fft_workers())
    y = y[:, kh // 2 : kh // 2 + h, kw // 2 : kw // 2 + w]
    return np.ascontiguousarray(np.moveaxis(y, 0, -1), dtype=np.float32)


def _level_for(diameter_px: float) -> int:
    """Pyramid level at which a blur of this diameter is computed (0: full resolution).

    The smallest level whose kernel fits _KERNEL_PX_PER_LEVEL (8 px at full resolution, 16 at
    half, 32 below): blurs ≤ 8 px are done at full resolution, ≤ 32 px at half, ≤ 128 px at a
    quarter, and so on. Coarse levels are cheap, so big blurs keep big, crisp-edged kernels
    (16–32 px across at their level); only small kernels run at the expensive fine levels.
    """
    level = 0
    while True:
        limit = _KERNEL_PX_PER_LEVEL[min(level, len(_KERNEL_PX_PER_LEVEL) - 1)]
        if diameter_px / 2**level <= limit:
            return level
        level += 1


@njit(parallel=True, cache=True)
def _composite(acc, i0, j0, blurred, nch, behind):  # pragma: no cover - compiled
    """Composite a blurred layer (P…, A[, K∗M]) into acc (C…, α) at offset (i0, j0).

    ``behind`` False: the layer goes over acc (the far group, built far to near);
    True: acc goes over the layer (the near group, built from the nearest layer back).
    A third channel K∗M renormalises at the frame edge (normalised convolution).
    """
    hh, ww, nb = blurred.shape
    has_norm = nb > nch + 1
    for i in prange(hh):
        for j in range(ww):
            a = blurred[i, j, nch]
            if a <= 0.0:
                continue
            # FFT round-off can also leave A a hair over its bound.
            norm = max(blurred[i, j, nch + 1], 1e-3) if has_norm else 1.0
            scale = 1.0 / norm if a <= norm else 1.0 / a
            a *= scale
            ii, jj = i0 + i, j0 + j
            if behind:
                keep = 1.0 - acc[ii, jj, nch]
                for ch in range(nch):
                    p = blurred[i, j, ch] * scale
                    acc[ii, jj, ch] += keep * (p if p > 0.0 else 0.0)
                acc[ii, jj, nch] += keep * a
            else:
                for ch in range(nch):
                    p = blurred[i, j, ch] * scale
                    acc[ii, jj, ch] = (p if p > 0.0 else 0.0) + (1.0 - a) * acc[ii, jj, ch]
                acc[ii, jj, nch] = a + (1.0 - a) * acc[ii, jj, nch]


@njit(parallel=True, cache=True)
def _over_in_focus(acc, img, t, k):  # pragma: no cover - compiled
    """The in-focus node, unblurred, over acc at full resolution (exact where α = F = 1)."""
    height, width, nch = img.shape
    for r in prange(height):
        for c in range(width):
            tt = np.float64(t[r, c])
            a_raw = 1.0 - abs(tt - k)
            if a_raw <= 0.0:
                continue
            f = k + 1.0 - tt
            f = 1.0 if f > 1.0 else f
            a = a_raw / max(f, a_raw)
            for ch in range(nch):
                acc[r, c, ch] = a * img[r, c, ch] + (1.0 - a) * acc[r, c, ch]
            acc[r, c, nch] = a + (1.0 - a) * acc[r, c, nch]


def _pull_push(acc: np.ndarray) -> np.ndarray | None:
    """Fill where a weighted image is incomplete, by pull–push interpolation.

    ``acc`` (h, w, n + 1): n channels premultiplied by a weight (coverage) in [0, 1] in the
    last channel. Returns, at the same resolution, the n channels *per unit weight* estimated
    from the surroundings (what a pixel's missing fraction 1 − weight should hold), or None
    where nothing is missing. Gortler et al., "The Lumigraph", SIGGRAPH 1996 (the pull–push
    pyramid; the same hole filling is used by Kraus & Strengert 2007): average down with the weight
    boosted ×4 per level (min 1) until every pixel is covered, then push back up, filling each
    level's missing fraction from the coarser level. The (1, 3, 3, 1) filter, not 2 × 2 boxes,
    so fills are smooth rather than blocky.
    """
    nch = acc.shape[2] - 1
    if float(acc[..., nch].min()) >= 1.0 - 1e-6:
        return None
    stack = [acc]
    cur, lowest = acc, 0.0
    while min(cur.shape[:2]) > 1 and lowest < 1.0 - 1e-6:
        cur = _down2(cur)
        lowest = _boost(cur)
        stack.append(cur)
    # Coarsest level: values = P/w where anything is known, else 0 (an empty image).
    top = stack[-1]
    fill = np.ascontiguousarray(top[..., :nch] / np.maximum(top[..., nch:], 1e-30))
    for i in range(len(stack) - 2, -1, -1):
        h, w = stack[i].shape[:2]
        fill = cv2.resize(fill, (w, h), interpolation=cv2.INTER_LINEAR)
        fill = fill if fill.ndim == 3 else fill[..., None]
        if i > 0:  # the finest level's own values stay with the caller
            _push(stack[i], fill)
    return fill


@njit(cache=True)
def _boost(x):  # pragma: no cover - compiled
    """Pull step: weight w → min(1, 4w) (values scaled alike); returns the smallest weight."""
    h, w, n = x.shape
    lows = np.ones(h, dtype=np.float32)
    for i in range(h):
        low = 1.0
        for j in range(w):
            wt = x[i, j, n - 1]
            if 0.0 < wt < 0.25:
                for ch in range(n):
                    x[i, j, ch] *= 4.0
                wt *= 4.0
            elif wt >= 0.25:
                g = 1.0 / wt
                for ch in range(n):
                    x[i, j, ch] *= g
                wt = 1.0
            low = min(low, wt)
        lows[i] = low
    return lows.min()


@njit(cache=True)
def _push(level, fill):  # pragma: no cover - compiled
    """Push step, in place: fill ← values + (1 − w)·fill, at one level of the pyramid."""
    h, w, nch = fill.shape
    for i in range(h):
        for j in range(w):
            keep = 1.0 - min(max(level[i, j, nch], 0.0), 1.0)
            for ch in range(nch):
                fill[i, j, ch] = level[i, j, ch] + keep * fill[i, j, ch]


@njit(parallel=True, cache=True)
def _log_premult(x, nch, nkeep, scale):  # pragma: no cover - compiled
    """(w·log(1 + I/s)…, then ``nkeep`` channels copied) from (w·I…, w, …).

    The fill of hidden content is interpolated in this compressed domain: an extended surface
    is extrapolated as itself (I ≪ s: ordinary averages; a uniform colour comes back exactly),
    while an isolated highlight (a lamp next to an occluder) is not smeared into the hidden
    region as if it were typical of what is there (docs/defocus.md, "hidden parts").
    """
    h, w, _ = x.shape
    out = np.empty((h, w, nch + nkeep), dtype=np.float32)
    for i in prange(h):
        for j in range(w):
            a = x[i, j, nch]
            for ch in range(nch):
                v = x[i, j, ch] / a if a > 0.0 else 0.0
                out[i, j, ch] = a * math.log1p(max(v, 0.0) / scale) if a > 0.0 else 0.0
            for ch in range(nkeep):
                out[i, j, nch + ch] = x[i, j, nch + ch]
    return out


@njit(parallel=True, cache=True)
def _finish(background, fill, front, scale, out):  # pragma: no cover - compiled
    """out = front over (background completed by fill); either of fill/front may be empty.

    Where the background is opaque (α = 1) its colour is used as it is, bit for bit; where it
    is partly transparent the missing fraction (1 − α) comes from the pull–push fill (or, if
    there is no fill, the colour is renormalised by α).
    """
    height, width, nch = out.shape
    has_fill = fill.shape[0] == height
    has_front = front.shape[0] == height
    for r in prange(height):
        for c in range(width):
            a = background[r, c, nch]
            for ch in range(nch):
                v = background[r, c, ch]
                if a < 1.0:
                    if has_fill:  # the fill is log(1 + I/s): see _log_premult
                        v += (1.0 - max(a, 0.0)) * scale * math.expm1(fill[r, c, ch])
                    elif a > 0.0:
                        v /= a
                if has_front:
                    v = front[r, c, ch] + (1.0 - front[r, c, nch]) * v
                out[r, c, ch] = v


# --------------------------------------------------------------------------- the renderer


@dataclass(frozen=True)
class _Frame:
    """What every layer of one render shares."""

    img: np.ndarray  # (H, W, C) float32
    t: np.ndarray  # (H, W) fractional node index
    cols: np.ndarray  # (H, nodes, 2) first/last column of each node per row
    boxes: np.ndarray  # (nodes, 4) bounding boxes
    hp: int  # height padded to the coarsest level used
    wp: int
    blades: int
    rotation_rad: float
    scale: float  # radiance scale s of the hidden-content fill (mean of the image)
    half: tuple  # _half_stats(img, t)


@dataclass(frozen=True)
class _Layer:
    index: int  # node index, far (0) to near
    coc_px: float  # signed blur diameter, px at full resolution
    level: int


def render_defocus(
    planes: np.ndarray,
    depth_m: np.ndarray,
    *,
    focal_m: float,
    f_number: float,
    focus_m: float,
    pixel_pitch_m: float,
    blades: int = 0,
    rotation_rad: float = 0.0,
    layers_per_octave: float = 2.0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Render the depth of field of a thin lens over an all-in-focus image, in linear light.

    ``planes`` (H, W, C) or (H, W): linear radiance (no gamma); ``depth_m`` (H, W): distance of
    each pixel in metres, NaN/∞/≤ 0 meaning far or unknown (rendered at infinity). The lens:
    ``focal_m``, ``f_number``, ``focus_m`` (may be ∞), ``pixel_pitch_m`` of the sensor; the iris:
    ``blades`` (0 round, 3…11 straight-bladed polygon) and ``rotation_rad`` (one vertex's
    direction in the blur of points behind the focus plane; in front it is turned by 180°).
    ``layers_per_octave``: layer density of the blur diameter where the depth is continuous.

    ``out``: a C-contiguous float32 array shaped like ``planes`` to write the result into; it
    may be ``planes`` itself (the image is read only before the result is written), which
    saves one image's memory at 50 MP.

    Returns (H, W, C) (or (H, W)) float32. Pixels whose blur is under one pixel are in focus
    and are not blurred; where nothing defocused lies in front of them they are returned
    exactly. Defocused pixels in front of the focus plane spread over everything behind them;
    those behind are hidden by whatever is nearer. The algorithm and its approximations are
    described in docs/defocus.md (Kraus & Strengert 2007; Gortler et al. 1996 for the fill).
    """
    img = np.asarray(planes, dtype=np.float32)
    squeeze = img.ndim == 2
    if squeeze:
        img = img[..., None]
    if img.ndim != 3:
        raise InvalidSetting(f"image planes are (H, W, C) or (H, W), not {img.shape}")
    img = np.ascontiguousarray(img)
    height, width, nch = img.shape
    if np.shape(depth_m) != (height, width):
        raise InvalidSetting(f"depth map {np.shape(depth_m)} does not match image {img.shape[:2]}")
    _check_blades(blades)
    if not (layers_per_octave > 0):
        raise InvalidSetting(f"layers_per_octave must be positive, not {layers_per_octave}")

    coc = signed_coc_px(
        depth_m, focal_m=focal_m, f_number=f_number, focus_m=focus_m, pixel_pitch_m=pixel_pitch_m
    )
    # A blur twice the frame's size already spreads every layer evenly over the whole frame
    # (normalised at the frame edge); larger ones would only cost pyramid levels and padding.
    limit = 2.0 * max(height, width)
    np.clip(coc, -limit, limit, out=coc)
    nodes_h = _plan_nodes(coc, layers_per_octave)  # ascending h: near … far
    g_nodes = -nodes_h[::-1].copy()  # ascending g = −h: index 0 is the farthest layer
    n = g_nodes.size
    t, cols = _t_map(coc, g_nodes, 0.51 / _BINS_PER_OCTAVE)
    boxes = _layer_bboxes(cols)

    layers: list[_Layer] = []
    focus_index = -1
    for k in range(n):
        h = -g_nodes[k]
        if h == 0.0:
            focus_index = k
            continue
        if boxes[k, 0] >= boxes[k, 1]:
            continue  # no pixel lies on this node (cannot happen, kept for safety)
        c = math.copysign(2.0 ** abs(h) - 1.0, h)
        layers.append(_Layer(k, c, _level_for(abs(c))))
    top_level = max((layer.level for layer in layers), default=0)
    step = 2**top_level
    hp, wp = -(-height // step) * step, -(-width // step) * step

    far = [layer for layer in layers if layer.coc_px > 0]  # far → near: coarse → fine
    near = [layer for layer in reversed(layers) if layer.coc_px < 0]  # nearest first
    mean = float(img.mean(dtype=np.float64))
    frame = _Frame(
        img,
        t,
        cols,
        boxes,
        hp,
        wp,
        blades,
        rotation_rad,
        mean if mean > 0 else 1.0,
        _half_stats(img, t) if top_level > 0 else (),
    )

    def run_group(group: list[_Layer], behind: bool) -> np.ndarray | None:
        acc, acc_level = None, None
        for layer in group:
            if acc is None:
                acc_level = layer.level
                acc = np.zeros((hp >> acc_level, wp >> acc_level, nch + 1), dtype=np.float32)
            while acc_level > layer.level:
                acc, acc_level = _up2(acc), acc_level - 1
            _blur_layer_into(acc, layer, frame, behind)
        if acc is None:
            return None
        while acc_level > 0:
            acc, acc_level = _up2(acc), acc_level - 1
        return acc[:height, :width]

    background = run_group(far, behind=False)
    if background is None:
        background = np.zeros((height, width, nch + 1), dtype=np.float32)
    background = np.ascontiguousarray(background)
    if focus_index >= 0:
        _over_in_focus(background, img, t, focus_index)
    front = run_group(near, behind=True)
    fill = None
    if float(background[..., nch].min()) < 1.0 - 1e-6:
        fill = _pull_push(_log_premult(background, nch, 1, frame.scale))
    empty = np.zeros((0, 0, nch + 1), dtype=np.float32)
    if out is None:
        out = np.empty((height, width, nch), dtype=np.float32)
        result = out[..., 0] if squeeze else out
    elif out.dtype != np.float32 or not out.flags.c_contiguous or out.size != img.size:
        raise InvalidSetting(f"out must be a C-contiguous float32 array like the image {img.shape}")
    else:
        result = out
        out = out.reshape(height, width, nch)
    _finish(
        background,
        empty[..., :nch] if fill is None else fill,
        empty if front is None else np.ascontiguousarray(front),
        frame.scale,
        out,
    )
    return result


def _blur_layer_into(acc, layer: _Layer, frame: _Frame, behind: bool) -> None:
    """Blur one layer at its pyramid level and composite it into ``acc`` (at that level).

    The layer is processed in horizontal strips of output rows, each over the columns its
    pixels occupy near that strip: a layer that is a thin slanted band (a ground plane, a wall
    seen at an angle) then costs in proportion to its area, not to its bounding box. A strip's
    input reaches twice the blur's ``reach`` beyond its output: once for the blur itself and
    once more so that the hidden-part fill near the output is extrapolated from real pixels.
    """
    nch = frame.img.shape[2]
    hp, wp, cols = frame.hp, frame.wp, frame.cols
    k = layer.index
    s = 2**layer.level
    diameter = abs(layer.coc_px)
    blades = frame.blades
    radius = polygon_circumradius(diameter, blades if blades < ROUND_FROM_BLADES else 0)
    # How far the blurred layer reaches beyond its pixels: the kernel, plus the few pixels
    # the pyramid's (1, 3, 3, 1) and bilinear filters spread per level.
    reach = math.ceil(radius) + 1 + 4 * s
    # A point behind the focus plane sees the aperture turned by 180° (module docstring).
    rotation = frame.rotation_rad + (math.pi if layer.coc_px > 0 else 0.0)
    kernel = aperture_kernel(diameter / s, blades, rotation)
    top, bottom = int(frame.boxes[k, 0]), int(frame.boxes[k, 1])
    strip = -(-max(256, _STRIP_REACHES * reach) // s) * s
    if bottom - top + 2 * reach <= 1.5 * strip:
        strip = hp  # one strip: splitting would only repeat the margins
    present = cols[:, k, 0] >= 0
    y0 = max(0, (top - reach) // s * s)
    while y0 < min(hp, bottom + reach):
        y1 = min(hp, y0 + strip)
        if bottom + reach - y1 < strip // 4:  # no thin last strip: take it into this one
            y1 = min(hp, -(-(bottom + reach) // s) * s)
        # Rows whose pixels can reach this strip's output through the blur (and V).
        a, b = max(0, y0 - 2 * reach), min(len(present), y1 + 2 * reach)
        rows = np.flatnonzero(present[a:b]) + a
        if rows.size:
            c_lo = int(cols[rows, k, 0].min())
            c_hi = int(cols[rows, k, 1].max()) + 1
            # The crop may reach past the image (M = 0 there): _blurred_crop renormalises.
            r0 = (y0 - 2 * reach) // s * s
            r1 = -(-(y1 + 2 * reach) // s) * s
            c0 = (c_lo - 2 * reach) // s * s
            c1 = -(-(c_hi + 2 * reach) // s) * s
            blurred = _blurred_crop(frame, k, layer.level, r0, r1, c0, c1, kernel)
            a0, a1 = max(c0, 0), min(c1, wp)
            out = blurred[(y0 - r0) // s : (y1 - r0) // s, (a0 - c0) // s : (a1 - c0) // s]
            _composite(acc, y0 // s, a0 // s, np.ascontiguousarray(out), nch, behind)
        y0 = y1


def _blurred_crop(frame: _Frame, k: int, level: int, r0, r1, c0, c1, kernel) -> np.ndarray:
    """(P…, A) of node k over the full-resolution crop [r0, r1) × [c0, c1), at ``level``.

    Before the blur, the part of each pixel hidden by nearer layers (M − F) is given the
    layer's content as extrapolated from where it is seen (pull–push over the known part F):
    the layer is completed behind its occluders, so that its blur does not darken next to
    them. Beyond the image border nothing is extrapolated; instead the blur is renormalised by
    the blurred image mask K∗M (normalised convolution), so a layer does not darken towards
    the frame edge either. docs/defocus.md, "hidden parts" and "the frame edge".
    """
    img, t = frame.img, frame.t
    nch = img.shape[2]
    if level == 0:
        x = np.zeros((r1 - r0, c1 - c0, nch + 3), dtype=np.float32)
        _build_layer(img, t, k, r0, c0, x)
    else:
        x = np.zeros(((r1 - r0) // 2, (c1 - c0) // 2, nch + 3), dtype=np.float32)
        _build_layer_half(img, t, *frame.half, k, r0, c0, x)
        for _ in range(level - 1):
            x = _down2(x)
    fill = None
    if _any_hidden(x, nch):
        # (α·y…, α) with y = log(1 + I/s) are weighted by F, with F next: what _pull_push takes.
        fill = _pull_push(_log_premult(x, nch, 2, frame.scale))
    height, width = img.shape[:2]
    inside = r0 >= 0 and c0 >= 0 and r1 <= height and c1 <= width
    layer = _pack(
        x,
        np.zeros((0, 0, nch + 1), np.float32) if fill is None else fill,
        nch,
        frame.scale,
        not inside,
    )
    return _convolve(layer, kernel)


@njit(cache=True)
def _any_hidden(x, nch):  # pragma: no cover - compiled
    """Whether any pixel of a built layer (α·I…, α, F, M) is partly hidden (M − F > 0)."""
    h, w, _ = x.shape
    for i in range(h):
        for j in range(w):
            if x[i, j, nch + 2] - x[i, j, nch + 1] > 1e-6:
                return True
    return False


@njit(parallel=True, cache=True)
def _pack(x, fill, nch, scale, with_mask):  # pragma: no cover - compiled
    """The blur's input: (α·I…, α) plus the fill in the hidden part M − F, then M if asked.

    The fill holds (α/F·log(1 + I/s)…, α/F) from _pull_push over _log_premult; it enters with
    the colour expanded back to radiance.
    """
    h, w, _ = x.shape
    has_fill = fill.shape[0] == h
    out = np.empty((h, w, nch + 2 if with_mask else nch + 1), dtype=np.float32)
    for i in prange(h):
        for j in range(w):
            for ch in range(nch + 1):
                out[i, j, ch] = x[i, j, ch]
            if with_mask:
                out[i, j, nch + 1] = x[i, j, nch + 2]
            hidden = min(max(x[i, j, nch + 2] - x[i, j, nch + 1], 0.0), 1.0)
            if has_fill and hidden > 0.0:
                cover = fill[i, j, nch]
                if cover > 1e-12:
                    for ch in range(nch):
                        colour = scale * math.expm1(fill[i, j, ch] / cover)
                        out[i, j, ch] += hidden * cover * colour
                    out[i, j, nch] += hidden * cover
    return out
