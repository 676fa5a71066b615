"""Spectral upsampling LUT (Jakob & Hanika 2019) and the per-pixel signal kernels."""

from __future__ import annotations

import colour
import numpy as np
import pytest

from mountcam.errors import SceneError
from mountcam.scene import (
    PaletteSample,
    RgbSample,
    apply_lut,
    apply_lut_mosaic,
    channel_signal,
    integrate_lut,
    palette_signal,
    palette_signal_mosaic,
    reflectance_spectra_lut,
    reflectance_spectrum,
    spectral,
)
from mountcam.spectra import WAVELENGTHS_NM

BAYER = np.array([[0, 1], [1, 2]])
QUAD_BAYER = np.repeat(np.repeat(BAYER, 2, axis=0), 2, axis=1)


def _lab(xyz: np.ndarray) -> np.ndarray:
    white = spectral.d65_xyz_weights().sum(axis=0)
    return colour.XYZ_to_Lab(xyz, colour.XYZ_to_xy(white))


def test_table_metadata_and_shape() -> None:
    meta = spectral.lut_metadata()
    assert "Jakob" in str(meta["method"]) and meta["illuminant"] == "D65"
    assert "sRGB" in str(meta["colourspace"])
    n = meta["size"]
    spectra = reflectance_spectra_lut()
    assert spectra.shape == (n, n, n, WAVELENGTHS_NM.size)
    assert spectra.min() >= 0.0 and spectra.max() <= 1.0
    assert not spectra.flags.writeable


def test_stored_matrix_matches_runtime_matrix() -> None:
    stored = spectral._coefficient_file()["rgb_to_xyz"]
    np.testing.assert_allclose(stored, spectral.linear_srgb_to_xyz_matrix(), atol=1e-12)
    # And it is IEC 61966-2-1's matrix up to the rounding of the D65 white point.
    np.testing.assert_allclose(stored, colour.RGB_COLOURSPACES["sRGB"].matrix_RGB_to_XYZ, atol=3e-4)


def test_sigmoid_matches_colour_science_model() -> None:
    c = spectral.lut_coefficients()[12, 3, 7]
    shape = colour.SpectralShape(380, 780, 5)
    dimensional = colour.recovery.jakob2019.dimensionalise_coefficients(c, shape)
    ref = colour.recovery.sd_Jakob2019(dimensional, shape).values
    np.testing.assert_allclose(spectral.sigmoid_spectra(c), ref, atol=1e-9)


def test_nodes_reproduce_their_colour() -> None:
    spectra = reflectance_spectra_lut()
    n = spectra.shape[0]
    nodes = np.linspace(0, 1, n)
    rgb = np.stack(np.meshgrid(nodes, nodes, nodes, indexing="ij"), axis=-1)
    xyz = spectra @ spectral.d65_xyz_weights()
    np.testing.assert_allclose(xyz, spectral.linear_srgb_to_xyz(rgb), atol=1e-6)


def test_neutral_nodes_are_flat() -> None:
    spectra = reflectance_spectra_lut()
    n = spectra.shape[0]
    for i in range(n):
        np.testing.assert_allclose(spectra[i, i, i], i / (n - 1), atol=1e-12)


def test_lut_reproduces_xyz_of_random_colours() -> None:
    rng = np.random.default_rng(7)
    rgb = rng.random((64, 96, 3)).astype(np.float32)
    rgb[0, :, :] = np.linspace(0, 1, 96, dtype=np.float32)[:, None]  # a neutral row
    xyz = apply_lut(rgb, integrate_lut(spectral.d65_xyz_weights()))
    ref = spectral.linear_srgb_to_xyz(rgb)
    de = colour.delta_E(_lab(xyz), _lab(ref), method="CIE 2000")
    assert de.max() < 0.01  # exact up to float32, far below the 1 ΔE2000 requirement
    np.testing.assert_allclose(xyz[0], ref[0], atol=2e-6)


def test_spectra_of_interpolated_colours_stay_in_range() -> None:
    rng = np.random.default_rng(3)
    spectra = reflectance_spectrum(rng.random((500, 3)))
    assert spectra.min() >= 0.0 and spectra.max() <= 1.0


def test_reflectance_spectrum_agrees_with_kernel() -> None:
    rng = np.random.default_rng(11)
    rgb = rng.random((5, 7, 3)).astype(np.float32) * 1.3 - 0.1
    via_kernel = apply_lut(rgb, integrate_lut(np.eye(81)))
    np.testing.assert_allclose(via_kernel, reflectance_spectrum(rgb), atol=2e-6)


def test_out_of_range_values() -> None:
    lut = integrate_lut(spectral.d65_xyz_weights())
    rgb = np.array([[[2.0, 1.0, 0.5], [-0.5, 0.3, 0.2], [np.nan, 0.4, 0.4], [1.0, 1.0, 1.0]]])
    out = apply_lut(rgb.astype(np.float32), lut)
    inside = apply_lut(
        np.array([[[1.0, 0.5, 0.25], [0.0, 0.3, 0.2], [0.0, 0.4, 0.4]]], np.float32), lut
    )
    np.testing.assert_allclose(out[0, 0], 2.0 * inside[0, 0], rtol=1e-6)  # emitter: scaled
    np.testing.assert_allclose(out[0, 1], inside[0, 1], rtol=1e-6)  # negative -> 0
    np.testing.assert_allclose(out[0, 2], inside[0, 2], rtol=1e-6)  # NaN -> 0
    np.testing.assert_allclose(out[0, 3], spectral.d65_xyz_weights().sum(0), rtol=1e-6)


