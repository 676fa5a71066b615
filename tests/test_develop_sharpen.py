"""Sharpening on an edge: steeper, no halo beyond the stated overshoot, no colour fringes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from mountcam.develop.sharpen import OVERSHOOT, sharpen
from mountcam.errors import InvalidSetting


def _edge(colour_lo, colour_hi, blur_px: float = 1.2, width: int = 64) -> np.ndarray:
    """A vertical edge blurred by a Gaussian of σ = blur_px, (16, width, 3)."""
    x = np.arange(width) - width / 2 + 0.5
    t = 0.5 * (1 + special.erf(x / (blur_px * np.sqrt(2))))
    lo, hi = np.asarray(colour_lo, np.float32), np.asarray(colour_hi, np.float32)
    row = lo + (hi - lo) * t[:, None]
    return np.repeat(row[None], 16, axis=0).astype(np.float32)


def _rise_px(profile: np.ndarray) -> float:
    """10-90 % rise distance of a monotonic-ish edge profile, pixels (linear interpolation)."""
    lo, hi = profile[:5].mean(), profile[-5:].mean()
    norm = (profile - lo) / (hi - lo)
    x = np.arange(profile.size)
    mid = np.argmin(np.abs(norm - 0.5))
    left = np.interp(0.1, norm[: mid + 1], x[: mid + 1])
    right = np.interp(0.9, norm[mid:], x[mid:])
    return float(right - left)


def test_grey_edge_gets_steeper_with_bounded_overshoot():
    img = _edge([0.2] * 3, [0.7] * 3, blur_px=0.8)
    out = sharpen(img, amount=2.0, radius_px=1.5)
    before, after = img[8, :, 1], out[8, :, 1]
    assert _rise_px(after) < 0.5 * _rise_px(before)
    # The halo limiter: never more than OVERSHOOT outside the original range.
    assert after.max() <= 0.7 + OVERSHOOT + 1e-6
    assert after.min() >= 0.2 - OVERSHOOT - 1e-6
    # Flat parts far from the edge are untouched.
    assert np.allclose(out[:, :10], img[:, :10], atol=1e-6)
    assert np.allclose(out[:, -10:], img[:, -10:], atol=1e-6)


def test_without_the_limiter_the_same_mask_would_overshoot_more():
    """The limiter matters: an unclamped unsharp mask with these settings overshoots by > t."""
    import cv2

    img = _edge([0.2] * 3, [0.7] * 3, blur_px=0.8)
    y = img[..., 1]
    raw = y + 2.0 * (y - cv2.GaussianBlur(y, (0, 0), 1.5, borderType=cv2.BORDER_REFLECT))
    assert raw.max() > 0.7 + 5 * OVERSHOOT and raw.min() < 0.2 - 5 * OVERSHOOT


def test_colour_edge_gets_no_fringes():
    img = _edge([0.8, 0.3, 0.2], [0.2, 0.5, 0.7])
    out = sharpen(img, amount=2.0, radius_px=1.5)
    change = out - img
    # The same change in R', G' and B': colour differences are exactly what they were.
    assert np.allclose(change[..., 0], change[..., 1], atol=1e-6)
    assert np.allclose(change[..., 2], change[..., 1], atol=1e-6)
    assert np.abs(change).max() > 0.01  # it did sharpen


def test_amount_zero_is_identity_and_bad_settings_are_refused():
    img = _edge([0.1] * 3, [0.9] * 3)
    assert np.array_equal(sharpen(img, 0.0, 1.0), img)
    with pytest.raises(InvalidSetting, match="amount"):
        sharpen(img, -1.0, 1.0)
    with pytest.raises(InvalidSetting, match="radius"):
        sharpen(img, 1.0, 50.0)
    with pytest.raises(InvalidSetting, match="RGB"):
        sharpen(img[..., 0], 1.0, 1.0)


def test_strips_give_the_same_result_as_one_pass():
    img = np.random.default_rng(0).random((100, 37, 3), dtype=np.float32)
    whole = sharpen(img, 1.0, 2.0)
    assert np.allclose(sharpen(img, 1.0, 2.0, strip_rows=16), whole, atol=1e-6)
