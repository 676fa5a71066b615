"""Charts: analytic rendering with exact box-filter coverage."""

from __future__ import annotations

import math

import colour
import numpy as np
import pytest

from mountcam.errors import SceneError
from mountcam.scene import (
    ColorChecker,
    FlatField,
    GrayRamp,
    SiemensStar,
    SlantedEdge,
    ViewGrid,
    channel_signal,
    colorchecker_patch_boxes,
    colorchecker_patch_centres,
    palette_signal,
)
from mountcam.scene.charts import CC_SURROUND_REFLECTANCE, halfplane_coverage
from mountcam.spectra import sd_on_grid

SUB = 64  # brute-force supersampling per pixel side


def _subsamples(grid: ViewGrid) -> tuple[np.ndarray, np.ndarray]:
    offsets = ((np.arange(SUB) + 0.5) / SUB - 0.5) * grid.step
    x = grid.xs()[None, :, None, None] + offsets[None, None, None, :]
    y = grid.ys()[:, None, None, None] + offsets[None, None, :, None]
    return x, y


def _block_mean(image: np.ndarray, k: int) -> np.ndarray:
    h, w = image.shape[0] // k, image.shape[1] // k
    return image[: h * k, : w * k].reshape(h, k, w, k, *image.shape[2:]).mean(axis=(1, 3))


def test_slanted_edge_coverage_is_exact_area() -> None:
    edge = SlantedEdge()
    nx, ny = edge.normal()
    assert math.degrees(math.atan2(-ny, nx)) == pytest.approx(5.0)
    grid = ViewGrid(40, 30, -0.0123, -0.0101, 0.00071)
    sample = edge.render(grid)
    x, y = _subsamples(grid)
    brute = ((nx * x + ny * y) > 0).mean(axis=(2, 3))
    assert np.abs(sample.weight - brute).max() < 1e-3
    assert sample.weight.sum() == pytest.approx(brute.sum(), rel=1e-5)
    assert sample.weight.min() == 0.0 and sample.weight.max() == 1.0
    assert np.count_nonzero((sample.weight > 0.05) & (sample.weight < 0.95)) >= 20


def test_slanted_edge_contrast_and_palette() -> None:
    sample = SlantedEdge().render(ViewGrid(8, 8, -0.5, -0.5, 0.14))
    assert sample.spectra[1].mean() / sample.spectra[0].mean() == pytest.approx(4.0)
    np.testing.assert_allclose(sample.rgb_palette, [[0.2] * 3, [0.8] * 3], atol=1e-6)
    assert sample.depth_m is None and SlantedEdge().aspect is None


@pytest.mark.parametrize("angle", [5.0, 30.0, 100.0, 137.0])
def test_halfplane_formula_against_brute_force(angle: float) -> None:
    a = math.radians(angle)
    nx, ny = math.cos(a), math.sin(a)
    d = np.linspace(-1.0, 1.0, 41)
    offsets = (np.arange(256) + 0.5) / 256 - 0.5
    sx, sy = np.meshgrid(offsets, offsets)
    brute = [((nx * sx + ny * sy + di) > 0).mean() for di in d]
    np.testing.assert_allclose(halfplane_coverage(d, nx, ny, 1.0), brute, atol=1e-3)


def test_halfplane_formula_special_angles() -> None:
    d = np.linspace(-1.0, 1.0, 41)
    # Axis-aligned: a linear ramp one pixel wide.
    np.testing.assert_allclose(halfplane_coverage(d, 1.0, 0.0, 1.0), np.clip(0.5 + d, 0, 1))
    # 45°: two corner triangles meeting at the centre, area t² for a cut t from the corner.
    h = math.sqrt(0.5)
    t = np.clip(d + h, 0, h)
    expected = np.where(d <= 0, t**2, 1 - np.clip(h - d, 0, h) ** 2)
    np.testing.assert_allclose(halfplane_coverage(d, h, h, 1.0), expected, atol=1e-12)


def test_box_filter_is_exact_under_refinement() -> None:
    """A coarse pixel is exactly the mean of the k×k fine pixels it contains."""
    k = 4
    coarse = ViewGrid(24, 18, -0.31, -0.22, 0.027)
    fine = ViewGrid(24 * k, 18 * k, coarse.x0 - coarse.step / 2 + coarse.step / (2 * k),
                    coarse.y0 - coarse.step / 2 + coarse.step / (2 * k), coarse.step / k)  # fmt: skip
    for chart in (SlantedEdge(), ColorChecker(), GrayRamp()):
        weights = np.eye(81)[:, ::20]
        a = channel_signal(chart.render(coarse), weights)
        b = _block_mean(channel_signal(chart.render(fine), weights), k)
        np.testing.assert_allclose(a, b, atol=2e-5, err_msg=type(chart).__name__)


