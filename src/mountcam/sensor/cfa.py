"""Colour filter arrays: Bayer, Quad Bayer, and the simplest remosaic from one to the other.

The remosaic a capture uses is :mod:`mountcam.sensor.remosaic` (edge-directed and
luminance-guided); :func:`remosaic_nearest_mean` here is the naive one it replaced, kept as the
"before" of ``bench/remosaic_accuracy.py``.

Channel indices are 0 = R, 1 = G, 2 = B. A pattern array ``cfa`` of shape (ph, pw) gives the
channel of pixel (r, c) as ``cfa[(r + oy) % ph, (c + ox) % pw]`` for a window whose top-left is
``(oy, ox)`` on the full pixel grid.
"""

from __future__ import annotations

import numpy as np

from mountcam.jit import njit, prange

_CHANNEL = {"R": 0, "G": 1, "B": 2}


def bayer(pattern: str = "RGGB") -> np.ndarray:
    """2×2 Bayer channel indices from a pattern string such as "RGGB"."""
    if len(pattern) != 4 or set(pattern) - set("RGB"):
        raise ValueError(f"not a 2x2 Bayer pattern: {pattern!r}")
    return np.array([_CHANNEL[c] for c in pattern], dtype=np.int8).reshape(2, 2)


def quad_bayer(pattern: str = "RGGB") -> np.ndarray:
    """4×4 Quad Bayer channel indices: each Bayer colour occupies a 2×2 cell."""
    return np.repeat(np.repeat(bayer(pattern), 2, axis=0), 2, axis=1)


def remosaic_offsets(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position of the target tile, the nearest source pixels of the target's colour.

    Returns ``(offsets, counts)``: ``offsets`` (th, tw, n_max, 2) int row/col displacements and
    ``counts`` (th, tw) how many are used. Where source and target colours agree the pixel is
    kept as it is (one offset, (0, 0)); otherwise every same-colour source pixel at the minimum
    Euclidean distance contributes equally. Found by search over a ±4 pixel neighbourhood so the
    rule holds for any pair of periodic patterns.
    """
    sh, sw = source.shape
    th, tw = target.shape
    period_h, period_w = np.lcm(sh, th), np.lcm(sw, tw)
    found: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for r in range(period_h):
        for c in range(period_w):
            want = target[r % th, c % tw]
            best: list[tuple[int, int]] = []
            best_d = np.inf
            for dr in range(-4, 5):
                for dc in range(-4, 5):
                    if source[(r + dr) % sh, (c + dc) % sw] != want:
                        continue
                    d = dr * dr + dc * dc
                    if d < best_d:
                        best_d, best = d, [(dr, dc)]
                    elif d == best_d:
                        best.append((dr, dc))
            found[(r, c)] = best
    n_max = max(len(v) for v in found.values())
    offsets = np.zeros((period_h, period_w, n_max, 2), dtype=np.int64)
    counts = np.zeros((period_h, period_w), dtype=np.int64)
    for (r, c), offs in found.items():
        counts[r, c] = len(offs)
        offsets[r, c, : len(offs)] = offs
    return offsets, counts


@njit(parallel=True, cache=True)
def _remosaic_kernel(padded, offsets, counts, oy, ox, pad):  # pragma: no cover - compiled
    h = padded.shape[0] - 2 * pad
    w = padded.shape[1] - 2 * pad
    ph, pw = counts.shape
    out = np.empty((h, w), dtype=padded.dtype)
    for r in prange(h):
        tr = (r + oy) % ph
        tc = ox % pw
        for c in range(w):
            n = counts[tr, tc]
            rr = r + pad + offsets[tr, tc, 0, 0]
            cc = c + pad + offsets[tr, tc, 0, 1]
            if n == 1:
                out[r, c] = padded[rr, cc]
            else:
                acc = np.int64(padded[rr, cc])
                for k in range(1, n):
                    acc += padded[r + pad + offsets[tr, tc, k, 0], c + pad + offsets[tr, tc, k, 1]]
                out[r, c] = (acc + n // 2) // n
            tc += 1
            if tc == pw:
                tc = 0
    return out


def remosaic_nearest_mean(
    quad: np.ndarray, pattern: str = "RGGB", origin: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """Quad Bayer DN mosaic -> standard 2×2 Bayer DN mosaic of the same size, naively.

    Pixels whose Quad Bayer colour already matches the Bayer target keep their value (6 of 16
    per tile); the rest take the rounded mean of the nearest same-colour photodiodes, whatever
    the edges around them: colour moiré and zipper edges on fine detail (the "before" of
    ``bench/remosaic_accuracy.py``). ``origin`` is the window's top-left on the full grid.
    """
    offsets, counts = remosaic_offsets(quad_bayer(pattern), bayer(pattern))
    ph, pw = counts.shape
    if quad.shape[0] < ph * 2 or quad.shape[1] < pw * 2:
        raise ValueError("remosaic needs a window of at least 8x8 pixels")
    # Extend each edge by one whole pattern period copied from inside, so every neighbour a
    # pixel needs exists and has the colour the pattern says it has.
    pad = max(ph, pw)
    padded = np.concatenate([quad[:pad], quad, quad[-pad:]], axis=0)
    padded = np.concatenate([padded[:, :pad], padded, padded[:, -pad:]], axis=1)
    return _remosaic_kernel(padded, offsets, counts, origin[0], origin[1], pad)
