"""Depth-map hole filling: edge-aware, from the farther side (depth completion at load time).

Depth from stereo has holes where one camera saw what the other could not (occlusions beside
a nearer object's edge) and where matching failed (texture-less or specular patches). A hole
beside an occluding edge belongs to the *background*: the part of it the second camera could
not see lies behind the foreground. So, as the background-biased fills of depth-image-based
rendering and of depth completion do (Fehn, "Depth-image-based rendering (DIBR), compression
and transmission for a new approach on 3D-TV", Proc. SPIE 5291, 2004; Ku, Harakeh & Waslander,
"In defense of classical image processing: fast depth completion on the CPU", CRV 2018, which
fills from the farther side first), each unknown pixel looks along 8 directions for the first
known depth and takes its depth from the candidates that are

* alike in colour (the image guides the fill: a hole pixel the colour of the wall takes the
  wall's depth, not that of the tank beside it), weighted ``exp(-(Δ/σ)²) / distance``, and
* on the farther side when colour does not decide: the far candidates' weights count
  :data:`FAR_PREFERENCE` times the near ones'.

The winning candidate is the one of largest weight; the depth is the weighted mean of the
candidates within :data:`SAME_SURFACE` of its depth (one surface, never a blend of foreground
and background: such a blend would float between them). A pixel that sees no known depth in
any direction takes the farthest known depth of the map.
"""

from __future__ import annotations

import math

import numpy as np

from mountcam.jit import njit, prange

#: Colour difference (relative, see :func:`_fill_kernel`) at which a candidate's weight falls
#: to 1/e.
COLOUR_SIGMA = 0.15
#: How much more a candidate on the farther side counts than one on the nearer side.
FAR_PREFERENCE = 4.0
#: Candidates within this fraction of the winner's depth are one surface with it.
SAME_SURFACE = 0.05

_DIRECTIONS = np.array(
    [[0, 1], [1, 1], [1, 0], [1, -1], [0, -1], [-1, -1], [-1, 0], [-1, 1]], dtype=np.int64
)


@njit(parallel=True, cache=True)
def _fill_kernel(depth, rgb, directions, sigma, far_pref, same, fallback, out):  # pragma: no cover
    h, w = depth.shape
    for r in prange(h):
        zs = np.empty(8, dtype=np.float64)
        ws = np.empty(8, dtype=np.float64)
        for c in range(w):
            z0 = depth[r, c]
            if z0 == z0:  # known
                out[r, c] = z0
                continue
            n = 0
            zfar = 0.0
            for k in range(8):
                dy = directions[k, 0]
                dx = directions[k, 1]
                y = r + dy
                x = c + dx
                steps = 1
                while 0 <= y < h and 0 <= x < w and depth[y, x] != depth[y, x]:
                    y += dy
                    x += dx
                    steps += 1
                if not (0 <= y < h and 0 <= x < w):
                    continue
                diff = 0.0
                norm = 0.03
                for ch in range(3):
                    a = rgb[r, c, ch]
                    b = rgb[y, x, ch]
                    diff += (a - b) * (a - b)
                    norm += a + b
                rel = math.sqrt(diff) / norm * 3.0
                dist = steps * (1.4142135623730951 if dx != 0 and dy != 0 else 1.0)
                zs[n] = depth[y, x]
                ws[n] = math.exp(-((rel / sigma) ** 2)) / dist
                zfar = max(zfar, depth[y, x])
                n += 1
            if n == 0:
                out[r, c] = fallback
                continue
            best = 0
            best_w = -1.0
            for k in range(n):
                if zs[k] >= zfar * (1.0 - same):
                    ws[k] *= far_pref
                if ws[k] > best_w:
                    best_w = ws[k]
                    best = k
            zb = zs[best]
            acc = 0.0
            wsum = 0.0
            for k in range(n):
                if abs(zs[k] - zb) <= same * zb:
                    acc += ws[k] * zs[k]
                    wsum += ws[k]
            out[r, c] = acc / wsum


def fill_depth_holes(depth_m: np.ndarray, rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """Fill NaN holes of ``depth_m`` (H, W) metres guided by ``rgb`` (H, W, 3) linear.

    Returns (filled depth, float32; the fraction of pixels that were filled). A map without
    holes comes back as it is; a map with no known depth at all cannot be filled (ValueError).
    """
    depth = np.ascontiguousarray(depth_m, dtype=np.float32)
    holes = ~np.isfinite(depth)
    fraction = float(holes.mean())
    if fraction == 0.0:
        return depth, 0.0
    if fraction == 1.0:
        raise ValueError("the depth map has no known value to fill its holes from")
    depth = np.where(holes, np.float32(np.nan), depth)
    out = np.empty_like(depth)
    _fill_kernel(
        depth,
        np.ascontiguousarray(rgb, dtype=np.float32),
        _DIRECTIONS,
        COLOUR_SIGMA,
        FAR_PREFERENCE,
        SAME_SURFACE,
        float(np.nanmax(depth)),
        out,
    )
    return out, fraction
