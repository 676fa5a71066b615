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
from numba import njit, prange

from mountcam.errors import InvalidSetting

#: Largest overshoot (display-encoded units, 1.0 = white) beyond the 3×3 neighbourhood's range.
OVERSHOOT = 0.02
#: Rows per strip: the luma planes of a strip stay small and in cache.
STRIP_ROWS = 256
#: BT.709 luma weights for R', G', B'.
LUMA_WEIGHTS = np.array([[0.2126, 0.7152, 0.0722]], np.float32)


def sharpen(rgb: np.ndarray, amount: float, radius_px: float) -> np.ndarray:
    """Sharpen display-encoded RGB; returns a new float32 (H, W, 3) array.

    ``amount``: gain of the detail (0 = off; 0.5 is moderate, 1.5 strong; 0 to 5).
    ``radius_px``: σ of the Gaussian that separates the detail, pixels (0.3 to 10; ≈ 0.8–1.2
    suits a 50 MP image viewed whole, larger radii add local contrast).
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
    for top in range(0, height, STRIP_ROWS):
        bottom = min(height, top + STRIP_ROWS)
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
