"""Predicted MTF: the diffraction OTF of a circular aperture (Goodman eq. 6-32), the square
pixel aperture, their product, and MTF50 of a curve."""

from __future__ import annotations

import numpy as np
import pytest

from mountcam.lab import (
    band_effective_wavelength,
    diffraction_cutoff_cy_per_m,
    diffraction_otf,
    mtf50_of,
    pixel_aperture_mtf,
    predicted_mtf,
)
from mountcam.spectra import WAVELENGTHS_NM

LAMBDA, N = 550e-9, 2.8
NU_C = 1.0 / (LAMBDA * N)


def test_cutoff_and_known_values_of_the_diffraction_otf():
    assert diffraction_cutoff_cy_per_m(LAMBDA, N) == pytest.approx(NU_C)
    assert NU_C / 1000 == pytest.approx(649.35, abs=0.01)  # cycles per mm at f/2.8, 550 nm
    s = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 1.5])
    otf = diffraction_otf(s * NU_C, LAMBDA, N)
    # (2/π)(acos s − s√(1−s²)): 1, 0.6850, 0.3910, 0.1443, 0, 0
    np.testing.assert_allclose(otf, [1.0, 0.6850, 0.3910, 0.1443, 0.0, 0.0], atol=1e-4)
    assert diffraction_otf(-0.5 * NU_C, LAMBDA, N) == pytest.approx(otf[2])
    dense = diffraction_otf(np.linspace(0, NU_C, 1001), LAMBDA, N)
    assert np.all(np.diff(dense) <= 0)
    # slope at the origin: −4/(π ν_c)
    assert (1 - diffraction_otf(1e-6 * NU_C, LAMBDA, N)) / 1e-6 == pytest.approx(4 / np.pi, 1e-4)


def test_mtf50_of_a_diffraction_limited_system_is_0_404_cutoff():
    def curve(nu):
        return diffraction_otf(nu, LAMBDA, N)

    exact = mtf50_of(curve, nu_max=NU_C)
    assert exact / NU_C == pytest.approx(0.4040, abs=1e-4)
    assert diffraction_otf(exact, LAMBDA, N) == pytest.approx(0.5, abs=1e-12)
    nu = np.linspace(0, NU_C, 201)
    assert mtf50_of(nu, curve(nu)) == pytest.approx(exact, rel=1e-4)
    assert mtf50_of(curve, nu_max=NU_C, level=0.1) / NU_C == pytest.approx(0.8054, abs=1e-4)


def test_mtf50_of_sampled_curves():
    freq = np.array([0.0, 0.1, 0.2, 0.3])
    assert mtf50_of(freq, np.array([1.0, 0.8, 0.4, 0.2])) == pytest.approx(0.175)
    assert np.isnan(mtf50_of(freq, np.array([1.0, 0.9, 0.8, 0.7])))  # never falls to 0.5
    assert np.isnan(mtf50_of(freq, np.array([0.4, 0.3, 0.2, 0.1])))  # starts below
    with pytest.raises(ValueError):
        mtf50_of(freq)
    with pytest.raises(ValueError):
        mtf50_of(lambda nu: nu)


def test_pixel_aperture_along_an_axis_and_along_a_slanted_edge_normal():
    nu = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(
        pixel_aperture_mtf(nu), [1.0, 0.9003, 2 / np.pi, 0.3001, 0.0], atol=1e-4
    )
    # 50 % linear fill: first zero at 2 cy/px; 2×2 quad: first zero at Nyquist
    assert pixel_aperture_mtf(1.0, 0.5) == pytest.approx(2 / np.pi)
    assert pixel_aperture_mtf(0.5, 2.0) == pytest.approx(0.0, abs=1e-15)
    # Along the normal of a 5° edge: sinc(ν cos θ)·sinc(ν sin θ). The difference from the
    # plain sinc is +0.003 % at 0.25 cy/px, +0.07 % at Nyquist and +0.6 % at 0.75 cy/px.
    slanted = pixel_aperture_mtf(nu, angle_deg=5.0)
    exact = np.abs(np.sinc(nu * np.cos(np.radians(5))) * np.sinc(nu * np.sin(np.radians(5))))
    np.testing.assert_allclose(slanted, exact, rtol=1e-12)
    rel = slanted[1:4] / pixel_aperture_mtf(nu[1:4]) - 1
    np.testing.assert_allclose(rel, [3.4e-5, 6.7e-4, 5.7e-3], rtol=0.02)
    assert slanted[4] == pytest.approx(0.0038, abs=1e-4)
    assert pixel_aperture_mtf(0.5, angle_deg=-5.0) == pytest.approx(slanted[2])
    assert pixel_aperture_mtf(0.5, angle_deg=90.0) == pytest.approx(2 / np.pi)
    with pytest.raises(ValueError):
        pixel_aperture_mtf(0.5, 0.0)


def test_predicted_mtf_is_diffraction_times_pixel():
    pitch = 1.6e-6
    nu = np.linspace(0, 1, 41)
    mono = predicted_mtf(nu, pitch, N, LAMBDA, angle_deg=5.0)
    expected = diffraction_otf(nu / pitch, LAMBDA, N) * pixel_aperture_mtf(nu, angle_deg=5.0)
    np.testing.assert_allclose(mono, expected, rtol=1e-12)
    # a spectral weighting all at 550 nm is the monochromatic prediction
    spike = (WAVELENGTHS_NM == 550).astype(float)
    np.testing.assert_allclose(
        predicted_mtf(nu, pitch, N, weights=spike, angle_deg=5.0), mono, rtol=1e-12
    )
    # a band 450–650 nm lies between its ends and close to its mean wavelength
    band = ((WAVELENGTHS_NM >= 450) & (WAVELENGTHS_NM <= 650)).astype(float)
    poly = predicted_mtf(nu, pitch, N, weights=band)
    blue, red = predicted_mtf(nu, pitch, N, 450e-9), predicted_mtf(nu, pitch, N, 650e-9)
    assert np.all(poly <= blue + 1e-12) and np.all(poly >= red - 1e-12)
    centre = predicted_mtf(nu, pitch, N, band_effective_wavelength(band))
    assert np.abs(poly - centre).max() < 0.003
    # f/1.9 on 1.6 µm pixels: diffraction cuts off at 1.50 cy/px at 560 nm
    assert 1.6e-6 / (560e-9 * 1.9) == pytest.approx(1.504, abs=1e-3)


def test_band_effective_wavelength():
    flat = np.ones_like(WAVELENGTHS_NM)
    assert band_effective_wavelength(flat) == pytest.approx(580e-9)
    assert band_effective_wavelength([0, 1, 3], [500, 600, 700]) == pytest.approx(675e-9)
    with pytest.raises(ValueError, match="match the wavelengths"):
        band_effective_wavelength(np.ones(10))
    with pytest.raises(ValueError, match="non-negative"):
        band_effective_wavelength(np.zeros_like(WAVELENGTHS_NM))


def test_predicted_mtf_argument_errors():
    with pytest.raises(ValueError, match="either wavelength_m or spectral weights"):
        predicted_mtf(0.5, 1.6e-6, 2.8)
    with pytest.raises(ValueError, match="either wavelength_m or spectral weights"):
        predicted_mtf(0.5, 1.6e-6, 2.8, 550e-9, weights=np.ones_like(WAVELENGTHS_NM))
    with pytest.raises(ValueError, match="pitch"):
        predicted_mtf(0.5, 0.0, 2.8, 550e-9)
    with pytest.raises(ValueError, match="positive"):
        diffraction_otf(1.0, 550e-9, 0.0)
