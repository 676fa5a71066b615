"""The camera body: windows, metering, white balance, truth, and the lens-less M module."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mountcam.body.camera import Camera, CaptureRequest
from mountcam.errors import NoLensAttached
from mountcam.scene import load_scene
from mountcam.sensor.model import load_sensor


@pytest.fixture(scope="module")
def camera():
    return Camera()


def green_mean(frame) -> float:
    m = frame.mosaic.astype(np.float64)
    return float(np.concatenate([m[0::2, 1::2].ravel(), m[1::2, 0::2].ravel()]).mean())


def test_a_crop_holds_the_pixels_of_the_whole_sensor(camera):
    """Noise is drawn per physical pixel, so a window is the same pixels of a whole capture:
    bit for bit for analytic charts; for resampled images up to the odd 1-DN rounding flip
    (the resampler's coordinates differ in the last float bits between a window and the whole).
    Ideal optics here; with lens blur see the next test.
    """
    req = dict(iso=800, exposure_s=1 / 500, seed=3, ideal_optics=True)
    for name in ("chart:colorchecker", "sample:coffee"):
        scene = load_scene(name)
        whole = camera.capture(scene, CaptureRequest(**req))[0]
        crop = camera.capture(scene, CaptureRequest(crop=(200, 120), **req))[0]
        r, c = crop.metadata.window_origin
        assert (r, c) == ((3072 - 120) // 2, (4096 - 200) // 2)
        same = whole.mosaic[r : r + 120, c : c + 200].astype(int)
        diff = np.abs(same - crop.mosaic)
        if name.startswith("chart:"):
            assert np.array_equal(same, crop.mosaic)
        else:
            assert np.mean(diff == 0) > 0.999 and diff.max() <= 1


def test_with_lens_blur_a_crop_matches_the_whole_sensor(camera):
    """With diffraction a window's edge sees a rendered margin, not the whole scene, so its
    electron rates differ by ~0.01 %: in the Gaussian shot-noise regime that is the odd 1-DN
    rounding flip; below 256 e- the exact Poisson sampler may draw a different count."""
    req = dict(iso=800, exposure_s=1 / 500, seed=3)
    for name in ("chart:siemens-star", "chart:colorchecker"):
        scene = load_scene(name)
        whole = camera.capture(scene, CaptureRequest(**req))[0]
        crop = camera.capture(scene, CaptureRequest(crop=(200, 120), **req))[0]
        r, c = crop.metadata.window_origin
        same = whole.mosaic[r : r + 120, c : c + 200].astype(int)
        diff = same - crop.mosaic
        assert np.mean(np.abs(diff) <= 2) > 0.97  # one electron is 1.7 DN at ISO 800
        assert abs(diff.mean()) < 1e-3 * (same.mean() - crop.black_level_dn[0])


def test_full_mode_windows_agree_away_from_their_edges(camera):
    scene = load_scene("chart:siemens-star")
    req = dict(mode="full", iso=400, exposure_s=1 / 1000, seed=5, ideal_optics=True)
    big = camera.capture(scene, CaptureRequest(crop=(256, 256), **req))[0]
    small = camera.capture(scene, CaptureRequest(crop=(128, 128), **req))[0]
    (rb, cb), (rs, cs) = big.metadata.window_origin, small.metadata.window_origin
    assert rs % 4 == 0 and cs % 4 == 0  # Quad Bayer phase kept
    dr, dc = rs - rb, cs - cb
    inner = (slice(4, -4), slice(4, -4))
    assert np.array_equal(big.mosaic[dr : dr + 128, dc : dc + 128][inner], small.mosaic[inner])


def test_average_metering_places_mid_grey_where_iso_2720_says():
    """t·S = K·N²/L (K = 12.5) puts an 18 % grey at H = π·T·K/(4·S)·0.18/0.18 of H_sat."""
    camera = Camera()
    lens = camera.module("main").lens
    scene = load_scene("chart:flat", reflectance=0.18, illuminant="D55", luminance_cd_m2=1000)
    frame = camera.capture(scene, CaptureRequest(crop=(64, 64), seed=1))[0]
    assert frame.metadata.extra["metered"] and frame.metadata.iso == 100
    expected_t = 12.5 * lens.max_f**2 / (0.18 * 1000 * 100)
    assert frame.metadata.exposure_s == pytest.approx(expected_t, rel=1e-6)
    span = frame.white_level_dn - frame.black_level_dn[0]
    fraction = (green_mean(frame) - frame.black_level_dn[0]) / span
    assert fraction == pytest.approx(math.pi * lens.transmittance * 12.5 / 4 / 78, rel=0.02)


def test_dim_scenes_raise_iso_before_passing_the_handheld_limit():
    camera = Camera()
    dim = load_scene("chart:flat", reflectance=0.18, luminance_cd_m2=2.0)
    meta = camera.capture(dim, CaptureRequest(crop=(64, 64), seed=1))[0].metadata
    limit = camera.exposure_limits(camera.module("main")).handheld_limit_s
    assert meta.iso > 100
    assert meta.exposure_s == pytest.approx(limit, rel=1e-2)
    assert limit == pytest.approx(1 / 23, rel=0.02)  # 1/(35 mm-equivalent focal length)


def test_as_shot_neutral_matches_the_raw_of_a_white(camera):
    for name in ("D65", "A", "3200K"):
        scene = load_scene("chart:flat", illuminant=name, luminance_cd_m2=300)
        f = camera.capture(
            scene, CaptureRequest(crop=(64, 64), iso=100, exposure_s=1 / 400, seed=2)
        )[0]
        m = f.mosaic.astype(np.float64) - f.black_level_dn[0]
        r, g, b = m[0::2, 0::2].mean(), green_mean(f) - f.black_level_dn[0], m[1::2, 1::2].mean()
        neutral = f.metadata.as_shot_neutral
        assert r / g == pytest.approx(neutral[0] / neutral[1], rel=0.01)
        assert b / g == pytest.approx(neutral[2] / neutral[1], rel=0.01)
    # Tungsten is much redder than daylight to this sensor.
    assert neutral[0] > neutral[2]


def test_truth_is_white_balanced_linear_srgb(camera):
    for name in ("D65", "A"):
        scene = load_scene("chart:flat", reflectance=0.5, illuminant=name)
        f = camera.capture(scene, CaptureRequest(crop=(64, 64), truth=True, seed=1))[0]
        centre = f.truth[28:36, 28:36].reshape(-1, 3).mean(axis=0)
        assert centre == pytest.approx([0.5, 0.5, 0.5], abs=2e-3)
    # Off axis the truth falls as cos⁴θ, like the raw.
    f = camera.capture(
        load_scene("chart:flat"), CaptureRequest(truth=True, seed=1, crop=(4096, 64))
    )[0]
    x_tan = 2048 * 3.2e-6 / 8.7e-3
    assert f.truth[32, 0, 1] == pytest.approx(1 / (1 + x_tan**2) ** 2, rel=2e-3)


def test_truth_of_an_srgb_image_under_d65_is_the_image(camera):
    """Spectral upsampling round trip: the truth reproduces the file's linear sRGB."""
    scene = load_scene("sample:astronaut", hfov_deg=60)
    f = camera.capture(scene, CaptureRequest(crop=(64, 64), truth=True, seed=1, ideal_optics=True))[
        0
    ]
    direct = scene.render(_window_grid(f), math.tan(math.radians(30)))
    assert np.allclose(f.truth, direct.rgb, atol=2e-3)


def _window_grid(frame):
    from mountcam.optics.imaging import SensorWindow

    h, w = frame.mosaic.shape
    full_h, full_w = frame.metadata.full_size
    r, c = frame.metadata.window_origin
    window = SensorWindow(frame.metadata.pixel_pitch_m, full_w, full_h, r, c, w, h)
    return window.grid_m().scaled(1 / 8.7e-3)


def test_the_m_module_needs_a_lens(camera):
    with pytest.raises(NoLensAttached, match="no lens"):
        camera.capture(load_scene("chart:flat"), CaptureRequest(module="m", crop=(64, 64)))


def test_crop_factor_and_equivalent_focal_length(camera):
    module = camera.module("main")
    assert module.crop_factor == pytest.approx(2.64, abs=0.01)
    assert module.lens.focal_mm * module.crop_factor == pytest.approx(23, abs=0.2)
    assert load_sensor().width_m == pytest.approx(13.1072e-3)