def test_integrate_lut_is_spectra_times_weights() -> None:
    rng = np.random.default_rng(5)
    weights = rng.random((81, 4))
    lut = integrate_lut(weights)
    assert lut.table.dtype == np.float32 and lut.channels == 4
    np.testing.assert_allclose(lut.table, reflectance_spectra_lut() @ weights, rtol=1e-6)
    with pytest.raises(SceneError, match="shape"):
        integrate_lut(np.ones((80, 3)))


@pytest.mark.parametrize("cfa", [BAYER, QUAD_BAYER, np.array([[2, 1, 0]])])
@pytest.mark.parametrize("origin", [(0, 0), (1, 0), (3, 5)])
def test_mosaic_equals_full_sampled_on_cfa(cfa: np.ndarray, origin: tuple[int, int]) -> None:
    rng = np.random.default_rng(1)
    rgb = (rng.random((37, 41, 3)) * 1.2).astype(np.float32)
    lut = integrate_lut(rng.random((81, 3)))
    full = apply_lut(rgb, lut)
    mosaic = apply_lut_mosaic(rgb, lut, cfa, origin)
    rows, cols = np.indices(mosaic.shape)
    ph, pw = cfa.shape
    channel = cfa[(rows + origin[0]) % ph, (cols + origin[1]) % pw]
    np.testing.assert_array_equal(mosaic, np.take_along_axis(full, channel[..., None], 2)[..., 0])


def test_mosaic_rejects_bad_cfa() -> None:
    lut = integrate_lut(np.ones((81, 3)))
    with pytest.raises(SceneError, match="channel 3"):
        apply_lut_mosaic(np.zeros((4, 4, 3), np.float32), lut, np.array([[0, 3]]))


def _palette(background) -> PaletteSample:
    rng = np.random.default_rng(2)
    spectra = rng.random((5, 81))
    return PaletteSample(
        index=rng.integers(0, 5, (13, 17)).astype(np.uint8),
        weight=rng.random((13, 17)).astype(np.float32),
        background=background,
        spectra=spectra,
        rgb_palette=np.zeros((5, 3), np.float32),
    )


@pytest.mark.parametrize("background", [4, "array"])
def test_palette_signal(background) -> None:
    if background == "array":
        background = np.random.default_rng(9).integers(0, 5, (13, 17)).astype(np.uint8)
    sample = _palette(background)
    weights = np.random.default_rng(4).random((81, 3))
    table = sample.spectra @ weights
    bg = np.broadcast_to(np.asarray(background), sample.index.shape)
    w = sample.weight[..., None]
    expected = w * table[sample.index] + (1 - w) * table[bg]
    full = palette_signal(sample, weights)
    np.testing.assert_allclose(full, expected, rtol=1e-5)
    mosaic = palette_signal_mosaic(sample, weights, BAYER, (1, 1))
    rows, cols = np.indices(mosaic.shape)
    channel = BAYER[(rows + 1) % 2, (cols + 1) % 2]
    np.testing.assert_allclose(mosaic, np.take_along_axis(full, channel[..., None], 2)[..., 0])


def test_palette_without_weight_and_bad_index() -> None:
    sample = _palette(0)
    sample.weight = None
    weights = np.ones((81, 2))
    np.testing.assert_allclose(
        palette_signal(sample, weights), (sample.spectra @ weights)[sample.index], rtol=1e-6
    )
    sample.index[0, 0] = 5
    with pytest.raises(SceneError, match="index 5"):
        palette_signal(sample, weights)


def test_channel_signal_dispatches() -> None:
    weights = np.random.default_rng(8).random((81, 3))
    rgb = RgbSample(np.random.default_rng(8).random((6, 8, 3)).astype(np.float32))
    np.testing.assert_array_equal(
        channel_signal(rgb, weights), apply_lut(rgb.rgb, integrate_lut(weights))
    )
    assert channel_signal(rgb, weights, BAYER).shape == (6, 8)
    pal = _palette(1)
    np.testing.assert_array_equal(channel_signal(pal, weights), palette_signal(pal, weights))
    np.testing.assert_array_equal(
        channel_signal(pal, weights, BAYER, (0, 1)),
        palette_signal_mosaic(pal, weights, BAYER, (0, 1)),
    )


def test_neutral_inputs_give_flat_spectra() -> None:
    """Tetrahedral interpolation blends only diagonal nodes for greys: exactly flat spectra."""
    grey = np.array([0.0, 0.013, 0.18, 0.5, 0.77, 1.0, 3.5])
    spectra = reflectance_spectrum(np.repeat(grey[:, None], 3, axis=1))
    np.testing.assert_allclose(spectra, np.repeat(grey[:, None], 81, axis=1), atol=1e-12)
    weights = np.random.default_rng(12).random((81, 4))
    rgb = np.repeat(grey[None, :, None], 3, axis=2).astype(np.float32)
    np.testing.assert_allclose(
        apply_lut(rgb, integrate_lut(weights))[0],
        grey.astype(np.float32)[:, None] * weights.sum(axis=0),
        rtol=2e-6,
    )


def test_generator_reproduces_the_shipped_table() -> None:
    """tools/make_rgb_spectra_lut.py at N = 5 gives the shipped N = 17 table's every 4th node."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "tools" / "make_rgb_spectra_lut.py"
    spec = importlib.util.spec_from_file_location("make_rgb_spectra_lut", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    coefficients, residual = module.fit(5, verbose=False)
    assert residual.max() < 1e-6
    shipped = reflectance_spectra_lut()[::4, ::4, ::4]
    np.testing.assert_allclose(spectral.sigmoid_spectra(coefficients), shipped, atol=1e-6)