def test_colorchecker_patches_are_the_ohta_spectra() -> None:
    chart = ColorChecker()
    assert chart.aspect == pytest.approx(0.68)
    grid = ViewGrid(500, 340, -1 + 0.002, -0.68 + 0.002, 0.004)
    sample = chart.render(grid)
    spectra = palette_signal(sample, np.eye(81))  # per-pixel reflectance spectrum
    data = colour.SDS_COLOURCHECKERS["ColorChecker N Ohta"]
    centres = colorchecker_patch_centres()
    for k, name in enumerate(data):
        col = int(round((centres[k, 0] - grid.x0) / grid.step))
        row = int(round((centres[k, 1] - grid.y0) / grid.step))
        np.testing.assert_allclose(spectra[row, col], sd_on_grid(data[name]), atol=1e-6)
    # Surround between patches and outside the card.
    np.testing.assert_allclose(spectra[0, 0], CC_SURROUND_REFLECTANCE, atol=1e-7)
    boxes = colorchecker_patch_boxes()
    gap_u = (boxes[0, 2] + boxes[1, 0]) / 2
    col = int(round((gap_u - grid.x0) / grid.step))
    np.testing.assert_allclose(spectra[170, col], CC_SURROUND_REFLECTANCE, atol=1e-7)


def test_colorchecker_coverage_equals_patch_area() -> None:
    grid = ViewGrid(333, 227, -1.0 + 0.003, -0.68 + 0.003, 2.0 / 331)
    sample = ColorChecker().render(grid)
    boxes = colorchecker_patch_boxes()
    for k in (0, 7, 23):
        area = (boxes[k, 2] - boxes[k, 0]) * (boxes[k, 3] - boxes[k, 1])
        covered = sample.weight[sample.index == k].sum() * grid.step**2
        assert covered == pytest.approx(area, rel=1e-5)


def test_colorchecker_rgb_palette_is_srgb_under_d65() -> None:
    sample = ColorChecker().render(ViewGrid(4, 4, 0, 0, 0.1))
    data = colour.SDS_COLOURCHECKERS["ColorChecker N Ohta"]
    for k, name in enumerate(list(data)[:24:5]):
        xyz = colour.sd_to_XYZ(data[name], illuminant=colour.SDS_ILLUMINANTS["D65"]) / 100
        ref = colour.XYZ_to_RGB(xyz, "sRGB", apply_cctf_encoding=False)
        np.testing.assert_allclose(sample.rgb_palette[5 * k], ref, atol=3e-3)
    # White patch (index 18) is close to 0.9 neutral, black (23) near 0.03.
    assert sample.rgb_palette[18] == pytest.approx([0.87, 0.87, 0.87], abs=0.05)
    assert sample.rgb_palette[23].max() < 0.05


def test_siemens_star_matches_brute_force_where_resolved() -> None:
    star = SiemensStar()
    assert star.aspect == 1.0 and star.cycles == 36
    grid = ViewGrid(40, 40, 0.43, 0.61, 0.002)  # sectors ~13 px wide here
    sample = star.render(grid)
    x, y = _subsamples(grid)
    theta = np.mod(np.arctan2(y, x), 2 * np.pi)
    white = (np.floor(theta / (np.pi / 36)).astype(int) % 2 == 0) | (np.hypot(x, y) > 0.95)
    brute = white.mean(axis=(2, 3))
    assert np.abs(sample.weight - brute).max() < 2e-3
    assert abs(sample.weight.mean() - brute.mean()) < 2e-4


def test_siemens_star_grey_centre_and_white_surround() -> None:
    star = SiemensStar()
    step = 0.01
    grid = ViewGrid(201, 201, -1.0, -1.0, step)
    w = star.render(grid).weight
    # Sectors narrower than one pixel (r < step * 36 / pi ~ 0.115): exactly the mean.
    np.testing.assert_allclose(w[95:106, 95:106], 0.5)
    assert w[0, 0] == 1.0 and w[100, 0] == pytest.approx(1.0)  # corner and edge: paper
    extent = (grid.width * step) ** 2
    assert abs(w.mean() - (1 - 0.5 * math.pi * 0.95**2 / extent)) < 2e-4  # half the disc black


def test_flat_field_is_exact() -> None:
    for value in (0.0, 0.18, 1.0, 12.5):
        chart = FlatField(value)
        assert chart.aspect is None
        sample = chart.render(ViewGrid(7, 5, -0.3, -0.2, 0.1))
        weights = np.random.default_rng(0).random((81, 3))
        signal = channel_signal(sample, weights)
        np.testing.assert_allclose(
            signal, np.broadcast_to(value * weights.sum(0), signal.shape), rtol=1e-6
        )
        np.testing.assert_allclose(sample.rgb_palette[0], value, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf, 101.0])
def test_flat_field_rejects_bad_reflectance(bad: float) -> None:
    with pytest.raises(SceneError, match="reflectance"):
        FlatField(bad)


def test_gray_ramp_values() -> None:
    ramp = GrayRamp()
    grid = ViewGrid(11, 3, -1.0, -0.1, 0.2)  # pixel centres at u = -1, -0.8, ..., 1
    rgb = ramp.render(grid).rgb
    assert rgb.dtype == np.float32 and rgb.shape == (3, 11, 3)
    assert np.all(rgb[..., 0] == rgb[..., 1]) and np.all(rgb[..., 1] == rgb[..., 2])
    u = grid.xs()
    np.testing.assert_allclose(rgb[1, 1:-1, 0], (u[1:-1] + 1) / 2, atol=1e-7)
    # End pixels straddle the clamp: exact integrals (0.0025 / 0.2) and (1 - 0.0025 / 0.2).
    assert rgb[0, 0, 0] == pytest.approx(0.0125 / 1.0 * 1.0, abs=1e-7)
    assert rgb[0, -1, 0] == pytest.approx(1 - 0.0125, abs=1e-7)
