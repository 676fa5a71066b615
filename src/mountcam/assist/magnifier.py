"""The magnifier: a 1:1 or 2:1 view of the full-resolution readout around a chosen point.

On a manual-focus lens the live view's 1024-px picture cannot show whether the eyelashes are
sharp; the magnifier shows the sensor's own pixels (1:1), or each of them as a 2×2 block (2:1),
around the point the photographer taps.
"""

from __future__ import annotations

import numpy as np

#: Magnifications offered: 1 sensor pixel per screen pixel, or 2 screen pixels per sensor pixel.
ZOOMS = (1, 2)


def magnifier_window(
    full_size: tuple[int, int],
    centre_xy: tuple[float, float],
    view_size: tuple[int, int],
    zoom: int,
) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the full-resolution region a magnifier of ``view_size``
    (width, height, screen pixels) at ``zoom`` shows around ``centre_xy`` — a point in
    full-resolution pixel coordinates (x to the right, y down). The region is moved, not
    shrunk, to stay inside the frame."""
    if zoom not in ZOOMS:
        raise ValueError(f"the magnifier zooms 1:1 or 2:1; got {zoom}:1")
    full_w, full_h = full_size
    view_w, view_h = view_size
    w, h = min(full_w, max(1, view_w // zoom)), min(full_h, max(1, view_h // zoom))
    cx, cy = centre_xy
    if not (0 <= cx <= full_w and 0 <= cy <= full_h):
        raise ValueError(f"magnifier point ({cx:g}, {cy:g}) is outside the {full_w}×{full_h} frame")
    left = int(round(cx - w / 2))
    top = int(round(cy - h / 2))
    left = min(max(left, 0), full_w - w)
    top = min(max(top, 0), full_h - h)
    return top, left, h, w


def magnify(image: np.ndarray, zoom: int = 1) -> np.ndarray:
    """The region scaled by whole-pixel replication (``zoom`` × ``zoom`` blocks): each sensor
    pixel stays a crisp square, so the photographer judges the pixels, not an interpolator."""
    if zoom not in ZOOMS:
        raise ValueError(f"the magnifier zooms 1:1 or 2:1; got {zoom}:1")
    if zoom == 1:
        return image
    return np.repeat(np.repeat(image, zoom, axis=0), zoom, axis=1)
