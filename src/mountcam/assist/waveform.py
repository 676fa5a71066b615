"""Waveform monitor and clipping counts.

A waveform plots, for every column of the picture, how many pixels have each level: the
horizontal axis is the picture's, the vertical axis is the level (Tektronix-style luma
waveform). Exposure problems show by position (a clipped sky at the top across its columns), which a
histogram cannot.
"""

from __future__ import annotations

import numpy as np


def waveform(level8: np.ndarray, *, columns: int = 256, levels: int = 256) -> np.ndarray:
    """(levels, columns) int64 counts: row ``levels − 1 − k`` counts pixels whose 8-bit level
    falls in level bin ``k``, column ``j`` the picture's columns ``j·W/columns … (j+1)·W/columns``
    (so row 0, the top, is white, as on a scope)."""
    if level8.ndim != 2 or level8.dtype != np.uint8:
        raise ValueError(f"a waveform reads an (H, W) uint8 level image; got {level8.shape}")
    if not 1 <= columns <= level8.shape[1] or not 1 <= levels <= 256:
        raise ValueError(f"columns must be 1..{level8.shape[1]} and levels 1..256")
    h, w = level8.shape
    col_bin = (np.arange(w) * columns) // w
    level_bin = (level8.astype(np.intp) * levels) >> 8
    flat = level_bin * columns + col_bin[None, :]
    counts = np.bincount(flat.ravel(), minlength=levels * columns).reshape(levels, columns)
    return counts[::-1]


def clipping_counts(rgb8: np.ndarray, *, low: int = 0, high: int = 255) -> dict[str, dict]:
    """Pixels at or beyond the display's ends, per channel: ``{"R": {"high": n, "low": n}, …}``
    (``high``: ≥ ``high``; ``low``: ≤ ``low``)."""
    if rgb8.ndim != 3 or rgb8.shape[2] != 3:
        raise ValueError(f"a display image is (H, W, 3); got {rgb8.shape}")
    return {
        c: {
            "high": int(np.count_nonzero(rgb8[..., i] >= high)),
            "low": int(np.count_nonzero(rgb8[..., i] <= low)),
        }
        for i, c in enumerate("RGB")
    }
