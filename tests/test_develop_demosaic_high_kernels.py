"""The fused numba ``high`` demosaic against the whole-plane OpenCV/NumPy reference it replaced.

Both compute the same MLRI (same windows, ridges, weights, square-root domain, edge mirroring
step by step); they differ only in float32 rounding (the reference sums its box filters in
float64, the kernels in float32, and the operations are ordered differently). The bound,
2e-5 in linear light (1.0 = white), is a tenth of a 16-bit code value; measured differences
are about 1e-6. The cases cover what the kernels special-case: the four CFA phases, the
mirrored edges (every step of the reference reflects at the padded slab's border), odd and
tiny sizes, frames tall enough to be split into strips on two threads, values outside 0..1.
"""

from __future__ import annotations

import numpy as np
import pytest

from demosaic_high_reference import demosaic_high_reference
from mountcam.develop.demosaic_high import demosaic_high

PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))
TOLERANCE = 2e-5


def assert_matches_reference(cfa: np.ndarray, rr: int, rc: int) -> float:
    cfa = np.ascontiguousarray(cfa, dtype=np.float32)
    got = demosaic_high(cfa, rr, rc)
    want = demosaic_high_reference(cfa, rr, rc)
    assert got.shape == want.shape == (*cfa.shape, 3) and got.dtype == np.float32
    assert np.isfinite(got).all()
    diff = float(np.abs(got - want).max())
    assert diff <= TOLERANCE, f"max abs difference {diff:.3g} at rr={rr}, rc={rc}"
    return diff


def structured(height: int, width: int, seed: int) -> np.ndarray:
    """A mosaic with what demosaicking is about: smooth colour, a hard diagonal edge, fine
    stripes near Nyquist, a bright clipped-like block and a dark corner; the measured values
    of an RGB image at its own sites (any phase reads it as some Bayer mosaic)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = 0.3 + 0.2 * np.sin(x / 7.0 + rng.uniform(0, 6)) * np.cos(y / 11.0)
    img = img + 0.4 * (x + 0.6 * y > 0.7 * width)  # a hard diagonal edge
    stripes = (height // 3 <= y) & (y < 2 * height // 3)
    img = np.where(stripes, 0.5 + 0.45 * np.sin(2 * np.pi * x / 2.3), img)  # near Nyquist
    img[: height // 5, width // 2 :] = 1.3  # above white
    img[-(height // 6) :, : width // 6] = 0.002  # deep shadow
    # Colour: the three channels differ, so the CFA sites see different planes.
    ry, rx = y % 2 == 0, x % 2 == 0
    gains = np.where(ry & rx, 0.7, np.where(~ry & ~rx, 1.2, 1.0))
    noise = rng.normal(0.0, 0.003, img.shape)
    return (img * gains + noise).astype(np.float32)


@pytest.mark.parametrize(("rr", "rc"), PHASES)
@pytest.mark.parametrize(
    "shape",
    ((2, 2), (4, 6), (6, 10), (34, 36), (35, 41), (64, 80), (100, 30), (17, 200)),
)
def test_random_mosaics_match(shape, rr, rc):
    """Uniform noise: every slope fit is ill-conditioned somewhere; sizes from 2×2 up, odd
    ones included, all far smaller than the mirrored pads and windows (edges everywhere)."""
    rng = np.random.default_rng(hash((shape, rr, rc)) % 2**32)
    assert_matches_reference(rng.random(shape, dtype=np.float32), rr, rc)


@pytest.mark.parametrize(("rr", "rc"), PHASES)
def test_structured_mosaics_match(rr, rc):
    assert_matches_reference(structured(96, 130, seed=rr * 2 + rc), rr, rc)


def test_values_outside_the_unit_range_match():
    """The pipeline keeps negative values (noise below black) and values above white."""
    rng = np.random.default_rng(7)
    cfa = rng.normal(0.2, 0.5, (48, 52)).astype(np.float32)
    assert (cfa < 0).any() and (cfa > 1).any()
    assert_matches_reference(cfa, 0, 1)


def test_natural_image_matches(astronaut_mosaic):
    for rr, rc in PHASES:
        assert_matches_reference(astronaut_mosaic, rr, rc)


def test_frames_split_into_strips_match(astronaut_mosaic):
    """Taller than one strip (512 + 2·34 rows): both split the frame into strips on two
    threads, and each strip mirrors only at the frame's edges."""
    tall = np.concatenate([astronaut_mosaic, astronaut_mosaic[::-1], astronaut_mosaic])
    tall = tall[:1290, :72]
    assert tall.shape[0] > 512 + 2 * 34
    assert_matches_reference(tall, 1, 0)


def test_a_change_of_phase_changes_the_result():
    """The comparison can fail: the same mosaic read in another phase is another image."""
    cfa = structured(40, 44, seed=3)
    a = demosaic_high(cfa, 0, 0)
    b = demosaic_high_reference(cfa, 0, 1)
    assert np.abs(a - b).max() > 100 * TOLERANCE


@pytest.fixture(scope="module")
def astronaut_mosaic() -> np.ndarray:
    """skimage's astronaut (face, helmet, flag), linear light, as a 430×430 mosaic."""
    from skimage import data

    from mountcam.scene.loaders import srgb_decode

    rgb = srgb_decode(data.astronaut()[40:470, 40:470] / 255.0).astype(np.float32)
    cfa = np.empty(rgb.shape[:2], np.float32)
    for dy in (0, 1):
        for dx in (0, 1):
            cfa[dy::2, dx::2] = rgb[dy::2, dx::2, (0, 1, 1, 2)[2 * dy + dx]]
    return cfa
