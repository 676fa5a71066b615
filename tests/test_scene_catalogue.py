"""load_scene, list_scenes and the scikit-image samples (read locally, never downloaded)."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from mountcam.errors import SceneError, UnreadableFile
from mountcam.scene import (
    DEFAULT_WHITE_LUMINANCE_CD_M2,
    ImageContent,
    PaletteSample,
    RgbSample,
    Scene,
    ViewGrid,
    list_scenes,
    load_scene,
)
from mountcam.scene.samples import load_sample, motorcycle_depth_m
from mountcam.spectra import luminance_integral

CHARTS = ["chart:colorchecker", "chart:slanted-edge", "chart:siemens-star", "chart:flat",
          "chart:gray-ramp"]  # fmt: skip


def test_list_scenes() -> None:
    names = list_scenes()
    assert names[:5] == CHARTS
    assert {"sample:motorcycle", "sample:astronaut", "sample:coffee", "sample:chelsea"} <= set(
        names
    )


@pytest.mark.parametrize("name", list_scenes())
def test_every_builtin_scene_renders(name: str) -> None:
    scene = load_scene(name)
    assert isinstance(scene, Scene) and scene.name == name
    assert scene.white_luminance_cd_m2 == DEFAULT_WHITE_LUMINANCE_CD_M2
    half = scene.half_width_tan(0.4, 0.3)
    sample = scene.render(ViewGrid(64, 48, -0.4 + 0.00625, -0.3 + 0.00625, 0.0125), half)
    assert isinstance(sample, RgbSample | PaletteSample)
    if isinstance(sample, RgbSample):
        assert sample.rgb.shape == (48, 64, 3) and sample.rgb.dtype == np.float32
        assert np.all(np.isfinite(sample.rgb)) and sample.rgb.min() >= 0
    else:
        assert sample.index.shape == (48, 64) and sample.index.dtype == np.uint8
        assert sample.spectra.shape[1] == 81 and sample.rgb_palette.shape[1] == 3
    if name.startswith("chart:"):
        assert sample.depth_m is None


def test_absolute_scale() -> None:
    scene = load_scene("chart:flat", luminance_cd_m2=250.0, illuminant="A")
    radiance = scene.spectral_radiance_per_reflectance()
    assert luminance_integral(radiance) == pytest.approx(250.0)
    assert scene.illuminant.name == "A"
    assert load_scene("chart:flat", illuminant="3200K").illuminant.cct_k == 3200


def test_flat_reflectance() -> None:
    scene = load_scene("chart:flat", reflectance=0.18)
    sample = scene.content.render(ViewGrid(2, 2, 0, 0, 1))
    np.testing.assert_allclose(sample.spectra, 0.18)
    with pytest.raises(SceneError, match="reflectance"):
        load_scene("chart:flat", reflectance=-1)
    with pytest.raises(SceneError, match="only to chart:flat"):
        load_scene("chart:colorchecker", reflectance=0.5)


def test_motorcycle_depth_and_field_of_view() -> None:
    scene = load_scene("sample:motorcycle")
    content = scene.content
    assert isinstance(content, ImageContent)
    assert content.rgb.shape == (500, 741, 3)
    assert scene.hfov_rad == pytest.approx(2 * math.atan(370.5 / 994.978))
    assert math.degrees(scene.hfov_rad) == pytest.approx(40.85, abs=0.01)
    depth = content.depth_m
    assert depth.shape == (500, 741)
    # About 7 % has no ground truth; those holes are filled when the sample is loaded.
    assert np.isfinite(depth).all()
    assert 0.06 < content.depth_filled_fraction < 0.1
    assert 2.0 < depth.min() and depth.max() < 5.1  # a garage: 2.1 m to 5.0 m
    # Pixel (250, 370) has disparity 48.999874 px: Z = 193.001 mm * 994.978 / (49.0 + 31.086).
    assert depth[250, 370] == pytest.approx(
        193.001 * 994.978 / (48.999874 + 31.086) / 1000, rel=1e-6
    )
    assert depth[250, 370] == pytest.approx(2.3978, abs=1e-4)
    # Rendered on the image's own pixel grid, depth comes back unchanged (nearest neighbour).
    step = 2 / 741
    grid = ViewGrid(741, 500, -1 + step / 2, -500 / 741 + step / 2, step)
    np.testing.assert_array_equal(scene.render(grid, 1.0).depth_m, depth)


def test_motorcycle_depth_formula_edge_cases() -> None:
    d = np.array([0.0, np.inf, np.nan, 100.0])
    z = motorcycle_depth_m(d)
    assert z[0] == pytest.approx(193.001 * 994.978 / 31.086 / 1000, rel=1e-6)
    assert np.isnan(z[1]) and np.isnan(z[2])


def test_samples_are_cached_and_read_only() -> None:
    a = load_sample("coffee")
    assert a is load_sample("coffee")
    assert not a.rgb.flags.writeable
    assert a.aspect == pytest.approx(400 / 600)


def test_hfov() -> None:
    assert load_scene("chart:siemens-star", hfov_deg=30).hfov_rad == pytest.approx(math.radians(30))
    assert load_scene("chart:siemens-star").hfov_rad is None
    assert load_scene("sample:motorcycle", hfov_deg=60).hfov_rad == pytest.approx(math.radians(60))
    for bad in (0, 180, -5, math.nan):
        with pytest.raises(SceneError, match="between 0 and 180"):
            load_scene("chart:flat", hfov_deg=bad)


@pytest.mark.parametrize("bad", [0.0, -10.0, math.nan, math.inf])
def test_bad_luminance(bad: float) -> None:
    with pytest.raises(SceneError, match="cd/m²"):
        load_scene("chart:flat", luminance_cd_m2=bad)


def test_builtin_names_are_case_insensitive() -> None:
    assert isinstance(
        load_scene("Chart:ColorChecker").content, type(load_scene("chart:colorchecker").content)
    )
    assert load_scene("SAMPLE:Coffee").content is load_scene("sample:coffee").content


def test_unknown_names() -> None:
    with pytest.raises(SceneError, match="chart:colorchecker.*chart:gray-ramp"):
        load_scene("chart:macbeth")
    with pytest.raises(SceneError, match="sample:astronaut.*sample:motorcycle"):
        load_scene("sample:lena")
    with pytest.raises(UnreadableFile, match="no such file"):
        load_scene("holiday.jpg")
    with pytest.raises(SceneError, match="unknown illuminant"):
        load_scene("chart:flat", illuminant="tungsten-ish")


def test_image_file_with_depth(tmp_path: Path) -> None:
    img = np.full((20, 30, 3), 128, np.uint8)
    assert cv2.imwrite(str(tmp_path / "a.png"), img)
    np.save(tmp_path / "d.npy", np.full((20, 30), 3.0, np.float32))
    scene = load_scene(tmp_path / "a.png", depth_path=tmp_path / "d.npy", hfov_deg=50)
    assert scene.content.aspect == pytest.approx(20 / 30)
    sample = scene.render(ViewGrid(30, 20, -29 / 30, -19 / 30, 2 / 30), 1.0)
    np.testing.assert_allclose(sample.rgb, 0.2158605, atol=1e-6)  # sRGB 128 decoded
    np.testing.assert_array_equal(sample.depth_m, 3.0)
    with pytest.raises(SceneError, match="image file"):
        load_scene("chart:flat", depth_path=tmp_path / "d.npy")
