"""Diffraction: the Airy pattern, its OTF (Goodman §4.4.2, eq. 6-32) and the FFT-domain blur."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.signal import fftconvolve
from scipy.special import j0, j1

from mountcam.optics.diffraction import (
    AIRY_FIRST_ZERO,
    airy_intensity,
    airy_psf,
    apply_diffraction,
    diffraction_cutoff_cy_per_m,
    diffraction_otf,
)

PITCH = 1.6e-6  # IMX989 class, 8192 × 6144 on 13.1072 × 9.8304 mm
GREEN = 550e-9


# --- the Airy pattern ---------------------------------------------------------------------


def test_first_dark_ring_at_1_22_lambda_n():
    lam_n = GREEN * 4.0
    assert AIRY_FIRST_ZERO == pytest.approx(1.21967, abs=1e-5)
    assert airy_intensity(AIRY_FIRST_ZERO * lam_n, GREEN, 4.0) < 1e-20
    r = np.linspace(0.0, 1.6, 160_001) * lam_n
    i = airy_intensity(r, GREEN, 4.0)
    first_min = r[np.argmax(np.diff(i) > 0)] / lam_n  # where the intensity first rises again
    assert first_min == pytest.approx(1.21967, abs=2e-5)
    assert np.all(np.diff(i[r < 1.2 * lam_n]) < 0)


def test_encircled_energy_at_the_first_ring_is_83_8_percent():
    """∫ I over the disc, with the density I·π/(4(λN)²), is 1 − J0²(v) − J1²(v) (Born & Wolf)."""
    lam_n = GREEN * 2.8
    r1 = AIRY_FIRST_ZERO * lam_n
    density = math.pi / (4.0 * lam_n**2)
    inside, _ = quad(lambda r: 2 * math.pi * r * density * airy_intensity(r, GREEN, 2.8), 0, r1)
    v = math.pi * AIRY_FIRST_ZERO
    assert inside == pytest.approx(1 - j0(v) ** 2 - j1(v) ** 2, abs=1e-9)
    assert inside == pytest.approx(0.8378, abs=1e-4)


@pytest.mark.parametrize("f_number", [1.4, 2.8, 8.0, 22.0])
def test_airy_psf_sums_to_one_odd_centred_and_cut_at_1e4(f_number):
    psf = airy_psf(PITCH, GREEN, f_number)
    n = psf.shape[0]
    assert psf.dtype == np.float32 and psf.shape == (n, n) and n % 2 == 1
    assert float(psf.sum(dtype=np.float64)) == pytest.approx(1.0, abs=1e-6)
    assert np.unravel_index(np.argmax(psf), psf.shape) == (n // 2, n // 2)
    np.testing.assert_allclose(psf, psf.T, atol=1e-9)
    np.testing.assert_allclose(psf, psf[::-1, ::-1], atol=1e-9)
    border = np.concatenate([psf[0], psf[-1], psf[:, 0], psf[:, -1]])
    assert border.max() >= 1e-4 * psf.max()  # the outermost ring kept is above the cut ...
    wider = airy_psf(PITCH, GREEN, f_number, size_px=n + 4)
    ring = np.concatenate([wider[:2].ravel(), wider[-2:].ravel(), wider[:, :2].ravel()])
    assert ring.max() < 1e-4 * wider.max()  # ... and everything beyond it is below


def test_airy_psf_resolves_the_first_ring_when_pixels_are_fine():
    lam_n = GREEN * 16.0
    pitch = lam_n / 20.0
    psf = airy_psf(pitch, GREEN, 16.0, supersample=1, size_px=81)
    row = psf[40, 40:]
    first_min = int(np.argmax(np.diff(row) > 0))
    assert abs(first_min - 20 * AIRY_FIRST_ZERO) <= 1.0  # 24.4 px


def test_airy_psf_fixed_size_and_bad_input():
    assert airy_psf(PITCH, GREEN, 2.0, size_px=5).shape == (5, 5)
    with pytest.raises(ValueError):
        airy_psf(PITCH, GREEN, 2.0, size_px=4)
    with pytest.raises(ValueError):
        airy_psf(PITCH, GREEN, 0.0)
    with pytest.raises(ValueError):
        airy_psf(-1.0, GREEN, 2.0)


# --- the OTF ------------------------------------------------------------------------------


def test_otf_reference_values():
    nu_c = diffraction_cutoff_cy_per_m(GREEN, 5.6)
    assert nu_c == pytest.approx(1 / (GREEN * 5.6))
    h = diffraction_otf(np.array([0.0, 0.5, 0.4040, 1.0, 1.5]) * nu_c, GREEN, 5.6)
    np.testing.assert_allclose(h, [1.0, 0.3910, 0.5, 0.0, 0.0], atol=1e-4)
    assert np.all(np.diff(diffraction_otf(np.linspace(0, nu_c, 1000), GREEN, 5.6)) < 0)


def test_otf_is_the_hankel_transform_of_the_airy_pattern():
    """Eq. 6-32 against the normalised Fourier transform of the Airy pattern, numerically."""
    lam, n = GREEN, 4.0
    lam_n = lam * n
    density = math.pi / (4.0 * lam_n**2)  # ∫ I dA = 4 (λN)²/π
    r = np.linspace(0.0, 400.0 * lam_n, 2_000_001)
    w = 2 * math.pi * r * density * airy_intensity(r, lam, n)
    for s in (0.1, 0.25, 0.5, 0.75, 0.9):
        nu = s / lam_n
        h = np.trapezoid(w * j0(2 * math.pi * nu * r), r)
        assert h == pytest.approx(float(diffraction_otf(nu, lam, n)), abs=2e-3)


# --- apply_diffraction ----------------------------------------------------------------------


def _edge_mtf(f_number, wavelength, pitch, frac=0.3):
    """MTF of apply_diffraction measured on a straight, pixel-box-filtered vertical edge."""
    w, h = 1024, 4
    img = np.zeros((h, w), np.float32)
    img[:, w // 2 + 1 :] = 1.0
    img[:, w // 2] = 1.0 - frac  # the edge sits inside the middle column, box-filtered
    out = apply_diffraction(img, wavelength, f_number, pitch, clip_negative=False)
    lsf_in = np.diff(img[h // 2].astype(np.float64))
    lsf_out = np.diff(out[h // 2].astype(np.float64))
    freq = np.fft.rfftfreq(lsf_in.size)  # cycles per pixel
    ratio = np.abs(np.fft.rfft(lsf_out)) / np.abs(np.fft.rfft(lsf_in))
    return freq, ratio


@pytest.mark.parametrize(
    ("f_number", "wavelength"),
    [(1.9, 450e-9), (2.8, GREEN), (5.6, 610e-9), (16.0, GREEN)],
)
def test_edge_mtf_matches_the_otf_up_to_0_8_nyquist(f_number, wavelength):
    freq, measured = _edge_mtf(f_number, wavelength, PITCH)
    band = freq <= 0.8 * 0.5
    expected = diffraction_otf(freq / PITCH, wavelength, f_number)
    err = np.abs(measured[band] - expected[band])
    assert err.max() < 0.02
    # In fact far better. The lowest bins are limited by the measurement (the Airy line
    # spread falls off only as 1/x², and the row is 1024 px long), the rest by float32.
    assert err[:3].max() < 3e-3
    assert err[3:].max() < 5e-4


def test_blur_equals_continuous_convolution_with_the_airy_pattern():
    """A band-limited blob blurred in the Fourier domain equals its spatial convolution
    with the Airy density (Goodman §4.4.2), computed on a 5× finer grid."""
    lam, n, sigma_px = GREEN, 2.0, 2.0
    size, sub = 48, 5
    fine = PITCH / sub
    xs = (np.arange(size * sub) - (size * sub - 1) / 2) * fine  # fine grid, pixel centres on it
    blob_fine = np.exp(-(xs[:, None] ** 2 + xs[None, :] ** 2) / (2 * (sigma_px * PITCH) ** 2))
    lam_n = lam * n
    half = int(40 * lam_n / fine)
    k = np.arange(-half, half + 1) * fine
    airy = airy_intensity(np.hypot(k[:, None], k[None, :]), lam, n)
    airy *= math.pi / (4 * lam_n**2) * fine**2  # density × cell area
    ref_fine = fftconvolve(blob_fine, airy, mode="same")
    centre = sub // 2
    ref = ref_fine[centre::sub, centre::sub]
    blob = blob_fine[centre::sub, centre::sub].astype(np.float32)
    out = apply_diffraction(blob, lam, n, PITCH, clip_negative=False)
    assert np.abs(out - ref).max() < 2e-3 * ref.max()
    assert np.abs(out - blob).max() > 0.05  # and the blur is not negligible


def test_energy_is_conserved_and_bands_are_separate():
    rng = np.random.default_rng(5)
    img = rng.random((96, 128, 3), dtype=np.float32)
    out = apply_diffraction(img, [620e-9, 540e-9, 460e-9], 4.0, PITCH, clip_negative=False)
    assert out.shape == img.shape and out.dtype == np.float32
    np.testing.assert_allclose(
        out.sum(axis=(0, 1), dtype=np.float64), img.sum(axis=(0, 1), dtype=np.float64), rtol=1e-5
    )
    # red blurs more than blue
    assert np.std(out[..., 0]) < np.std(out[..., 2])
    single = apply_diffraction(img[..., 2], 460e-9, 4.0, PITCH, clip_negative=False)
    np.testing.assert_allclose(single, out[..., 2], atol=1e-6)


def test_point_response_is_centred_and_its_negative_ringing_small():
    img = np.zeros((65, 65), np.float32)
    img[32, 32] = 1.0
    for f_number in (1.4, 2.8, 4.0, 8.0):
        out = apply_diffraction(img, GREEN, f_number, PITCH, clip_negative=False)
        assert np.unravel_index(np.argmax(out), out.shape) == (32, 32)
        assert out.min() > -0.02 * out.max()
        assert float(out.sum(dtype=np.float64)) == pytest.approx(1.0, abs=1e-5)
        clipped = apply_diffraction(img, GREEN, f_number, PITCH)
        assert clipped.min() >= 0.0


def test_bad_input():
    img = np.zeros((8, 8, 3), np.float32)
    with pytest.raises(ValueError):
        apply_diffraction(img, [GREEN, GREEN], 2.8, PITCH)
    with pytest.raises(ValueError):
        apply_diffraction(img, [GREEN] * 3, float("inf"), PITCH)
    with pytest.raises(ValueError):
        apply_diffraction(np.zeros(8, np.float32), GREEN, 2.8, PITCH)


def test_one_band_in_place_equals_apply_diffraction():
    from mountcam.optics.diffraction import diffract_plane

    rng = np.random.default_rng(3)
    img = rng.uniform(0.0, 1.0, (48, 70)).astype(np.float32)
    img[20:30, 30:40] = 5.0
    reference = apply_diffraction(img, GREEN, 2.0, PITCH)
    scratch = img.copy()
    blurred = diffract_plane(scratch, GREEN, 2.0, PITCH)
    assert np.shares_memory(blurred, scratch)  # transformed in place: no second plane
    assert np.array_equal(np.maximum(blurred, 0.0), reference)
