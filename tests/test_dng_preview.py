"""The IFD0 preview's block means (numba, one pass) against the plain numpy definition."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mountcam.dng.preview import _block_sums, render_preview


def _reference_means(mosaic: np.ndarray, k: int, out_h: int, out_w: int) -> np.ndarray:
    """Mean of each k×k block of each CFA position's plane, float64 (the definition)."""
    out = np.empty((4, out_h, out_w))
    for pos in range(4):
        r, c = divmod(pos, 2)
        plane = mosaic[r::2, c::2][: out_h * k, : out_w * k].astype(np.float64)
        out[pos] = plane.reshape(out_h, k, out_w, k).mean(axis=(1, 3))
    return out


@pytest.mark.parametrize("shape, max_width", [((101, 157), 16), ((64, 64), 256), ((410, 618), 50)])
def test_block_sums_are_the_block_means_of_each_cfa_plane(shape, max_width):
    rng = np.random.default_rng(sum(shape))
    mosaic = rng.integers(0, 65536, shape, dtype=np.uint16)  # full range: no overflow either
    k = max(1, math.ceil(shape[1] // 2 / max_width))
    out_h, out_w = shape[0] // 2 // k, shape[1] // 2 // k
    sums = np.empty((4, out_h, out_w), np.int64)
    _block_sums(mosaic, k, sums)
    np.testing.assert_array_equal(sums / (k * k), _reference_means(mosaic, k, out_h, out_w))


@pytest.mark.parametrize("pattern", ["RGGB", "BGGR", "GRBG", "GBRG"])
def test_preview_colours_follow_the_cfa_pattern(pattern):
    # A mosaic whose R sites read white, G and B black: a saturated red in every pattern.
    mosaic = np.zeros((96, 128), np.uint16)
    for pos, letter in enumerate(pattern):
        r, c = divmod(pos, 2)
        mosaic[r::2, c::2] = 4095 if letter == "R" else 0
    preview = render_preview(mosaic, pattern, (0, 0, 0, 0), 4095, (1, 1, 1), np.eye(3), 32)
    assert preview.shape == (24, 32, 3)
    red, green, blue = (preview[..., i].astype(int) for i in range(3))
    assert (red > green).all() and (red > blue).all()
    assert np.ptp(preview.reshape(-1, 3), axis=0).max() == 0  # uniform
