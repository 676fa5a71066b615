"""Painting a mask's pixels in one colour on an 8-bit picture (the aids' overlays)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def paint(out: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """Set the pixels of ``out`` (H, W, 3) uint8 where ``mask`` (H, W) bool holds to ``colour``,
    in place; returns ``out``.

    OpenCV's masked copy does it in one pass (~0.1 ms for 1024×768); numpy's boolean-index
    assignment gathers the indices first (~5 ms), a fifth of a 30 fps frame.
    """
    if mask.shape != out.shape[:2]:
        raise ValueError(f"mask {mask.shape} does not match the image {out.shape[:2]}")
    if out.dtype != np.uint8 or out.ndim != 3 or out.shape[2] != 3:
        raise ValueError(f"an overlay is painted on (H, W, 3) uint8; got {out.shape} {out.dtype}")
    if not out.flags.c_contiguous:  # OpenCV would write into a copy
        out[mask] = colour
        return out
    import cv2

    source = _solid(out.shape[0], out.shape[1], tuple(int(c) for c in colour))
    cv2.copyTo(source, np.ascontiguousarray(mask, dtype=bool).view(np.uint8), out)
    return out


@lru_cache(maxsize=8)
def _solid(h: int, w: int, colour: tuple[int, int, int]) -> np.ndarray:
    """An (h, w, 3) image of one colour, read-only (filling one costs as much as the paint)."""
    import cv2

    image = cv2.merge([np.full((h, w), c, np.uint8) for c in colour])
    image.flags.writeable = False
    return image
