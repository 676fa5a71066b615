"""Denoise: the noise left on a flat patch is what Lee's LLMMSE estimator predicts for the
model's noise, an edge keeps its MTF50, a quiet (ISO 100) image is left alone."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from mountcam.develop import denoise as dn
from mountcam.errors import InvalidSetting
from mountcam.lab.sfr import slanted_edge_mtf

# Per-channel noise of the twin at ISO 3200 (binned, white = full well 560 e-): s = 1/FW.
S_3200 = np.array([1.8e-3, 1.8e-3, 1.8e-3])
O_3200 = np.array([2.6e-6, 2.6e-6, 2.6e-6])
# ISO 100: full well 17 900 e-, read noise 2.75 e-.
S_100 = np.full(3, 1 / 17_900)
O_100 = np.full(3, (2.75 / 17_900) ** 2)


def _noisy(clean: np.ndarray, s, o, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sigma = np.sqrt(np.asarray(s) * clean + np.asarray(o))
    return (clean + sigma * rng.standard_normal(clean.shape)).astype(np.float32)


def _lee_flat_prediction(n: int) -> float:
    """Output/input variance of Lee's filter on white noise with known variance, box of n px.

    The box variance is v = σ²X/n with X ~ χ²(n−1); a = max(1 − n/X, 0); the output is
    μ + a(y − μ), whose variance is σ²/n + E[a²]·σ²(1 − 1/n) (a taken as independent of y − μ).
    """
    ea2 = integrate.quad(lambda x: (1 - n / x) ** 2 * stats.chi2.pdf(x, n - 1), n, np.inf)[0]
    return 1 / n + ea2 * (1 - 1 / n)


def test_flat_patch_noise_drops_as_the_lee_estimator_predicts():
    level = 0.3
    clean = np.full((400, 512, 3), level, np.float32)
    noisy = _noisy(clean, S_3200, O_3200)
    assert dn.noise_weight(S_3200, O_3200) == 1.0
    out = dn.denoise(noisy, S_3200, O_3200)
    assert out.dtype == np.float32 and out.shape == noisy.shape

    inner = (slice(20, -20), slice(20, -20))
    luma_in, luma_out = noisy.mean(axis=2)[inner], out.mean(axis=2)[inner]
    ratio = luma_out.var() / luma_in.var()
    predicted = _lee_flat_prediction((2 * dn.LUMA_RADIUS_PX + 1) ** 2)
    assert ratio == pytest.approx(predicted, rel=0.25), (ratio, predicted)
    # No bias: the mean stays where it was (to 0.2 % of the level).
    assert abs(float(out[inner].mean()) - level) < 0.002 * level
    # Colour noise is filtered harder (half resolution, 9×9 box): R−G drops by > 20×.
    chroma_in = (noisy[..., 0] - noisy[..., 1])[inner].var()
    chroma_out = (out[..., 0] - out[..., 1])[inner].var()
    assert chroma_out < chroma_in / 20, (chroma_in, chroma_out)


def _slanted_edge(h: int, w: int, blur_px: float, lo: float, hi: float) -> np.ndarray:
    """A 5° edge, Gaussian-blurred with σ = ``blur_px``, evaluated exactly at pixel centres."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    angle = np.deg2rad(5.0)
    dist = (xx - w / 2) * np.cos(angle) - (yy - h / 2) * np.sin(angle)
    edge = lo + (hi - lo) * 0.5 * (1 + special.erf(dist / (blur_px * np.sqrt(2))))
    return np.repeat(edge[..., None], 3, axis=2).astype(np.float32)


def test_an_edge_keeps_its_mtf50_within_10_percent():
    clean = _slanted_edge(160, 128, blur_px=0.9, lo=0.1, hi=0.6)
    noisy = _noisy(clean, S_3200, O_3200, seed=3)
    out = dn.denoise(noisy, S_3200, O_3200)
    mtf_clean = slanted_edge_mtf(clean.mean(axis=2)).mtf50_cy_px
    mtf_out = slanted_edge_mtf(out.mean(axis=2)).mtf50_cy_px
    assert mtf_out == pytest.approx(mtf_clean, rel=0.10), (mtf_clean, mtf_out)
    # ... while the flat sides lose most of their noise.
    side = (slice(10, -10), slice(0, 30))
    assert out[side].mean(axis=2).std() < 0.4 * noisy[side].mean(axis=2).std()


def test_iso_100_is_left_untouched():
    clean = _slanted_edge(64, 64, blur_px=0.9, lo=0.1, hi=0.6)
    noisy = _noisy(clean, S_100, O_100)
    assert dn.noise_weight(S_100, O_100) == 0.0
    assert np.array_equal(dn.denoise(noisy, S_100, O_100), noisy)


def test_strength_follows_the_noise_level():
    weights = [dn.noise_weight(np.full(3, 1 / fw), np.zeros(3)) for fw in (17_900, 2_240, 560)]
    assert weights[0] == 0.0 and 0.3 < weights[1] < 0.9 and weights[2] == 1.0


def test_strips_give_the_same_result_as_one_pass():
    noisy = _noisy(_slanted_edge(150, 90, 1.0, 0.2, 0.7), S_3200, O_3200, seed=5)
    whole = dn.denoise(noisy, S_3200, O_3200)
    assert np.allclose(dn.denoise(noisy, S_3200, O_3200, strip_rows=32), whole, atol=1e-6)


def test_odd_sizes_and_bad_input():
    noisy = _noisy(np.full((33, 47, 3), 0.4, np.float32), S_3200, O_3200)
    assert dn.denoise(noisy, S_3200, O_3200).shape == (33, 47, 3)
    with pytest.raises(InvalidSetting, match="RGB"):
        dn.denoise(noisy[..., 0], S_3200, O_3200)
    with pytest.raises(InvalidSetting, match="strength"):
        dn.denoise(noisy, S_3200, O_3200, strength=-1)
